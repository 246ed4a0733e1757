package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/plugins/twitter/twittertest"
	"github.com/moderatorbot/moderator/sdk"
)

func TestConfigure(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	good := configFor(srv)
	secrets := []string{"s3cr3t-bearer", "s3cr3t-consumer", "s3cr3t-token"}
	tests := []struct {
		name   string
		config map[string]any
		fields []string // every field error expected, in any order
	}{
		{"good", good, nil},
		{"defaults_only_read_only", map[string]any{"bearer_token": "s3cr3t-bearer", "read_only": true}, nil},
		{"empty", map[string]any{}, []string{"bearer_token", "consumer_key", "consumer_secret", "access_token", "access_token_secret", "user_id"}},
		{"no_bearer", with(good, "bearer_token", nil), []string{"bearer_token"}},
		{"half_user_context", with(good, "consumer_secret", nil, "access_token_secret", nil), []string{"consumer_secret", "access_token_secret"}},
		{"no_user_id", with(good, "user_id", nil), []string{"user_id"}},
		{"user_id_not_numeric", with(good, "user_id", "@owner"), []string{"user_id"}},
		{"token_of_another_account", with(good, "user_id", "2"), []string{"user_id"}},
		{"bad_url", with(good, "api_base_url", "api.x.com"), []string{"api_base_url"}},
		{"max_results", with(good, "max_results", 5), []string{"max_results"}},
		{"query_max_length", with(good, "query_max_length", 10), []string{"query_max_length"}},
		{"max_pages", with(good, "max_pages", 0), []string{"max_pages"}},
		{"timeout", with(good, "timeout", "soon"), []string{"timeout"}},
		{"unknown_key", with(good, "bearer", "x"), []string{"bearer"}},
		{"secrets_kept_out", with(good, "bearer_token", "s3cr3t-bearer", "consumer_secret", "s3cr3t-consumer", "access_token", "s3cr3t-token", "max_results", 1000), []string{"max_results"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := configureErr(&Twitter{}, tt.config)
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("Configure: %v", err)
				}
				return
			}
			var fe sdk.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("err %v, want field errors for %v", err, tt.fields)
			}
			got := map[string]bool{}
			for _, e := range fe {
				got[e.Field] = true
			}
			for _, f := range tt.fields {
				if !got[f] {
					t.Errorf("no error for %q in %v", f, err)
				}
			}
			if len(got) != len(tt.fields) {
				t.Errorf("errors for %v, want exactly %v", err, tt.fields)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the error repeats a secret: %v", err)
				}
			}
		})
	}
}

// The account's own replies are not comments for the policy to act on,
// whichever way they come, unless moderate_own_replies is set.
func TestOwnRepliesSkipped(t *testing.T) {
	channels := []struct {
		name string
		// read returns the ids of the comments the channel delivered for
		// the replies, published by publish once the channel listens.
		read func(t *testing.T, srv *twittertest.Server, tw *Twitter, post string, publish func() []twittertest.Tweet) []string
	}{
		{"poll", func(t *testing.T, _ *twittertest.Server, tw *Twitter, post string, publish func() []twittertest.Tweet) []string {
			publish()
			got, _ := pollAll(t, tw, []string{post}, nil)
			return ids(got[post])
		}},
		{"webhook", func(t *testing.T, srv *twittertest.Server, tw *Twitter, _ string, publish func() []twittertest.Tweet) []string {
			var got []sdk.Comment
			u := hookServer(t, tw, &got)
			root, _ := srv.Tweet(publish()[0].ConversationID)
			if status, body, err := srv.Deliver(context.Background(), u, append([]twittertest.Tweet{root}, publish()...)...); err != nil || status != 200 {
				t.Fatalf("delivery: %d %s %v", status, body, err)
			}
			return ids(got)
		}},
		{"stream", func(t *testing.T, _ *twittertest.Server, tw *Twitter, post string, publish func() []twittertest.Tweet) []string {
			sink := startStream(t, tw, []sdk.Target{{Kind: sdk.TargetPost, ID: post}})
			sink.waitFor(t, "connect", func(_ []sdk.Comment, ss []sdk.StreamStatus) bool {
				return countState(ss, sdk.StreamConnected, false) == 1
			})
			replies := publish()
			sink.waitFor(t, "the fan's reply", hasComment(replies[len(replies)-1].ID))
			sink.mu.Lock()
			defer sink.mu.Unlock()
			return ids(sink.comments)
		}},
	}
	for _, ch := range channels {
		for _, own := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/moderate_own_replies=%v", ch.name, own), func(t *testing.T) {
				srv := newFake(t, twittertest.Options{})
				fan := srv.AddUser("2", "fan")
				post := srv.Post(srv.Owner().ID, "post")
				var replies []twittertest.Tweet
				publish := func() []twittertest.Tweet {
					if replies == nil {
						mine := srv.Reply(srv.Owner().ID, post.ID, "thanks all, more tomorrow")
						replies = []twittertest.Tweet{mine, srv.Reply(fan.ID, post.ID, "nice")}
					}
					return replies
				}
				tw := configure(t, with(configFor(srv), "stream", true, "moderate_own_replies", own))
				got := ch.read(t, srv, tw, post.ID, publish)
				want := []string{replies[1].ID}
				if own {
					want = []string{replies[0].ID, replies[1].ID}
				}
				if !slices.Equal(got, want) {
					t.Errorf("comments %v, want %v (own reply %s)", got, want, replies[0].ID)
				}
			})
		}
	}
}
