package ingress

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
)

// signedHook is a connector's webhook side: HMAC-signed JSON lists of comments.
type signedHook struct {
	secret string
	calls  atomic.Int32
	fail   error
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (h *signedHook) Webhook(_ context.Context, r sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	h.calls.Add(1)
	if h.fail != nil {
		return sdk.WebhookResponse{}, h.fail
	}
	if !hmac.Equal([]byte(r.Header.Get("X-Signature")), []byte(sign(h.secret, r.Body))) {
		// A careless connector that still returns what it decoded: the
		// host must queue none of it.
		return sdk.WebhookResponse{Status: 401, Body: []byte("bad signature"), Comments: []sdk.Comment{{ID: "sneaky"}}}, nil
	}
	var items []struct{ ID, Text string }
	if err := json.Unmarshal(r.Body, &items); err != nil {
		return sdk.WebhookResponse{Status: 400, Body: []byte("malformed JSON")}, nil
	}
	out := sdk.WebhookResponse{Status: 200, Header: http.Header{"X-Ack": {"yes"}}, Body: []byte(`{"ok":true}`)}
	for _, it := range items {
		if it.ID == "" {
			return sdk.WebhookResponse{Status: 400, Body: []byte("comment without id")}, nil
		}
		out.Comments = append(out.Comments, sdk.Comment{ID: it.ID, Text: it.Text, PostID: "p"})
	}
	return out, nil
}

type env struct {
	srv   *httptest.Server
	store *store.Store
	hook  *signedHook
}

func newEnv(t testing.TB) *env {
	st, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	hook := &signedHook{secret: "s3cret"}
	h := &Webhooks{Prefix: "/webhooks", MaxBody: 1024, Logger: hclog.NewNullLogger(), Intake: NewIntake(st),
		Connectors: map[string]func(context.Context) (sdk.WebhookHandler, error){
			"x":    func(context.Context) (sdk.WebhookHandler, error) { return hook, nil },
			"down": func(context.Context) (sdk.WebhookHandler, error) { return nil, errors.New("quarantined") },
			"poller": func(context.Context) (sdk.WebhookHandler, error) {
				return nil, fmt.Errorf("connector poller: %w", ErrNoWebhooks)
			},
		}}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{srv: srv, store: st, hook: hook}
}

func (e *env) post(t testing.TB, path, sig string, body []byte) (*http.Response, string) {
	req, _ := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(body))
	if sig != "" {
		req.Header.Set("X-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (e *env) queued(t testing.TB) int {
	w, _, err := e.store.Queued(context.Background(), 0, 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	return len(w)
}

func TestWebhooks(t *testing.T) {
	good := []byte(`[{"ID":"1","Text":"hi"},{"ID":"2","Text":"there"}]`)
	tests := []struct {
		name, path, sig string
		body            []byte
		status          int
		queued          int
		reply           string
	}{
		{"accepted", "/webhooks/x", sign("s3cret", good), good, 200, 2, `{"ok":true}`},
		{"bad signature", "/webhooks/x", sign("wrong", good), good, 401, 0, "bad signature"},
		{"no signature", "/webhooks/x", "", good, 401, 0, "bad signature"},
		{"malformed", "/webhooks/x", sign("s3cret", []byte("{")), []byte("{"), 400, 0, "malformed JSON"},
		{"too big", "/webhooks/x", "", bytes.Repeat([]byte("a"), 1025), 413, 0, "body larger than 1024 bytes"},
		{"unknown connector", "/webhooks/nope", "", good, 404, 0, `no connector "nope"`},
		{"connector down", "/webhooks/down", "", good, 503, 0, "retry later"},
		{"connector without webhooks", "/webhooks/poller", "", good, 404, 0, `connector "poller" takes no webhooks`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			resp, body := e.post(t, tt.path, tt.sig, tt.body)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.reply) {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.reply)
			}
			if n := e.queued(t); n != tt.queued {
				t.Errorf("%d comments queued, want %d", n, tt.queued)
			}
			if tt.name == "too big" && e.hook.calls.Load() != 0 {
				t.Error("an oversized body reached the connector")
			}
			if tt.name == "accepted" && resp.Header.Get("X-Ack") != "yes" {
				t.Error("the connector's headers were not passed on")
			}
		})
	}
}

