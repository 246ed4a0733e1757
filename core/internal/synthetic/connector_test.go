package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/core/internal/synthetic/platform"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

// TestAgainstPlatform runs the connector against the fake platform, through
// the plugin boundary, both in-process and as the built binary.
func TestAgainstPlatform(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(t *testing.T, p *sdk.RemotePlugin)
	}{
		{"conformance", testConformance},
		{"poll_many_posts_and_pages", testPollManyPostsAndPages},
		{"poll_resume_without_duplicates_or_gaps", testPollResume},
		{"poll_malformed_items", testPollMalformed},
		{"poll_per_post_errors", testPollPerPostErrors},
		{"poll_rate_limited", testPollRateLimited},
		{"poll_transient_errors", testPollTransientErrors},
		{"webhook", testWebhook},
		{"webhook_deliveries", testWebhookDeliveries},
		{"moderate", testModerate},
		{"discover", testDiscover},
	}
	for _, tr := range transports(t) {
		t.Run(tr.name, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) { sc.run(t, tr.start(t)) })
			}
		})
	}
}

func testConformance(t *testing.T, p *sdk.RemotePlugin) {
	s := fake(t, platform.Options{})
	s.AddPost("p1", "alice")
	c := s.AddComment(platform.Comment{PostID: "p1", AuthorID: "bob", Text: "moderate me"})
	cfg := baseConfig(s)
	plugintest.TestConnector(t, p, plugintest.ConnectorSuite{
		Config: cfg,
		BadConfigs: []plugintest.BadConfig{
			{Name: "no base_url", Config: without(cfg, "base_url"), Field: "base_url"},
			{Name: "relative base_url", Config: with(cfg, "base_url", "127.0.0.1:8080/api"), Field: "base_url"},
			{Name: "ftp base_url", Config: with(cfg, "base_url", "ftp://example.com"), Field: "base_url"},
			{Name: "base_url with a query", Config: with(cfg, "base_url", "http://example.com/?x=1"), Field: "base_url"},
			{Name: "zero timeout", Config: with(cfg, "timeout", "0s"), Field: "timeout"},
			{Name: "timeout not a duration", Config: with(cfg, "timeout", "soon"), Field: "timeout"},
			{Name: "max_pages 0", Config: with(cfg, "max_pages", 0), Field: "max_pages"},
			{Name: "token not a string", Config: with(cfg, "token", 5), Field: "token"},
		},
		Moderate: &sdk.Comment{Platform: "synthetic", ID: c.ID, PostID: "p1", AuthorID: "bob", Text: c.Text},
	})
	if got := s.State(c.ID); got != platform.StateDeleted {
		t.Errorf("after the suite the comment is %q, want deleted (its last action)", got)
	}
	d, err := p.Describe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{sdk.CapDiscover, sdk.CapPoll, sdk.CapWebhook, sdk.CapModerate}
	if !slices.Equal(d.Capabilities, want) || d.MaxBatch != maxBatch || d.Platform != "synthetic" {
		t.Errorf("Describe: capabilities %v MaxBatch %d platform %q; want %v, %d, synthetic", d.Capabilities, d.MaxBatch, d.Platform, want, maxBatch)
	}
}

