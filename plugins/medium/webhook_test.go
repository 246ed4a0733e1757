package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/plugins/medium/mediumtest"
	"github.com/moderatorbot/moderator/sdk"
)

const goodEvent = `{"type":"response.created","data":{"id":"abcdef123456","postId":"0123456789ab","inResponseToId":"0123456789ab","creatorId":"u1","creator":{"id":"u1","username":"cat","name":"Cat"},"content":"hello there","createdAt":1767225600000,"updatedAt":1767225600000,"url":"https://medium.com/@cat/abcdef123456"}}`

func signed(body string) http.Header {
	return http.Header{"X-Medium-Signature": {mediumtest.Sign([]byte(testSecret), []byte(body))}, "Content-Type": {"application/json"}}
}

func TestWebhook(t *testing.T) {
	f := newFake(t, mediumtest.Options{})
	tests := []struct {
		name     string
		config   map[string]any
		method   string
		header   http.Header
		body     string
		status   int
		comments []string // ids
		msg      string   // in the answer's body
	}{
		{name: "good", header: signed(goodEvent), body: goodEvent, status: 200, comments: []string{"abcdef123456"}, msg: `"received":1`},
		{name: "sha256= prefix", header: http.Header{"X-Medium-Signature": {"sha256=" + mediumtest.Sign([]byte(testSecret), []byte(goodEvent))}}, body: goodEvent, status: 200, comments: []string{"abcdef123456"}},
		{name: "upper-case hex", header: http.Header{"X-Medium-Signature": {strings.ToUpper(mediumtest.Sign([]byte(testSecret), []byte(goodEvent)))}}, body: goodEvent, status: 200, comments: []string{"abcdef123456"}},
		{name: "missing signature", header: http.Header{}, body: goodEvent, status: 401, msg: "missing or invalid X-Medium-Signature"},
		{name: "wrong secret", header: http.Header{"X-Medium-Signature": {mediumtest.Sign([]byte("another-secret-entirely"), []byte(goodEvent))}}, body: goodEvent, status: 401},
		{name: "signature of another body", header: signed(goodEvent), body: strings.Replace(goodEvent, "hello", "HELLO", 1), status: 401},
		{name: "truncated signature", header: http.Header{"X-Medium-Signature": {mediumtest.Sign([]byte(testSecret), []byte(goodEvent))[:32]}}, body: goodEvent, status: 401},
		{name: "not hex", header: http.Header{"X-Medium-Signature": {strings.Repeat("zz", 32)}}, body: goodEvent, status: 401},
		{name: "bad JSON", header: signed(`{"type":`), body: `{"type":`, status: 400, msg: "malformed delivery"},
		{name: "two values", header: signed(goodEvent + "{}"), body: goodEvent + "{}", status: 400, msg: "more than one JSON value"},
		{name: "no type", header: signed(`{"data":{}}`), body: `{"data":{}}`, status: 400, msg: `no \"type\"`},
		{name: "created without data", header: signed(`{"type":"response.created"}`), body: `{"type":"response.created"}`, status: 400, msg: "without"},
		{name: "a response without createdAt", header: signed(`{"type":"response.created","data":{"id":"a1","postId":"p1","creatorId":"u"}}`),
			body: `{"type":"response.created","data":{"id":"a1","postId":"p1","creatorId":"u"}}`, status: 400, msg: "no createdAt"},
		{name: "deleted: acknowledged, nothing queued", header: signed(`{"type":"response.deleted","data":{"id":"a1"}}`), body: `{"type":"response.deleted","data":{"id":"a1"}}`, status: 200},
		{name: "an unknown event", header: signed(`{"type":"post.published","data":{}}`), body: `{"type":"post.published","data":{}}`, status: 200},
		{name: "GET", method: "GET", header: signed(""), status: 405},
		{name: "webhooks off", config: map[string]any{"webhooks": false, "webhook_secret": nil}, header: signed(goodEvent), body: goodEvent, status: 404, msg: "webhooks are off"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := configured(t, f, tc.config)
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			resp, err := m.Webhook(context.Background(), sdk.WebhookRequest{Method: method, Header: tc.header, Body: []byte(tc.body), RemoteAddr: "192.0.2.1:1"})
			if err != nil {
				t.Fatalf("Webhook: %v (an error makes the host answer 503 and the sender retry)", err)
			}
			var got []string
			for _, c := range resp.Comments {
				got = append(got, c.ID)
			}
			if resp.Status != tc.status || strings.Join(got, ",") != strings.Join(tc.comments, ",") {
				t.Errorf("status %d, comments %q; want %d, %q (body %s)", resp.Status, got, tc.status, tc.comments, resp.Body)
			}
			if !strings.Contains(string(resp.Body), tc.msg) || !json.Valid(resp.Body) && len(resp.Body) > 0 {
				t.Errorf("body %s, want JSON with %q", resp.Body, tc.msg)
			}
			if strings.Contains(string(resp.Body), testSecret) {
				t.Errorf("the secret is in the answer")
			}
		})
	}
}

