package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/plugins/medium/mediumtest"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

func TestConfigure(t *testing.T) {
	const secretToken = "s3cr3t-token-value-XYZ"
	const secretHook = "hook-secret-value-ABC"
	good := map[string]any{"api_base_url": "https://proxy.example.com/medium/", "access_token": secretToken}
	tests := []struct {
		name   string
		config map[string]any
		fields []string // the keys the FieldErrors must name, in order; none: accepted
	}{
		{"minimal", good, nil},
		{"everything", with(with(with(good, "webhooks", true), "webhook_secret", secretHook), "rss_base_url", "http://127.0.0.1:8080"), nil},
		{"empty table", map[string]any{}, []string{"api_base_url", "access_token"}},
		{"api_base_url relative", with(good, "api_base_url", "/v1"), []string{"api_base_url"}},
		{"api_base_url with a query", with(good, "api_base_url", "https://x.example/?a=1"), []string{"api_base_url"}},
		{"rss_base_url not a URL", with(good, "rss_base_url", "medium.com"), []string{"rss_base_url"}},
		{"rss_base_url with a password", with(good, "rss_base_url", "ftp://u:"+secretToken+"@h"), []string{"rss_base_url"}},
		{"blank access_token", with(good, "access_token", "  "), []string{"access_token"}},
		{"access_token with a line break", with(good, "access_token", secretToken+"\nX: y"), []string{"access_token"}},
		{"webhooks without a secret", with(good, "webhooks", true), []string{"webhook_secret"}},
		{"a short secret", with(with(good, "webhooks", true), "webhook_secret", "short"), []string{"webhook_secret"}},
		{"a secret with webhooks off", with(good, "webhook_secret", secretHook), []string{"webhooks"}},
		{"timeout", with(good, "timeout", "0s"), []string{"timeout"}},
		{"bad duration", with(good, "timeout", "soon"), []string{"timeout"}},
		{"page_size", with(good, "page_size", 0), []string{"page_size"}},
		{"max_pages", with(good, "max_pages", 101), []string{"max_pages"}},
		{"wrong type", with(good, "webhooks", "yes"), []string{"webhooks"}},
		{"unknown key", with(good, "bearer_token", "x"), []string{"bearer_token"}},
		// A key that does not decode does not hide the others' problems
		// (all at once), and is not reported twice.
		{"wrong type and bad values", map[string]any{"api_base_url": 5, "page_size": 0, "timeout": "soon", "rss_base_url": "medium.com"},
			[]string{"api_base_url", "timeout", "rss_base_url", "access_token", "page_size"}},
		{"unknown key and a missing one", with(without(good, "access_token"), "bearer_token", "x"), []string{"bearer_token", "access_token"}},
		{"webhooks of the wrong type: its secret is still checked", with(with(good, "webhooks", "yes"), "webhook_secret", "short"), []string{"webhooks", "webhook_secret"}},
		{"webhooks of the wrong type, a good secret", with(with(good, "webhooks", 1), "webhook_secret", secretHook), []string{"webhooks"}},
		{"a secret of the wrong type", with(with(good, "webhooks", true), "webhook_secret", 12), []string{"webhook_secret"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, validateOnly := range []bool{true, false} {
				data, _ := json.Marshal(tc.config)
				m := &Medium{}
				err := m.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: data}, ValidateOnly: validateOnly})
				if len(tc.fields) == 0 {
					if err != nil {
						t.Fatalf("Configure: %v", err)
					}
					continue
				}
				var fe sdk.FieldErrors
				if !errors.As(err, &fe) {
					t.Fatalf("Configure: %v, want FieldErrors for %q", err, tc.fields)
				}
				var got []string
				for _, e := range fe {
					got = append(got, e.Field)
				}
				if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
					t.Errorf("FieldErrors %v name %q, want %q", fe, got, tc.fields)
				}
				if msg := err.Error(); strings.Contains(msg, secretToken) || strings.Contains(msg, secretHook) || strings.Contains(msg, "short\"") {
					t.Errorf("a secret is in the message: %s", msg)
				}
				if m.settings.Load() != nil {
					t.Errorf("a refused config was kept")
				}
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	d := newPlugin().Describe()
	if strings.Join(d.Actions, ",") != "flag" {
		t.Errorf("actions %q, want exactly [flag]", d.Actions)
	}
	if strings.Join(d.Capabilities, ",") != "discover,poll,webhook,moderate" {
		t.Errorf("capabilities %q", d.Capabilities)
	}
	if strings.Join(d.TargetKinds, ",") != "author,publication" {
		t.Errorf("target kinds %q", d.TargetKinds)
	}
	keys := map[string]sdk.ConfigField{}
	for _, f := range d.Config {
		keys[f.Name] = f
	}
	for _, k := range []string{"api_base_url", "rss_base_url", "access_token", "webhook_secret"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("config key %q (SPEC) is not declared", k)
		}
	}
	if !keys["access_token"].Secret || !keys["webhook_secret"].Secret || keys["rss_base_url"].Default != `"https://medium.com"` {
		t.Errorf("config fields %+v", keys)
	}
}

