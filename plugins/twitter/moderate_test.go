package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/plugins/twitter/twittertest"
	"github.com/moderatorbot/moderator/sdk"
)

func TestModerate(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	fan := srv.AddUser("2", "fan")
	owner := srv.Owner()
	root := srv.Post(owner.ID, "my post")
	reply := srv.Reply(fan.ID, root.ID, "rude")
	mine := srv.Reply(owner.ID, root.ID, "my own reply")
	theirs := srv.Post(fan.ID, "their post")
	elsewhere := srv.Reply(fan.ID, theirs.ID, "in their conversation")
	tw := configure(t, configFor(srv))
	comment := func(tw twittertest.Tweet) sdk.Comment {
		return sdk.Comment{ID: tw.ID, PostID: tw.ConversationID, AuthorID: tw.AuthorID}
	}
	steps := []struct {
		name      string
		action    string
		tweet     twittertest.Tweet
		changed   bool
		errHas    string
		permanent bool
		hidden    bool // the reply's state afterwards
	}{
		{name: "hide", action: "hide", tweet: reply, changed: true, hidden: true},
		{name: "hide_again", action: "hide", tweet: reply, changed: false, hidden: true},
		{name: "unhide", action: "unhide", tweet: reply, changed: true, hidden: false},
		{name: "unhide_again", action: "unhide", tweet: reply, changed: false, hidden: false},
		{name: "hide_in_other_conversation", action: "hide", tweet: elsewhere, errHas: "only replies in conversations it started", permanent: true},
		{name: "delete_someone_elses", action: "delete", tweet: reply, errHas: "only its own tweets", permanent: true},
		{name: "delete_own", action: "delete", tweet: mine, changed: true},
		{name: "delete_own_again", action: "delete", tweet: mine, changed: false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := len(srv.Calls())
			resp, err := tw.Moderate(context.Background(), sdk.ModerateRequest{Comment: comment(st.tweet), Action: st.action, IdempotencyKey: st.name})
			switch {
			case st.errHas != "":
				if err == nil || !strings.Contains(err.Error(), st.errHas) || !errors.Is(err, errForbidden) {
					t.Fatalf("err %v, want one saying %q", err, st.errHas)
				}
			case err != nil:
				t.Fatal(err)
			case resp.Changed != st.changed:
				t.Errorf("Changed=%v (%s), want %v", resp.Changed, resp.Detail, st.changed)
			}
			if sdk.IsPermanent(err) != st.permanent {
				t.Errorf("permanent=%v, want %v", sdk.IsPermanent(err), st.permanent)
			}
			if srv.Hidden(reply.ID) != st.hidden {
				t.Errorf("reply hidden=%v on the fake, want %v", srv.Hidden(reply.ID), st.hidden)
			}
			calls := srv.Calls()
			if len(calls) != before+1 || calls[len(calls)-1].TweetID != st.tweet.ID || calls[len(calls)-1].Action != st.action {
				t.Errorf("the fake received %+v, want one %s of %s", calls[before:], st.action, st.tweet.ID)
			}
		})
	}
	if !srv.Deleted(mine.ID) || srv.Deleted(reply.ID) || srv.Hidden(elsewhere.ID) {
		t.Errorf("fake state: mine deleted=%v, reply deleted=%v, elsewhere hidden=%v", srv.Deleted(mine.ID), srv.Deleted(reply.ID), srv.Hidden(elsewhere.ID))
	}
	// A deleted reply cannot be hidden: not found.
	_, err := tw.Moderate(context.Background(), sdk.ModerateRequest{Comment: comment(mine), Action: "hide"})
	if !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("hiding a deleted tweet: %v, want sdk.ErrNotFound", err)
	}
}

