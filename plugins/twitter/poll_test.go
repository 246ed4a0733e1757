package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/plugins/twitter/twittertest"
	"github.com/moderatorbot/moderator/sdk"
)

func ids(cs []sdk.Comment) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	slices.SortFunc(out, compareIDs)
	return out
}

func TestPollManyPostsInOneRequest(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	fan := srv.AddUser("2", "fan")
	troll := srv.AddUser("3", "troll")
	owner := srv.Owner()
	var posts []string
	want := map[string][]string{}
	for i := range 3 {
		p := srv.Post(owner.ID, fmt.Sprintf("post %d", i))
		posts = append(posts, p.ID)
		r := srv.Reply(fan.ID, p.ID, "nice post")
		rr := srv.Reply(troll.ID, r.ID, "a reply to a reply")
		want[p.ID] = []string{r.ID, rr.ID}
	}
	unrelated := srv.Post(fan.ID, "not watched")
	srv.Reply(troll.ID, unrelated.ID, "not watched either")
	tw := configure(t, configFor(srv))
	req := make([]sdk.PostCursor, len(posts))
	for i, p := range posts {
		req[i] = sdk.PostCursor{PostID: p}
	}
	resp, err := tw.Poll(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(searches(srv)); n != 1 {
		t.Errorf("%d search requests for %d posts, want 1", n, len(posts))
	}
	if q := searches(srv)[0].Query.Get("query"); q != "conversation_id:"+posts[0]+" OR conversation_id:"+posts[1]+" OR conversation_id:"+posts[2] {
		t.Errorf("query %q", q)
	}
	if len(resp.Posts) != len(posts) {
		t.Fatalf("%d entries, want %d", len(resp.Posts), len(posts))
	}
	for _, pc := range resp.Posts {
		if got := ids(pc.Comments); !slices.Equal(got, want[pc.PostID]) {
			t.Errorf("post %s: comments %v, want %v (the post itself is not a comment)", pc.PostID, got, want[pc.PostID])
		}
		if pc.More || pc.Err != "" || len(pc.Cursor) == 0 {
			t.Errorf("post %s: More=%v Err=%q cursor=%q", pc.PostID, pc.More, pc.Err, pc.Cursor)
		}
		for _, c := range pc.Comments {
			tweet, _ := srv.Tweet(c.ID)
			author, _ := srv.User(tweet.AuthorID)
			wantC := sdk.Comment{
				Platform: "twitter", ID: tweet.ID, PostID: pc.PostID, ParentID: tweet.InReplyToID, AuthorID: author.ID,
				AuthorHandle: "@" + author.Username, Text: tweet.Text, CreatedAt: tweet.CreatedAt,
				URL: "https://x.com/" + author.Username + "/status/" + tweet.ID, Lang: "en",
			}
			got := c
			got.Raw, got.Metadata = nil, nil
			if !got.CreatedAt.Equal(wantC.CreatedAt) {
				t.Errorf("comment %s created %v, want %v", c.ID, got.CreatedAt, wantC.CreatedAt)
			}
			got.CreatedAt = wantC.CreatedAt
			if fmt.Sprint(got) != fmt.Sprint(wantC) {
				t.Errorf("comment\n got %+v\nwant %+v", got, wantC)
			}
			if len(c.Raw) == 0 || c.Metadata["in_reply_to_user_id"] != tweet.InReplyToUserID {
				t.Errorf("comment %s: raw %q metadata %v", c.ID, c.Raw, c.Metadata)
			}
		}
	}
	if rl := resp.RateLimit; rl.Limit != 450 || rl.Remaining != 449 || rl.Reset.IsZero() || rl.Bucket != "GET /2/tweets/search/recent" {
		t.Errorf("rate limit %+v, want the fake's 450/449 with a reset", rl)
	}
}

func TestPollCursorsMoveOn(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	fan := srv.AddUser("2", "fan")
	a := srv.Post(srv.Owner().ID, "a")
	b := srv.Post(srv.Owner().ID, "b")
	srv.Reply(fan.ID, a.ID, "first on a")
	tw := configure(t, configFor(srv))
	got, cursors := pollAll(t, tw, []string{a.ID, b.ID}, nil)
	if len(got[a.ID]) != 1 || len(got[b.ID]) != 0 {
		t.Fatalf("first poll: %v", got)
	}
	newA := srv.Reply(fan.ID, a.ID, "second on a")
	newB := srv.Reply(fan.ID, b.ID, "first on b")
	got, cursors = pollAll(t, tw, []string{a.ID, b.ID}, cursors)
	if !slices.Equal(ids(got[a.ID]), []string{newA.ID}) || !slices.Equal(ids(got[b.ID]), []string{newB.ID}) {
		t.Errorf("second poll: a %v b %v, want only %s and %s", ids(got[a.ID]), ids(got[b.ID]), newA.ID, newB.ID)
	}
	s := searches(srv)
	if last := s[len(s)-1].Query.Get("since_id"); last == "" {
		t.Errorf("the second poll sent no since_id")
	}
	got, _ = pollAll(t, tw, []string{a.ID, b.ID}, cursors)
	if len(got[a.ID])+len(got[b.ID]) != 0 {
		t.Errorf("a third poll with nothing new found %v", got)
	}
	// A post with an old cursor beside one with a newer one: since_id is
	// the older, and each gets only what is newer than its own cursor.
	got, _ = pollAll(t, tw, []string{a.ID, b.ID}, map[string][]byte{a.ID: []byte(newA.ID)})
	if len(got[a.ID]) != 0 || !slices.Equal(ids(got[b.ID]), []string{newB.ID}) {
		t.Errorf("mixed cursors: a %v b %v", ids(got[a.ID]), ids(got[b.ID]))
	}
}

func TestPollWalksPagesAcrossCalls(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	fan := srv.AddUser("2", "fan")
	a := srv.Post(srv.Owner().ID, "busy")
	b := srv.Post(srv.Owner().ID, "quiet")
	var want []string
	for i := range 35 {
		want = append(want, srv.Reply(fan.ID, a.ID, fmt.Sprint("reply ", i)).ID)
	}
	wantB := srv.Reply(fan.ID, b.ID, "the only one").ID
	tw := configure(t, with(configFor(srv), "max_results", 10, "max_pages", 2))
	resp, err := tw.Poll(context.Background(), []sdk.PostCursor{{PostID: a.ID}, {PostID: b.ID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, pc := range resp.Posts {
		if !pc.More {
			t.Errorf("post %s: pages remain, yet More is false", pc.PostID)
		}
	}
	if n := len(searches(srv)); n != 2 {
		t.Errorf("%d requests in one poll, want max_pages=2", n)
	}
	got, cursors := pollAll(t, tw, []string{a.ID, b.ID}, map[string][]byte{a.ID: resp.Posts[0].Cursor, b.ID: resp.Posts[1].Cursor})
	all := append(resp.Posts[0].Comments, got[a.ID]...)
	if g := ids(all); !slices.Equal(g, want) {
		t.Errorf("post a over the walk: %d comments %v, want the %d replies once each", len(g), g, len(want))
	}
	allB := append(resp.Posts[1].Comments, got[b.ID]...)
	if g := ids(allB); !slices.Equal(g, []string{wantB}) {
		t.Errorf("post b over the walk: %v, want [%s]", g, wantB)
	}
	later := srv.Reply(fan.ID, a.ID, "after the walk")
	got, _ = pollAll(t, tw, []string{a.ID, b.ID}, cursors)
	if !slices.Equal(ids(got[a.ID]), []string{later.ID}) || len(got[b.ID]) != 0 {
		t.Errorf("after the walk: %v, want only %s", got, later.ID)
	}
}

func TestPollSplitsQueriesByLength(t *testing.T) {
	tests := []struct {
		name     string
		maxLen   int
		posts    int
		requests int
	}{
		{"one_query_for_max_batch", 512, maxBatch, 1},
		{"two_per_query", 80, 5, 3},
		{"one_per_query", 64, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, twittertest.Options{})
			fan := srv.AddUser("2", "fan")
			var posts []string
			want := map[string]string{}
			for range tt.posts {
				p := srv.Post(srv.Owner().ID, "post")
				posts = append(posts, p.ID)
				want[p.ID] = srv.Reply(fan.ID, p.ID, "reply").ID
			}
			tw := configure(t, with(configFor(srv), "query_max_length", tt.maxLen))
			got, _ := pollAll(t, tw, posts, nil)
			for _, p := range posts {
				if !slices.Equal(ids(got[p]), []string{want[p]}) {
					t.Errorf("post %s: %v, want [%s]", p, ids(got[p]), want[p])
				}
			}
			s := searches(srv)
			if len(s) != tt.requests {
				t.Errorf("%d requests, want %d", len(s), tt.requests)
			}
			for _, r := range s {
				if q := r.Query.Get("query"); len(q) > tt.maxLen || r.Status != 200 {
					t.Errorf("query of %d characters (max %d) answered %d: %q", len(q), tt.maxLen, r.Status, q)
				}
			}
		})
	}
	if n := len(buildQuery(slices.Repeat([]string{"1234567890123456789"}, maxBatch))); n > defaultQueryMaxLength {
		t.Errorf("MaxBatch=%d posts with 19-digit ids make a %d-character query, over %d", maxBatch, n, defaultQueryMaxLength)
	}
}

func TestPollBadPostIDs(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	fan := srv.AddUser("2", "fan")
	a := srv.Post(srv.Owner().ID, "a")
	r := srv.Reply(fan.ID, a.ID, "hi")
	tw := configure(t, configFor(srv))
	resp, err := tw.Poll(context.Background(), []sdk.PostCursor{{PostID: "not-a-tweet"}, {PostID: a.ID, Cursor: []byte("{garbage")}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Posts[0].Err == "" || len(resp.Posts[0].Comments) != 0 {
		t.Errorf("a post id that is not a tweet id: %+v", resp.Posts[0])
	}
	if resp.Posts[1].Err != "" || !slices.Equal(ids(resp.Posts[1].Comments), []string{r.ID}) {
		t.Errorf("a post beside it, with an unreadable cursor (polled from the start): %+v", resp.Posts[1])
	}
	for _, s := range searches(srv) {
		if strings.Contains(s.Query.Get("query"), "not-a-tweet") {
			t.Errorf("the bad id reached X: %q", s.Query.Get("query"))
		}
	}
}

func TestPollPlatformErrors(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(srv *twittertest.Server)
		config    map[string]any
		check     func(t *testing.T, err error)
		permanent bool
	}{
		{
			name:  "window_429",
			setup: func(srv *twittertest.Server) { srv.SetRemaining(twittertest.EndpointSearch, 0) },
			check: func(t *testing.T, err error) {
				var rle *sdk.RateLimitedError
				if !errors.As(err, &rle) || rle.RateLimit.UsageCapExceeded || rle.RateLimit.Reset.IsZero() || rle.RateLimit.Remaining != 0 || rle.RateLimit.Limit != 450 {
					t.Errorf("%#v, want a RateLimitedError with the window's reset", err)
				}
			},
		},
		{
			name:  "usage_cap_429",
			setup: func(srv *twittertest.Server) { srv.SetUsageCapped(true) },
			check: func(t *testing.T, err error) {
				var rle *sdk.RateLimitedError
				if !errors.As(err, &rle) || !rle.RateLimit.UsageCapExceeded || !strings.Contains(err.Error(), "monthly") {
					t.Errorf("%v, want a RateLimitedError with UsageCapExceeded", err)
				}
				if rle != nil && !rle.RateLimit.Reset.IsZero() {
					// The host would resume at the 15-minute window's reset,
					// against a cap that waiting does not cure.
					t.Errorf("usage cap error with Reset %v, want none", rle.RateLimit.Reset)
				}
			},
		},
		{
			name:  "5xx",
			setup: func(srv *twittertest.Server) { srv.SetFault(twittertest.Fault{Status: 503}) },
			check: func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "GET /2/tweets/search/recent: HTTP 503") || strings.Contains(err.Error(), "GET GET") {
					t.Errorf("%v, want an error naming the endpoint once and the 503", err)
				}
			},
		},
		{
			name:  "truncated_json",
			setup: func(srv *twittertest.Server) { srv.SetFault(twittertest.Fault{Truncate: true}) },
			check: func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "GET /2/tweets/search/recent") || !strings.Contains(err.Error(), "not the JSON expected") {
					t.Errorf("%v, want an error naming the endpoint and the bad JSON", err)
				}
			},
		},
		{
			name:   "timeout",
			setup:  func(srv *twittertest.Server) { srv.SetFault(twittertest.Fault{Delay: time.Hour}) },
			config: map[string]any{"timeout": "200ms"},
			check: func(t *testing.T, err error) {
				if err == nil {
					t.Errorf("no error from a request that never got an answer")
				}
			},
		},
		{
			name:      "wrong_bearer_token",
			config:    map[string]any{"bearer_token": "not-the-token"},
			permanent: true,
			check: func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "not-the-token") {
					t.Errorf("%v, want a 401 that does not repeat the token", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, twittertest.Options{})
			fan := srv.AddUser("2", "fan")
			p := srv.Post(srv.Owner().ID, "post")
			srv.Reply(fan.ID, p.ID, "reply")
			cfg := configFor(srv)
			for k, v := range tt.config {
				cfg[k] = v
			}
			if tt.setup != nil {
				tt.setup(srv)
			}
			tw := configure(t, cfg)
			resp, err := tw.Poll(context.Background(), []sdk.PostCursor{{PostID: p.ID}})
			tt.check(t, err)
			if sdk.IsPermanent(err) != tt.permanent {
				t.Errorf("permanent=%v, want %v: %v", sdk.IsPermanent(err), tt.permanent, err)
			}
			for _, pc := range resp.Posts {
				if len(pc.Comments) > 0 {
					t.Errorf("a failed poll returned comments %v", pc.Comments)
				}
			}
			srv.ClearFaults()
			srv.SetUsageCapped(false)
		})
	}
}

