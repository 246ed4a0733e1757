package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLoad runs a short schedule against a stand-in endpoint that checks
// what the synthetic connector checks: the signature over the raw body and
// the delivery's shape. Every comment id must arrive once, and the answers
// the endpoint gave must be the ones counted.
func TestLoad(t *testing.T) {
	const secret = "s3cret"
	var mu sync.Mutex
	ids := map[string]int{}
	conns, connsAtStart, sentEarly := 0, -1, false // connections accepted: in all, when the clock started
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sentEarly = sentEarly || connsAtStart < 0
		mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		if r.Header.Get("X-Synthetic-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var d struct {
			Events []struct {
				Type    string `json:"type"`
				Comment struct {
					ID   string `json:"id"`
					Text string `json:"text"`
				} `json:"comment"`
			} `json:"events"`
		}
		if err := json.Unmarshal(body, &d); err != nil || len(d.Events) != 2 {
			http.Error(w, "bad delivery", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, e := range d.Events {
			if e.Type != "comment.created" || e.Comment.Text == "" {
				http.Error(w, "bad event", http.StatusBadRequest)
				return
			}
			ids[e.Comment.ID]++
		}
		// Now and then the server closes the connection after its answer,
		// as a host may: the next delivery needs a new one.
		if len(ids)%14 == 4 {
			w.Header().Set("Connection", "close")
		}
		// Every fifth delivery is refused, so the error count is checked too.
		if len(ids)%10 == 0 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"received":2}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()
	// When the clock starts, every dial has returned, so the kernel holds
	// every connection the generator opened, whether or not the server's
	// accept loop (which may lag on a busy machine) has taken them yet:
	// nothing else dials until the first delivery, so the count settles.
	clockStarts = func() {
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			mu.Lock()
			n := conns
			mu.Unlock()
			if n >= 8 {
				break
			}
		}
		mu.Lock()
		connsAtStart = conns
		mu.Unlock()
	}
	defer func() { clockStarts = nil }()

	var out, errOut bytes.Buffer
	latencies := filepath.Join(t.TempDir(), "latencies.tsv")
	code := run([]string{"-url", srv.URL, "-secret", secret, "-rate", "500", "-duration", "200ms",
		"-connections", "8", "-comments", "2", "-first-id", "42", "-json", "-latencies", latencies}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if res.Sent != 100 || res.OK != 80 || res.Errors["503"] != 20 || len(res.Errors) != 1 {
		t.Errorf("sent %d, ok %d, errors %v; want 100, 80, 20 503s", res.Sent, res.OK, res.Errors)
	}
	// Every connection was open before the clock started (and some were
	// opened again after the server closed them).
	if connsAtStart != 8 || sentEarly || conns <= 8 {
		t.Errorf("%d connections open when the clock started (a delivery before it: %v), %d in all; want 8, none, then more", connsAtStart, sentEarly, conns)
	}
	if len(ids) != 200 || res.FirstID != "42" || res.LastID != "241" {
		t.Errorf("%d distinct ids, first %s, last %s; want 200, 42, 241", len(ids), res.FirstID, res.LastID)
	}
	for id, n := range ids {
		if v, err := strconv.Atoi(id); err != nil || v < 42 || v > 241 || n != 1 {
			t.Errorf("comment %s arrived %d times", id, n)
		}
	}
	// One line per delivery, due every 2 ms, with its answer.
	raw, err := os.ReadFile(latencies)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 102 || !strings.HasPrefix(lines[0], "# first due 20") || lines[1] != "# due_ms\tlatency_ms\tstatus" {
		t.Fatalf("latencies file has %d lines, starting %q", len(lines), lines[:min(2, len(lines))])
	}
	codes := map[string]int{}
	for i, line := range lines[2:] {
		f := strings.Split(line, "\t")
		due, err1 := strconv.ParseFloat(f[0], 64)
		l, err2 := strconv.ParseFloat(f[1], 64)
		if len(f) != 3 || err1 != nil || err2 != nil || math.Abs(due-2*float64(i)) > 1e-6 || l <= 0 || l > 10000 {
			t.Errorf("latencies line %d: %q", i, line)
			continue
		}
		codes[f[2]]++
	}
	if codes["200"] != 80 || codes["503"] != 20 {
		t.Errorf("statuses in the latencies file: %v; want 80 200s and 20 503s", codes)
	}
	// An open-loop schedule of 200ms cannot finish much sooner; percentiles
	// are ordered.
	if res.ElapsedS < 0.19 || !(res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.Max) {
		t.Errorf("elapsed %.3fs, p50 %.2f p90 %.2f p99 %.2f max %.2f", res.ElapsedS, res.P50, res.P90, res.P99, res.Max)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-url", "http://x", "-secret", "s", "-rate", "0"},
		{"-url", "http://x", "-secret", "s", "extra"},
		{"-frob"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a reason", args, code, errOut.String())
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := percentile(d, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p*100, got, c.want)
		}
	}
	if got := percentile(d[:1], 0.99); got != time.Millisecond {
		t.Errorf("one sample: %v", got)
	}
}
