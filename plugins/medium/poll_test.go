package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/plugins/medium/mediumtest"
	"github.com/moderatorbot/moderator/sdk"
)

var pt0 = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

// story publishes a story with n responses a second apart and returns its
// id and the responses' ids, oldest first.
func story(f *mediumtest.Server, n int) (string, []string) {
	a := f.Publish(mediumtest.Article{Title: "S", Author: "ann", PublishedAt: pt0})
	var rs []string
	for i := range n {
		rs = append(rs, f.Respond(mediumtest.Response{PostID: a.ID, Author: fmt.Sprintf("u%d", i%3), Text: fmt.Sprintf("response %d", i), CreatedAt: pt0.Add(time.Duration(i+1) * time.Second)}).ID)
	}
	return a.ID, rs
}

// pollUntilDone polls one post from cursor, following More, and returns
// every comment id in delivery order and the final cursor.
func pollUntilDone(t *testing.T, m *Medium, post string, cursor []byte) ([]string, []byte) {
	t.Helper()
	var got []string
	for round := 0; ; round++ {
		if round > 50 {
			t.Fatalf("post %s still says More after 50 polls", post)
		}
		resp, err := m.Poll(context.Background(), []sdk.PostCursor{{PostID: post, Cursor: cursor}})
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		pc := resp.Posts[0]
		if pc.Err != "" {
			t.Fatalf("post %s: %s", post, pc.Err)
		}
		got = append(got, ids(pc.Comments)...)
		cursor = pc.Cursor
		if !pc.More {
			return got, cursor
		}
	}
}

func TestPollCursorsAcrossCalls(t *testing.T) {
	f := newFake(t, mediumtest.Options{})
	m := configured(t, f, map[string]any{"page_size": 2, "max_pages": 2})
	post, rs := story(f, 5)

	// 5 responses, 2 a page, 2 pages a poll: 4 newest, then More, then the oldest.
	resp, err := m.Poll(context.Background(), []sdk.PostCursor{{PostID: post}})
	if err != nil {
		t.Fatal(err)
	}
	pc := resp.Posts[0]
	if want := []string{rs[4], rs[3], rs[2], rs[1]}; !slices.Equal(ids(pc.Comments), want) || !pc.More || pc.Err != "" {
		t.Fatalf("first poll: %q more %v err %q; want %q and More", ids(pc.Comments), pc.More, pc.Err, want)
	}
	// New responses during the walk wait until it is done, and are not lost.
	late := f.Respond(mediumtest.Response{PostID: post, Author: "zed", Text: "late", CreatedAt: pt0.Add(time.Minute)}).ID
	resp, _ = m.Poll(context.Background(), []sdk.PostCursor{{PostID: post, Cursor: pc.Cursor}})
	pc = resp.Posts[0]
	if !slices.Equal(ids(pc.Comments), []string{rs[0]}) || !pc.More {
		t.Fatalf("second poll: %q more %v; want the oldest, and More (the walk ended: what came meanwhile is ready)", ids(pc.Comments), pc.More)
	}
	got, cursor := pollUntilDone(t, m, post, pc.Cursor)
	if !slices.Equal(got, []string{late}) {
		t.Fatalf("third poll: %q, want the late response %s", got, late)
	}
	// Nothing new: nothing comes, and the cursor stays.
	resp, _ = m.Poll(context.Background(), []sdk.PostCursor{{PostID: post, Cursor: cursor}})
	if len(resp.Posts[0].Comments) != 0 || string(resp.Posts[0].Cursor) != string(cursor) {
		t.Errorf("a poll with nothing new: %q, cursor %s (was %s)", ids(resp.Posts[0].Comments), resp.Posts[0].Cursor, cursor)
	}
	// Two responses at the millisecond of the newest: only the new one comes.
	same := f.Respond(mediumtest.Response{PostID: post, Author: "amy", Text: "same ms", CreatedAt: pt0.Add(time.Minute)}).ID
	if got, _ := pollUntilDone(t, m, post, cursor); !slices.Equal(got, []string{same}) {
		t.Errorf("a response at the newest's millisecond: %q, want %s", got, same)
	}
	// The requests said since, limit and page as documented.
	reqs := f.Requests()
	last := reqs[len(reqs)-1]
	if last.Query.Get("since") != fmt.Sprint(pt0.Add(time.Minute).UnixMilli()) || last.Query.Get("limit") != "2" || !last.Authorized {
		t.Errorf("last request %+v", last)
	}
}