func TestDuplicateDeliveriesQueueOnce(t *testing.T) {
	e := newEnv(t)
	body := []byte(`[{"ID":"1","Text":"hi"}]`)
	for range 3 {
		if resp, _ := e.post(t, "/webhooks/x", sign("s3cret", body), body); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if n := e.queued(t); n != 1 {
		t.Errorf("%d queued, want 1", n)
	}
}

func TestIntakeFailureIsNotAcknowledged(t *testing.T) {
	e := newEnv(t)
	e.store.Close() // the disk is gone
	body := []byte(`[{"ID":"1","Text":"hi"}]`)
	if resp, _ := e.post(t, "/webhooks/x", sign("s3cret", body), body); resp.StatusCode != 503 {
		t.Errorf("status %d, want 503 so the platform retries", resp.StatusCode)
	}
}

func FuzzWebhook(f *testing.F) {
	f.Add([]byte(`[{"ID":"1","Text":"hi"}]`), true)
	f.Add([]byte(`[{"ID":"","Text":"x"}]`), true)
	f.Add([]byte(`{"ID":1}`), true)
	f.Add([]byte("\xff\xfe"), false)
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		before := e.queued(t)
		sig := ""
		if signed {
			sig = sign("s3cret", body)
		}
		resp, _ := e.post(t, "/webhooks/x", sig, body)
		after := e.queued(t)
		switch {
		case resp.StatusCode == 200:
		case resp.StatusCode >= 400 && after != before:
			t.Fatalf("status %d but %d comments were queued", resp.StatusCode, after-before)
		case resp.StatusCode < 400 && resp.StatusCode != 200:
			t.Fatalf("unexpected status %d", resp.StatusCode)
		}
		if !signed && resp.StatusCode != 401 && resp.StatusCode != 413 {
			t.Fatalf("unsigned delivery answered %d", resp.StatusCode)
		}
	})
}

// gatedBatch takes deliveries in batches, each held until the test lets it go.
type gatedBatch struct {
	*signedHook
	gate  chan struct{}
	sizes chan int
}

func (g *gatedBatch) WebhookBatch(ctx context.Context, reqs []sdk.WebhookRequest) ([]sdk.WebhookOutcome, error) {
	g.sizes <- len(reqs)
	<-g.gate
	out := make([]sdk.WebhookOutcome, len(reqs))
	for i, r := range reqs {
		out[i].Response, out[i].Err = g.Webhook(ctx, r)
	}
	return out, nil
}

// countingStore counts durable writes.
type countingStore struct {
	Store
	intakes atomic.Int32
}

func (c *countingStore) Intake(ctx context.Context, connector, source string, cs []sdk.Comment, cur []store.CursorUpdate) (store.IntakeResult, error) {
	c.intakes.Add(1)
	return c.Store.Intake(ctx, connector, source, cs, cur)
}

type batchEnv struct {
	*env
	h      *Webhooks
	gated  *gatedBatch
	writes *countingStore
}