// A failure on a later page keeps what the earlier pages brought, with a
// cursor that does not pass what was not read.
func TestPollFailureAfterFirstPage(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	fan := srv.AddUser("2", "fan")
	p := srv.Post(srv.Owner().ID, "post")
	var want []string
	for range 25 {
		want = append(want, srv.Reply(fan.ID, p.ID, "reply").ID)
	}
	tw := configure(t, with(configFor(srv), "max_results", 10))
	srv.SetFault(twittertest.Fault{Endpoint: twittertest.EndpointSearch, Status: 500, Skip: 1})
	resp, err := tw.Poll(context.Background(), []sdk.PostCursor{{PostID: p.ID}})
	if err != nil {
		t.Fatalf("a failure after the first page failed the call: %v", err)
	}
	pc := resp.Posts[0]
	if !slices.Equal(ids(pc.Comments), want[15:]) || pc.Err == "" || pc.More || len(pc.Cursor) == 0 {
		t.Fatalf("entry %v Err=%q More=%v cursor=%q, want the newest 10 with an Err and a cursor", ids(pc.Comments), pc.Err, pc.More, pc.Cursor)
	}
	srv.ClearFaults()
	got, cursors := pollAll(t, tw, []string{p.ID}, map[string][]byte{p.ID: pc.Cursor})
	if all := ids(append(pc.Comments, got[p.ID]...)); !slices.Equal(all, want) {
		t.Errorf("over the failure and the retry: %v, want every reply once", all)
	}
	later := srv.Reply(fan.ID, p.ID, "later")
	if got, _ := pollAll(t, tw, []string{p.ID}, cursors); !slices.Equal(ids(got[p.ID]), []string{later.ID}) {
		t.Errorf("then: %v, want [%s]", ids(got[p.ID]), later.ID)
	}
}