func TestModerateCredentials(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	fan := srv.AddUser("2", "fan")
	root := srv.Post(srv.Owner().ID, "post")
	reply := srv.Reply(fan.ID, root.ID, "reply")
	tests := []struct {
		name   string
		config map[string]any
		errHas string
	}{
		{"wrong_consumer_secret", map[string]any{"consumer_secret": "wrong-secret"}, "401"},
		{"wrong_token_secret", map[string]any{"access_token_secret": "wrong-secret"}, "401"},
		{"read_only", map[string]any{"read_only": true, "consumer_key": nil, "consumer_secret": nil, "access_token": nil, "access_token_secret": nil}, "read_only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configFor(srv)
			for k, v := range tt.config {
				cfg = with(cfg, k, v)
			}
			tw := configure(t, cfg)
			_, err := tw.Moderate(context.Background(), sdk.ModerateRequest{Comment: sdk.Comment{ID: reply.ID}, Action: "hide"})
			if err == nil || !strings.Contains(err.Error(), tt.errHas) || !sdk.IsPermanent(err) {
				t.Errorf("err %v, want a permanent error saying %q", err, tt.errHas)
			}
			if err != nil && strings.Contains(err.Error(), "wrong-secret") {
				t.Errorf("the error repeats a secret: %v", err)
			}
			if srv.Hidden(reply.ID) {
				t.Errorf("the reply was hidden")
			}
		})
	}
}

func TestModerateRateLimited(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	fan := srv.AddUser("2", "fan")
	root := srv.Post(srv.Owner().ID, "post")
	reply := srv.Reply(fan.ID, root.ID, "reply")
	srv.SetRemaining(twittertest.EndpointHide, 0)
	tw := configure(t, configFor(srv))
	_, err := tw.Moderate(context.Background(), sdk.ModerateRequest{Comment: sdk.Comment{ID: reply.ID}, Action: "hide"})
	var rle *sdk.RateLimitedError
	if !errors.As(err, &rle) || rle.RateLimit.Reset.IsZero() || rle.RateLimit.Bucket != "PUT /2/tweets/:id/hidden" {
		t.Errorf("err %v, want a RateLimitedError for the hide bucket", err)
	}
}

// X answers 403 both to a hide outside the account's conversations and to
// an app that may not write: the error says which, by X's body, and keeps
// X's own message.
func TestModerateForbiddenReasons(t *testing.T) {
	tests := []struct {
		name   string
		body   string // X's 403; "" lets the fake answer
		own    bool   // the reply is in the account's conversation
		errHas []string
		errNot string
	}{
		{
			name:   "no_write_permission",
			body:   `{"title":"Forbidden","status":403,"detail":"Your client app is not configured with the appropriate oauth1 app permissions for this endpoint.","type":"https://api.twitter.com/2/problems/oauth1-permissions"}`,
			own:    true,
			errHas: []string{"Read and write", "appropriate oauth1 app permissions"},
			errNot: "conversations it started",
		},
		{
			name:   "client_not_enrolled",
			body:   `{"client_id":"1","detail":"When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project.","registration_url":"https://developer.twitter.com/en/docs/projects/overview","title":"Client Forbidden","required_enrollment":"Appropriate Level of API Access","reason":"client-not-enrolled","type":"https://api.twitter.com/2/problems/client-forbidden"}`,
			own:    true,
			errHas: []string{"Project", "attached to a Project"},
			errNot: "conversations it started",
		},
		{
			name:   "not_the_accounts_conversation",
			errHas: []string{"conversations it started", "You cannot hide or unhide replies to conversations you do not own"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := twittertest.New(twittertest.Options{})
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.body != "" && r.Method == http.MethodPut {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusForbidden)
					w.Write([]byte(tt.body))
					return
				}
				srv.Handler().ServeHTTP(w, r)
			}))
			defer ts.Close()
			fan := srv.AddUser("2", "fan")
			author := fan.ID
			if tt.own {
				author = srv.Owner().ID
			}
			root := srv.Post(author, "post")
			reply := srv.Reply(fan.ID, root.ID, "reply")
			cfg := configFor(srv)
			cfg["api_base_url"] = ts.URL
			tw := configure(t, cfg)
			_, err := tw.Moderate(context.Background(), sdk.ModerateRequest{Comment: sdk.Comment{ID: reply.ID, PostID: root.ID}, Action: "hide"})
			if err == nil || !sdk.IsPermanent(err) {
				t.Fatalf("err %v, want a permanent error", err)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err %q does not say %q", err, s)
				}
			}
			if tt.errNot != "" && strings.Contains(err.Error(), tt.errNot) {
				t.Errorf("err %q blames the conversation", err)
			}
		})
	}
}
