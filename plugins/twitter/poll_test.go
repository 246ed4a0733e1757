package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
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

// queryOf is the search request whose query names post.
func queryOf(srv *twittertest.Server, post string) []twittertest.Request {
	var out []twittertest.Request
	for _, r := range searches(srv) {
		if slices.Contains(strings.Split(r.Query.Get("query"), " OR "), "conversation_id:"+post) {
			out = append(out, r)
		}
	}
	return out
}

// X refuses (400) a since_id older than recent search's 7 days. A post whose
// cursor is that old is polled without since_id, and a query X refuses
// anyway (its clock ahead of ours) is split, so that the refused post alone
// gets the error and its batch mates are polled.
func TestPollStaleCursor(t *testing.T) {
	tests := []struct {
		name string
		// ourClock: the connector reads the time from the fake's clock;
		// otherwise from its own, 8 days behind X's.
		ourClock bool
		oldErr   bool // the old post gets an Err
	}{
		{name: "cursor_older_than_7_days_is_not_sent", ourClock: true},
		{name: "refused_since_id_blocks_only_its_post", oldErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{now: time.Now()}
			srv := newFake(t, twittertest.Options{Now: clk.Now})
			fan := srv.AddUser("2", "fan")
			old := srv.Post(srv.Owner().ID, "old post")
			srv.Reply(fan.ID, old.ID, "last reply, a week ago")
			tw := configure(t, configFor(srv))
			if tt.ourClock {
				tw.settings.Load().now = clk.Now
			}
			_, cursors := pollAll(t, tw, []string{old.ID}, nil)
			clk.Set(clk.Now().Add(8 * 24 * time.Hour)) // the host still polls the old post
			fresh := srv.Post(srv.Owner().ID, "new post")
			_, c2 := pollAll(t, tw, []string{fresh.ID}, nil)
			cursors[fresh.ID] = c2[fresh.ID]
			reply := srv.Reply(fan.ID, fresh.ID, "a reply to the new post")
			before := len(searches(srv))
			resp, err := tw.Poll(context.Background(), []sdk.PostCursor{{PostID: old.ID, Cursor: cursors[old.ID]}, {PostID: fresh.ID, Cursor: cursors[fresh.ID]}})
			if err != nil {
				t.Fatal(err)
			}
			for _, pc := range resp.Posts {
				switch pc.PostID {
				case fresh.ID:
					if pc.Err != "" || !slices.Equal(ids(pc.Comments), []string{reply.ID}) {
						t.Errorf("new post: comments %v Err=%q, want [%s]", ids(pc.Comments), pc.Err, reply.ID)
					}
				case old.ID:
					if (pc.Err != "") != tt.oldErr || len(pc.Comments) != 0 {
						t.Errorf("old post: comments %v Err=%q, want an Err: %v", ids(pc.Comments), pc.Err, tt.oldErr)
					}
					if tt.oldErr && (!strings.Contains(pc.Err, "since_id") || string(pc.Cursor) != string(cursors[old.ID])) {
						t.Errorf("old post: Err %q cursor %q, want X's since_id message and the old cursor", pc.Err, pc.Cursor)
					}
				}
			}
			for _, r := range searches(srv)[before:] {
				if tt.ourClock && r.Status != http.StatusOK {
					t.Errorf("request %v answered %d", r.Query, r.Status)
				}
			}
			if tt.ourClock {
				for _, r := range queryOf(srv, old.ID)[1:] {
					if r.Query.Has("since_id") {
						t.Errorf("the old post was asked with since_id %s, older than 7 days", r.Query.Get("since_id"))
					}
				}
			}
		})
	}
}

