package main

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

func TestConfigure(t *testing.T) {
	tests := []struct {
		name     string
		json     string
		fields   []string // FieldErrors wanted, in order; nil: accepted
		base     string
		timeout  time.Duration
		maxPages int
	}{
		{name: "defaults", json: `{"base_url":"http://127.0.0.1:9"}`, base: "http://127.0.0.1:9", timeout: defaultTimeout, maxPages: defaultMaxPages},
		{name: "all keys", json: `{"base_url":"https://api.example.com/synthetic/","token":"t","webhook_secret":"w","timeout":"2s","max_pages":3}`,
			base: "https://api.example.com/synthetic", timeout: 2 * time.Second, maxPages: 3},
		{name: "empty table", json: ``, fields: []string{"base_url"}},
		{name: "every problem at once", json: `{"base_url":"nope","timeout":"-1s","max_pages":1001}`, fields: []string{"base_url", "timeout", "max_pages"}},
		{name: "unparsable base_url", json: `{"base_url":"http://[::1"}`, fields: []string{"base_url"}},
		{name: "base_url without host", json: `{"base_url":"http:///x"}`, fields: []string{"base_url"}},
		{name: "base_url with user", json: `{"base_url":"http://u:p@example.com"}`, fields: []string{"base_url"}},
		{name: "unknown and mistyped keys", json: `{"base_url":"http://x","Base_URL":"y","max_pages":"2"}`, fields: []string{"Base_URL", "max_pages"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, validateOnly := range []bool{true, false} {
				c := &Synthetic{}
				err := c.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: []byte(tt.json)}, ValidateOnly: validateOnly})
				var fe sdk.FieldErrors
				if tt.fields != nil {
					var got []string
					if errors.As(err, &fe) {
						for _, e := range fe {
							got = append(got, e.Field)
						}
					}
					if !slices.Equal(got, tt.fields) {
						t.Errorf("validateOnly=%v: %v; want FieldErrors for %v", validateOnly, err, tt.fields)
					}
					continue
				}
				if err != nil {
					t.Fatalf("validateOnly=%v: %v", validateOnly, err)
				}
				s := c.settings.Load()
				if validateOnly {
					if s != nil {
						t.Errorf("ValidateOnly stored settings")
					}
					continue
				}
				if s.base != tt.base || s.client.Timeout != tt.timeout || s.maxPages != tt.maxPages {
					t.Errorf("settings base %q timeout %v max_pages %d; want %q %v %d", s.base, s.client.Timeout, s.maxPages, tt.base, tt.timeout, tt.maxPages)
				}
			}
		})
	}
}

func TestCursor(t *testing.T) {
	tests := []struct {
		raw  string
		want cursor
		err  bool
	}{
		{raw: ``},
		{raw: `{}`},
		{raw: `{"since":"17"}`, want: cursor{Since: 17}},
		{raw: `{"since":"5","until":"9","newest":"12"}`, want: cursor{Since: 5, Until: 9, Newest: 12}},
		{raw: `{"until":"9","newest":"9"}`, want: cursor{Until: 9, Newest: 9}},
		{raw: `{"since":"18446744073709551615"}`, want: cursor{Since: 1<<64 - 1}},
		{raw: `{"since":"18446744073709551616"}`, err: true},
		{raw: `{"since":17}`, err: true},
		{raw: `{"since":"017"}`, err: true},
		{raw: `{"since":"0"}`, err: true},
		{raw: `{"since":"-1"}`, err: true},
		{raw: `{"since":"5","until":"5","newest":"6"}`, err: true},
		{raw: `{"since":"5","newest":"6"}`, err: true},
		{raw: `{"since":"5","until":"9","newest":"5"}`, want: cursor{Since: 5, Until: 9, Newest: 5}},
		{raw: `{"since":"5","until":"9","newest":"4"}`, err: true},
		{raw: `{"since":"5","extra":1}`, err: true},
		{raw: `{"since":"5"}{}`, err: true},
		{raw: `not json`, err: true},
		{raw: `null`},
	}
	for _, tt := range tests {
		got, err := decodeCursor([]byte(tt.raw))
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("decodeCursor(%s) = %+v, %v; want %+v, error %v", tt.raw, got, err, tt.want, tt.err)
		}
		if err == nil {
			back, err := decodeCursor(got.encode())
			if err != nil || back != got {
				t.Errorf("%+v does not survive encode: %s -> %+v %v", got, got.encode(), back, err)
			}
		}
	}
}