func TestWebhookComment(t *testing.T) {
	f := newFake(t, mediumtest.Options{})
	m := configured(t, f, nil)
	edited := strings.Replace(strings.Replace(goodEvent, "response.created", "response.updated", 1), `"updatedAt":1767225600000`, `"updatedAt":1767225900000`, 1)
	for _, tc := range []struct {
		body    string
		version string
	}{{goodEvent, ""}, {edited, "1767225900000"}} {
		resp, err := m.Webhook(context.Background(), sdk.WebhookRequest{Method: "POST", Header: signed(tc.body), Body: []byte(tc.body)})
		if err != nil || len(resp.Comments) != 1 {
			t.Fatalf("%+v %v", resp, err)
		}
		c := resp.Comments[0]
		if c.ID != "abcdef123456" || c.PostID != "0123456789ab" || c.AuthorID != "u1" || c.AuthorHandle != "@cat" || c.Text != "hello there" ||
			!c.CreatedAt.Equal(time.UnixMilli(1767225600000)) || c.Version != tc.version || c.Platform != "medium" || c.URL != "https://medium.com/@cat/abcdef123456" {
			t.Errorf("comment %+v", c)
		}
	}
}

// TestWebhookFromTheFake: the fake's real deliveries, over HTTP, verify and
// decode; a forged one is refused and brings nothing.
func TestWebhookFromTheFake(t *testing.T) {
	// No retries: the refused forgery is counted once.
	f := newFake(t, mediumtest.Options{WebhookRetries: -1})
	m := configured(t, f, nil)
	var mu sync.Mutex
	var got []sdk.Comment
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		resp, err := m.Webhook(r.Context(), sdk.WebhookRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header, Body: body})
		if err != nil {
			http.Error(w, err.Error(), 503)
			return
		}
		mu.Lock()
		got = append(got, resp.Comments...)
		mu.Unlock()
		w.WriteHeader(resp.Status)
		w.Write(resp.Body)
	}))
	defer hook.Close()
	a := f.Publish(mediumtest.Article{Title: "A", Author: "ann"})
	f.SetWebhook(hook.URL, testSecret)
	r := f.Respond(mediumtest.Response{PostID: a.ID, Author: "bob", Text: "first"})
	f.Edit(r.ID, "first, edited")
	f.Delete(r.ID)
	f.SetWebhook(hook.URL, "a-forger-does-not-know-the-secret")
	f.Respond(mediumtest.Response{PostID: a.ID, Author: "eve", Text: "forged"})

	ds := f.Deliveries()
	want := []int{200, 200, 200, 401}
	if len(ds) != len(want) {
		t.Fatalf("%d deliveries, want %d", len(ds), len(want))
	}
	for i, d := range ds {
		if d.Status != want[i] {
			t.Errorf("delivery %d (%s): %d, want %d", i, d.Type, d.Status, want[i])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0].ID != r.ID || got[0].Text != "first" || got[1].Text != "first, edited" || got[1].Version == "" || got[0].Version != "" {
		t.Errorf("comments %+v: want the response, then its edit as a new version", got)
	}
}