func testPollManyPostsAndPages(t *testing.T, p *sdk.RemotePlugin) {
	s := fake(t, platform.Options{PageSize: 7})
	posts := postIDs(100)
	for _, id := range posts {
		s.AddPost(id, "alice")
	}
	all := addComments(s, 300, posts...)
	configure(t, p, s, map[string]any{"max_pages": 100})
	h := newHost(p)
	got := h.poll(t, posts...)
	for i, id := range posts {
		pc := got[id]
		want := []string{all[i].ID, all[i+100].ID, all[i+200].ID}
		if !slices.Equal(ids(pc.Comments), want) || pc.Err != "" || pc.More {
			t.Errorf("post %s: comments %v err %q more %v; want %v", id, ids(pc.Comments), pc.Err, pc.More, want)
		}
	}
	h.check(t, keysOf(all...), true)
	// One query serves all 100 posts: 300 comments in pages of 7.
	if n := s.Requests().Comments; n != 43 {
		t.Errorf("%d requests for 300 comments on 100 posts in pages of 7, want 43", n)
	}
	c := all[0]
	first := got[posts[0]].Comments[0]
	want := sdk.Comment{Platform: "synthetic", ID: c.ID, PostID: c.PostID, AuthorID: c.AuthorID, AuthorHandle: c.Handle,
		Text: c.Text, CreatedAt: c.CreatedAt, URL: s.URL() + "/p/" + c.PostID + "/c/" + c.ID}
	var raw map[string]any
	if err := json.Unmarshal(first.Raw, &raw); err != nil || raw["id"] != c.ID || raw["text"] != c.Text {
		t.Errorf("Raw %s is not the item's JSON: %v", first.Raw, err)
	}
	first.Raw = nil
	sameComment(t, first, want)

	// More posts than MaxBatch are split into queries of MaxBatch.
	extra := postIDs(150)[100:]
	for _, id := range extra {
		s.AddPost(id, "alice")
	}
	more := addComments(s, 50, extra...)
	before := s.Requests().Comments
	got = h.poll(t, append(slices.Clone(posts), extra...)...)
	// The platform refuses more than 100 posts a request, so the poll
	// succeeding at all shows the split; the count shows one query per
	// chunk: 1 for the first 100 posts (nothing new), 8 pages for the 50
	// comments on the others.
	if n := s.Requests().Comments - before; n != 1+8 {
		t.Errorf("150 posts took %d requests, want 9", n)
	}
	for i, id := range extra {
		if !slices.Equal(ids(got[id].Comments), []string{more[i].ID}) {
			t.Errorf("post %s: %v, want [%s]", id, ids(got[id].Comments), more[i].ID)
		}
	}
}

func testPollResume(t *testing.T, p *sdk.RemotePlugin) {
	s := fake(t, platform.Options{PageSize: 5})
	s.AddPost("a", "alice")
	s.AddPost("b", "alice")
	all := addComments(s, 23, "a", "b")
	configure(t, p, s, map[string]any{"max_pages": 2})
	h := newHost(p)

	// 23 comments, 10 a poll: the first poll reads the newest 10 and says More.
	got := h.poll(t, "a", "b")
	if n := len(got["a"].Comments) + len(got["b"].Comments); n != 10 || !got["a"].More || !got["b"].More {
		t.Fatalf("first poll: %d comments, More %v %v; want 10 and More", n, got["a"].More, got["b"].More)
	}
	// Comments arriving while the backlog is read are not lost either.
	all = append(all, addComments(s, 3, "a", "b")...)
	h.drain(t, 10, "a", "b")
	h.check(t, keysOf(all...), true)
	if h.polls != 4 {
		t.Errorf("%d polls to read 26 comments 10 at a time while 3 arrived, want 4", h.polls)
	}

	// Nothing new: one request, nothing returned, cursors unchanged.
	cursors := map[string]string{"a": string(h.cursors["a"]), "b": string(h.cursors["b"])}
	before := s.Requests().Comments
	got = h.poll(t, "a", "b")
	for _, id := range []string{"a", "b"} {
		if len(got[id].Comments) != 0 || got[id].More || string(got[id].Cursor) != cursors[id] {
			t.Errorf("idle poll of %s: %v More %v cursor %s -> %s", id, ids(got[id].Comments), got[id].More, cursors[id], got[id].Cursor)
		}
	}
	if n := s.Requests().Comments - before; n != 1 {
		t.Errorf("idle poll took %d requests, want 1", n)
	}

	// One new comment: exactly it.
	c := s.AddComment(platform.Comment{PostID: "b", AuthorID: "u", Text: "late"})
	got = h.poll(t, "a", "b")
	if len(got["a"].Comments) != 0 || !slices.Equal(ids(got["b"].Comments), []string{c.ID}) {
		t.Errorf("after one new comment: a %v, b %v; want b [%s]", ids(got["a"].Comments), ids(got["b"].Comments), c.ID)
	}
	// A backlog on one post while the other is quiet: the quiet one waits
	// in the same resumable state and loses nothing either.
	burst := addComments(s, 12, "a")
	got = h.poll(t, "a", "b")
	if len(got["a"].Comments) != 10 || len(got["b"].Comments) != 0 || !got["b"].More || got["b"].Err != "" {
		t.Errorf("burst on a: a %d comments, b %v More %v Err %q", len(got["a"].Comments), ids(got["b"].Comments), got["b"].More, got["b"].Err)
	}
	h.drain(t, 5, "a", "b")
	all = append(all, burst...)

	// A new post polled with the others starts from its beginning.
	s.AddPost("c", "alice")
	cs := addComments(s, 2, "c")
	got = h.poll(t, "a", "b", "c")
	if !slices.Equal(ids(got["c"].Comments), []string{cs[0].ID, cs[1].ID}) || len(got["a"].Comments)+len(got["b"].Comments) != 0 {
		t.Errorf("with a new post: %v %v %v", ids(got["a"].Comments), ids(got["b"].Comments), ids(got["c"].Comments))
	}
	h.check(t, keysOf(append(all, append(cs, c)...)...), true)
}

