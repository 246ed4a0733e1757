package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
)

// TestGarbageFailsTheBatch: answers that cannot be matched to the comments
// fail the whole batch with an error saying what was wrong, are not retried
// (the same request would get the same answer), and never come back as
// results without labels, which would approve the comments.
func TestGarbageFailsTheBatch(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		inErr  string
	}{
		{name: "html", body: "<html><body>Bad gateway</body></html>", inErr: `the service answered something that is not JSON (invalid character '<' looking for beginning of value): "<html><body>Bad gateway</body></html>"`},
		{name: "empty", body: "", inErr: "the service answered with an empty body, not JSON"},
		{name: "truncated", body: `{"results":[{"id":"c0","labels":[`, inErr: "not JSON (unexpected end of JSON input)"},
		{name: "two values", body: `{"results":[]} {"results":[]}`, inErr: "not JSON (invalid character '{' after top-level value)"},
		{name: "a list, not an object", body: `[{"id":"c0"}]`, inErr: "wrong shape: the answer is array, want an object"},
		{name: "results is an object", body: `{"results":{"c0":[]}}`, inErr: "wrong shape: results is object, want a list"},
		{name: "score is a string", body: `{"results":[{"id":"c0","labels":[{"name":"insult","score":"high"}]},{"id":"c1"}]}`, inErr: "wrong shape: results.labels.score is string, want a number"},
		{name: "span is a number", body: `{"results":[{"id":"c0","labels":[{"name":"insult","score":1,"spans":[3]}]},{"id":"c1"}]}`, inErr: "wrong shape: results.labels.spans is number, want a list"},
		{name: "no results", body: `{"data":[]}`, inErr: `the service's answer has no "results" list: "{\"data\":[]}"`},
		{name: "null results", body: `{"results":null}`, inErr: `has no "results" list`},
		{name: "too few results", body: `{"results":[{"id":"c0"}]}`, inErr: "the service answered 1 results for 2 comments"},
		{name: "too many results", body: `{"results":[{"id":"c0"},{"id":"c1"},{"id":"c2"}]}`, inErr: "the service answered 3 results for 2 comments"},
		{name: "missing id", body: `{"results":[{"id":"c0"},{"labels":[]}]}`, inErr: "the service's result 1 has no id"},
		{name: "unknown id", body: `{"results":[{"id":"c0"},{"id":"c7"}]}`, inErr: `the service's result 1 is for id "c7", which is not in the request`},
		{name: "id twice", body: `{"results":[{"id":"c0"},{"id":"c0"}]}`, inErr: `the service answered twice for id "c0"`},
		{name: "204 no content", status: 204, inErr: "empty body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.script(func(_ int64, w http.ResponseWriter, _ *http.Request, _ []byte) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(max(tt.status, 200))
				_, _ = w.Write([]byte(tt.body))
			})
			a := configured(t, map[string]any{"url": f.URL, "retries": 3, "backoff": "1ms"}, nil)
			res, err := a.Analyze(context.Background(), comments("idiot", "fine"))
			if err == nil {
				t.Fatalf("garbage answer gave results %+v, want an error", res)
			}
			if !strings.Contains(err.Error(), tt.inErr) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.inErr)
			}
			if !strings.Contains(err.Error(), "http: comments 1 to 2 of 2: POST "+f.URL) {
				t.Errorf("error %q does not say which request failed", err)
			}
			if f.hits.Load() != 1 {
				t.Errorf("%d requests, want 1: garbage is not retried", f.hits.Load())
			}
			if sdk.IsPermanent(err) {
				t.Errorf("garbage is reported as permanent; the host should retry the batch later")
			}
		})
	}
}

