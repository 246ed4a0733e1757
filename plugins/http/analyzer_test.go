package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

func TestAnalyzeCorrectAnswers(t *testing.T) {
	f := newFake(t)
	a := configured(t, map[string]any{"url": f.URL, "headers": map[string]any{"Authorization": "Bearer test-token-123"}}, nil)
	in := comments("you idiot, I will kill you", "a kind word", "ΑΥΤΟ ΕΙΝΑΙ ΠΟΛΥ ΚΑΚΟ idiot")
	res, err := a.Analyze(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("%d results, want 3", len(res))
	}
	for i, r := range res {
		if r.CommentID != in[i].ID || r.Err != "" {
			t.Errorf("result %d: %+v, want comment %s without error", i, r, in[i].ID)
		}
	}
	if got := labelNames(res[0]); !slices.Equal(got, []string{sdk.LabelInsult, sdk.LabelThreat}) {
		t.Errorf("comment 0 labels %q, want insult and threat in vocabulary order", got)
	}
	l, _ := res[0].Label(sdk.LabelInsult)
	if l.Score != 0.9 || l.Reason != "matched idiot" || len(l.Spans) != 1 || in[0].Text[l.Spans[0].Start:l.Spans[0].End] != "idiot" {
		t.Errorf("insult label %+v, want score 0.9, the service's reason and a span on \"idiot\"", l)
	}
	if len(res[1].Labels) != 0 {
		t.Errorf("comment 1 labels %+v, want none", res[1].Labels)
	}
	// Two remote labels map to insult: the higher score wins (equal here,
	// so the first), spans and reason come from it.
	l, _ = res[2].Label(sdk.LabelInsult)
	if got := in[2].Text[l.Spans[0].Start:l.Spans[0].End]; got != "idiot" {
		t.Errorf("comment 2 insult span covers %q", got)
	}

	bodies, headers, _ := f.recorded()
	if len(bodies) != 1 {
		t.Fatalf("%d requests, want 1 for 3 comments", len(bodies))
	}
	want := `{"comments":[` +
		`{"id":"c0","text":"you idiot, I will kill you","author_id":"a1","post_id":"p1","lang":"en"},` +
		`{"id":"c1","text":"a kind word","author_id":"a1","post_id":"p1","lang":"en"},` +
		`{"id":"c2","text":"ΑΥΤΟ ΕΙΝΑΙ ΠΟΛΥ ΚΑΚΟ idiot","author_id":"a1","post_id":"p1","lang":"en"}]}`
	if string(bodies[0]) != want {
		t.Errorf("request body\n%s\nwant\n%s", bodies[0], want)
	}
	for name, want := range map[string]string{
		"Authorization": "Bearer test-token-123", "Content-Type": "application/json",
		"Accept": "application/json", "User-Agent": "moderator-http/" + version,
	} {
		if got := headers[0].Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
}

func TestAnalyzeSplitsBatches(t *testing.T) {
	f := newFake(t)
	a := configured(t, map[string]any{"url": f.URL, "batch_size": 3, "concurrency": 2}, nil)
	var texts []string
	for i := range 10 {
		texts = append(texts, fmt.Sprintf("comment %d idiot", i))
	}
	in := comments(texts...)
	res, err := a.Analyze(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.CommentID != in[i].ID || len(r.Labels) != 1 {
			t.Errorf("result %d is %+v, want comment %s with one label", i, r, in[i].ID)
		}
	}
	_, _, reqs := f.recorded()
	var sizes []int
	for _, r := range reqs {
		sizes = append(sizes, len(r.Comments))
	}
	slices.Sort(sizes)
	if !slices.Equal(sizes, []int{1, 3, 3, 3}) {
		t.Errorf("request sizes %v, want 3, 3, 3 and 1", sizes)
	}
}

func TestAnalyzeEmptyBatch(t *testing.T) {
	f := newFake(t)
	a := configured(t, map[string]any{"url": f.URL}, nil)
	res, err := a.Analyze(context.Background(), nil)
	if err != nil || len(res) != 0 || f.hits.Load() != 0 {
		t.Errorf("Analyze(nil) = %v, %v with %d requests; want no results, no error, no request", res, err, f.hits.Load())
	}
}

func TestAnalyzeUnconfigured(t *testing.T) {
	if _, err := newAnalyzer().Analyze(context.Background(), comments("x")); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("Analyze before Configure = %v, want a not-configured error", err)
	}
}