func testPollMalformed(t *testing.T, p *sdk.RemotePlugin) {
	tests := []struct {
		name string
		kind platform.MalformedKind
		// times: how many polls in a row meet a broken item (the middle of
		// each page, so not always the same comment).
		times int
		// both: the item does not say its post, so both posts hold back.
		both bool
		// after: indexes of the comments on a that the first poll after the
		// fault returns: the one broken last and the newer ones, none older.
		after []int
	}{
		{"id as a number", platform.MalformedIDNumber, 1, false, []int{4, 6, 8}},
		{"text missing", platform.MalformedNoText, 1, false, []int{4, 6, 8}},
		{"not an object", platform.MalformedNotObject, 1, true, []int{4, 6, 8}},
		// Poll 2 reads [8 6 4] of a (and nothing of b) and 6 is broken.
		{"broken again on the next poll", platform.MalformedIDNumber, 2, false, []int{6, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fake(t, platform.Options{})
			s.AddPost("a", "alice")
			s.AddPost("b", "alice")
			all := addComments(s, 9, "a", "b") // a: 0,2,4,6,8; b: 1,3,5,7
			configure(t, p, s, nil)
			h := newHost(p)
			h.allowErr = true
			s.Faults(platform.Faults{Malformed: tt.times, MalformedKind: tt.kind})
			got := h.poll(t, "a", "b")
			// all[4] is the middle of 9 newest first, on a.
			if slices.Contains(ids(got["a"].Comments), all[4].ID) || len(got["a"].Comments)+len(got["b"].Comments) != 8 {
				t.Errorf("poll 1 returned %v %v; want the 8 intact comments", ids(got["a"].Comments), ids(got["b"].Comments))
			}
			for i := range tt.times {
				if i > 0 {
					got = h.poll(t, "a", "b")
				}
				if !contains(got["a"].Err, "malformed") || (got["b"].Err != "") != tt.both {
					t.Errorf("poll %d: errs a %q b %q; want a malformed item reported for a (and b: %v)", i+1, got["a"].Err, got["b"].Err, tt.both)
				}
			}
			got = h.poll(t, "a", "b")
			var wantA, wantB []string
			for _, i := range tt.after {
				wantA = append(wantA, all[i].ID)
			}
			if tt.both {
				wantB = []string{all[5].ID, all[7].ID}
			}
			if !slices.Equal(ids(got["a"].Comments), wantA) || !slices.Equal(ids(got["b"].Comments), wantB) || got["a"].Err != "" || got["b"].Err != "" {
				t.Errorf("after the fault: a %v %q, b %v %q; want a %v, b %v",
					ids(got["a"].Comments), got["a"].Err, ids(got["b"].Comments), got["b"].Err, wantA, wantB)
			}
			if got := h.poll(t, "a", "b"); len(got["a"].Comments)+len(got["b"].Comments) != 0 {
				t.Errorf("a further poll returned %v %v", ids(got["a"].Comments), ids(got["b"].Comments))
			}
			h.check(t, keysOf(all...), false)
		})
	}

	t.Run("in a backlog", func(t *testing.T) {
		s := fake(t, platform.Options{PageSize: 4})
		s.AddPost("a", "alice")
		s.AddPost("b", "alice")
		all := addComments(s, 20, "a", "b")
		configure(t, p, s, map[string]any{"max_pages": 1})
		h := newHost(p)
		h.allowErr = true
		s.Faults(platform.Faults{Malformed: 3, MalformedKind: platform.MalformedNoText})
		for range 30 {
			h.poll(t, "a", "b")
		}
		h.check(t, keysOf(all...), false)
	})
}