// TestPollNeverSkips: responses keep arriving while a post is walked page by
// page; every response is delivered exactly once, whatever the page size.
func TestPollNeverSkips(t *testing.T) {
	for _, pageSize := range []int{1, 2, 3, 7} {
		t.Run(fmt.Sprint("page_size=", pageSize), func(t *testing.T) {
			f := newFake(t, mediumtest.Options{RateLimit: 100000})
			m := configured(t, f, map[string]any{"page_size": pageSize, "max_pages": 2})
			rng := rand.New(rand.NewPCG(uint64(pageSize), 1))
			post, all := story(f, 0)
			var delivered []string
			var cursor []byte
			at := pt0
			for round := range 60 {
				for range rng.IntN(4) {
					// Often several at one millisecond.
					if rng.IntN(2) == 0 {
						at = at.Add(time.Duration(rng.IntN(3)) * time.Millisecond)
					}
					all = append(all, f.Respond(mediumtest.Response{PostID: post, Author: "x", Text: "t", CreatedAt: at}).ID)
				}
				resp, err := m.Poll(context.Background(), []sdk.PostCursor{{PostID: post, Cursor: cursor}})
				if err != nil || resp.Posts[0].Err != "" {
					t.Fatalf("round %d: %v %s", round, err, resp.Posts[0].Err)
				}
				delivered = append(delivered, ids(resp.Posts[0].Comments)...)
				cursor = resp.Posts[0].Cursor
			}
			rest, _ := pollUntilDone(t, m, post, cursor)
			delivered = append(delivered, rest...)
			slices.Sort(delivered)
			slices.Sort(all)
			if !slices.Equal(delivered, all) {
				t.Errorf("delivered %d responses, %d written: %q vs %q", len(delivered), len(all), delivered, all)
			}
		})
	}
}

