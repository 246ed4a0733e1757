package ingress

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

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