func testPollPerPostErrors(t *testing.T, p *sdk.RemotePlugin) {
	s := fake(t, platform.Options{})
	s.AddPost("a", "alice")
	s.AddPost("b", "alice")
	c := addComments(s, 1, "a")[0]
	configure(t, p, s, nil)
	resp, err := p.Poll(t.Context(), []sdk.PostCursor{
		{PostID: "a"},
		{PostID: "gone"},
		{PostID: "x,y"},
		{PostID: "b", Cursor: []byte("not a cursor")},
		{PostID: "a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		comments []string
		err      string
		cursor   string
	}{
		{comments: []string{c.ID}, cursor: `{"since":"` + c.ID + `"}`},
		{err: "Not Found"},
		{err: "invalid post id"},
		{err: "invalid cursor", cursor: "not a cursor"},
		{comments: []string{c.ID}, cursor: `{"since":"` + c.ID + `"}`},
	}
	for i, tt := range tests {
		pc := resp.Posts[i]
		if !slices.Equal(ids(pc.Comments), tt.comments) || !contains(pc.Err, tt.err) || (tt.err == "") != (pc.Err == "") || string(pc.Cursor) != tt.cursor {
			t.Errorf("post %d (%s): comments %v err %q cursor %q; want %v, %q, %q", i, pc.PostID, ids(pc.Comments), pc.Err, pc.Cursor, tt.comments, tt.err, tt.cursor)
		}
	}
	if !resp.RateLimit.Known() || resp.RateLimit.Limit != platform.DefaultRateLimit || resp.RateLimit.Remaining != platform.DefaultRateLimit-1 {
		t.Errorf("rate limit %+v, want the platform's headers", resp.RateLimit)
	}
	if resp, err := p.Poll(t.Context(), nil); err != nil || len(resp.Posts) != 0 || s.Requests().Comments != 1 {
		t.Errorf("empty poll: %+v %v, %d requests; want nothing and no request", resp, err, s.Requests().Comments)
	}
}

// clock is a settable time source for the platform's rate-limit window.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func testPollRateLimited(t *testing.T, p *sdk.RemotePlugin) {
	t.Run("window", func(t *testing.T) {
		clk := &clock{t: time.Now().Truncate(time.Second)}
		s := fake(t, platform.Options{RateLimit: 2, RateWindow: time.Minute, Now: clk.Now})
		s.AddPost("a", "alice")
		configure(t, p, s, nil)
		for i, remaining := range []int64{1, 0} {
			resp, err := p.Poll(t.Context(), []sdk.PostCursor{{PostID: "a"}})
			if err != nil || resp.RateLimit.Limit != 2 || resp.RateLimit.Remaining != remaining || !resp.RateLimit.Reset.Equal(clk.t.Add(time.Minute)) {
				t.Errorf("poll %d: %+v %v; want limit 2 remaining %d reset %v", i+1, resp.RateLimit, err, remaining, clk.t.Add(time.Minute))
			}
		}
		_, err := p.Poll(t.Context(), []sdk.PostCursor{{PostID: "a"}})
		var rl *sdk.RateLimitedError
		if !errors.As(err, &rl) || rl.RateLimit.UsageCapExceeded || rl.RateLimit.Remaining != 0 || rl.RateLimit.Limit != 2 || !rl.RateLimit.Reset.Equal(clk.t.Add(time.Minute)) {
			t.Errorf("third poll: %v (%+v); want a window rate limit until %v", err, rl, clk.t.Add(time.Minute))
		}
	})
	t.Run("usage cap", func(t *testing.T) {
		s := fake(t, platform.Options{})
		s.AddPost("a", "alice")
		configure(t, p, s, nil)
		s.Faults(platform.Faults{UsageCapExceeded: true})
		_, err := p.Poll(t.Context(), []sdk.PostCursor{{PostID: "a"}})
		var rl *sdk.RateLimitedError
		if !errors.As(err, &rl) || !rl.RateLimit.UsageCapExceeded || !contains(err.Error(), "UsageCapExceeded") {
			t.Errorf("%v (%+v); want a usage cap error", err, rl)
		}
	})
	t.Run("in the middle of the pages", func(t *testing.T) {
		clk := &clock{t: time.Now()}
		s := fake(t, platform.Options{PageSize: 2, RateLimit: 3, RateWindow: time.Minute, Now: clk.Now})
		s.AddPost("a", "alice")
		all := addComments(s, 5, "a")
		configure(t, p, s, nil)
		if _, err := p.Discover(t.Context(), sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetAuthor, ID: "alice"}}); err != nil {
			t.Fatal(err) // uses one request of the window
		}
		h := newHost(p)
		var rl *sdk.RateLimitedError
		if _, err := h.pollErr(t, "a"); !errors.As(err, &rl) {
			t.Fatalf("poll over 3 pages with 2 requests left: %v, want a rate limit", err)
		}
		clk.Add(time.Minute)
		h.poll(t, "a")
		h.check(t, keysOf(all...), true)
	})
}