func TestTimeoutIsRetriedThenFails(t *testing.T) {
	f := newFake(t)
	f.script(func(_ int64, w http.ResponseWriter, r *http.Request, _ []byte) {
		select { // slower than the timeout; stop when the client gives up
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	a := configured(t, map[string]any{"url": f.URL, "timeout": "100ms", "retries": 1, "backoff": "1ms"}, nil)
	start := time.Now()
	_, err := a.Analyze(context.Background(), comments("hello"))
	if err == nil {
		t.Fatal("a service slower than the timeout did not fail the batch")
	}
	for _, want := range []string{"no answer within the timeout of 100ms", "gave up after 2 attempts", f.URL} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if f.hits.Load() != 2 {
		t.Errorf("%d requests, want 2 (one retry)", f.hits.Load())
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s: the timeout did not cut the request", d)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		failures int // answers before the service recovers
		status   int
		retries  int
		ok       bool
		inErr    string
	}{
		{name: "503 twice then success", failures: 2, status: 503, retries: 2, ok: true},
		{name: "500 once then success", failures: 1, status: 500, retries: 1, ok: true},
		{name: "more 5xx than retries", failures: 3, status: 502, retries: 2, inErr: "answered 502 Bad Gateway: overloaded (gave up after 3 attempts)"},
		{name: "no retries", failures: 1, status: 503, retries: 0, inErr: "gave up after 1 attempt)"},
		{name: "400 is not retried", failures: 1, status: 400, retries: 3, inErr: "answered 400 Bad Request: overloaded"},
		{name: "401 is not retried", failures: 1, status: 401, retries: 3, inErr: "answered 401 Unauthorized"},
		{name: "404 is not retried", failures: 1, status: 404, retries: 3, inErr: "answered 404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.script(func(n int64, w http.ResponseWriter, r *http.Request, body []byte) {
				if n <= int64(tt.failures) {
					http.Error(w, "overloaded", tt.status)
					return
				}
				var req modRequest
				_ = json.Unmarshal(body, &req)
				writeJSON(w, 200, score(req))
			})
			a := configured(t, map[string]any{"url": f.URL, "retries": tt.retries, "backoff": "1ms", "max_backoff": "5ms"}, nil)
			res, err := a.Analyze(context.Background(), comments("idiot"))
			wantHits := int64(min(tt.failures, tt.retries) + 1)
			if tt.status < 500 {
				wantHits = 1
			}
			if got := f.hits.Load(); got != wantHits {
				t.Errorf("%d requests, want %d", got, wantHits)
			}
			if tt.ok {
				if err != nil || len(res) != 1 || len(res[0].Labels) != 1 {
					t.Errorf("Analyze = %+v, %v; want the label after the retries", res, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.inErr) {
				t.Fatalf("error %v, want it to contain %q", err, tt.inErr)
			}
			if got := sdk.IsPermanent(err); got != (tt.status < 500) {
				t.Errorf("IsPermanent = %v for status %d; a refused request is permanent, a failing service is not", got, tt.status)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Run("honoured", func(t *testing.T) {
		f := newFake(t)
		f.script(func(n int64, w http.ResponseWriter, r *http.Request, body []byte) {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "slow down", http.StatusTooManyRequests)
				return
			}
			var req modRequest
			_ = json.Unmarshal(body, &req)
			writeJSON(w, 200, score(req))
		})
		a := configured(t, map[string]any{"url": f.URL, "backoff": "1ms", "max_backoff": "5s"}, nil)
		start := time.Now()
		res, err := a.Analyze(context.Background(), comments("idiot"))
		if err != nil || len(res[0].Labels) != 1 {
			t.Fatalf("Analyze = %+v, %v; want success after the 429", res, err)
		}
		if d := time.Since(start); d < time.Second {
			t.Errorf("retried after %s, before the 1s the service asked for", d)
		}
		if f.hits.Load() != 2 {
			t.Errorf("%d requests, want 2", f.hits.Load())
		}
	})
	t.Run("longer than max_backoff fails at once as rate limited", func(t *testing.T) {
		f := newFake(t)
		f.script(func(n int64, w http.ResponseWriter, r *http.Request, body []byte) {
			w.Header().Set("Retry-After", "3600")
			http.Error(w, "quota", http.StatusTooManyRequests)
		})
		a := configured(t, map[string]any{"url": f.URL, "retries": 5}, nil)
		_, err := a.Analyze(context.Background(), comments("x"))
		var rl *sdk.RateLimitedError
		if !errors.As(err, &rl) {
			t.Fatalf("error %v, want an sdk.RateLimitedError", err)
		}
		if d := time.Until(rl.RateLimit.Reset); d < 59*time.Minute || d > 61*time.Minute {
			t.Errorf("reset in %s, want about the hour the service asked for", d)
		}
		if !strings.Contains(err.Error(), "asks to retry after 1h0m0s, longer than max_backoff 10s") {
			t.Errorf("error %q does not say why it gave up", err)
		}
		if f.hits.Load() != 1 {
			t.Errorf("%d requests, want 1", f.hits.Load())
		}
	})
	t.Run("persistent 429 ends rate limited", func(t *testing.T) {
		f := newFake(t)
		f.script(func(n int64, w http.ResponseWriter, r *http.Request, body []byte) {
			http.Error(w, "quota", http.StatusTooManyRequests)
		})
		a := configured(t, map[string]any{"url": f.URL, "retries": 2, "backoff": "1ms"}, nil)
		_, err := a.Analyze(context.Background(), comments("x"))
		var rl *sdk.RateLimitedError
		if !errors.As(err, &rl) || f.hits.Load() != 3 {
			t.Errorf("error %v after %d requests, want an sdk.RateLimitedError after 3", err, f.hits.Load())
		}
	})
	t.Run("no time left before the caller's deadline", func(t *testing.T) {
		f := newFake(t)
		f.script(func(n int64, w http.ResponseWriter, r *http.Request, body []byte) {
			w.Header().Set("Retry-After", "5")
			http.Error(w, "busy", http.StatusServiceUnavailable)
		})
		a := configured(t, map[string]any{"url": f.URL, "max_backoff": "10s"}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := a.Analyze(ctx, comments("x"))
		if err == nil || !strings.Contains(err.Error(), "no time left to wait 5s before the call's deadline") {
			t.Errorf("error %v, want it to give up rather than sleep past the deadline", err)
		}
		if time.Since(start) > 500*time.Millisecond {
			t.Errorf("took %s to give up", time.Since(start))
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		h    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 120 ", 2 * time.Minute, true},
		{"-5", 0, false},
		{"soon", 0, false},
		{"Fri, 02 Jan 2026 03:05:05 GMT", time.Minute, true},
		{"Fri, 02 Jan 2026 03:00:00 GMT", 0, true}, // in the past: now
		{"99999999999", 24 * time.Hour, true},      // capped
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.h, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tt.h, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBackoffGrowsWithJitterUpToTheCap(t *testing.T) {
	c := &client{backoff: 100 * time.Millisecond, maxBackoff: time.Second}
	for attempt, base := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		base *= time.Millisecond
		for range 50 {
			if w := c.wait(attempt + 1); w < base/2 || w > base {
				t.Fatalf("wait(%d) = %s, want within [%s, %s]", attempt+1, w, base/2, base)
			}
		}
	}
	if w := (&client{}).wait(3); w != 0 {
		t.Errorf("backoff 0 waits %s", w)
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	target := newFake(t)
	f := newFake(t)
	f.script(func(_ int64, w http.ResponseWriter, r *http.Request, _ []byte) {
		http.Redirect(w, r, target.URL+"/v2?key=abc", http.StatusFound)
	})
	a := configured(t, map[string]any{"url": f.URL}, nil)
	_, err := a.Analyze(context.Background(), comments("x"))
	if err == nil || !strings.Contains(err.Error(), "redirects to "+target.URL+"/v2?key=REDACTED: set url to the final address") {
		t.Errorf("error %v, want it to name the redirect target (redacted)", err)
	}
	if !sdk.IsPermanent(err) || target.hits.Load() != 0 || f.hits.Load() != 1 {
		t.Errorf("permanent %v, %d requests, %d to the target; want permanent, 1, 0", sdk.IsPermanent(err), f.hits.Load(), target.hits.Load())
	}
}

func TestOversizedAnswer(t *testing.T) {
	f := newFake(t)
	f.script(func(_ int64, w http.ResponseWriter, _ *http.Request, _ []byte) {
		chunk := []byte(strings.Repeat(" ", 1<<20))
		for range maxResponseBytes>>20 + 1 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	a := configured(t, map[string]any{"url": f.URL}, nil)
	_, err := a.Analyze(context.Background(), comments("x"))
	if err == nil || !strings.Contains(err.Error(), "larger than 32 MiB") {
		t.Errorf("error %v, want the answer refused for its size", err)
	}
}

func TestSecretsStayOutOfErrorsAndLogs(t *testing.T) {
	const token, key = "sk-verysecret-0123456789", "query-secret-987"
	f := newFake(t)
	f.script(func(_ int64, w http.ResponseWriter, r *http.Request, _ []byte) {
		// A service that echoes what it got, as some error pages do.
		http.Error(w, "bad credentials: "+r.Header.Get("Authorization")+" and "+r.URL.RawQuery, http.StatusInternalServerError)
	})
	var log syncBuffer
	a := configured(t, map[string]any{
		"url": f.URL + "/score?key=" + key, "headers": map[string]any{"Authorization": "Bearer " + token, "X-Api-Key": key},
		"retries": 1, "backoff": "1ms", "circuit": map[string]any{"failures": 1, "open_for": "1m"},
	}, &log)
	_, err1 := a.Analyze(context.Background(), comments("x"))
	_, err2 := a.Analyze(context.Background(), comments("x")) // the breaker is open now
	down := configured(t, map[string]any{"url": "http://127.0.0.1:1/?key=" + key, "headers": map[string]any{"Authorization": "Bearer " + token}, "retries": 0}, &log)
	_, err3 := down.Analyze(context.Background(), comments("x"))
	for i, err := range []error{err1, err2, err3} {
		if err == nil {
			t.Fatalf("call %d succeeded", i+1)
		}
		for _, secret := range []string{token, key} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %d shows a secret: %v", i+1, err)
			}
		}
	}
	if !strings.Contains(err1.Error(), "[REDACTED]") || !strings.Contains(err1.Error(), "key=REDACTED") {
		t.Errorf("error %q: want the echoed secrets and the URL's key blanked", err1)
	}
	if !strings.Contains(log.String(), "circuit breaker") {
		t.Errorf("the log has no circuit breaker line: %s", log.String())
	}
	for _, secret := range []string{token, key} {
		if strings.Contains(log.String(), secret) {
			t.Errorf("the log shows a secret:\n%s", log.String())
		}
	}
}

func TestCallerCancellation(t *testing.T) {
	f := newFake(t)
	f.script(func(_ int64, w http.ResponseWriter, r *http.Request, _ []byte) {
		<-r.Context().Done()
	})
	a := configured(t, map[string]any{"url": f.URL, "timeout": "10s", "circuit": map[string]any{"failures": 1, "open_for": "1m"}}, nil)
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := a.Analyze(ctx, comments("x"))
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want the caller's deadline", err)
		}
	}
	// The host giving up is no failure of the service: the breaker stayed
	// closed, so every call reached it.
	if f.hits.Load() != 3 {
		t.Errorf("%d requests reached the service, want 3", f.hits.Load())
	}
}