func TestPollManyPosts(t *testing.T) {
	f := newFake(t, mediumtest.Options{})
	m := configured(t, f, map[string]any{"page_size": 10})
	var req []sdk.PostCursor
	want := map[string]int{}
	for i := range maxBatch {
		post, rs := story(f, i%4)
		req = append(req, sdk.PostCursor{PostID: post})
		want[post] = len(rs)
	}
	f.ResetRequests()
	resp, err := m.Poll(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := sdk.CheckPoll(req, resp); err != nil {
		t.Fatal(err)
	}
	for _, pc := range resp.Posts {
		if len(pc.Comments) != want[pc.PostID] || pc.Err != "" || len(pc.Cursor) == 0 {
			t.Errorf("post %s: %d comments (want %d), err %q, cursor %q", pc.PostID, len(pc.Comments), want[pc.PostID], pc.Err, pc.Cursor)
		}
		for _, c := range pc.Comments {
			if c.PostID != pc.PostID {
				t.Errorf("comment %s on %s filed under %s", c.ID, c.PostID, pc.PostID)
			}
		}
	}
	if n := len(f.Requests()); n != maxBatch {
		t.Errorf("%d requests for %d posts, want one each", n, maxBatch)
	}
	if resp.RateLimit.Limit != 300 || resp.RateLimit.Remaining != 300-maxBatch || resp.RateLimit.Reset.IsZero() {
		t.Errorf("rate limit %+v, want the fake's last headers", resp.RateLimit)
	}
}

func TestPollComment(t *testing.T) {
	f := newFake(t, mediumtest.Options{})
	m := configured(t, f, nil)
	a := f.Publish(mediumtest.Article{Title: "S", Author: "ann"})
	f.AddUser(mediumtest.User{Username: "bob", Name: "Bob B", ID: "b0b0b0b0b0b0"})
	r := f.Respond(mediumtest.Response{PostID: a.ID, Author: "bob", Text: "héllo 😀", CreatedAt: pt0})
	reply := f.Respond(mediumtest.Response{PostID: a.ID, Author: "bob", Text: "again", CreatedAt: pt0.Add(time.Second), InResponseTo: r.ID})
	resp, err := m.Poll(context.Background(), []sdk.PostCursor{{PostID: a.ID}})
	if err != nil {
		t.Fatal(err)
	}
	cs := resp.Posts[0].Comments
	if len(cs) != 2 {
		t.Fatalf("%d comments", len(cs))
	}
	got := cs[1]
	if len(got.Raw) == 0 {
		t.Errorf("no Raw")
	}
	got.Raw = nil
	want := sdk.Comment{
		Platform: "medium", ID: r.ID, PostID: a.ID, ParentID: a.ID, AuthorID: "b0b0b0b0b0b0", AuthorHandle: "@bob",
		Text: "héllo 😀", CreatedAt: pt0, URL: "https://medium.com/@bob/" + r.ID,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("comment\n got %+v\nwant %+v", got, want)
	}
	if cs[0].ID != reply.ID || cs[0].ParentID != r.ID {
		t.Errorf("reply %+v, want parent %s", cs[0], r.ID)
	}
}

func TestPollFailures(t *testing.T) {
	type setup struct {
		f     *mediumtest.Server
		ok    string // a post with 3 responses
		other string // a post with 1 response
	}
	tests := []struct {
		name   string
		opts   mediumtest.Options
		config map[string]any
		before func(s setup)
		req    func(s setup) []sdk.PostCursor
		check  func(t *testing.T, s setup, resp sdk.PollResponse, err error)
	}{
		{
			name:   "429 first: the whole call fails with the reset",
			before: func(s setup) { s.f.SetRemaining(0) },
			check: func(t *testing.T, s setup, resp sdk.PollResponse, err error) {
				var rle *sdk.RateLimitedError
				if !errors.As(err, &rle) || !rle.RateLimit.Reset.Equal(s.f.RateReset().Truncate(time.Second)) || rle.RateLimit.Remaining != 0 || rle.RateLimit.Limit != 300 {
					t.Errorf("error %v, want a *sdk.RateLimitedError with the fake's reset %v", err, s.f.RateReset())
				}
			},
		},
		{
			name:   "429 after a post: what was read comes back, the rest not polled",
			config: map[string]any{"page_size": 10},
			before: func(s setup) {
				s.f.InjectFault(mediumtest.Fault{Path: "/v1/posts/" + s.other + "/", RateLimited: true})
			},
			req: func(s setup) []sdk.PostCursor {
				return []sdk.PostCursor{{PostID: s.ok}, {PostID: s.other}, {PostID: "0000deadbeef", Cursor: []byte(`{"v":1}`)}}
			},
			check: func(t *testing.T, s setup, resp sdk.PollResponse, err error) {
				if err != nil || len(resp.Posts) != 3 {
					t.Fatalf("%+v %v", resp, err)
				}
				first, second, third := resp.Posts[0], resp.Posts[1], resp.Posts[2]
				if len(first.Comments) != 3 || first.Err != "" || len(first.Cursor) == 0 {
					t.Errorf("first post %+v", first)
				}
				if len(second.Comments) != 0 || !strings.HasPrefix(second.Err, "rate limited until") || len(second.Cursor) != 0 {
					t.Errorf("second post %+v", second)
				}
				if len(third.Comments) != 0 || !strings.HasPrefix(third.Err, "not polled: rate limited until") || string(third.Cursor) != `{"v":1}` {
					t.Errorf("third post %+v", third)
				}
				if n := len(s.f.Requests()); n != 2 {
					t.Errorf("%d requests, want 2: none after the 429", n)
				}
				if resp.RateLimit.Remaining != 0 || resp.RateLimit.Reset.IsZero() {
					t.Errorf("rate limit %+v, want spent with its reset", resp.RateLimit)
				}
			},
		},
		{
			name:   "an answer with no request left: no request after it, what was read comes back",
			config: map[string]any{"page_size": 10},
			before: func(s setup) { s.f.SetRemaining(1) },
			req: func(s setup) []sdk.PostCursor {
				return []sdk.PostCursor{{PostID: s.ok}, {PostID: s.other, Cursor: []byte(`{"v":1}`)}}
			},
			check: func(t *testing.T, s setup, resp sdk.PollResponse, err error) {
				if err != nil || len(resp.Posts) != 2 {
					t.Fatalf("%+v %v, want the posts and no error: nothing failed", resp, err)
				}
				if first := resp.Posts[0]; len(first.Comments) != 3 || first.Err != "" || len(first.Cursor) == 0 {
					t.Errorf("first post %+v", first)
				}
				if second := resp.Posts[1]; len(second.Comments) != 0 || !strings.HasPrefix(second.Err, "not polled: the rate limit is spent until") || string(second.Cursor) != `{"v":1}` {
					t.Errorf("second post %+v", second)
				}
				if n := len(s.f.Requests()); n != 1 {
					t.Errorf("%d requests, want 1: none after the answer said 0 remaining", n)
				}
				if rl := resp.RateLimit; rl.Remaining != 0 || rl.Limit != 300 || !rl.Reset.Equal(s.f.RateReset().Truncate(time.Second)) {
					t.Errorf("rate limit %+v, want spent with the fake's reset %v", rl, s.f.RateReset())
				}
			},
		},
		{
			name:   "no request left mid-walk: the walk keeps its place",
			config: map[string]any{"page_size": 1, "max_pages": 5},
			before: func(s setup) { s.f.SetRemaining(1) },
			req:    func(s setup) []sdk.PostCursor { return []sdk.PostCursor{{PostID: s.ok}} },
			check: func(t *testing.T, s setup, resp sdk.PollResponse, err error) {
				if err != nil {
					t.Fatal(err)
				}
				p := resp.Posts[0]
				cur, cerr := decodePollCursor(p.Cursor)
				if len(p.Comments) != 1 || !p.More || p.Err != "" || cerr != nil || cur.Page == "" {
					t.Errorf("post %+v (cursor %+v), want one response, More, and the walk's page in the cursor", p, cur)
				}
				if n := len(s.f.Requests()); n != 1 {
					t.Errorf("%d requests, want 1", n)
				}
			},
		},
		{
			name:   "a spent window whose reset is past: polling goes on",
			config: map[string]any{"page_size": 10},
			opts:   mediumtest.Options{Now: func() time.Time { return time.Now().Add(-time.Hour) }},
			before: func(s setup) { s.f.SetRemaining(1) },
			check: func(t *testing.T, s setup, resp sdk.PollResponse, err error) {
				// The fake's clock is an hour behind: its reset has passed.
				if err != nil || len(resp.Posts[0].Comments) != 3 || resp.Posts[1].Err == "" {
					t.Errorf("%+v %v, want the first post read and the second asked (and refused)", resp, err)
				}
				if n := len(s.f.Requests()); n != 2 {
					t.Errorf("%d requests, want 2", n)
				}
			},
		},
		{
			name:   "5xx on one post: its Err, its cursor kept, the other read",
			before: func(s setup) { s.f.InjectFault(mediumtest.Fault{Path: "/v1/posts/" + s.ok + "/", Status: 503}) },
			req: func(s setup) []sdk.PostCursor {
				return []sdk.PostCursor{{PostID: s.ok, Cursor: []byte(`{"v":1,"since":5}`)}, {PostID: s.other}}
			},
			check: func(t *testing.T, s setup, resp sdk.PollResponse, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if p := resp.Posts[0]; !strings.Contains(p.Err, "HTTP 503") || string(p.Cursor) != `{"v":1,"since":5}` || len(p.Comments) != 0 {
					t.Errorf("failed post %+v", p)
				}
				if p := resp.Posts[1]; len(p.Comments) != 1 || p.Err != "" {
					t.Errorf("other post %+v", p)
				}
			},
		},
		{
			name:   "truncated JSON: an error naming the endpoint",
			before: func(s setup) { s.f.InjectFault(mediumtest.Fault{Path: "/v1/posts/" + s.ok + "/", Truncate: true}) },
			check: func(t *testing.T, s setup, resp sdk.PollResponse, err error) {
				if err != nil {
					t.Fatal(err)
				}
				p := resp.Posts[0]
				if !strings.Contains(p.Err, "GET /v1/posts/"+s.ok+"/responses: the answer is not the JSON expected") || len(p.Comments) != 0 || len(p.Cursor) != 0 {
					t.Errorf("post %+v", p)
				}
				if len(resp.Posts[1].Comments) != 1 {
					t.Errorf("the other post was not read: %+v", resp.Posts[1])
				}
			},
		},
		{
			name:   "a refused token fails the call for good",
			config: map[string]any{"access_token": "wrong-token"},
			check: func(t *testing.T, s setup, resp sdk.PollResponse, err error) {
				if err == nil || !sdk.IsPermanent(err) || !strings.Contains(err.Error(), "HTTP 401") || strings.Contains(err.Error(), "wrong-token") {
					t.Errorf("error %v, want a permanent 401 without the token", err)
				}
				if len(resp.Posts) != 0 {
					t.Errorf("posts %+v", resp.Posts)
				}
			},
		},
		{
			name: "a post that does not exist and a bad id",
			req: func(s setup) []sdk.PostCursor {
				return []sdk.PostCursor{{PostID: "0000deadbeef"}, {PostID: "a/b"}, {PostID: s.other}}
			},
			check: func(t *testing.T, s setup, resp sdk.PollResponse, err error) {
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(resp.Posts[0].Err, "no such story") || !strings.Contains(resp.Posts[1].Err, "not a Medium story id") || len(resp.Posts[2].Comments) != 1 {
					t.Errorf("posts %+v", resp.Posts)
				}
			},
		},
		{
			name:   "a slow API: the timeout fails the call when met first",
			config: map[string]any{"timeout": "100ms"},
			before: func(s setup) { s.f.InjectFault(mediumtest.Fault{Path: "/v1/", Delay: time.Minute}) },
			check: func(t *testing.T, s setup, resp sdk.PollResponse, err error) {
				if err == nil || sdk.IsPermanent(err) {
					t.Errorf("error %v, want one the host retries", err)
				}
			},
		},
		{
			name: "an unreadable cursor starts over, and says so",
			req: func(s setup) []sdk.PostCursor {
				return []sdk.PostCursor{{PostID: s.other, Cursor: []byte("not json")}}
			},
			check: func(t *testing.T, s setup, resp sdk.PollResponse, err error) {
				if p := resp.Posts[0]; err != nil || len(p.Comments) != 1 || !strings.Contains(p.Err, "unreadable cursor") || string(p.Cursor) == "not json" {
					t.Errorf("%+v %v", resp.Posts, err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.opts)
			s := setup{f: f}
			s.ok, _ = story(f, 3)
			s.other, _ = story(f, 1)
			m := configured(t, f, tc.config)
			if tc.before != nil {
				tc.before(s)
			}
			req := []sdk.PostCursor{{PostID: s.ok}, {PostID: s.other}}
			if tc.req != nil {
				req = tc.req(s)
			}
			resp, err := m.Poll(context.Background(), req)
			if err == nil {
				if cerr := sdk.CheckPoll(req, resp); cerr != nil {
					t.Fatalf("CheckPoll: %v", cerr)
				}
			}
			tc.check(t, s, resp, err)
		})
	}
}

// TestPollMalformedResponses: a response that can never be read is passed
// over and reported; the rest of the page still counts.
func TestPollMalformedResponses(t *testing.T) {
	page := `{"data":[
		{"id":"aaaaaaaaaaa1","postId":"0123456789ab","creatorId":"u1","content":"fine","createdAt":1767225600002},
		{"id":"","postId":"0123456789ab","creatorId":"u1","content":"no id","createdAt":1767225600001},
		{"id":"aaaaaaaaaaa3","postId":"0123456789ab","creatorId":"u1","content":"bad time","createdAt":"yesterday"},
		{"id":"aaaaaaaaaaa4","postId":"ffffffffffff","creatorId":"u1","content":"other post","createdAt":1767225600000},
		{"id":"aaaaaaaaaaa5","postId":"0123456789ab","creator":{"id":"u2","username":"amy"},"content":"iso time","createdAt":"2026-01-01T00:00:00Z","updatedAt":"1767225700000"}
	]}`
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(page)) }))
	defer api.Close()
	f := newFake(t, mediumtest.Options{})
	m := configured(t, f, map[string]any{"api_base_url": api.URL})
	resp, err := m.Poll(context.Background(), []sdk.PostCursor{{PostID: "0123456789ab"}})
	if err != nil {
		t.Fatal(err)
	}
	pc := resp.Posts[0]
	if !slices.Equal(ids(pc.Comments), []string{"aaaaaaaaaaa1", "aaaaaaaaaaa5"}) || strings.Count(pc.Err, "skipped a malformed response") != 3 || len(pc.Cursor) == 0 {
		t.Errorf("got %q, err %q, cursor %s", ids(pc.Comments), pc.Err, pc.Cursor)
	}
	if c := pc.Comments[1]; c.AuthorID != "u2" || c.AuthorHandle != "@amy" || c.Version != "1767225700000" || !c.CreatedAt.Equal(time.UnixMilli(1767225600000)) {
		t.Errorf("comment %+v", c)
	}
}

