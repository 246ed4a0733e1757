package main

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

func TestConfigureRejects(t *testing.T) {
	const u = "https://scores.example/v1"
	tests := []struct {
		name   string
		cfg    map[string]any
		fields []string // every FieldError, in order
		inMsg  string
	}{
		{name: "no url", cfg: map[string]any{}, fields: []string{"url"}, inMsg: "is required"},
		{name: "ftp url", cfg: map[string]any{"url": "ftp://x/y"}, fields: []string{"url"}, inMsg: `must start with http:// or https://, got scheme "ftp"`},
		{name: "relative url", cfg: map[string]any{"url": "/score"}, fields: []string{"url"}, inMsg: `got scheme ""`},
		{name: "no host", cfg: map[string]any{"url": "http:///score"}, fields: []string{"url"}, inMsg: "has no host"},
		{name: "unparsable url", cfg: map[string]any{"url": "http://[::1"}, fields: []string{"url"}, inMsg: "is not a valid URL"},
		{name: "unknown mapping", cfg: map[string]any{"url": u, "mapping": "azure"}, fields: []string{"mapping"}, inMsg: `unknown mapping "azure"; use one of "huggingface", "moderator", "openai", "perspective"`},
		{name: "model without openai", cfg: map[string]any{"url": u, "model": "x"}, fields: []string{"model"}},
		{name: "zero timeout", cfg: map[string]any{"url": u, "timeout": "0s"}, fields: []string{"timeout"}},
		{name: "bad duration", cfg: map[string]any{"url": u, "timeout": "soon"}, fields: []string{"timeout"}},
		{name: "negative retries", cfg: map[string]any{"url": u, "retries": -1}, fields: []string{"retries"}},
		{name: "too many retries", cfg: map[string]any{"url": u, "retries": 11}, fields: []string{"retries"}},
		{name: "negative backoff", cfg: map[string]any{"url": u, "backoff": "-1s"}, fields: []string{"backoff"}},
		{name: "max_backoff below backoff", cfg: map[string]any{"url": u, "backoff": "2s", "max_backoff": "1s"}, fields: []string{"max_backoff"}},
		{name: "bad header name", cfg: map[string]any{"url": u, "headers": map[string]any{"Bad Name": "x"}}, fields: []string{"headers.Bad Name"}},
		{name: "header value with a line break", cfg: map[string]any{"url": u, "headers": map[string]any{"Authorization": "Bearer abc\r\nX-Evil: 1"}}, fields: []string{"headers.Authorization"}, inMsg: "line break"},
		{name: "header the client sets", cfg: map[string]any{"url": u, "headers": map[string]any{"content-length": "5"}}, fields: []string{"headers.content-length"}},
		{name: "header not a string", cfg: map[string]any{"url": u, "headers": map[string]any{"X-N": 5}}, fields: []string{"headers"}},
		{name: "negative batch_size", cfg: map[string]any{"url": u, "batch_size": -1}, fields: []string{"batch_size"}},
		{name: "huge batch_size", cfg: map[string]any{"url": u, "batch_size": 5000}, fields: []string{"batch_size"}},
		{name: "perspective batch", cfg: map[string]any{"url": u, "mapping": "perspective", "batch_size": 2}, fields: []string{"batch_size"}, inMsg: "at most 1 comment(s)"},
		{name: "zero concurrency", cfg: map[string]any{"url": u, "concurrency": 0}, fields: []string{"concurrency"}},
		{name: "zero circuit failures", cfg: map[string]any{"url": u, "circuit": map[string]any{"failures": 0}}, fields: []string{"circuit.failures"}},
		{name: "zero open_for", cfg: map[string]any{"url": u, "circuit": map[string]any{"open_for": "0s"}}, fields: []string{"circuit.open_for"}},
		{name: "unknown circuit key", cfg: map[string]any{"url": u, "circuit": map[string]any{"failure": 3}}, fields: []string{"circuit.failure"}},
		{name: "min_score above 1", cfg: map[string]any{"url": u, "min_score": 1.5}, fields: []string{"min_score"}},
		{name: "label outside the vocabulary", cfg: map[string]any{"url": u, "labels": map[string]any{"TOXICITY": "toxic"}}, fields: []string{"labels.TOXICITY"}, inMsg: `maps to "toxic", which is not in the vocabulary`},
		{name: "perspective with nothing to ask", cfg: map[string]any{"url": u, "mapping": "perspective", "labels": map[string]any{
			"INSULT": "", "PROFANITY": "", "THREAT": "", "IDENTITY_ATTACK": "", "SEXUALLY_EXPLICIT": ""}}, fields: []string{"labels"}},
		{name: "every problem at once", cfg: map[string]any{"url": "ftp://x", "retries": -1, "concurrency": 0}, fields: []string{"url", "retries", "concurrency"}},
		{name: "unknown key", cfg: map[string]any{"url": u, "timeout_ms": 5}, fields: []string{"timeout_ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, _ := json.Marshal(tt.cfg)
			a := newAnalyzer()
			err := a.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: raw}})
			var fe sdk.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("Configure(%s) = %v, want FieldErrors", raw, err)
			}
			var fields []string
			for _, e := range fe {
				fields = append(fields, e.Field)
			}
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("FieldErrors %q name %q, want %q", fe, fields, tt.fields)
			}
			if !strings.Contains(fe.Error(), tt.inMsg) {
				t.Errorf("FieldErrors %q lack %q", fe, tt.inMsg)
			}
			if strings.Contains(fe.Error(), "abc") {
				t.Errorf("FieldErrors %q quote a header value", fe)
			}
			if a.inst.Load() != nil {
				t.Errorf("a rejected config was installed")
			}
		})
	}
}