func testPollTransientErrors(t *testing.T, p *sdk.RemotePlugin) {
	tests := []struct {
		name   string
		faults platform.Faults
		config map[string]any
		want   string
	}{
		{"server error", platform.Faults{ServerErrors: 1}, nil, "503"},
		{"truncated page", platform.Faults{Truncated: 1}, nil, "malformed page"},
		{"timeout", platform.Faults{Slow: 2 * time.Second}, map[string]any{"timeout": "100ms"}, "Client.Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fake(t, platform.Options{})
			s.AddPost("a", "alice")
			all := addComments(s, 3, "a")
			configure(t, p, s, tt.config)
			h := newHost(p)
			s.Faults(tt.faults)
			_, err := h.pollErr(t, "a")
			var rl *sdk.RateLimitedError
			if err == nil || !contains(err.Error(), tt.want) || errors.As(err, &rl) || sdk.IsPermanent(err) || errors.Is(err, sdk.ErrNotFound) {
				t.Errorf("poll: %v; want a plain error (to retry) saying %q", err, tt.want)
			}
			s.Faults(platform.Faults{})
			h.poll(t, "a")
			h.check(t, keysOf(all...), true)
		})
	}
	t.Run("wrong token is permanent", func(t *testing.T) {
		s := fake(t, platform.Options{})
		configure(t, p, s, map[string]any{"token": "wrong"})
		_, err := p.Poll(t.Context(), []sdk.PostCursor{{PostID: "a"}})
		if !sdk.IsPermanent(err) || !contains(err.Error(), "401") || contains(err.Error(), testToken) {
			t.Errorf("poll with a wrong token: %v; want a permanent 401 that does not show the token", err)
		}
	})
}

// webhookCall is one delivery for Webhook: body, then how to sign it.
func signed(s *platform.Server, body string) sdk.WebhookRequest {
	return sdk.WebhookRequest{Method: "POST", Body: []byte(body), Header: http.Header{"X-Synthetic-Signature": {s.Sign([]byte(body))}}}
}