// TestPollStopsWhenTheAPIIsDown: a 5xx on several posts in a row means the
// API is down, not the posts: the poll stops asking, and fails as a whole
// (so the host backs off) unless it has read something.
func TestPollStopsWhenTheAPIIsDown(t *testing.T) {
	f := newFake(t, mediumtest.Options{})
	m := configured(t, f, map[string]any{"page_size": 10})
	first, _ := story(f, 2)
	var req []sdk.PostCursor
	for range 6 {
		p, _ := story(f, 1)
		req = append(req, sdk.PostCursor{PostID: p})
	}
	f.InjectFault(mediumtest.Fault{Path: "/v1/", Status: 502})
	f.ResetRequests()
	_, err := m.Poll(context.Background(), req)
	if err == nil || sdk.IsPermanent(err) || !strings.Contains(err.Error(), "failed on 3 posts in a row") {
		t.Errorf("error %v, want one the host retries, saying the API failed 3 times in a row", err)
	}
	if n := len(f.Requests()); n != maxServerErrors {
		t.Errorf("%d requests, want %d", n, maxServerErrors)
	}

	// The first post is read before the API goes down.
	f.ClearFaults()
	f.InjectFault(mediumtest.Fault{Path: "/v1/posts/" + req[0].PostID, Status: 500})
	f.InjectFault(mediumtest.Fault{Path: "/v1/posts/" + req[1].PostID, Status: 500})
	f.InjectFault(mediumtest.Fault{Path: "/v1/posts/" + req[2].PostID, Status: 500})
	resp, err := m.Poll(context.Background(), append([]sdk.PostCursor{{PostID: first}}, req...))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Posts) != 7 || len(resp.Posts[0].Comments) != 2 || !strings.Contains(resp.Posts[3].Err, "HTTP 500") || !strings.HasPrefix(resp.Posts[4].Err, "not polled: the API failed on 3 posts in a row") {
		t.Errorf("posts %+v", resp.Posts)
	}
}