// When the window runs out between two queries of one poll, the second is
// not sent (it could only be a 429): its posts keep their cursors.
func TestPollStopsAtASpentWindow(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	fan := srv.AddUser("2", "fan")
	a := srv.Post(srv.Owner().ID, "a")
	b := srv.Post(srv.Owner().ID, "b")
	ra := srv.Reply(fan.ID, a.ID, "on a")
	srv.Reply(fan.ID, b.ID, "on b")
	srv.SetRemaining(twittertest.EndpointSearch, 1)
	tw := configure(t, with(configFor(srv), "query_max_length", 64)) // one post per query
	resp, err := tw.Poll(context.Background(), []sdk.PostCursor{{PostID: a.ID}, {PostID: b.ID, Cursor: []byte("7")}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(searches(srv)); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	if pa := resp.Posts[0]; pa.Err != "" || !slices.Equal(ids(pa.Comments), []string{ra.ID}) {
		t.Errorf("post a: %+v", pa)
	}
	if pb := resp.Posts[1]; !strings.Contains(pb.Err, "rate limit is spent") || len(pb.Comments) != 0 || string(pb.Cursor) != "7" {
		t.Errorf("post b: %+v, want its old cursor and an Err", pb)
	}
	if resp.RateLimit.Remaining != 0 || resp.RateLimit.Reset.IsZero() {
		t.Errorf("rate limit %+v", resp.RateLimit)
	}
}