// TestBadResultsFailTheirComment: a result that is matched to its comment
// but unusable makes that comment's Result.Err; the others keep their labels.
func TestBadResultsFailTheirComment(t *testing.T) {
	text := "naïve idiot" // "ï" is bytes 2-3
	tests := []struct {
		name  string
		label string // c0's labels, as JSON
		extra string // more fields of c0's result
		cfg   map[string]any
		inErr string // "" when c0 must come out fine
		want  []string
	}{
		{name: "score above 1", label: `{"name":"insult","score":1.5}`, inErr: `the service gave label "insult" the score 1.5, outside [0,1]`},
		{name: "negative score", label: `{"name":"insult","score":-0.1}`, inErr: "the score -0.1, outside [0,1]"},
		{name: "no score", label: `{"name":"insult"}`, inErr: `the service answered label "insult" with no score`},
		{name: "no name", label: `{"score":0.5}`, inErr: "a label with no name"},
		{name: "span past the end", label: `{"name":"insult","score":0.9,"spans":[[6,99]]}`, inErr: `the span [6,99), outside the text (12 bytes)`},
		{name: "span backwards", label: `{"name":"insult","score":0.9,"spans":[[6,2]]}`, inErr: "the span [6,2), outside the text"},
		{name: "negative span", label: `{"name":"insult","score":0.9,"spans":[[-1,2]]}`, inErr: "the span [-1,2), outside the text"},
		{name: "span splits a character", label: `{"name":"insult","score":0.9,"spans":[[0,3]]}`, inErr: "the span [0,3), which splits a UTF-8 character: spans are byte offsets, not character offsets"},
		{name: "span with one offset", label: `{"name":"insult","score":0.9,"spans":[[6]]}`, inErr: "the span [6]; a span is [start, end], two whole byte offsets"},
		{name: "fractional span", label: `{"name":"insult","score":0.9,"spans":[[6.5,8]]}`, inErr: "two whole byte offsets"},
		{name: "unknown label", label: `{"name":"insults","score":0.9}`, inErr: `the service answered label "insults", which is not in moderator's vocabulary; map it in the labels table ("" to ignore it)`},
		{name: "the service's own error", extra: `,"error":"text too long"`, inErr: "the service could not score it: text too long"},
		{name: "mapped label", label: `{"name":"insults","score":0.9}`, cfg: map[string]any{"labels": map[string]any{"insults": "insult"}}, want: []string{"insult"}},
		{name: "ignored label", label: `{"name":"toxicity","score":0.9}`, cfg: map[string]any{"labels": map[string]any{"toxicity": ""}}, want: nil},
		{name: "below min_score", label: `{"name":"insult","score":0.005}`, want: nil},
		{name: "at min_score", label: `{"name":"insult","score":0.01}`, want: []string{"insult"}},
		{name: "min_score 0 keeps everything", label: `{"name":"insult","score":0}`, cfg: map[string]any{"min_score": 0}, want: []string{"insult"}},
		{name: "span on character boundaries", label: `{"name":"insult","score":0.9,"spans":[[0,4],[12,12]]}`, want: []string{"insult"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			labels := "[]"
			if tt.label != "" {
				labels = "[" + tt.label + "]"
			}
			body := `{"results":[{"id":"c1","labels":[{"name":"threat","score":0.8}]},{"id":"c0","labels":` + labels + tt.extra + `}]}`
			f.script(func(_ int64, w http.ResponseWriter, _ *http.Request, _ []byte) {
				_, _ = w.Write([]byte(body))
			})
			cfg := map[string]any{"url": f.URL}
			for k, v := range tt.cfg {
				cfg[k] = v
			}
			a := configured(t, cfg, nil)
			res, err := a.Analyze(context.Background(), comments(text, "other"))
			if err != nil {
				t.Fatalf("Analyze: %v; want per-comment results", err)
			}
			if res[1].Err != "" || len(res[1].Labels) != 1 || res[1].Labels[0].Name != sdk.LabelThreat {
				t.Errorf("the good comment's result is %+v, want its threat label", res[1])
			}
			if tt.inErr != "" {
				if !strings.Contains(res[0].Err, tt.inErr) {
					t.Errorf("Err %q\nwant it to contain %q", res[0].Err, tt.inErr)
				}
				if len(res[0].Labels) != 0 {
					t.Errorf("a failed comment kept labels %+v", res[0].Labels)
				}
				return
			}
			if res[0].Err != "" {
				t.Fatalf("Err %q, want none", res[0].Err)
			}
			if got := labelNames(res[0]); !slices.Equal(got, tt.want) {
				t.Errorf("labels %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	tests := []struct{ in, want string }{
		{"", ""},
		{"  short\n\tbody\r\n", "short body"},
		{"bad \xff bytes", "bad ? bytes"},
		{long, strings.Repeat("é", 100) + "…"},
	}
	for _, tt := range tests {
		if got := snippet([]byte(tt.in)); got != tt.want {
			t.Errorf("snippet(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate("ab", 5); got != "ab" {
		t.Errorf("truncate short = %q", got)
	}
	got := truncate(strings.Repeat("é", 10), 7)
	if got != "éé…" {
		t.Errorf("truncate = %q, want a cut on a character boundary with a mark", got)
	}
}
