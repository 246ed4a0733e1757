package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/plugins/twitter/twittertest"
	"github.com/moderatorbot/moderator/sdk"
)

// hookServer serves the connector's Webhook over HTTP, as the host does.
func hookServer(t *testing.T, tw *Twitter, got *[]sdk.Comment) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		resp, err := tw.Webhook(r.Context(), sdk.WebhookRequest{Method: r.Method, Path: "", RawQuery: r.URL.RawQuery, Header: r.Header, Body: body, RemoteAddr: r.RemoteAddr})
		if err != nil {
			http.Error(w, err.Error(), 503)
			return
		}
		*got = append(*got, resp.Comments...)
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(max(resp.Status, 200))
		w.Write(resp.Body)
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

func TestWebhookAgainstTheFake(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	fan := srv.AddUser("2", "fan")
	owner := srv.Owner()
	root := srv.Post(owner.ID, "post")
	reply := srv.Reply(fan.ID, root.ID, strings.Repeat("a long reply ", 20))
	nested := srv.Reply(fan.ID, reply.ID, "a reply to the reply")
	var got []sdk.Comment
	tw := configure(t, configFor(srv))
	u := hookServer(t, tw, &got)
	if err := srv.CRC(context.Background(), u); err != nil {
		t.Fatalf("CRC: %v", err)
	}
	status, body, err := srv.Deliver(context.Background(), u, root, reply)
	if err != nil || status != 200 {
		t.Fatalf("delivery: %d %s %v", status, body, err)
	}
	status, body, err = srv.Deliver(context.Background(), u, nested)
	if err != nil || status != 200 {
		t.Fatalf("delivery: %d %s %v", status, body, err)
	}
	if len(got) != 2 {
		t.Fatalf("comments %+v, want the two replies (the post is no comment)", got)
	}
	c := got[0]
	if c.ID != reply.ID || c.PostID != root.ID || c.ParentID != root.ID || c.Text != reply.Text || c.AuthorID != fan.ID ||
		c.AuthorHandle != "@fan" || !c.CreatedAt.Equal(reply.CreatedAt.Truncate(1e9)) || c.URL != "https://x.com/fan/status/"+reply.ID || len(c.Raw) == 0 {
		t.Errorf("first reply: %+v", c)
	}
	if n := got[1]; n.ID != nested.ID || n.PostID != root.ID || n.ParentID != reply.ID {
		t.Errorf("the reply to a reply: %+v, want post %s (learned from the first delivery), parent %s", n, root.ID, reply.ID)
	}
	// A fresh connector, a reply and a reply to it in one delivery.
	got = nil
	u = hookServer(t, configure(t, configFor(srv)), &got)
	if status, body, err := srv.Deliver(context.Background(), u, reply, nested); err != nil || status != 200 {
		t.Fatalf("delivery: %d %s %v", status, body, err)
	}
	if len(got) != 2 || got[1].PostID != root.ID {
		t.Errorf("one delivery: %+v, want the reply to the reply under post %s", got, root.ID)
	}
}

func TestWebhookRefusals(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	fan := srv.AddUser("2", "fan")
	root := srv.Post(srv.Owner().ID, "post")
	reply := srv.Reply(fan.ID, root.ID, "hi")
	secret := srv.Options().ConsumerSecret
	good := srv.WebhookPayload(srv.Owner().ID, reply)
	other := srv.WebhookPayload("999", reply)
	badJSON := []byte(`{"for_user_id":"1000","tweet_create_events":[{"id_str":`)
	signed := func(b []byte) http.Header {
		return http.Header{"X-Twitter-Webhooks-Signature": {twittertest.Sign(secret, b)}}
	}
	tests := []struct {
		name     string
		req      sdk.WebhookRequest
		status   int
		comments int
		bodyHas  string
	}{
		{"good", sdk.WebhookRequest{Method: "POST", Header: signed(good), Body: good}, 200, 1, ""},
		{"lower_case_header", sdk.WebhookRequest{Method: "POST", Header: http.Header{"x-twitter-webhooks-signature": {twittertest.Sign(secret, good)}}, Body: good}, 200, 1, ""},
		{"missing_signature", sdk.WebhookRequest{Method: "POST", Header: http.Header{}, Body: good}, 401, 0, "missing"},
		{"wrong_secret", sdk.WebhookRequest{Method: "POST", Header: http.Header{"X-Twitter-Webhooks-Signature": {twittertest.Sign("other", good)}}, Body: good}, 401, 0, "does not match"},
		{"tampered_body", sdk.WebhookRequest{Method: "POST", Header: signed(good), Body: append([]byte(" "), good...)}, 401, 0, "does not match"},
		{"bad_json", sdk.WebhookRequest{Method: "POST", Header: signed(badJSON), Body: badJSON}, 400, 0, "malformed JSON"},
		{"no_for_user_id", sdk.WebhookRequest{Method: "POST", Header: signed([]byte(`{}`)), Body: []byte(`{}`)}, 400, 0, "for_user_id"},
		{"other_account", sdk.WebhookRequest{Method: "POST", Header: signed(other), Body: other}, 200, 0, ""},
		{"crc", sdk.WebhookRequest{Method: "GET", RawQuery: "crc_token=abc"}, 200, 0, twittertest.CRCResponseToken(secret, "abc")},
		{"get_without_crc_token", sdk.WebhookRequest{Method: "GET"}, 400, 0, "crc_token"},
		{"put", sdk.WebhookRequest{Method: "PUT", Body: good}, 405, 0, ""},
	}
	tw := configure(t, configFor(srv))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tw.Webhook(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.status || len(resp.Comments) != tt.comments || !strings.Contains(string(resp.Body), tt.bodyHas) {
				t.Errorf("answer %d %q with %d comments; want %d with %d comments, body saying %q", resp.Status, resp.Body, len(resp.Comments), tt.status, tt.comments, tt.bodyHas)
			}
		})
	}
	// Without a consumer secret nothing can be checked: every delivery is refused.
	ro := configure(t, with(configFor(srv), "read_only", true, "consumer_secret", nil))
	resp, err := ro.Webhook(context.Background(), sdk.WebhookRequest{Method: "POST", Header: signed(good), Body: good})
	if err != nil || resp.Status != 401 || len(resp.Comments) != 0 {
		t.Errorf("without consumer_secret: %d %q %v", resp.Status, resp.Body, err)
	}
	var crc map[string]string
	resp, _ = tw.Webhook(context.Background(), sdk.WebhookRequest{Method: "GET", RawQuery: "crc_token=abc"})
	if json.Unmarshal(resp.Body, &crc) != nil || crc["response_token"] != twittertest.CRCResponseToken(secret, "abc") || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("CRC answer %q", resp.Body)
	}
}
