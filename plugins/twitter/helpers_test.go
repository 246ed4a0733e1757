package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/moderatorbot/moderator/plugins/twitter/twittertest"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

// TestMain lets plugintest.BuildOnce keep the plugin binary for the
// package's tests, and removes it at the end.
func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }

func newFake(t *testing.T, opts twittertest.Options) *twittertest.Server {
	t.Helper()
	srv := twittertest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv
}

// configFor is a config table with the fake's credentials.
func configFor(srv *twittertest.Server) map[string]any {
	o := srv.Options()
	return map[string]any{
		"api_base_url": srv.URL, "bearer_token": o.BearerToken,
		"consumer_key": o.ConsumerKey, "consumer_secret": o.ConsumerSecret,
		"access_token": o.AccessToken, "access_token_secret": o.AccessTokenSecret,
		"user_id": o.UserID,
	}
}

// configure makes a connector configured with cfg and a fresh memory KV.
func configure(t *testing.T, cfg map[string]any) *Twitter {
	t.Helper()
	tw := &Twitter{}
	if err := configureErr(tw, cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return tw
}

func configureErr(tw *Twitter, cfg map[string]any) error {
	data, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return tw.Configure(context.Background(), sdk.ConfigureRequest{Instance: "twitter-test", Config: sdk.Config{JSON: data}, KV: sdk.NewMemoryKV()})
}

// with returns a copy of cfg with the changes.
func with(cfg map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range cfg {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// searches returns the recent-search requests the fake received.
func searches(srv *twittertest.Server) []twittertest.Request {
	var out []twittertest.Request
	for _, r := range srv.Requests() {
		if r.Path == "/2/tweets/search/recent" {
			out = append(out, r)
		}
	}
	return out
}

// pollAll polls posts from cursors until no post says More, and returns
// every comment by post plus the final cursors.
func pollAll(t *testing.T, tw *Twitter, posts []string, cursors map[string][]byte) (map[string][]sdk.Comment, map[string][]byte) {
	t.Helper()
	got := map[string][]sdk.Comment{}
	if cursors == nil {
		cursors = map[string][]byte{}
	}
	pending := posts
	for round := 0; len(pending) > 0; round++ {
		if round == 50 {
			t.Fatalf("posts %v still say More after 50 polls", pending)
		}
		req := make([]sdk.PostCursor, len(pending))
		for i, p := range pending {
			req[i] = sdk.PostCursor{PostID: p, Cursor: cursors[p]}
		}
		resp, err := tw.Poll(context.Background(), req)
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		pending = nil
		for _, pc := range resp.Posts {
			if pc.Err != "" {
				t.Fatalf("post %s: %s", pc.PostID, pc.Err)
			}
			got[pc.PostID] = append(got[pc.PostID], pc.Comments...)
			cursors[pc.PostID] = pc.Cursor
			if pc.More {
				pending = append(pending, pc.PostID)
			}
		}
	}
	return got, cursors
}