// TestModerate: flag makes no call to Medium, succeeds, and says
// Changed false the second time (per version: an edit's flag is new); hide and delete are refused by Serve
// before Moderate runs.
func TestModerate(t *testing.T) {
	f := newFake(t, mediumtest.Options{})
	a := f.Publish(mediumtest.Article{Title: "A", Author: "ann"})
	r := f.Respond(mediumtest.Response{PostID: a.ID, Author: "bob", Text: "buy now"})
	f.ResetRequests()
	p := plugintest.Start(t, newPlugin())
	ctx := context.Background()
	fe, err := p.Configure(ctx, sdk.ConfigureOptions{Instance: "medium", Config: baseConfig(f), KV: sdk.NewMemoryKV()})
	if err != nil || len(fe) > 0 {
		t.Fatalf("Configure: %v %v", fe, err)
	}
	c := sdk.Comment{Platform: platform, ID: r.ID, PostID: a.ID}
	for i, want := range []bool{true, false, false} {
		resp, err := p.Moderate(ctx, sdk.ModerateRequest{Comment: c, Action: sdk.ActionFlag, IdempotencyKey: "k"})
		if err != nil || resp.Changed != want || resp.Detail == "" {
			t.Errorf("flag %d: %+v %v, want Changed %v and a detail", i+1, resp, err, want)
		}
	}
	// An edit is a new version with a new decision: a new flag, and its
	// retries are not.
	edited := c
	edited.Version = "1767225700000"
	for i, want := range []bool{true, false} {
		resp, err := p.Moderate(ctx, sdk.ModerateRequest{Comment: edited, Action: sdk.ActionFlag, IdempotencyKey: "k2"})
		if err != nil || resp.Changed != want {
			t.Errorf("flag %d of the edited version: %+v %v, want Changed %v", i+1, resp, err, want)
		}
	}
	edited.Version = "1767225800000"
	if resp, err := p.Moderate(ctx, sdk.ModerateRequest{Comment: edited, Action: sdk.ActionFlag, IdempotencyKey: "k3"}); err != nil || !resp.Changed {
		t.Errorf("flag of a second edit: %+v %v, want Changed", resp, err)
	}
	other, err := p.Moderate(ctx, sdk.ModerateRequest{Comment: sdk.Comment{ID: "another"}, Action: sdk.ActionFlag})
	if err != nil || !other.Changed {
		t.Errorf("flag of another response: %+v %v", other, err)
	}
	for _, action := range []string{sdk.ActionHide, sdk.ActionDelete, sdk.ActionUnhide, sdk.ActionApprove} {
		if _, err := p.Moderate(ctx, sdk.ModerateRequest{Comment: c, Action: action}); !errors.Is(err, sdk.ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", action, err)
		}
	}
	if reqs := f.Requests(); len(reqs) != 0 {
		t.Errorf("moderating made %d requests to Medium (%+v); Medium has no call for it", len(reqs), reqs)
	}
	if got := len(f.Responses(a.ID)); got != 1 {
		t.Errorf("the response is gone from the platform: %d left", got)
	}
}

func TestModerateKVFailure(t *testing.T) {
	f := newFake(t, mediumtest.Options{})
	m := &Medium{}
	data, _ := json.Marshal(baseConfig(f))
	// No KV: a host without services. The flag cannot be recorded.
	if err := m.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: data}, KV: failingKV{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Moderate(context.Background(), sdk.ModerateRequest{Comment: sdk.Comment{ID: "x"}, Action: sdk.ActionFlag}); err == nil || sdk.IsPermanent(err) {
		t.Errorf("flag with a failing KV: %v, want an error the host retries", err)
	}
}