// TestPollRestartsARefusedWalk: a page token the API no longer takes (a
// 400) restarts the walk from the cursor's since instead of stopping the
// post for good; nothing is skipped.
func TestPollRestartsARefusedWalk(t *testing.T) {
	f := newFake(t, mediumtest.Options{})
	m := configured(t, f, map[string]any{"page_size": 1, "max_pages": 1})
	post, rs := story(f, 3)
	resp, _ := m.Poll(context.Background(), []sdk.PostCursor{{PostID: post}})
	pc := resp.Posts[0]
	if !pc.More || !slices.Equal(ids(pc.Comments), []string{rs[2]}) {
		t.Fatalf("first poll %+v", pc)
	}
	f.InjectFault(mediumtest.Fault{Path: "/v1/posts/" + post, Status: http.StatusBadRequest, Times: 1})
	resp, err := m.Poll(context.Background(), []sdk.PostCursor{{PostID: post, Cursor: pc.Cursor}})
	if err != nil {
		t.Fatal(err)
	}
	pc = resp.Posts[0]
	if !strings.Contains(pc.Err, "the page token was refused") || !slices.Equal(ids(pc.Comments), []string{rs[2]}) || !pc.More {
		t.Fatalf("after a refused token %+v", pc)
	}
	rest, _ := pollUntilDone(t, m, post, pc.Cursor)
	if !slices.Equal(rest, []string{rs[1], rs[0]}) {
		t.Errorf("then %q, want the two older ones", rest)
	}
}