func TestConfigureDefaults(t *testing.T) {
	tests := []struct {
		name      string
		cfg       map[string]any
		batch     int
		model     string
		labels    map[string]string // entries that must be in the merged table
		notLabels []string          // names that must not be
	}{
		{name: "moderator", cfg: map[string]any{}, batch: 32},
		{name: "perspective", cfg: map[string]any{"mapping": "perspective", "labels": map[string]any{"TOXICITY": "insult", "PROFANITY": ""}},
			batch: 1, labels: map[string]string{"TOXICITY": "insult", "INSULT": "insult", "PROFANITY": ""}},
		{name: "openai", cfg: map[string]any{"mapping": "openai"}, batch: 32, model: "omni-moderation-latest",
			labels: map[string]string{"harassment": "insult", "violence": ""}},
		{name: "openai model", cfg: map[string]any{"mapping": "openai", "model": "text-moderation-stable", "batch_size": 8}, batch: 8, model: "text-moderation-stable"},
		{name: "huggingface", cfg: map[string]any{"mapping": "huggingface", "labels": map[string]any{"LABEL_1": "insult"}}, batch: 32,
			labels: map[string]string{"LABEL_1": "insult", "obscene": "profanity"}, notLabels: []string{"harassment"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg["url"] = "https://scores.example/v1"
			a := configured(t, tt.cfg, nil)
			s := a.inst.Load().s
			if s.BatchSize != tt.batch || s.Model != tt.model {
				t.Errorf("batch %d, model %q; want %d, %q", s.BatchSize, s.Model, tt.batch, tt.model)
			}
			for k, v := range tt.labels {
				if got, ok := s.labels[k]; !ok || got != v {
					t.Errorf("labels[%q] = %q, %v; want %q", k, got, ok, v)
				}
			}
			for _, k := range tt.notLabels {
				if _, ok := s.labels[k]; ok {
					t.Errorf("labels has %q", k)
				}
			}
			d := defaultConfig()
			if s.Timeout != d.Timeout || s.Retries != 2 || s.Concurrency != 4 || s.Circuit != d.Circuit || s.MinScore != 0.01 {
				t.Errorf("defaults not applied: %+v", s.config)
			}
		})
	}
}

func TestConfigurePartialCircuitKeepsDefaults(t *testing.T) {
	a := configured(t, map[string]any{"url": "http://127.0.0.1:9/", "circuit": map[string]any{"failures": 2}}, nil)
	if c := a.inst.Load().s.Circuit; c.Failures != 2 || time.Duration(c.OpenFor) != 30*time.Second {
		t.Errorf("circuit %+v, want failures 2 and the default open_for", c)
	}
}

func TestValidateOnlyInstallsNothing(t *testing.T) {
	a := newAnalyzer()
	err := a.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: []byte(`{"url":"http://127.0.0.1:9/"}`)}, ValidateOnly: true})
	if err != nil || a.inst.Load() != nil {
		t.Errorf("ValidateOnly: %v, installed %v; want nil and nothing installed", err, a.inst.Load() != nil)
	}
}

func TestDescribeConfigFields(t *testing.T) {
	fields := map[string]sdk.ConfigField{}
	for _, f := range configFields() {
		fields[f.Name] = f
	}
	want := []string{"url", "mapping", "timeout", "retries", "backoff", "max_backoff", "headers", "batch_size", "concurrency", "circuit", "labels", "min_score", "model"}
	if got := slices.Sorted(maps.Keys(fields)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("documented keys %q, want %q", got, want)
	}
	if !fields["headers"].Secret || !fields["url"].Required {
		t.Errorf("headers must be Secret and url Required: %+v %+v", fields["headers"], fields["url"])
	}
	// Every documented key is a key of the config table, and back.
	var tags []string
	rt := reflect.TypeFor[config]()
	for i := range rt.NumField() {
		tags = append(tags, rt.Field(i).Tag.Get("json"))
	}
	if !slices.Equal(slices.Sorted(slices.Values(tags)), slices.Sorted(slices.Values(want))) {
		t.Errorf("config keys %q, documented %q", tags, want)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://api.example/v1/score", "https://api.example/v1/score"},
		{"https://user:pass@api.example/v1?key=abc&x=1#frag", "https://api.example/v1?key=REDACTED&x=REDACTED"},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.in)
		if got := redactURL(u); got != tt.want {
			t.Errorf("redactURL(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