func TestRateLimitOf(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		want sdk.RateLimit
	}{
		{"all three", http.Header{"X-Rate-Limit-Limit": {"300"}, "X-Rate-Limit-Remaining": {"12"}, "X-Rate-Limit-Reset": {"1767225600"}},
			sdk.RateLimit{Limit: 300, Remaining: 12, Reset: time.Unix(1767225600, 0).UTC()}},
		{"none", http.Header{}, sdk.RateLimit{}},
		{"garbage is ignored", http.Header{"X-Rate-Limit-Limit": {"lots"}, "X-Rate-Limit-Remaining": {"-3"}, "X-Rate-Limit-Reset": {"0"}}, sdk.RateLimit{}},
	}
	for _, tt := range tests {
		if got := rateLimitOf(tt.h); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestStatusError(t *testing.T) {
	reset := time.Unix(1767225600, 0).UTC()
	rate := sdk.RateLimit{Limit: 10, Remaining: 3, Reset: reset}
	tests := []struct {
		status int
		body   string
		check  func(error) bool
		msg    string
	}{
		{429, `{"title":"Too Many Requests"}`, func(err error) bool {
			var rl *sdk.RateLimitedError
			return errors.As(err, &rl) && !rl.RateLimit.UsageCapExceeded && rl.RateLimit.Remaining == 0 && rl.RateLimit.Reset.Equal(reset)
		}, "HTTP 429 Too Many Requests"},
		{429, `{"title":"UsageCapExceeded","detail":"monthly cap"}`, func(err error) bool {
			var rl *sdk.RateLimitedError
			return errors.As(err, &rl) && rl.RateLimit.UsageCapExceeded
		}, "UsageCapExceeded: monthly cap"},
		{404, `{"title":"Not Found"}`, func(err error) bool { return errors.Is(err, sdk.ErrNotFound) && !sdk.IsPermanent(err) }, "404"},
		{410, ``, func(err error) bool { return errors.Is(err, sdk.ErrNotFound) }, "410"},
		{403, `<html>`, sdk.IsPermanent, "HTTP 403"},
		{422, `{"title":"Idempotency Key Reused"}`, sdk.IsPermanent, "Reused"},
		{500, `{}`, func(err error) bool { return !sdk.IsPermanent(err) && !errors.Is(err, sdk.ErrNotFound) }, "HTTP 500"},
		{302, ``, func(err error) bool { return !sdk.IsPermanent(err) }, "HTTP 302"},
	}
	for _, tt := range tests {
		err := statusError("GET /x", response{status: tt.status, body: []byte(tt.body), rate: rate})
		if !tt.check(err) || !contains(err.Error(), tt.msg) || !contains(err.Error(), "GET /x") {
			t.Errorf("%d %s: %v (%T)", tt.status, tt.body, err, err)
		}
	}
}

func TestDecodeComment(t *testing.T) {
	tests := []struct {
		name, raw string
		err       string
	}{
		{"minimal", `{"id":"1","post_id":"p","author_id":"u","text":""}`, ""},
		{"unknown fields are fine", `{"id":"1","post_id":"p","author_id":"u","text":"x","likes":3}`, ""},
		{"id a number", `{"id":1,"post_id":"p","author_id":"u","text":"x"}`, "not a comment object"},
		{"id not canonical", `{"id":"01","post_id":"p","author_id":"u","text":"x"}`, "not a comment id"},
		{"no post", `{"id":"1","author_id":"u","text":"x"}`, "no post_id"},
		{"no author", `{"id":"1","post_id":"p","text":"x"}`, "no author_id"},
		{"null text", `{"id":"1","post_id":"p","author_id":"u","text":null}`, "no text"},
		{"negative version", `{"id":"1","post_id":"p","author_id":"u","text":"x","version":-1}`, "version -1"},
		{"bad time", `{"id":"1","post_id":"p","author_id":"u","text":"x","created_at":"yesterday"}`, "created_at"},
		{"null", `null`, "not a comment id"},
		{"array", `[]`, "not a comment object"},
	}
	for _, tt := range tests {
		_, err := decodeComment([]byte(tt.raw))
		if (tt.err == "") != (err == nil) || err != nil && !contains(err.Error(), tt.err) {
			t.Errorf("%s: %v, want error %q", tt.name, err, tt.err)
		}
	}
}