// stepClock is the connector's clock and its HTTP transport: each request
// moves the clock on by step, as an API that takes step to answer would,
// without the test waiting. after, when set, runs after each request.
type stepClock struct {
	mu    sync.Mutex
	now   time.Time
	step  time.Duration
	after func(n int)
	n     int
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *stepClock) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	c.mu.Lock()
	c.now = c.now.Add(c.step)
	c.n++
	n, after := c.n, c.after
	c.mu.Unlock()
	if after != nil {
		after(n)
	}
	return res, err
}

// useClock makes m run on clk, its requests through clk.
func useClock(m *Medium, clk *stepClock) {
	s := *m.settings.Load()
	s.now = clk.Now
	s.client = &http.Client{Timeout: s.client.Timeout, Transport: clk}
	m.settings.Store(&s)
}

// TestPollStopsBeforeTheDeadline: with a slow API, a poll stops asking when
// less than one request timeout is left before its deadline and returns
// what it read, cursors and all, instead of being cut off with nothing; the
// next poll goes on from there.
func TestPollStopsBeforeTheDeadline(t *testing.T) {
	f := newFake(t, mediumtest.Options{})
	// Each request takes 20 minutes, one may take 25, the call has an hour.
	m := configured(t, f, map[string]any{"page_size": 1, "max_pages": 5, "timeout": "25m"})
	long, longIDs := story(f, 4)
	var posts []sdk.PostCursor
	for range 3 {
		p, _ := story(f, 1)
		posts = append(posts, sdk.PostCursor{PostID: p, Cursor: []byte(`{"v":1}`)})
	}
	start := time.Now()
	poll := func(req []sdk.PostCursor) (sdk.PollResponse, error) {
		t.Helper()
		useClock(m, &stepClock{now: start, step: 20 * time.Minute})
		ctx, cancel := context.WithDeadline(context.Background(), start.Add(time.Hour))
		defer cancel()
		f.ResetRequests()
		return m.Poll(ctx, req)
	}

	tests := []struct {
		name     string
		req      []sdk.PostCursor
		requests int
		check    func(t *testing.T, resp sdk.PollResponse)
	}{
		{
			name: "between posts", req: posts, requests: 2,
			check: func(t *testing.T, resp sdk.PollResponse) {
				for i, p := range resp.Posts[:2] {
					if len(p.Comments) != 1 || p.Err != "" || p.More || string(p.Cursor) == `{"v":1}` {
						t.Errorf("post %d: %+v, want its response and a new cursor", i, p)
					}
				}
				if p := resp.Posts[2]; len(p.Comments) != 0 || !strings.HasPrefix(p.Err, "not polled: the call's deadline is 20m0s away, less than one request's timeout (25m0s)") || string(p.Cursor) != `{"v":1}` {
					t.Errorf("third post %+v, want not polled with its cursor", p)
				}
			},
		},
		{
			name: "mid-walk", req: []sdk.PostCursor{{PostID: long}, posts[0]}, requests: 2,
			check: func(t *testing.T, resp sdk.PollResponse) {
				p := resp.Posts[0]
				cur, _ := decodePollCursor(p.Cursor)
				if !slices.Equal(ids(p.Comments), []string{longIDs[3], longIDs[2]}) || !p.More || p.Err != "" || cur.Page == "" {
					t.Errorf("walked post %+v (cursor %+v), want two pages read, More and the walk's place", p, cur)
				}
				if !strings.HasPrefix(resp.Posts[1].Err, "not polled: the call's deadline") {
					t.Errorf("second post %+v", resp.Posts[1])
				}
				// The walk goes on from its place: nothing skipped, nothing twice.
				rest, _ := pollUntilDone(t, m, long, p.Cursor)
				if !slices.Equal(rest, []string{longIDs[1], longIDs[0]}) {
					t.Errorf("the rest of the walk: %q, want the two oldest", rest)
				}
			},
		},
		{
			// A deadline nearer than one timeout: the first request is still
			// made, so every call makes progress.
			name: "a deadline shorter than the timeout", requests: 1,
			req: []sdk.PostCursor{posts[0], posts[1]},
			check: func(t *testing.T, resp sdk.PollResponse) {
				if len(resp.Posts[0].Comments) != 1 || !strings.HasPrefix(resp.Posts[1].Err, "not polled: the call's deadline") {
					t.Errorf("posts %+v", resp.Posts)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "a deadline shorter than the timeout" {
				m = configured(t, f, map[string]any{"page_size": 1, "max_pages": 5, "timeout": "2h"})
			}
			resp, err := poll(tc.req)
			if err != nil {
				t.Fatalf("Poll: %v, want what was read", err)
			}
			if cerr := sdk.CheckPoll(tc.req, resp); cerr != nil {
				t.Fatalf("CheckPoll: %v", cerr)
			}
			if n := len(f.Requests()); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
			tc.check(t, resp)
		})
	}
}

// TestPollCancelledMidCall: a ctx that ends while a request is under way
// returns what was read before it; with nothing read, the call fails.
func TestPollCancelledMidCall(t *testing.T) {
	tests := []struct {
		name     string
		cancelAt int // cancel after this many requests
		wantErr  bool
	}{
		{"after the first post", 1, false},
		{"before anything was read", 0, true},
	}
	// With a deadline already past, as with a cancel.
	t.Run("deadline past after the first post", func(t *testing.T) {
		f := newFake(t, mediumtest.Options{})
		m := configured(t, f, map[string]any{"page_size": 10})
		a, _ := story(f, 0) // nothing new on the first post
		b, _ := story(f, 1)
		clk := &stepClock{now: time.Now(), step: time.Hour}
		useClock(m, clk)
		ctx, cancel := context.WithDeadline(context.Background(), clk.Now().Add(time.Minute))
		defer cancel()
		clk.after = func(int) { cancel() }
		resp, err := m.Poll(ctx, []sdk.PostCursor{{PostID: a, Cursor: []byte(`{"v":1}`)}, {PostID: b}})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Poll: %+v %v, want the ctx's error: nothing was read", resp, err)
		}
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, mediumtest.Options{})
			m := configured(t, f, map[string]any{"page_size": 10})
			var req []sdk.PostCursor
			for range 3 {
				p, _ := story(f, 2)
				req = append(req, sdk.PostCursor{PostID: p})
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancelAt == 0 {
				cancel()
			}
			useClock(m, &stepClock{now: time.Now(), after: func(n int) {
				if n == tc.cancelAt {
					cancel()
				}
			}})
			resp, err := m.Poll(ctx, req)
			if tc.wantErr {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Poll: %+v %v, want the ctx's error", resp, err)
				}
				return
			}
			if err != nil || len(resp.Posts) != 3 {
				t.Fatalf("Poll: %+v %v, want the first post's responses", resp, err)
			}
			if p := resp.Posts[0]; len(p.Comments) != 2 || p.Err != "" || len(p.Cursor) == 0 {
				t.Errorf("first post %+v", p)
			}
			if p := resp.Posts[1]; len(p.Comments) != 0 || !strings.Contains(p.Err, "context canceled") || len(p.Cursor) != 0 {
				t.Errorf("second post %+v", p)
			}
			if p := resp.Posts[2]; !strings.HasPrefix(p.Err, "not polled: ") {
				t.Errorf("third post %+v", p)
			}
		})
	}
}