// Posts without a cursor are queried apart from posts with one, and those
// are sorted by cursor before they are split into queries, so that no
// caught-up post reads its week again for a batch mate.
func TestPollQueryGrouping(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	fan := srv.AddUser("2", "fan")
	var posts []string
	cur := map[string][]byte{}
	for i := range 4 {
		p := srv.Post(srv.Owner().ID, fmt.Sprint("post ", i))
		posts = append(posts, p.ID)
		r := srv.Reply(fan.ID, p.ID, "seen")
		cur[p.ID] = []byte(r.ID)
	}
	fresh := srv.Post(srv.Owner().ID, "new post").ID
	srv.Reply(fan.ID, fresh, "first reply")
	two := 2*len("conversation_id:"+fresh) + len(" OR ")
	tests := []struct {
		name  string
		poll  []string
		max   int
		query map[string]string // query -> since_id
	}{
		{
			name: "new_post_apart", poll: []string{posts[0], fresh, posts[1]}, max: 512,
			query: map[string]string{
				"conversation_id:" + fresh:                                        "",
				"conversation_id:" + posts[0] + " OR conversation_id:" + posts[1]: string(cur[posts[0]]),
			},
		},
		{
			name: "sorted_by_cursor", poll: []string{posts[3], posts[0], posts[2], posts[1]}, max: two,
			query: map[string]string{
				"conversation_id:" + posts[0] + " OR conversation_id:" + posts[1]: string(cur[posts[0]]),
				"conversation_id:" + posts[2] + " OR conversation_id:" + posts[3]: string(cur[posts[2]]),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tw := configure(t, with(configFor(srv), "query_max_length", tt.max))
			before := len(searches(srv))
			req := make([]sdk.PostCursor, len(tt.poll))
			for i, p := range tt.poll {
				req[i] = sdk.PostCursor{PostID: p, Cursor: cur[p]}
			}
			resp, err := tw.Poll(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, r := range searches(srv)[before:] {
				got[r.Query.Get("query")] = r.Query.Get("since_id")
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.query) {
				t.Errorf("queries (query: since_id)\n%v\nwant\n%v", got, tt.query)
			}
			for _, pc := range resp.Posts {
				if n := len(pc.Comments); pc.Err != "" || (pc.PostID == fresh) != (n == 1) {
					t.Errorf("post %s: %d comments, Err %q", pc.PostID, n, pc.Err)
				}
			}
		})
	}
}

// A failure of a later query of one Poll keeps what the earlier ones read:
// only its posts (and, for a rate limit, those not asked yet) get an Err and
// keep their cursors, and a rate limit's state comes back in RateLimit.
func TestPollLaterQueryFails(t *testing.T) {
	tests := []struct {
		name string
		// fail makes the second search request fail.
		fail      func(srv *twittertest.Server, capped *atomic.Bool)
		errOn     []int // posts (by index) with an Err
		rateLimit func(rl sdk.RateLimit) bool
	}{
		{
			name: "5xx_then_the_next_query_goes_on",
			fail: func(srv *twittertest.Server, _ *atomic.Bool) {
				srv.SetFault(twittertest.Fault{Endpoint: twittertest.EndpointSearch, Status: 503, Skip: 1, Times: 1})
			},
			errOn:     []int{1},
			rateLimit: func(rl sdk.RateLimit) bool { return rl.Remaining > 0 },
		},
		{
			name: "window_429",
			fail: func(srv *twittertest.Server, _ *atomic.Bool) {
				srv.SetFault(twittertest.Fault{Endpoint: twittertest.EndpointSearch, Status: 429, Skip: 1, Times: 1})
			},
			errOn: []int{1, 2},
			rateLimit: func(rl sdk.RateLimit) bool {
				return rl.Remaining == 0 && rl.Reset.After(time.Now()) && !rl.UsageCapExceeded
			},
		},
		{
			name:  "usage_cap",
			fail:  func(_ *twittertest.Server, capped *atomic.Bool) { capped.Store(true) },
			errOn: []int{1, 2},
			rateLimit: func(rl sdk.RateLimit) bool {
				return rl.Remaining == 0 && rl.Reset.After(time.Now()) && rl.UsageCapExceeded
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := twittertest.New(twittertest.Options{})
			var capAfterFirst atomic.Bool
			var n atomic.Int64
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/2/tweets/search/recent" && n.Add(1) == 2 && capAfterFirst.Load() {
					srv.SetUsageCapped(true)
				}
				srv.Handler().ServeHTTP(w, r)
			}))
			defer ts.Close()
			fan := srv.AddUser("2", "fan")
			var posts []sdk.PostCursor
			var replies []string
			for i := range 3 {
				p := srv.Post(srv.Owner().ID, fmt.Sprint("post ", i))
				replies = append(replies, srv.Reply(fan.ID, p.ID, "reply").ID)
				posts = append(posts, sdk.PostCursor{PostID: p.ID, Cursor: []byte("7")})
			}
			tt.fail(srv, &capAfterFirst)
			cfg := configFor(srv)
			cfg["api_base_url"] = ts.URL
			tw := configure(t, with(cfg, "query_max_length", 64)) // one post per query
			resp, err := tw.Poll(context.Background(), posts)
			if err != nil {
				t.Fatalf("a failure of the second query failed the call: %v", err)
			}
			for i, pc := range resp.Posts {
				if slices.Contains(tt.errOn, i) {
					if pc.Err == "" || len(pc.Comments) != 0 || string(pc.Cursor) != "7" {
						t.Errorf("post %d: Err %q, comments %v, cursor %q; want an Err and the old cursor", i, pc.Err, ids(pc.Comments), pc.Cursor)
					}
					continue
				}
				if pc.Err != "" || !slices.Equal(ids(pc.Comments), []string{replies[i]}) || string(pc.Cursor) == "7" {
					t.Errorf("post %d: Err %q, comments %v, cursor %q; want its reply and a new cursor", i, pc.Err, ids(pc.Comments), pc.Cursor)
				}
			}
			if !tt.rateLimit(resp.RateLimit) {
				t.Errorf("RateLimit %+v", resp.RateLimit)
			}
		})
	}
}

// The page walk stops when X says the window is spent (remaining 0) instead
// of asking for a sure 429; the post says More, with where the walk stopped.
func TestPollWalkStopsAtSpentWindow(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	fan := srv.AddUser("2", "fan")
	p := srv.Post(srv.Owner().ID, "busy")
	for range 25 {
		srv.Reply(fan.ID, p.ID, "r")
	}
	tw := configure(t, with(configFor(srv), "max_results", 10))
	srv.SetRemaining(twittertest.EndpointSearch, 1)
	resp, err := tw.Poll(context.Background(), []sdk.PostCursor{{PostID: p.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if s := searches(srv); len(s) != 1 || s[0].Status != http.StatusOK {
		t.Errorf("%d requests (last %d), want 1 answered 200", len(s), s[len(s)-1].Status)
	}
	pc := resp.Posts[0]
	c, _ := parseCursor(pc.Cursor)
	if len(pc.Comments) != 10 || !pc.More || c.Until == "" || pc.Err != "" {
		t.Errorf("%d comments More=%v cursor %q Err %q, want 10, More and the walk's place", len(pc.Comments), pc.More, pc.Cursor, pc.Err)
	}
	if rl := resp.RateLimit; rl.Remaining != 0 || rl.Limit == 0 || rl.Reset.IsZero() {
		t.Errorf("RateLimit %+v, want the spent window", rl)
	}
}