func testWebhook(t *testing.T, p *sdk.RemotePlugin) {
	s := fake(t, platform.Options{})
	other := platform.Start(platform.Options{Secret: "another secret"})
	defer other.Close()
	configure(t, p, s, nil)
	item := `{"id":"1700000000000000005","post_id":"p1","author_id":"u1","author_handle":"alice","text":"hi there","version":%d,"created_at":"2026-01-02T03:04:05Z","url":"http://x/p/p1/c/1700000000000000005"}`
	created := fmt.Sprintf(`{"events":[{"type":"comment.created","comment":`+item+`}]}`, 0)
	updated := fmt.Sprintf(`{"events":[{"type":"comment.updated","comment":`+item+`}]}`, 3)
	tests := []struct {
		name     string
		req      sdk.WebhookRequest
		status   int
		versions []string // of the comments decoded
	}{
		{"created", signed(s, created), 200, []string{""}},
		{"updated is the same id at a new version", signed(s, updated), 200, []string{"3"}},
		{"two events", signed(s, `{"events":[`+created[11:len(created)-2]+`,`+updated[11:len(updated)-2]+`]}`), 200, []string{"", "3"}},
		{"unknown event types are skipped", signed(s, `{"events":[{"type":"post.created","post":{}}]}`), 200, nil},
		{"no events", signed(s, `{"events":[]}`), 200, nil},
		{"signed with another secret", signed(other, created), 401, nil},
		{"signature of another body", sdk.WebhookRequest{Method: "POST", Body: []byte(created), Header: http.Header{"X-Synthetic-Signature": {s.Sign([]byte(updated))}}}, 401, nil},
		{"missing signature", sdk.WebhookRequest{Method: "POST", Body: []byte(created)}, 401, nil},
		{"signature without sha256=", sdk.WebhookRequest{Method: "POST", Body: []byte(created), Header: http.Header{"X-Synthetic-Signature": {strings.TrimPrefix(s.Sign([]byte(created)), "sha256=")}}}, 401, nil},
		{"signature not hex", sdk.WebhookRequest{Method: "POST", Body: []byte(created), Header: http.Header{"X-Synthetic-Signature": {"sha256=zz"}}}, 401, nil},
		{"malformed JSON", signed(s, `{"events":[{"type":"comment.created","comment":{"id":`), 400, nil},
		{"not a delivery", signed(s, `[1,2]`), 400, nil},
		{"no events list", signed(s, `{"event":[]}`), 400, nil},
		{"data after the object", signed(s, created+`{}`), 400, nil},
		{"a malformed comment spoils the delivery", signed(s, `{"events":[`+created[11:len(created)-2]+`,{"type":"comment.created","comment":{"id":5,"post_id":"p1","author_id":"u","text":"x"}}]}`), 400, nil},
		{"comment without text", signed(s, `{"events":[{"type":"comment.created","comment":{"id":"5","post_id":"p1","author_id":"u"}}]}`), 400, nil},
		{"GET", sdk.WebhookRequest{Method: "GET"}, 405, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.Webhook(t.Context(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			var versions []string
			for _, c := range resp.Comments {
				versions = append(versions, c.Version)
			}
			if resp.Status != tt.status || !slices.Equal(versions, tt.versions) {
				t.Errorf("status %d, versions %q (body %s); want %d, %q", resp.Status, versions, resp.Body, tt.status, tt.versions)
			}
			if resp.Header.Get("Content-Type") != "application/json" || !json.Valid(resp.Body) {
				t.Errorf("answer %v %q is not JSON", resp.Header, resp.Body)
			}
		})
	}

	resp, err := p.Webhook(t.Context(), signed(s, created))
	if err != nil || len(resp.Comments) != 1 {
		t.Fatalf("%+v %v", resp, err)
	}
	c := resp.Comments[0]
	want := sdk.Comment{Platform: "synthetic", ID: "1700000000000000005", PostID: "p1", AuthorID: "u1", AuthorHandle: "alice",
		Text: "hi there", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), URL: "http://x/p/p1/c/1700000000000000005",
		Raw: []byte(fmt.Sprintf(item, 0))}
	sameComment(t, c, want)

	// With no secret configured nothing can be verified.
	configure(t, p, s, map[string]any{"webhook_secret": nil})
	if resp, err := p.Webhook(t.Context(), signed(s, created)); err != nil || resp.Status != 401 || len(resp.Comments) != 0 {
		t.Errorf("without webhook_secret: %d %s %v, want 401", resp.Status, resp.Body, err)
	}
}

// testWebhookDeliveries sends real deliveries from the platform to a
// stand-in for the host's webhook endpoint that forwards them to the plugin.
func testWebhookDeliveries(t *testing.T, p *sdk.RemotePlugin) {
	s := fake(t, platform.Options{})
	configure(t, p, s, nil)
	var (
		mu       sync.Mutex
		received [][]sdk.Comment
	)
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		resp, err := p.Webhook(r.Context(), sdk.WebhookRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header, Body: body, RemoteAddr: r.RemoteAddr})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		mu.Lock()
		received = append(received, resp.Comments)
		mu.Unlock()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
	}))
	defer endpoint.Close()

	s.AddPost("p1", "alice")
	c := s.AddComment(platform.Comment{PostID: "p1", AuthorID: "bob", Handle: "bob", Text: "first"})
	edit := s.AddComment(platform.Comment{ID: c.ID, PostID: "p1", Text: "first, edited"})
	for i := range 2 { // the second is a duplicate delivery
		if status, err := s.Deliver(t.Context(), endpoint.URL+"/hooks/synthetic", c, edit); err != nil || status != 200 {
			t.Fatalf("delivery %d: %d %v", i+1, status, err)
		}
	}
	if len(received) != 2 || fmt.Sprint(received[0]) != fmt.Sprint(received[1]) {
		t.Fatalf("received %d deliveries, want 2 identical", len(received))
	}
	got := received[0]
	if len(got) != 2 || got[0].ID != c.ID || got[1].ID != c.ID || got[0].Version != "" || got[1].Version != "1" || got[1].Text != "first, edited" {
		t.Errorf("decoded %+v; want the comment then its edit", got)
	}
}