type failingKV struct{ sdk.KV }

func (failingKV) SetIfAbsent(context.Context, string, []byte, time.Duration) (bool, error) {
	return false, sdk.ErrNoHost
}

func TestRateLimitHeaders(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		h    http.Header
		want sdk.RateLimit
	}{
		{"none", http.Header{}, sdk.RateLimit{}},
		{"x-ratelimit", http.Header{"X-Ratelimit-Limit": {"300"}, "X-Ratelimit-Remaining": {"12"}, "X-Ratelimit-Reset": {"1767225900"}},
			sdk.RateLimit{Limit: 300, Remaining: 12, Reset: time.Unix(1767225900, 0).UTC()}},
		{"ietf draft", http.Header{"Ratelimit-Limit": {"100"}, "Ratelimit-Remaining": {"0"}, "Ratelimit-Reset": {"30"}},
			sdk.RateLimit{Limit: 100, Remaining: 0, Reset: now.Add(30 * time.Second)}},
		{"retry-after seconds", http.Header{"Retry-After": {"120"}}, sdk.RateLimit{Reset: now.Add(2 * time.Minute)}},
		{"retry-after date", http.Header{"Retry-After": {"Thu, 01 Jan 2026 00:05:00 GMT"}}, sdk.RateLimit{Reset: now.Add(5 * time.Minute)}},
		// A stale X-RateLimit-Reset (an hour ago) must not shorten the
		// wait a 429's Retry-After asks for; a later one still wins.
		{"stale reset, retry-after", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1767222000"}, "Retry-After": {"90"}},
			sdk.RateLimit{Reset: now.Add(90 * time.Second)}},
		{"stale reset, retry-after date", http.Header{"X-Ratelimit-Reset": {"1767222000"}, "Retry-After": {"Thu, 01 Jan 2026 00:05:00 GMT"}},
			sdk.RateLimit{Reset: now.Add(5 * time.Minute)}},
		{"reset later than retry-after", http.Header{"X-Ratelimit-Reset": {"1767225900"}, "Retry-After": {"60"}},
			sdk.RateLimit{Reset: time.Unix(1767225900, 0).UTC()}},
		{"ietf reset, longer retry-after", http.Header{"Ratelimit-Reset": {"10"}, "Retry-After": {"30"}},
			sdk.RateLimit{Reset: now.Add(30 * time.Second)}},
		{"garbage", http.Header{"X-Ratelimit-Limit": {"lots"}, "X-Ratelimit-Remaining": {"-4"}, "Retry-After": {"soon"}}, sdk.RateLimit{}},
		{"remaining over limit", http.Header{"X-Ratelimit-Limit": {"10"}, "X-Ratelimit-Remaining": {"50"}}, sdk.RateLimit{Limit: 10, Remaining: 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := rateLimit(tc.h, now); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestConfigureReachesNothing: Configure, in either mode, makes no request
// (config check must not touch the platform), and calls before Configure
// fail for good.
func TestConfigureReachesNothing(t *testing.T) {
	f := newFake(t, mediumtest.Options{})
	f.Publish(mediumtest.Article{Title: "A", Author: "ann"})
	ctx := context.Background()
	m := &Medium{}
	if _, err := m.Poll(ctx, []sdk.PostCursor{{PostID: "abcdef123456"}}); !sdk.IsPermanent(err) {
		t.Errorf("Poll before Configure: %v, want a permanent error", err)
	}
	if _, err := m.Discover(ctx, sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetAuthor, ID: "@ann"}}); !sdk.IsPermanent(err) {
		t.Errorf("Discover before Configure: %v, want a permanent error", err)
	}
	data, _ := json.Marshal(baseConfig(f))
	for _, validateOnly := range []bool{true, false} {
		if err := m.Configure(ctx, sdk.ConfigureRequest{Config: sdk.Config{JSON: data}, ValidateOnly: validateOnly, KV: sdk.NewMemoryKV()}); err != nil {
			t.Fatal(err)
		}
	}
	if reqs := f.Requests(); len(reqs) != 0 {
		t.Errorf("Configure made requests: %+v", reqs)
	}
}
