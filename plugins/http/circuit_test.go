package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

func TestCircuitBreaker(t *testing.T) {
	const openFor = 300 * time.Millisecond
	f := newFake(t)
	var healthy atomic.Bool
	f.script(func(_ int64, w http.ResponseWriter, _ *http.Request, body []byte) {
		if !healthy.Load() {
			http.Error(w, "database down", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{"results":[{"id":"c0","labels":[]}]}`))
	})
	a := configured(t, map[string]any{
		"url": f.URL, "retries": 0,
		"circuit": map[string]any{"failures": 3, "open_for": openFor.String()},
	}, nil)
	call := func() error {
		_, err := a.Analyze(context.Background(), comments("x"))
		return err
	}

	// Three failures in a row reach the service and open the breaker.
	for i := range 3 {
		if err := call(); err == nil || errors.Is(err, errCircuitOpen) {
			t.Fatalf("call %d: %v, want the service's 500", i+1, err)
		}
	}
	if f.hits.Load() != 3 {
		t.Fatalf("%d requests, want 3", f.hits.Load())
	}

	// Open: calls fail fast, without reaching the service.
	start := time.Now()
	for range 5 {
		err := call()
		if !errors.Is(err, errCircuitOpen) {
			t.Fatalf("call while open: %v, want errCircuitOpen", err)
		}
		for _, want := range []string{"after 3 failed requests in a row: not calling the service for another", "last failure: answered 500 Internal Server Error: database down"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	}
	if d := time.Since(start); d > openFor/2 {
		t.Errorf("5 calls on an open breaker took %s; they should fail fast", d)
	}
	if f.hits.Load() != 3 {
		t.Fatalf("%d requests: an open breaker let calls through", f.hits.Load())
	}

	// Half-open after open_for: one probe goes through; it fails, so the
	// breaker opens again at once.
	time.Sleep(openFor + 50*time.Millisecond)
	if err := call(); err == nil || errors.Is(err, errCircuitOpen) {
		t.Fatalf("probe: %v, want the service's 500", err)
	}
	if err := call(); !errors.Is(err, errCircuitOpen) {
		t.Fatalf("after a failed probe: %v, want the breaker open again", err)
	}
	if f.hits.Load() != 4 {
		t.Fatalf("%d requests, want 4 (one probe)", f.hits.Load())
	}

	// The service recovers: the next probe succeeds and closes the breaker.
	healthy.Store(true)
	time.Sleep(openFor + 50*time.Millisecond)
	for i := range 3 {
		if err := call(); err != nil {
			t.Fatalf("call %d after recovery: %v", i+1, err)
		}
	}
	if f.hits.Load() != 7 {
		t.Errorf("%d requests, want 7", f.hits.Load())
	}
}

func TestCircuitBreakerCountsRetriesAndGarbage(t *testing.T) {
	f := newFake(t)
	f.script(func(n int64, w http.ResponseWriter, _ *http.Request, _ []byte) {
		if n == 1 {
			http.Error(w, "boom", http.StatusBadGateway)
			return
		}
		_, _ = w.Write([]byte("not json"))
	})
	a := configured(t, map[string]any{
		"url": f.URL, "retries": 5, "backoff": "1ms",
		"circuit": map[string]any{"failures": 2, "open_for": "1m"},
	}, nil)
	// A 502 then garbage: two failed requests, which open the breaker
	// within one call; garbage is not retried.
	if _, err := a.Analyze(context.Background(), comments("x")); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("first call: %v, want the garbage error", err)
	}
	if _, err := a.Analyze(context.Background(), comments("x")); !errors.Is(err, errCircuitOpen) {
		t.Fatalf("second call: %v, want the breaker open", err)
	}
	if f.hits.Load() != 2 {
		t.Errorf("%d requests, want 2", f.hits.Load())
	}
}

func TestCircuitBreakerOpenStopsRetries(t *testing.T) {
	f := newFake(t)
	f.script(func(_ int64, w http.ResponseWriter, _ *http.Request, _ []byte) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	a := configured(t, map[string]any{
		"url": f.URL, "retries": 10, "backoff": "1ms",
		"circuit": map[string]any{"failures": 2, "open_for": "1m"},
	}, nil)
	_, err := a.Analyze(context.Background(), comments("x"))
	if !errors.Is(err, errCircuitOpen) || f.hits.Load() != 2 {
		t.Errorf("error %v after %d requests; want the breaker to stop the retries after 2", err, f.hits.Load())
	}
}

func TestClientErrorsDoNotOpenTheBreaker(t *testing.T) {
	f := newFake(t)
	f.script(func(_ int64, w http.ResponseWriter, _ *http.Request, _ []byte) {
		http.Error(w, "text too long", http.StatusBadRequest)
	})
	a := configured(t, map[string]any{"url": f.URL, "circuit": map[string]any{"failures": 2, "open_for": "1m"}}, nil)
	for range 5 {
		if _, err := a.Analyze(context.Background(), comments("x", "y")); err == nil || errors.Is(err, errCircuitOpen) {
			t.Fatalf("error %v, want the 400", err)
		}
	}
	// A 400 says the request was wrong, not that the service is down.
	if f.hits.Load() != 5 {
		t.Errorf("%d requests, want all 5 to reach the service", f.hits.Load())
	}
}

func TestConfigureResetsTheBreaker(t *testing.T) {
	f := newFake(t)
	var healthy atomic.Bool
	f.script(func(_ int64, w http.ResponseWriter, _ *http.Request, _ []byte) {
		if !healthy.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{"results":[{"id":"c0"}]}`))
	})
	cfg := map[string]any{"url": f.URL, "retries": 0, "circuit": map[string]any{"failures": 1, "open_for": "1h"}}
	a := configured(t, cfg, nil)
	_, _ = a.Analyze(context.Background(), comments("x"))
	if _, err := a.Analyze(context.Background(), comments("x")); !errors.Is(err, errCircuitOpen) {
		t.Fatalf("error %v, want the breaker open", err)
	}
	healthy.Store(true)
	raw, _ := json.Marshal(cfg)
	if err := a.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: raw}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Analyze(context.Background(), comments("x")); err != nil {
		t.Errorf("after reconfiguring: %v, want a fresh breaker", err)
	}
}