// TestPollStopsWalkingPastSince: an API (a proxy) that ignores since
// serves every response, page after page; the walk stops at the first page
// that reaches below the cursor, since every later page is older still.
func TestPollStopsWalkingPastSince(t *testing.T) {
	const post = "0123456789ab"
	base := pt0.UnixMilli()
	var all []string // newest first
	for i := 8; i >= 1; i-- {
		all = append(all, fmt.Sprintf(`{"id":"aaaaaaaaaa%02d","postId":"%s","creatorId":"u1","content":"r%d","createdAt":%d}`, i, post, i, base+int64(i)*1000))
	}
	var mu sync.Mutex
	var pages []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Two a page, since ignored; the page token is the offset.
		mu.Lock()
		pages = append(pages, r.URL.Query().Get("page"))
		mu.Unlock()
		off := 0
		fmt.Sscan(r.URL.Query().Get("page"), &off)
		end := min(off+2, len(all))
		next := ""
		if end < len(all) {
			next = fmt.Sprint(end)
		}
		fmt.Fprintf(w, `{"data":[%s],"paging":{"next":%q}}`, strings.Join(all[off:end], ","), next)
	}))
	defer api.Close()
	f := newFake(t, mediumtest.Options{})
	m := configured(t, f, map[string]any{"api_base_url": api.URL, "max_pages": 10})
	// The cursor is at r5: r8, r7, r6 are new.
	cursor := pollCursor{Since: base + 5000, SeenAt: []string{"aaaaaaaaaa05"}}.encode()
	resp, err := m.Poll(context.Background(), []sdk.PostCursor{{PostID: post, Cursor: cursor}})
	if err != nil {
		t.Fatal(err)
	}
	p := resp.Posts[0]
	if !slices.Equal(ids(p.Comments), []string{"aaaaaaaaaa08", "aaaaaaaaaa07", "aaaaaaaaaa06"}) || p.More || p.Err != "" {
		t.Errorf("post %+v, want r8, r7, r6 and the walk done", p)
	}
	if cur, _ := decodePollCursor(p.Cursor); cur.Since != base+8000 || cur.Page != "" {
		t.Errorf("cursor %+v, want since r8", cur)
	}
	// The second page ends at r5, the cursor's millisecond: another response
	// of that millisecond could follow, so the third is read; it reaches
	// below since, and the fourth is not asked for.
	if !slices.Equal(pages, []string{"", "2", "4"}) {
		t.Errorf("pages asked for %q, want the first three only", pages)
	}
}