func newBatchEnv(t *testing.T) *batchEnv {
	e := newEnv(t)
	g := &gatedBatch{signedHook: e.hook, gate: make(chan struct{}), sizes: make(chan int, 10)}
	cs := &countingStore{Store: e.store}
	h := &Webhooks{Prefix: "/webhooks", MaxBody: 1024, Logger: hclog.NewNullLogger(), Intake: NewIntake(cs), Workers: 1,
		Connectors: map[string]func(context.Context) (sdk.WebhookHandler, error){
			"x": func(context.Context) (sdk.WebhookHandler, error) { return g, nil },
		}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e.srv = srv
	return &batchEnv{env: e, h: h, gated: g, writes: cs}
}

func (e *batchEnv) pending() int {
	b := e.h.batcher("x", nil)
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

func delivery1(id string) []byte { return []byte(`[{"ID":"` + id + `","Text":"hi"}]`) }

// send posts a signed delivery from a goroutine other than the test's and
// returns the status, or 0 when there was no answer.
func (e *env) send(key string, body []byte) int {
	req, _ := http.NewRequest("POST", e.srv.URL+"/webhooks/x", bytes.NewReader(body))
	req.Header.Set("X-Signature", sign(key, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Deliveries that arrive while a batch is in hand go together: one
// connector call, one durable write; each still gets its own answer, and
// one with a bad signature stores nothing.
func TestDeliveriesArrivingTogetherShareOneCallAndOneWrite(t *testing.T) {
	e := newBatchEnv(t)
	first := make(chan int)
	go func() { first <- e.send("s3cret", delivery1("first")) }()
	if n := <-e.gated.sizes; n != 1 {
		t.Fatalf("first batch of %d, want 1", n)
	}
	const n = 20
	statuses := make(chan int, n)
	for i := range n {
		go func() {
			body, key := delivery1(fmt.Sprint(i)), "s3cret"
			if i == 7 {
				key = "forged"
			}
			statuses <- e.send(key, body)
		}()
	}
	for e.pending() < n {
		time.Sleep(time.Millisecond) // until all 20 wait behind the first batch
	}
	close(e.gated.gate)
	if got := <-e.gated.sizes; got != n {
		t.Fatalf("second batch of %d deliveries, want all %d", got, n)
	}
	if s := <-first; s != 200 {
		t.Fatalf("first delivery answered %d", s)
	}
	count := map[int]int{}
	for range n {
		count[<-statuses]++
	}
	if count[200] != n-1 || count[401] != 1 {
		t.Errorf("answers %v, want %d×200 and one 401", count, n-1)
	}
	if w := e.writes.intakes.Load(); w != 2 {
		t.Errorf("%d durable writes, want 2 (one per batch)", w)
	}
	if q := e.queued(t); q != n {
		t.Errorf("%d comments queued, want %d (the first and 19 of 20)", q, n)
	}
}

// A delivery whose sender gives up before any worker took it is withdrawn:
// it was answered with nothing, so nothing of it may be stored.
func TestDeliveryWithdrawnWhenItsSenderLeaves(t *testing.T) {
	e := newBatchEnv(t)
	go e.send("s3cret", delivery1("first"))
	<-e.gated.sizes
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		body := delivery1("left")
		req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/webhooks/x", bytes.NewReader(body))
		req.Header.Set("X-Signature", sign("s3cret", body))
		_, err := http.DefaultClient.Do(req)
		gone <- err
	}()
	for e.pending() < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-gone; err == nil {
		t.Fatal("the request was answered")
	}
	for e.pending() > 0 {
		time.Sleep(time.Millisecond) // the server notices the sender left
	}
	close(e.gated.gate)
	for e.queued(t) < 1 {
		time.Sleep(time.Millisecond) // the first delivery's write
	}
	if w := e.writes.intakes.Load(); w != 1 {
		t.Errorf("%d durable writes, want 1: the withdrawn delivery was handled", w)
	}
	work, _, _ := e.store.Queued(context.Background(), 0, 10, nil)
	if len(work) != 1 || work[0].Record.Comment.ID != "first" {
		t.Errorf("queued %+v, want only the first delivery's comment", work)
	}
}

// While a batch is in hand, deliveries that trickle in wait (up to Linger)
// until there are enough to be worth a call; with nothing in hand, a
// delivery goes at once however long Linger is.
func TestSmallBatchesLingerOnlyWhileAnotherIsInHand(t *testing.T) {
	e := newBatchEnv(t)
	e.h.Workers, e.h.Linger = 2, time.Hour
	answers := make(chan int, 2*lingerBatch)
	go func() { answers <- e.send("s3cret", delivery1("first")) }()
	if n := <-e.gated.sizes; n != 1 {
		t.Fatalf("first batch of %d, want 1", n)
	}
	var once sync.Once
	release := func() { once.Do(func() { close(e.gated.gate) }) }
	t.Cleanup(release) // a failed test must not leave the server waiting
	// One at a time, so a worker that did not linger would take one alone.
	for i := range lingerBatch - 1 {
		go func() { answers <- e.send("s3cret", delivery1(fmt.Sprint(i))) }()
		for e.pending() < i+1 {
			select {
			case n := <-e.gated.sizes:
				t.Fatalf("a batch of %d went while another was in hand and only %d were waiting", n, i+1)
			default:
				time.Sleep(time.Millisecond)
			}
		}
	}
	go func() { answers <- e.send("s3cret", delivery1("last")) }()
	select {
	case n := <-e.gated.sizes:
		if n != lingerBatch {
			t.Fatalf("second batch of %d, want %d", n, lingerBatch)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%d deliveries waiting and no batch taken", lingerBatch)
	}
	release()
	for range lingerBatch + 1 {
		if s := <-answers; s != 200 {
			t.Fatalf("answered %d", s)
		}
	}
	go func() { answers <- e.send("s3cret", delivery1("alone")) }()
	select {
	case n := <-e.gated.sizes:
		if n != 1 {
			t.Fatalf("lone batch of %d", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a lone delivery waited: nothing else was in hand")
	}
	if s := <-answers; s != 200 {
		t.Fatalf("lone delivery answered %d", s)
	}
}