func testModerate(t *testing.T, p *sdk.RemotePlugin) {
	s := fake(t, platform.Options{})
	s.AddPost("p1", "alice")
	cs := addComments(s, 3, "p1")
	configure(t, p, s, nil)
	moderate := func(c platform.Comment, action, key string) (sdk.ModerateResponse, error) {
		return p.Moderate(t.Context(), sdk.ModerateRequest{Comment: sdk.Comment{ID: c.ID, PostID: c.PostID}, Action: action, Reason: "test", IdempotencyKey: key})
	}
	var rl *sdk.RateLimitedError
	steps := []struct {
		name    string
		comment platform.Comment
		action  string
		key     string
		faults  platform.Faults
		changed bool
		check   func(error) bool // nil: must succeed
		state   string
	}{
		{name: "hide", comment: cs[0], action: "hide", key: "k1", changed: true, state: platform.StateHidden},
		{name: "hide again", comment: cs[0], action: "hide", key: "k2", state: platform.StateHidden},
		{name: "retry with the same key", comment: cs[0], action: "hide", key: "k1", state: platform.StateHidden},
		{name: "unhide", comment: cs[0], action: "unhide", key: "k3", changed: true, state: platform.StateVisible},
		{name: "flag", comment: cs[0], action: "flag", key: "k4", changed: true, state: platform.StateFlagged},
		{name: "approve is not an action here", comment: cs[0], action: "approve", key: "k5", state: platform.StateFlagged,
			check: func(err error) bool { return errors.Is(err, sdk.ErrUnsupported) }},
		{name: "key reused for another action", comment: cs[0], action: "delete", key: "k1", state: platform.StateFlagged,
			check: func(err error) bool { return sdk.IsPermanent(err) && contains(err.Error(), "422") }},
		{name: "rate limited", comment: cs[1], action: "delete", key: "k6", faults: platform.Faults{RateLimited: 1}, state: platform.StateVisible,
			check: func(err error) bool { return errors.As(err, &rl) && !rl.RateLimit.UsageCapExceeded }},
		{name: "usage cap", comment: cs[1], action: "delete", key: "k6", faults: platform.Faults{UsageCapExceeded: true}, state: platform.StateVisible,
			check: func(err error) bool { return errors.As(err, &rl) && rl.RateLimit.UsageCapExceeded }},
		{name: "server error", comment: cs[1], action: "delete", key: "k6", faults: platform.Faults{ServerErrors: 1}, state: platform.StateVisible,
			check: func(err error) bool { return err != nil && !sdk.IsPermanent(err) && !errors.As(err, &rl) }},
		// The answer is lost after the platform acted: the host retries,
		// and the retry finds the comment already deleted.
		{name: "answer lost", comment: cs[1], action: "delete", key: "k6", faults: platform.Faults{Truncated: 1}, state: platform.StateDeleted,
			check: func(err error) bool {
				return err != nil && !sdk.IsPermanent(err) && contains(err.Error(), "retrying is safe")
			}},
		{name: "retry after the lost answer", comment: cs[1], action: "delete", key: "k6", state: platform.StateDeleted},
		{name: "hide a deleted comment", comment: cs[1], action: "hide", key: "k7", state: platform.StateDeleted,
			check: func(err error) bool { return errors.Is(err, sdk.ErrNotFound) }},
		{name: "unknown comment", comment: platform.Comment{ID: "42"}, action: "hide", key: "k8",
			check: func(err error) bool { return errors.Is(err, sdk.ErrNotFound) }},
		{name: "no idempotency key", comment: cs[2], action: "hide", state: platform.StateVisible,
			check: func(err error) bool { return sdk.IsPermanent(err) && contains(err.Error(), "Idempotency-Key") }},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			s.Faults(st.faults)
			defer s.Faults(platform.Faults{})
			resp, err := moderate(st.comment, st.action, st.key)
			switch {
			case st.check == nil && err != nil:
				t.Errorf("%s: %v", st.action, err)
			case st.check == nil && (resp.Changed != st.changed || !contains(resp.Detail, st.state)):
				t.Errorf("%s: %+v, want changed %v and a detail naming %s", st.action, resp, st.changed, st.state)
			case st.check != nil && !st.check(err):
				t.Errorf("%s: %v (%T), not the error wanted", st.action, err, err)
			}
			if got := s.State(st.comment.ID); got != st.state {
				t.Errorf("state %q, want %q", got, st.state)
			}
		})
	}
	// The platform saw the host's keys: the three hides of cs[0] carry k1, k2, k1.
	var keys []string
	for _, a := range s.Actions() {
		if a.CommentID == cs[0].ID && a.Action == "hide" {
			keys = append(keys, a.IdempotencyKey)
		}
	}
	if !slices.Equal(keys, []string{"k1", "k2", "k1"}) {
		t.Errorf("keys of the hides %v, want [k1 k2 k1]", keys)
	}
	changed := 0
	for _, a := range s.Actions() {
		if a.CommentID == cs[1].ID && a.Changed {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("comment %s changed %d times, want once: the retries were idempotent", cs[1].ID, changed)
	}
}

