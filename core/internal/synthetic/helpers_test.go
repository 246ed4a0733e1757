package main

import (
	"bytes"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/core/internal/synthetic/platform"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

// The fake platform of every test wants this token and signs with this secret.
const (
	testToken  = "test-token"
	testSecret = "test-webhook-secret"
)

// transport runs the plugin one way: in-process over gRPC, or as the built
// binary the host would launch.
type transport struct {
	name  string
	start func(t *testing.T) *sdk.RemotePlugin
}

// transports returns both ways. The binary is built once, into the calling
// test's directory, so call it from a test that outlives the subtests that
// launch it.
func transports(t *testing.T) []transport {
	t.Helper()
	inProcess := transport{"in-process", func(t *testing.T) *sdk.RemotePlugin { return plugintest.Start(t, newPlugin()) }}
	if testing.Short() {
		return []transport{inProcess}
	}
	bin := plugintest.Build(t, ".")
	return []transport{inProcess, {"binary", func(t *testing.T) *sdk.RemotePlugin { return plugintest.Launch(t, bin) }}}
}

// fake starts a platform that wants testToken and signs with testSecret.
func fake(t *testing.T, opts platform.Options) *platform.Server {
	t.Helper()
	opts.Token, opts.Secret = testToken, testSecret
	s := platform.Start(opts)
	t.Cleanup(s.Close)
	return s
}

// baseConfig is a valid config table for the platform s.
func baseConfig(s *platform.Server) map[string]any {
	return map[string]any{"base_url": s.URL(), "token": testToken, "webhook_secret": testSecret, "timeout": "5s"}
}

// configure points p at the platform s, with extra keys over baseConfig
// (a nil value deletes the key).
func configure(t *testing.T, p *sdk.RemotePlugin, s *platform.Server, extra map[string]any) {
	t.Helper()
	cfg := baseConfig(s)
	for k, v := range extra {
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	fe, err := p.Configure(t.Context(), sdk.ConfigureOptions{Instance: "test", Config: cfg, KV: sdk.NewMemoryKV()})
	if err != nil || len(fe) > 0 {
		t.Fatalf("Configure(%v): %v %v", cfg, fe, err)
	}
}

// host plays the host's part in polling: it keeps each post's cursor, stores
// the one a poll returns (even with Err, as the connector promises it is
// safe), and counts every comment version it is given.
type host struct {
	p       *sdk.RemotePlugin
	cursors map[string][]byte
	got     map[string]int // "id@version" -> times received
	polls   int
	// allowErr lets posts report Err; otherwise any Err fails the test.
	allowErr bool
}

func newHost(p *sdk.RemotePlugin) *host {
	return &host{p: p, cursors: map[string][]byte{}, got: map[string]int{}}
}

// poll makes one Poll call for posts and returns its answer, keyed by post.
func (h *host) poll(t *testing.T, posts ...string) map[string]sdk.PostComments {
	t.Helper()
	resp, err := h.pollErr(t, posts...)
	if err != nil {
		t.Fatalf("poll %d: %v", h.polls, err)
	}
	return resp
}

func (h *host) pollErr(t *testing.T, posts ...string) (map[string]sdk.PostComments, error) {
	t.Helper()
	h.polls++
	req := make([]sdk.PostCursor, len(posts))
	for i, id := range posts {
		req[i] = sdk.PostCursor{PostID: id, Cursor: h.cursors[id]}
	}
	resp, err := h.p.Poll(t.Context(), req)
	if err != nil {
		return nil, err
	}
	if len(resp.Posts) != len(posts) {
		t.Fatalf("poll %d: %d posts answered for %d asked", h.polls, len(resp.Posts), len(posts))
	}
	out := map[string]sdk.PostComments{}
	for i, pc := range resp.Posts {
		if pc.PostID != posts[i] {
			t.Fatalf("poll %d: answer %d is for post %q, want %q", h.polls, i, pc.PostID, posts[i])
		}
		for j, c := range pc.Comments {
			if c.PostID != pc.PostID || c.Platform != "synthetic" {
				t.Errorf("poll %d: comment %s of post %s has post %q platform %q", h.polls, c.ID, pc.PostID, c.PostID, c.Platform)
			}
			if j > 0 && less(c.ID, pc.Comments[j-1].ID) {
				t.Errorf("poll %d: comments of %s are not oldest first: %s after %s", h.polls, pc.PostID, c.ID, pc.Comments[j-1].ID)
			}
			h.got[c.ID+"@"+c.Version]++
		}
		if pc.Err != "" && !h.allowErr {
			t.Errorf("poll %d: post %s: %s", h.polls, pc.PostID, pc.Err)
		}
		h.cursors[pc.PostID] = pc.Cursor
		out[pc.PostID] = pc
	}
	return out, nil
}

// drain polls until no post says More, and fails after limit polls.
func (h *host) drain(t *testing.T, limit int, posts ...string) {
	t.Helper()
	for range limit {
		more := false
		for _, pc := range h.poll(t, posts...) {
			more = more || pc.More
		}
		if !more {
			return
		}
	}
	t.Fatalf("still More after %d polls", limit)
}

// check fails unless the host received exactly want (as "id@version"), each
// at least once; with exact, each exactly once.
func (h *host) check(t *testing.T, want []string, exact bool) {
	t.Helper()
	for _, k := range want {
		switch n := h.got[k]; {
		case n == 0:
			t.Errorf("comment %s never received (a gap)", k)
		case exact && n > 1:
			t.Errorf("comment %s received %d times", k, n)
		}
	}
	for k := range h.got {
		if !slices.Contains(want, k) {
			t.Errorf("comment %s received but not on the platform", k)
		}
	}
}

// less compares comment ids as numbers.
func less(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func ids(cs []sdk.Comment) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// keysOf lists comments as the host counts them.
func keysOf(cs ...platform.Comment) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		v := ""
		if c.Version > 0 {
			v = fmt.Sprint(c.Version)
		}
		out[i] = c.ID + "@" + v
	}
	return out
}

// postIDs is n post ids, p000 and on.
func postIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("p%03d", i)
	}
	return out
}

// addComments adds n comments round-robin over posts and returns them.
func addComments(s *platform.Server, n int, posts ...string) []platform.Comment {
	out := make([]platform.Comment, n)
	for i := range out {
		post := posts[i%len(posts)]
		out[i] = s.AddComment(platform.Comment{PostID: post, AuthorID: "u" + fmt.Sprint(i%5), Handle: "user" + fmt.Sprint(i%5),
			Text: fmt.Sprintf("comment %d on %s", i, post)})
	}
	return out
}

func without(m map[string]any, key string) map[string]any {
	out := maps.Clone(m)
	delete(out, key)
	return out
}

func with(m map[string]any, key string, v any) map[string]any {
	out := maps.Clone(m)
	out[key] = v
	return out
}

// sameComment compares two comments field by field, times as instants.
func sameComment(t *testing.T, got, want sdk.Comment) {
	t.Helper()
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("CreatedAt %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	got.CreatedAt, want.CreatedAt = time.Time{}, time.Time{}
	if !bytes.Equal(got.Raw, want.Raw) {
		t.Errorf("Raw %s, want %s", got.Raw, want.Raw)
	}
	got.Raw, want.Raw = nil, nil
	if len(got.Metadata) == 0 && len(want.Metadata) == 0 {
		got.Metadata, want.Metadata = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("comment\n%+v\nwant\n%+v", got, want)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
