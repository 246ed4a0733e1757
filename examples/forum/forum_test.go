package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

// TestMain lets plugintest.BuildOnce keep the plugin binary for every test
// of the package, and removes it at the end.
func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }

// fakeForum is the forum's API in memory, behind an httptest.Server: the
// fake platform that these tests and the conformance suite run the
// connector against. A connector for a real platform keeps a faithful fake
// of it like this one, and tests against it everything the suite cannot
// know: pages, errors, rate limits, edits.
type fakeForum struct {
	mu        sync.Mutex
	url       string
	next      int                      // the last comment id given out
	posts     map[string][]wireComment // in the order they were written
	hidden    map[string]bool
	token     string         // when set, requests must carry it
	remaining int64          // requests left in this window; -1: no limit
	failPost  map[string]int // post -> HTTP status the forum answers for it
}

const fakeLimit = 100

var fakeReset = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newFakeForum(t *testing.T) *fakeForum {
	f := &fakeForum{posts: map[string][]wireComment{}, hidden: map[string]bool{}, remaining: -1, failPost: map[string]int{}}
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// add writes a comment on a post and returns its id. Posts exist once they
// have a comment, or with create.
func (f *fakeForum) add(post, author, text string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	id := strconv.Itoa(f.next)
	f.posts[post] = append(f.posts[post], wireComment{
		ID: id, AuthorID: "u-" + author, Author: author, Text: text,
		CreatedAt: time.Date(2030, 1, 1, 0, 0, f.next, 0, time.UTC),
	})
	return id
}

func (f *fakeForum) create(post string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.posts[post]; !ok {
		f.posts[post] = nil
	}
}

func (f *fakeForum) edit(id, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, cs := range f.posts {
		for i := range cs {
			if cs[i].ID == id {
				cs[i].Text, cs[i].EditedAt = text, time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
			}
		}
	}
}

func (f *fakeForum) isHidden(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hidden[id]
}

func (f *fakeForum) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/posts/{post}/comments", func(w http.ResponseWriter, r *http.Request) {
		post := r.PathValue("post")
		if code := f.failPost[post]; code != 0 {
			http.Error(w, `{"error": "the forum failed"}`, code)
			return
		}
		comments, ok := f.posts[post]
		if !ok {
			http.Error(w, `{"error": "no such post"}`, http.StatusNotFound)
			return
		}
		after, _ := strconv.Atoi(r.URL.Query().Get("after"))
		limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
		if err != nil || limit < 1 || limit > 100 {
			http.Error(w, `{"error": "limit must be 1..100"}`, http.StatusBadRequest)
			return
		}
		page := []wireComment{}
		for _, c := range comments {
			if id, _ := strconv.Atoi(c.ID); id > after {
				page = append(page, c)
			}
		}
		more := len(page) > limit
		page = page[:min(limit, len(page))]
		json.NewEncoder(w).Encode(map[string]any{"comments": page, "has_more": more})
	})
	mux.HandleFunc("PUT /api/comments/{id}/hidden", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Hidden *bool `json:"hidden"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Hidden == nil || !*body.Hidden {
			http.Error(w, `{"error": "want {\"hidden\": true}"}`, http.StatusBadRequest)
			return
		}
		id := r.PathValue("id")
		for _, cs := range f.posts {
			for _, c := range cs {
				if c.ID == id {
					changed := !f.hidden[id]
					f.hidden[id] = true
					json.NewEncoder(w).Encode(map[string]bool{"changed": changed})
					return
				}
			}
		}
		http.Error(w, `{"error": "no such comment"}`, http.StatusNotFound)
	})
	// Every request: the token, then the rate limit, under the forum's lock.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
			http.Error(w, `{"error": "bad token"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(fakeLimit))
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(fakeReset.Unix(), 10))
		if f.remaining == 0 {
			w.Header().Set("X-RateLimit-Remaining", "0")
			http.Error(w, `{"error": "slow down"}`, http.StatusTooManyRequests)
			return
		}
		if f.remaining > 0 {
			f.remaining--
			w.Header().Set("X-RateLimit-Remaining", strconv.FormatInt(f.remaining, 10))
		}
		mux.ServeHTTP(w, r)
	})
}