func testDiscover(t *testing.T, p *sdk.RemotePlugin) {
	s := fake(t, platform.Options{PageSize: 2})
	for _, id := range []string{"p1", "p2", "p3", "p4", "p5"} {
		s.AddPost(id, "alice")
	}
	s.AddPost("q1", "bob")
	configure(t, p, s, nil)
	var got []string
	var cursor []byte
	for page := 1; ; page++ {
		resp, err := p.Discover(t.Context(), sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetAuthor, ID: "alice"}, Cursor: cursor})
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		for _, post := range resp.Posts {
			if post.AuthorID != "alice" || post.URL != s.URL()+"/p/"+post.ID || post.Title == "" || post.CreatedAt.IsZero() {
				t.Errorf("post %+v", post)
			}
			got = append(got, post.ID)
		}
		if !resp.RateLimit.Known() {
			t.Errorf("page %d: no rate limit", page)
		}
		if cursor = resp.Cursor; cursor == nil {
			break
		}
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	if want := []string{"p5", "p4", "p3", "p2", "p1"}; !slices.Equal(got, want) {
		t.Errorf("discovered %v, want %v", got, want)
	}
	resp, err := p.Discover(t.Context(), sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetAuthor, ID: "nobody"}})
	if err != nil || len(resp.Posts) != 0 || resp.Cursor != nil {
		t.Errorf("unknown author: %+v %v, want no posts", resp, err)
	}
	for _, kind := range []string{sdk.TargetPost, sdk.TargetQuery, sdk.TargetPublication} {
		if _, err := p.Discover(t.Context(), sdk.DiscoverRequest{Target: sdk.Target{Kind: kind, ID: "x"}}); !errors.Is(err, sdk.ErrUnsupported) {
			t.Errorf("discover %s: %v, want ErrUnsupported", kind, err)
		}
	}
	if _, err := p.Discover(t.Context(), sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetAuthor, ID: "a/b"}}); !sdk.IsPermanent(err) {
		t.Errorf("discover an invalid author id: %v, want permanent", err)
	}
	s.Faults(platform.Faults{RateLimited: 1})
	var rl *sdk.RateLimitedError
	if _, err := p.Discover(t.Context(), sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetAuthor, ID: "alice"}}); !errors.As(err, &rl) {
		t.Errorf("discover when rate limited: %v", err)
	}
	s.Faults(platform.Faults{Truncated: 1})
	if _, err := p.Discover(t.Context(), sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetAuthor, ID: "alice"}}); err == nil || sdk.IsPermanent(err) {
		t.Errorf("discover a truncated page: %v, want a plain error", err)
	}
}

// TestBeforeConfigure: the host always configures first; a call before that
// is a bug and gets a clear error, not a nil dereference.
func TestBeforeConfigure(t *testing.T) {
	c := &Synthetic{}
	ctx := context.Background()
	_, err1 := c.Poll(ctx, []sdk.PostCursor{{PostID: "a"}})
	_, err2 := c.Webhook(ctx, sdk.WebhookRequest{Method: "POST"})
	_, err3 := c.Moderate(ctx, sdk.ModerateRequest{Action: "hide"})
	_, err4 := c.Discover(ctx, sdk.DiscoverRequest{})
	for i, err := range []error{err1, err2, err3, err4} {
		if !errors.Is(err, errNotConfigured) {
			t.Errorf("call %d: %v", i+1, err)
		}
	}
}