// configured is the connector configured for f, called directly.
func configured(t *testing.T, f *fakeForum, extra map[string]any) *Forum {
	t.Helper()
	table := map[string]any{"base_url": f.url, "page_size": 2}
	for k, v := range extra {
		table[k] = v
	}
	data, _ := json.Marshal(table)
	c := &Forum{}
	if err := c.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: data}}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return c
}

func TestPoll(t *testing.T) {
	// Post p1 has comments 1, 2, 3; p2 has 4 (edited); empty exists without any.
	setup := func(f *fakeForum) {
		f.add("p1", "ann", "first")
		f.add("p1", "bob", "second")
		f.add("p1", "cat", "third")
		f.edit(f.add("p2", "dan", "elsewhere"), "elsewhere, edited")
		f.create("empty")
	}
	type post struct {
		ids    []string
		cursor string
		more   bool
		err    string // in the post's Err
	}
	tests := []struct {
		name    string
		forum   func(*fakeForum)
		config  map[string]any
		req     []sdk.PostCursor
		want    map[string]post
		wantErr string // for the call as a whole
		check   func(*testing.T, sdk.PollResponse, error)
	}{
		{
			name: "a page at a time from the start",
			req:  []sdk.PostCursor{{PostID: "p1"}},
			want: map[string]post{"p1": {ids: []string{"1", "2"}, cursor: "2", more: true}},
		},
		{
			name: "after the cursor",
			req:  []sdk.PostCursor{{PostID: "p1", Cursor: []byte("2")}},
			want: map[string]post{"p1": {ids: []string{"3"}, cursor: "3"}},
		},
		{
			name: "nothing new keeps the cursor",
			req:  []sdk.PostCursor{{PostID: "p1", Cursor: []byte("3")}, {PostID: "empty"}},
			want: map[string]post{"p1": {cursor: "3"}, "empty": {}},
		},
		{
			name: "many posts, one that does not exist",
			req:  []sdk.PostCursor{{PostID: "p1", Cursor: []byte("2")}, {PostID: "gone", Cursor: []byte("7")}, {PostID: "p2"}},
			want: map[string]post{
				"p1":   {ids: []string{"3"}, cursor: "3"},
				"gone": {cursor: "7", err: "HTTP 404"},
				"p2":   {ids: []string{"4"}, cursor: "4"},
			},
		},
		{
			name:  "a post the forum fails on keeps its cursor",
			forum: func(f *fakeForum) { f.failPost["p2"] = http.StatusBadGateway },
			req:   []sdk.PostCursor{{PostID: "p1", Cursor: []byte("3")}, {PostID: "p2", Cursor: []byte("1")}},
			want:  map[string]post{"p1": {cursor: "3"}, "p2": {cursor: "1", err: "HTTP 502"}},
		},
		{
			name:    "a spent rate limit fails the call, with its reset",
			forum:   func(f *fakeForum) { f.remaining = 0 },
			req:     []sdk.PostCursor{{PostID: "p1"}},
			wantErr: "rate limited until 2030-01-02T03:04:05Z",
			check: func(t *testing.T, _ sdk.PollResponse, err error) {
				var rl *sdk.RateLimitedError
				if !errors.As(err, &rl) || !rl.RateLimit.Reset.Equal(fakeReset) || rl.RateLimit.Remaining != 0 || rl.RateLimit.Limit != fakeLimit {
					t.Errorf("error %v, want a *sdk.RateLimitedError with the forum's limit and reset", err)
				}
			},
		},
		{
			name:    "a refused token fails the call, for good",
			forum:   func(f *fakeForum) { f.token = "right" },
			config:  map[string]any{"token": "wrong"},
			req:     []sdk.PostCursor{{PostID: "p1"}, {PostID: "p2"}},
			wantErr: "HTTP 401",
			check: func(t *testing.T, _ sdk.PollResponse, err error) {
				if !sdk.IsPermanent(err) {
					t.Errorf("error %v, want it permanent (retrying will not fix the token)", err)
				}
			},
		},
		{
			name:   "the token is sent",
			forum:  func(f *fakeForum) { f.token = "right" },
			config: map[string]any{"token": "right"},
			req:    []sdk.PostCursor{{PostID: "p2"}},
			want:   map[string]post{"p2": {ids: []string{"4"}, cursor: "4"}},
		},
		{
			name:  "the rate limit is reported",
			forum: func(f *fakeForum) { f.remaining = 10 },
			req:   []sdk.PostCursor{{PostID: "p2"}},
			want:  map[string]post{"p2": {ids: []string{"4"}, cursor: "4"}},
			check: func(t *testing.T, resp sdk.PollResponse, _ error) {
				want := sdk.RateLimit{Limit: fakeLimit, Remaining: 9, Reset: fakeReset}
				if !reflect.DeepEqual(resp.RateLimit, want) {
					t.Errorf("rate limit %+v, want %+v", resp.RateLimit, want)
				}
			},
		},
		{
			name: "a comment in full, edited",
			req:  []sdk.PostCursor{{PostID: "p2"}},
			want: map[string]post{"p2": {ids: []string{"4"}, cursor: "4"}},
			check: func(t *testing.T, resp sdk.PollResponse, _ error) {
				c := resp.Posts[0].Comments[0]
				c.Raw = nil
				want := sdk.Comment{
					Platform: "forum", ID: "4", PostID: "p2", AuthorID: "u-dan", AuthorHandle: "dan", Text: "elsewhere, edited",
					CreatedAt: time.Date(2030, 1, 1, 0, 0, 4, 0, time.UTC), Version: "2030-01-01T12:00:00Z",
					URL: c.URL[:strings.Index(c.URL, "/posts/")] + "/posts/p2#comment-4",
				}
				if !reflect.DeepEqual(c, want) || !strings.HasPrefix(c.URL, "http://127.0.0.1:") {
					t.Errorf("comment\n%+v\nwant\n%+v", c, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeForum(t)
			setup(f)
			if tt.forum != nil {
				tt.forum(f)
			}
			resp, err := configured(t, f, tt.config).Poll(t.Context(), tt.req)
			if tt.check != nil {
				defer tt.check(t, resp, err)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Poll = %+v, %v; want an error containing %q", resp, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := sdk.CheckPoll(tt.req, resp); err != nil {
				t.Errorf("the reply breaks the Poll contract: %v", err)
			}
			got := map[string]post{}
			for _, pc := range resp.Posts {
				p := post{cursor: string(pc.Cursor), more: pc.More, err: pc.Err}
				for _, c := range pc.Comments {
					p.ids = append(p.ids, c.ID)
				}
				if w := tt.want[pc.PostID]; w.err != "" && strings.Contains(p.err, w.err) {
					p.err = w.err
				}
				got[pc.PostID] = p
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Poll gave\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name  string
		table map[string]any
		field string // the FieldError's key; "" when the table is good
	}{
		{name: "the base URL is enough", table: map[string]any{"base_url": "https://forum.example.com/"}},
		{name: "every key", table: map[string]any{"base_url": "http://127.0.0.1:8080", "token": "t", "timeout": "3s", "page_size": 100}},
		{name: "no base URL", table: map[string]any{}, field: "base_url"},
		{name: "a base URL that is not http", table: map[string]any{"base_url": "ftp://forum.example.com"}, field: "base_url"},
		{name: "a relative base URL", table: map[string]any{"base_url": "forum.example.com"}, field: "base_url"},
		{name: "a timeout that is not a duration", table: map[string]any{"base_url": "https://f.example", "timeout": "soon"}, field: "timeout"},
		{name: "a zero timeout", table: map[string]any{"base_url": "https://f.example", "timeout": "0s"}, field: "timeout"},
		{name: "a page too big", table: map[string]any{"base_url": "https://f.example", "page_size": 101}, field: "page_size"},
		{name: "a page of nothing", table: map[string]any{"base_url": "https://f.example", "page_size": 0}, field: "page_size"},
		{name: "an unknown key", table: map[string]any{"base_url": "https://f.example", "page-size": 3}, field: "page-size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, _ := json.Marshal(tt.table)
			c := &Forum{}
			err := c.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: data}})
			if tt.field == "" {
				if err != nil || c.settings.Load() == nil {
					t.Fatalf("Configure(%s) = %v, want it kept", data, err)
				}
				if base := c.settings.Load().base; strings.HasSuffix(base, "/") {
					t.Errorf("base %q keeps its trailing slash", base)
				}
				return
			}
			var fe sdk.FieldErrors
			if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Field != tt.field {
				t.Errorf("Configure(%s) = %v, want one FieldError for %q", data, err, tt.field)
			}
			if c.settings.Load() != nil {
				t.Errorf("a rejected table was kept")
			}
		})
	}
}

// Moderate over the wire, as the host calls it: hide is idempotent, a
// comment that is gone says so, and an action the connector does not declare
// never reaches it (the SDK refuses it).
func TestModerate(t *testing.T) {
	f := newFakeForum(t)
	id := f.add("p1", "troll", "SHOUTING")
	p := plugintest.Start(t, newPlugin())
	if fe, err := p.Configure(t.Context(), sdk.ConfigureOptions{Config: map[string]any{"base_url": f.url}}); err != nil || fe != nil {
		t.Fatalf("Configure: %v %v", fe, err)
	}
	tests := []struct {
		name, id, action string
		want             sdk.ModerateResponse
		wantErr          error
	}{
		{name: "hide", id: id, action: sdk.ActionHide, want: sdk.ModerateResponse{Changed: true, Detail: "hidden"}},
		{name: "hide again changes nothing", id: id, action: sdk.ActionHide, want: sdk.ModerateResponse{Detail: "was already hidden"}},
		{name: "a comment that is gone", id: "999", action: sdk.ActionHide, wantErr: sdk.ErrNotFound},
		{name: "an action the forum cannot take", id: id, action: sdk.ActionDelete, wantErr: sdk.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Moderate(t.Context(), sdk.ModerateRequest{Comment: sdk.Comment{ID: tt.id, PostID: "p1"}, Action: tt.action, IdempotencyKey: tt.name})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Moderate = %+v, %v; want an error matching %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Moderate = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if !f.isHidden(id) {
		t.Errorf("comment %s is not hidden on the forum", id)
	}
}

// suite is the conformance suite's view of the fake forum: where it is,
// what is on it, and a comment it may hide.
func suite(f *fakeForum) plugintest.ConnectorSuite {
	for i := range 5 {
		f.add("p1", "ann", "comment "+strconv.Itoa(i))
	}
	f.create("p2")
	return plugintest.ConnectorSuite{
		Config: map[string]any{"base_url": f.url, "page_size": 2},
		BadConfigs: []plugintest.BadConfig{
			{Name: "no base_url", Config: map[string]any{}, Field: "base_url"},
			{Name: "page_size too big", Config: map[string]any{"base_url": f.url, "page_size": 1000}, Field: "page_size"},
		},
		Moderate:  &sdk.Comment{Platform: "forum", ID: "1", PostID: "p1"},
		PollPosts: []string{"p1", "p2"},
	}
}

func TestConformanceInProcess(t *testing.T) {
	plugintest.TestConnector(t, plugintest.Start(t, newPlugin()), suite(newFakeForum(t)))
}

func TestConformanceBinary(t *testing.T) {
	// The binary an operator runs, launched as the host launches it.
	plugintest.TestConnector(t, plugintest.Launch(t, plugintest.BuildOnce(t, ".")), suite(newFakeForum(t)))
}
