package platform

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// start runs a platform for the test.
func start(t *testing.T, opts Options) *Server {
	t.Helper()
	s := Start(opts)
	t.Cleanup(s.Close)
	return s
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// do makes one request to the platform.
func do(t *testing.T, s *Server, method, path string, body string, header map[string]string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return answer{resp.StatusCode, resp.Header, data}
}

type page struct {
	Data   []wireItem `json:"data"`
	Meta   pageMeta   `json:"meta"`
	Errors []struct {
		PostID string `json:"post_id"`
		Title  string `json:"title"`
	} `json:"errors"`
}

type postsPage struct {
	Data []wirePost `json:"data"`
	Meta pageMeta   `json:"meta"`
}

func decodeJSON[T any](t *testing.T, a answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("answer %d %s: %v", a.status, a.body, err)
	}
	return v
}

func title(t *testing.T, a answer) string {
	t.Helper()
	return decodeJSON[problemBody](t, a).Title
}

// listAll walks every page of one comments query and returns the ids in the
// order listed, checking each page's meta on the way.
func listAll(t *testing.T, s *Server, query string) ([]string, int) {
	t.Helper()
	var ids []string
	token := ""
	pages := 0
	for {
		path := "/v1/comments?" + query
		if token != "" {
			path += "&page_token=" + url.QueryEscape(token)
		}
		a := do(t, s, "GET", path, "", nil)
		if a.status != 200 {
			t.Fatalf("GET %s: %d %s", path, a.status, a.body)
		}
		p := decodeJSON[page](t, a)
		pages++
		if p.Meta.ResultCount != len(p.Data) {
			t.Errorf("result_count %d for %d items", p.Meta.ResultCount, len(p.Data))
		}
		if len(p.Data) > 0 && (p.Meta.NewestID != p.Data[0].ID || p.Meta.OldestID != p.Data[len(p.Data)-1].ID) {
			t.Errorf("meta %+v does not match the page's first and last ids", p.Meta)
		}
		for _, it := range p.Data {
			ids = append(ids, it.ID)
		}
		if token = p.Meta.NextToken; token == "" {
			return ids, pages
		}
		if pages > 1000 {
			t.Fatal("more than 1000 pages: paging does not end")
		}
	}
}

func TestListCommentsAcrossPostsAndPages(t *testing.T) {
	s := start(t, Options{PageSize: 4})
	for _, p := range []string{"a", "b", "c"} {
		s.AddPost(p, "u1")
	}
	var want []string // newest first, per the posts asked
	for i := range 11 {
		post := []string{"a", "b", "c"}[i%3]
		c := s.AddComment(Comment{PostID: post, AuthorID: "u2", Handle: "bob", Text: fmt.Sprintf("comment %d", i)})
		if post != "c" {
			want = append([]string{c.ID}, want...)
		}
	}
	ids, pages := listAll(t, s, "posts=a,b")
	if !slices.Equal(ids, want) {
		t.Errorf("listed %v\nwant     %v", ids, want)
	}
	if wantPages := (len(want) + 3) / 4; pages != wantPages {
		t.Errorf("%d pages, want %d of 4", pages, wantPages)
	}
	if got := s.Requests().Comments; got != pages {
		t.Errorf("Requests().Comments = %d, want %d: one request serves many posts", got, pages)
	}

	// Each item carries the whole comment.
	a := do(t, s, "GET", "/v1/comments?posts=c", "", nil)
	p := decodeJSON[page](t, a)
	first, _ := s.Comment(p.Data[0].ID)
	want0 := wireItem{ID: first.ID, PostID: "c", AuthorID: "u2", AuthorHandle: "bob", Text: first.Text,
		CreatedAt: first.CreatedAt.Format(time.RFC3339Nano), URL: s.URL() + "/p/c/c/" + first.ID}
	if p.Data[0] != want0 {
		t.Errorf("item %+v\nwant %+v", p.Data[0], want0)
	}
	if _, err := strconv.ParseUint(first.ID, 10, 64); err != nil || first.ID < "1700000000000000000" {
		t.Errorf("assigned id %q, want a tweet-sized decimal", first.ID)
	}
}

func TestListCommentsBounds(t *testing.T) {
	s := start(t, Options{})
	s.AddPost("a", "u")
	s.AddPost("b", "u")
	var a, b []string
	for i := range 5 {
		a = append(a, s.AddComment(Comment{PostID: "a", AuthorID: "x", Text: "a" + strconv.Itoa(i)}).ID)
		b = append(b, s.AddComment(Comment{PostID: "b", AuthorID: "x", Text: "b" + strconv.Itoa(i)}).ID)
	}
	// newestFirst is the order the API lists in: descending ids (all of
	// one length here, so string order is number order).
	newestFirst := func(ids ...string) []string {
		ids = slices.Clone(ids)
		slices.Sort(ids)
		slices.Reverse(ids)
		return ids
	}
	tests := []struct {
		name, query string
		want        []string
	}{
		{"since per post", "posts=a,b&since=a:" + a[2] + ",b:" + b[3], newestFirst(a[3], b[4], a[4])},
		{"since for one post only", "posts=a,b&since=a:" + a[4], newestFirst(b...)},
		{"until per post", "posts=a,b&until=a:" + a[2], newestFirst(a[0], a[1], b[0], b[1], b[2], b[3], b[4])},
		{"since and until", "posts=a&since=a:" + a[0] + "&until=a:" + a[3], newestFirst(a[1], a[2])},
		{"nothing newer", "posts=a,b&since=a:" + a[4] + ",b:" + b[4], nil},
		{"a post asked twice is listed once", "posts=a,a&since=a:" + a[3], newestFirst(a[4])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, _ := listAll(t, s, tt.query)
			if !slices.Equal(ids, tt.want) {
				t.Errorf("listed %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestListCommentsErrors(t *testing.T) {
	s := start(t, Options{MaxPosts: 3})
	s.AddPost("a", "u")
	c := s.AddComment(Comment{PostID: "a", AuthorID: "x", Text: "hi"})
	bad := []struct{ name, query string }{
		{"no posts", ""},
		{"empty post id", "posts=a,,b"},
		{"too many posts", "posts=a,b,c,d"},
		{"since without a colon", "posts=a&since=a"},
		{"since not a decimal", "posts=a&since=a:12x"},
		{"since with a leading zero", "posts=a&since=a:012"},
		{"since for a post not asked", "posts=a&since=b:5"},
		{"since twice for a post", "posts=a&since=a:5,a:6"},
		{"until not a decimal", "posts=a&until=a:-1"},
		{"page token not base64", "posts=a&page_token=%25%25"},
		{"page token of no id", "posts=a&page_token=eHl6"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, s, "GET", "/v1/comments?"+tt.query, "", nil)
			if a.status != 400 || title(t, a) != "Invalid Request" {
				t.Errorf("%d %s, want 400 Invalid Request", a.status, a.body)
			}
		})
	}
	t.Run("unknown post", func(t *testing.T) {
		a := do(t, s, "GET", "/v1/comments?posts=nope,a", "", nil)
		p := decodeJSON[page](t, a)
		if a.status != 200 || len(p.Data) != 1 || p.Data[0].ID != c.ID {
			t.Errorf("%d %s: want 200 with the comment on a", a.status, a.body)
		}
		if len(p.Errors) != 1 || p.Errors[0].PostID != "nope" || p.Errors[0].Title != "Not Found" {
			t.Errorf("errors %+v, want Not Found for post nope", p.Errors)
		}
	})
	t.Run("unknown endpoint", func(t *testing.T) {
		before := s.Requests().Other
		for _, m := range []string{"GET", "POST", "DELETE"} {
			if a := do(t, s, m, "/v2/nothing", "", nil); a.status != 404 || title(t, a) != "Not Found" {
				t.Errorf("%s: %d %s, want 404", m, a.status, a.body)
			}
		}
		if a := do(t, s, "POST", "/v1/comments", "", nil); a.status != 404 {
			t.Errorf("POST /v1/comments: %d, want 404", a.status)
		}
		if got := s.Requests().Other - before; got != 4 {
			t.Errorf("Requests().Other went up by %d, want 4", got)
		}
	})
}

func TestEditsAndDeletions(t *testing.T) {
	s := start(t, Options{})
	s.AddPost("a", "u")
	c1 := s.AddComment(Comment{PostID: "a", AuthorID: "x", Text: "first"})
	c2 := s.AddComment(Comment{PostID: "a", AuthorID: "x", Text: "second"})
	if c1.Version != 0 {
		t.Fatalf("new comment has version %d", c1.Version)
	}
	steps := []struct {
		text        string
		wantVersion int
	}{{"first", 0}, {"first, edited", 1}, {"first, edited", 1}, {"edited again", 2}}
	for _, st := range steps {
		got := s.AddComment(Comment{ID: c1.ID, PostID: "a", AuthorID: "other", Text: st.text})
		if got.Version != st.wantVersion || got.Text != st.text || got.AuthorID != "x" {
			t.Errorf("re-adding %q: %+v, want version %d and the first author", st.text, got, st.wantVersion)
		}
	}
	p := decodeJSON[page](t, do(t, s, "GET", "/v1/comments?posts=a", "", nil))
	if len(p.Data) != 2 || p.Data[1].ID != c1.ID || p.Data[1].Version != 2 || p.Data[1].Text != "edited again" {
		t.Errorf("listing %+v, want the edited comment at version 2", p.Data)
	}

	moderate(t, s, c2.ID, "delete", "k1")
	p = decodeJSON[page](t, do(t, s, "GET", "/v1/comments?posts=a", "", nil))
	if len(p.Data) != 1 || p.Data[0].ID != c1.ID {
		t.Errorf("after deleting %s the listing is %+v", c2.ID, p.Data)
	}
	if got := s.AddComment(Comment{ID: c2.ID, PostID: "a", Text: "edit of a deleted one"}); got.Version != 0 || got.Text != "second" {
		t.Errorf("editing a deleted comment changed it: %+v", got)
	}
}

func TestAddCommentMisuse(t *testing.T) {
	s := start(t, Options{})
	s.AddPost("a", "u")
	s.AddComment(Comment{ID: "500", PostID: "a", AuthorID: "x", Text: "hi"})
	tests := []struct {
		name string
		c    Comment
		want string
	}{
		{"unknown post", Comment{PostID: "zz", Text: "x"}, `no post "zz"`},
		{"not a decimal", Comment{ID: "12a", PostID: "a"}, "not a canonical decimal"},
		{"leading zero", Comment{ID: "0600", PostID: "a"}, "not a canonical decimal"},
		{"over 64 bits", Comment{ID: "99999999999999999999", PostID: "a"}, "not a canonical decimal"},
		{"not larger", Comment{ID: "499", PostID: "a"}, "only grow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), tt.want) {
					t.Errorf("panic %v, want one saying %q", r, tt.want)
				}
			}()
			s.AddComment(tt.c)
		})
	}
	if got := s.AddComment(Comment{PostID: "a", AuthorID: "x", Text: "next"}); got.ID != "501" {
		t.Errorf("next assigned id %s, want 501", got.ID)
	}
	for _, id := range []string{"", "a,b", "a:b", "a/b"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AddPost(%q) did not panic", id)
				}
			}()
			s.AddPost(id, "u")
		}()
	}
}

func TestUserPosts(t *testing.T) {
	s := start(t, Options{PageSize: 2})
	for _, p := range []string{"p1", "p2", "p3", "p4", "p5"} {
		s.AddPost(p, "alice")
	}
	s.AddPost("other", "bob")
	s.AddPost("p1", "bob") // again: nothing changes
	var ids []string
	token := ""
	for range 10 {
		path := "/v1/users/alice/posts"
		if token != "" {
			path += "?page_token=" + token
		}
		a := do(t, s, "GET", path, "", nil)
		p := decodeJSON[postsPage](t, a)
		for _, post := range p.Data {
			if post.AuthorID != "alice" || post.URL != s.URL()+"/p/"+post.ID || post.CreatedAt == "" {
				t.Errorf("post %+v", post)
			}
			ids = append(ids, post.ID)
		}
		if token = p.Meta.NextToken; token == "" {
			break
		}
	}
	if want := []string{"p5", "p4", "p3", "p2", "p1"}; !slices.Equal(ids, want) {
		t.Errorf("alice's posts %v, want %v", ids, want)
	}
	if a := do(t, s, "GET", "/v1/users/nobody/posts", "", nil); a.status != 200 || !strings.Contains(string(a.body), `"data":[]`) {
		t.Errorf("unknown author: %d %s, want an empty list", a.status, a.body)
	}
	if a := do(t, s, "GET", "/v1/users/alice/posts?page_token=!!", "", nil); a.status != 400 {
		t.Errorf("bad token: %d, want 400", a.status)
	}
	if got := s.Requests().UserPosts; got != 5 {
		t.Errorf("Requests().UserPosts = %d, want 5", got)
	}
}

// clock is a settable time source for rate-limit windows.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func rateHeaders(a answer) (l, r, reset string) {
	return a.header.Get("x-rate-limit-limit"), a.header.Get("x-rate-limit-remaining"), a.header.Get("x-rate-limit-reset")
}

func TestRateLimitWindow(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 500_000_000, time.UTC)}
	s := start(t, Options{RateLimit: 3, RateWindow: time.Minute, Now: clk.Now, Token: "tok"})
	s.AddPost("a", "u")
	auth := map[string]string{"Authorization": "Bearer tok"}
	// The window ends at 12:01:00.5; the header rounds up to 12:01:01.
	wantReset := strconv.FormatInt(time.Date(2026, 3, 1, 12, 1, 1, 0, time.UTC).Unix(), 10)
	for i, want := range []string{"2", "1", "0"} {
		a := do(t, s, "GET", "/v1/comments?posts=a", "", auth)
		l, r, reset := rateHeaders(a)
		if a.status != 200 || l != "3" || r != want || reset != wantReset {
			t.Errorf("request %d: %d limit %s remaining %s reset %s, want 200 3 %s %s", i+1, a.status, l, r, reset, want, wantReset)
		}
		clk.Add(10 * time.Second)
	}
	a := do(t, s, "PUT", "/v1/comments/1/moderation", `{"action":"hide"}`, auth)
	if l, r, reset := rateHeaders(a); a.status != 429 || title(t, a) != "Too Many Requests" || l != "3" || r != "0" || reset != wantReset {
		t.Errorf("over the limit: %d %s limit %s remaining %s reset %s", a.status, a.body, l, r, reset)
	}
	if len(s.Actions()) != 0 {
		t.Errorf("a refused request was acted on: %+v", s.Actions())
	}
	// A bad token is refused before the limit and uses none of it, but the
	// answer still says where the limit stands.
	a = do(t, s, "GET", "/v1/comments?posts=a", "", map[string]string{"Authorization": "Bearer nope"})
	if _, r, _ := rateHeaders(a); a.status != 401 || title(t, a) != "Unauthorized" || r != "0" {
		t.Errorf("bad token: %d %s remaining %s, want 401 and remaining 0", a.status, a.body, r)
	}
	if a = do(t, s, "GET", "/v1/comments?posts=a", "", nil); a.status != 401 {
		t.Errorf("no token: %d, want 401", a.status)
	}

	clk.Add(30 * time.Second) // 12:01:00.5: the window is over
	a = do(t, s, "GET", "/v1/comments?posts=a", "", auth)
	newReset := strconv.FormatInt(time.Date(2026, 3, 1, 12, 2, 1, 0, time.UTC).Unix(), 10)
	if _, r, reset := rateHeaders(a); a.status != 200 || r != "2" || reset != newReset {
		t.Errorf("next window: %d remaining %s reset %s, want 200 2 %s", a.status, r, reset, newReset)
	}
	st := s.Requests()
	if st.Throttled != 1 || st.Comments != 6 || st.Moderation != 1 || st.Total() != 7 {
		t.Errorf("stats %+v", st)
	}
}

func TestRateLimitDefaultIsGenerous(t *testing.T) {
	s := start(t, Options{})
	a := do(t, s, "GET", "/v1/users/x/posts", "", nil)
	l, r, reset := rateHeaders(a)
	sec, err := strconv.ParseInt(reset, 10, 64)
	if l != strconv.Itoa(DefaultRateLimit) || r != strconv.Itoa(DefaultRateLimit-1) || err != nil ||
		time.Until(time.Unix(sec, 0)) < DefaultRateWindow-time.Minute {
		t.Errorf("headers limit %s remaining %s reset %s", l, r, reset)
	}
}

// moderate makes one moderation call and returns its answer.
func moderate(t *testing.T, s *Server, id, action, key string) answer {
	t.Helper()
	h := map[string]string{}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	return do(t, s, "PUT", "/v1/comments/"+id+"/moderation", `{"action":"`+action+`"}`, h)
}

func TestModeration(t *testing.T) {
	s := start(t, Options{})
	s.AddPost("a", "u")
	id := s.AddComment(Comment{PostID: "a", AuthorID: "x", Text: "hi"}).ID
	steps := []struct {
		action, key string
		status      int
		changed     bool
		state       string // State(id) after the call
	}{
		{"flag", "k1", 200, true, StateFlagged},
		{"flag", "k2", 200, false, StateFlagged},
		{"flag", "k1", 200, false, StateFlagged}, // a retry with the same key
		{"hide", "k3", 200, true, StateHidden},
		{"hide", "k4", 200, false, StateHidden},
		{"unhide", "k5", 200, true, StateFlagged},
		{"unhide", "k6", 200, false, StateFlagged},
		{"hide", "k1", 422, false, StateFlagged}, // k1 was for flag
		{"approve", "k7", 400, false, StateFlagged},
		{"hide", "", 400, false, StateFlagged},
		{"delete", "k8", 200, true, StateDeleted},
		{"delete", "k9", 200, false, StateDeleted},
		{"hide", "k10", 410, false, StateDeleted},
	}
	for i, st := range steps {
		a := moderate(t, s, id, st.action, st.key)
		if a.status != st.status {
			t.Fatalf("step %d %s (key %q): %d %s, want %d", i+1, st.action, st.key, a.status, a.body, st.status)
		}
		if st.status == 200 {
			got := decodeJSON[moderationBody](t, a)
			if want := (moderationBody{ID: id, Action: st.action, Changed: st.changed, State: st.state}); got != want {
				t.Errorf("step %d: answer %+v, want %+v", i+1, got, want)
			}
		}
		if got := s.State(id); got != st.state {
			t.Errorf("step %d: State %q, want %q", i+1, got, st.state)
		}
	}
	actions := s.Actions()
	if len(actions) != len(steps) {
		t.Fatalf("%d actions recorded for %d calls", len(actions), len(steps))
	}
	for i, a := range actions {
		st := steps[i]
		if a.CommentID != id || a.Action != st.action || a.IdempotencyKey != st.key || a.Changed != st.changed || a.Status != st.status || a.At.IsZero() {
			t.Errorf("action %d recorded as %+v, want %s key %q changed %v status %d", i+1, a, st.action, st.key, st.changed, st.status)
		}
	}

	if a := moderate(t, s, "999", "hide", "k11"); a.status != 404 || title(t, a) != "Not Found" {
		t.Errorf("unknown comment: %d %s", a.status, a.body)
	}
	if a := do(t, s, "PUT", "/v1/comments/"+id+"/moderation", `not json`, map[string]string{"Idempotency-Key": "k12"}); a.status != 400 {
		t.Errorf("malformed body: %d %s", a.status, a.body)
	}
	if got := s.State("999"); got != "" {
		t.Errorf("State of an unknown comment %q, want empty", got)
	}
}

func TestStateOrder(t *testing.T) {
	s := start(t, Options{})
	s.AddPost("a", "u")
	id := s.AddComment(Comment{PostID: "a", AuthorID: "x", Text: "hi"}).ID
	if got := s.State(id); got != StateVisible {
		t.Errorf("new comment is %q", got)
	}
	moderate(t, s, id, "hide", "1")
	moderate(t, s, id, "flag", "2")
	if got := s.State(id); got != StateHidden {
		t.Errorf("hidden and flagged is %q, want hidden", got)
	}
}

func TestFaults(t *testing.T) {
	s := start(t, Options{})
	s.AddPost("a", "u")
	var ids []string
	for i := range 5 {
		ids = append(ids, s.AddComment(Comment{PostID: "a", AuthorID: "x", Text: "c" + strconv.Itoa(i)}).ID)
	}
	list := func() answer { return do(t, s, "GET", "/v1/comments?posts=a", "", nil) }

	t.Run("server errors for N requests, not acted on", func(t *testing.T) {
		s.Faults(Faults{ServerErrors: 2})
		before := len(s.Actions())
		for i := range 2 {
			a := moderate(t, s, ids[0], "flag", "se")
			if a.status != 503 || title(t, a) != "Service Unavailable" || a.header.Get("x-rate-limit-limit") == "" {
				t.Errorf("request %d: %d %s, want 503 with rate-limit headers", i+1, a.status, a.body)
			}
		}
		if len(s.Actions()) != before || s.State(ids[0]) != StateVisible {
			t.Errorf("a 503 request was acted on")
		}
		if a := moderate(t, s, ids[0], "flag", "se"); a.status != 200 {
			t.Errorf("third request: %d, want 200: the fault is used up", a.status)
		}
	})
	t.Run("forced window limit", func(t *testing.T) {
		s.Faults(Faults{RateLimited: 1})
		a := list()
		if _, r, _ := rateHeaders(a); a.status != 429 || title(t, a) != "Too Many Requests" || r != "0" {
			t.Errorf("%d %s remaining %s", a.status, a.body, r)
		}
		if a := list(); a.status != 200 {
			t.Errorf("after: %d", a.status)
		}
	})
	t.Run("usage cap until turned off", func(t *testing.T) {
		s.Faults(Faults{UsageCapExceeded: true})
		for range 2 {
			if a := list(); a.status != 429 || title(t, a) != "UsageCapExceeded" {
				t.Errorf("%d %s, want 429 UsageCapExceeded", a.status, a.body)
			}
		}
		s.Faults(Faults{})
		if a := list(); a.status != 200 {
			t.Errorf("after turning it off: %d", a.status)
		}
	})
	t.Run("truncated body, action applied", func(t *testing.T) {
		s.Faults(Faults{Truncated: 1})
		a := moderate(t, s, ids[1], "hide", "tr")
		var v any
		if a.status != 200 || json.Unmarshal(a.body, &v) == nil || len(a.body) == 0 {
			t.Errorf("%d %q, want 200 with a body that is not JSON", a.status, a.body)
		}
		if s.State(ids[1]) != StateHidden {
			t.Errorf("the truncated answer's action was not applied")
		}
		if a := list(); json.Unmarshal(a.body, &v) != nil {
			t.Errorf("the next answer is truncated too: %s", a.body)
		}
	})
	t.Run("slow answer after acting", func(t *testing.T) {
		s.Faults(Faults{Slow: 300 * time.Millisecond})
		defer s.Faults(Faults{})
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "PUT", s.URL()+"/v1/comments/"+ids[2]+"/moderation", strings.NewReader(`{"action":"delete"}`))
		req.Header.Set("Idempotency-Key", "slow")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("the slow answer came within the client's 50ms")
		}
		if s.State(ids[2]) != StateDeleted {
			t.Errorf("the timed-out request was not acted on")
		}
		began := time.Now()
		if a := list(); a.status != 200 || time.Since(began) < 300*time.Millisecond {
			t.Errorf("slow answer: %d after %v", a.status, time.Since(began))
		}
	})
	kinds := []struct {
		kind  MalformedKind
		check func(raw json.RawMessage) bool // reports whether raw is the expected corruption
	}{
		{"", func(raw json.RawMessage) bool {
			return strings.Contains(string(raw), `"id":17`) && strings.Contains(string(raw), `"post_id":"a"`)
		}},
		{MalformedIDNumber, func(raw json.RawMessage) bool { return strings.Contains(string(raw), `"id":17`) }},
		{MalformedNoText, func(raw json.RawMessage) bool {
			return !strings.Contains(string(raw), `"text"`) && strings.Contains(string(raw), `"id":"17`)
		}},
		{MalformedNotObject, func(raw json.RawMessage) bool { return raw[0] == '"' }},
	}
	for _, k := range kinds {
		t.Run("malformed item "+string(k.kind), func(t *testing.T) {
			s.Faults(Faults{Malformed: 1, MalformedKind: k.kind})
			var p struct {
				Data []json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(list().body, &p); err != nil {
				t.Fatal(err)
			}
			bad := 0
			for i, raw := range p.Data {
				var it struct {
					ID   string  `json:"id"`
					Text *string `json:"text"`
				}
				if json.Unmarshal(raw, &it) != nil || it.Text == nil {
					bad++
					if i != len(p.Data)/2 || !k.check(raw) {
						t.Errorf("item %d of %d is malformed as %s", i, len(p.Data), raw)
					}
				}
			}
			if bad != 1 {
				t.Errorf("%d malformed items, want 1", bad)
			}
			if err := json.Unmarshal(list().body, &p); err != nil || len(p.Data) == 0 {
				t.Fatal(err)
			}
			for _, raw := range p.Data {
				if _, err := decodeItem(raw); err != nil {
					t.Errorf("the next page is malformed too: %s", raw)
				}
			}
		})
	}
	t.Run("malformed is not used up by empty pages", func(t *testing.T) {
		s.Faults(Faults{Malformed: 1})
		defer s.Faults(Faults{})
		a := do(t, s, "GET", "/v1/comments?posts=a&since=a:"+ids[4], "", nil)
		if p := decodeJSON[page](t, a); len(p.Data) != 0 {
			t.Fatalf("want an empty page, got %s", a.body)
		}
		if !strings.Contains(string(list().body), `"id":17`) {
			t.Errorf("the fault was used up by an empty page")
		}
	})
	if st := s.Requests(); st.Faulted < 6 || st.Throttled != 3 {
		t.Errorf("stats %+v: want the faulted and throttled answers counted", st)
	}
}

func decodeItem(raw json.RawMessage) (wireItem, error) {
	var it wireItem
	return it, json.Unmarshal(raw, &it)
}

func TestDeliver(t *testing.T) {
	type delivery struct {
		header http.Header
		body   []byte
	}
	got := make(chan delivery, 4)
	status := 200
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header, body}
		w.WriteHeader(status)
	}))
	defer receiver.Close()

	s := start(t, Options{Secret: "s3cret"})
	s.AddPost("a", "u")
	c := s.AddComment(Comment{PostID: "a", AuthorID: "x", Handle: "xx", Text: "hello"})
	edited := s.AddComment(Comment{ID: c.ID, PostID: "a", Text: "hello, edited"})
	code, err := s.Deliver(t.Context(), receiver.URL, c, edited)
	if err != nil || code != 200 {
		t.Fatalf("Deliver: %d %v", code, err)
	}
	d := <-got
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(d.body)
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); d.header.Get("X-Synthetic-Signature") != want || s.Sign(d.body) != want {
		t.Errorf("signature %q, want %q", d.header.Get("X-Synthetic-Signature"), want)
	}
	if d.header.Get("Content-Type") != "application/json" || d.header.Get("X-Synthetic-Delivery") == "" {
		t.Errorf("headers %v", d.header)
	}
	var payload struct {
		Events []struct {
			Type    string   `json:"type"`
			Comment wireItem `json:"comment"`
		} `json:"events"`
	}
	if err := json.Unmarshal(d.body, &payload); err != nil {
		t.Fatal(err)
	}
	types := []string{payload.Events[0].Type, payload.Events[1].Type}
	if !reflect.DeepEqual(types, []string{EventCreated, EventUpdated}) ||
		payload.Events[0].Comment.Text != "hello" || payload.Events[1].Comment.Text != "hello, edited" ||
		payload.Events[1].Comment.ID != c.ID || payload.Events[1].Comment.Version != 1 || payload.Events[0].Comment.AuthorHandle != "xx" {
		t.Errorf("payload %+v", payload)
	}

	// A duplicate delivery is a second request with the same events.
	status = 500
	if code, err := s.Deliver(t.Context(), receiver.URL, c, edited); err != nil || code != 500 {
		t.Errorf("second Deliver: %d %v, want the receiver's 500", code, err)
	}
	if d2 := <-got; string(d2.body) != string(d.body) || d2.header.Get("X-Synthetic-Delivery") == d.header.Get("X-Synthetic-Delivery") {
		t.Errorf("the duplicate delivery differs in body or reuses the delivery id")
	}
	if n := s.Requests().Deliveries; n != 2 {
		t.Errorf("Requests().Deliveries = %d, want 2", n)
	}
	if _, err := s.Deliver(t.Context(), "http://127.0.0.1:1/nothing", c); err == nil {
		t.Errorf("Deliver to a closed port succeeded")
	}
}

func TestConcurrentUse(t *testing.T) {
	s := start(t, Options{PageSize: 7})
	s.AddPost("a", "u")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 25 {
				c := s.AddComment(Comment{PostID: "a", AuthorID: "x", Text: fmt.Sprint(g, i)})
				moderate(t, s, c.ID, "flag", c.ID)
				do(t, s, "GET", "/v1/comments?posts=a", "", nil)
			}
		})
	}
	wg.Wait()
	ids, _ := listAll(t, s, "posts=a")
	if len(ids) != 100 || !slices.IsSortedFunc(ids, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Errorf("%d comments listed, want 100 newest first", len(ids))
	}
	if n := len(s.Actions()); n != 100 {
		t.Errorf("%d actions, want 100", n)
	}
}

// FuzzQuery: the comments query's own syntax (bounds and page tokens)
// either is refused or means exactly what it says.
func FuzzQuery(f *testing.F) {
	for _, seed := range []struct{ bounds, token string }{
		{"a:1700000000000000001,b:5", encodeToken(1700000000000000001)},
		{"a:012", "MTc"}, {"a", "%%"}, {"c:5", ""}, {"a:5,a:6", "MA"}, {"", ""}, {"a:18446744073709551616", ""},
	} {
		f.Add(seed.bounds, seed.token)
	}
	asked := map[string]bool{"a": true, "b": true}
	f.Fuzz(func(t *testing.T, bounds, token string) {
		if m, err := parseBounds(bounds, asked); err == nil {
			var parts []string
			for post, n := range m {
				if !asked[post] || n == 0 {
					t.Fatalf("%q gave bound %s:%d", bounds, post, n)
				}
				parts = append(parts, post+":"+strconv.FormatUint(n, 10))
			}
			if again, err := parseBounds(strings.Join(parts, ","), asked); err != nil || !reflect.DeepEqual(again, m) {
				t.Fatalf("%q -> %v -> %v %v", bounds, m, again, err)
			}
		}
		if n, err := decodeToken(token); err == nil {
			if back, err := decodeToken(encodeToken(n)); err != nil || back != n || n == 0 {
				t.Fatalf("token %q -> %d -> %d %v", token, n, back, err)
			}
		}
	})
}

// The comments page is put together from items encoded in advance; it must
// be byte for byte what json.Marshal writes for the whole page.
func TestEncodePageIsWhatMarshalWrites(t *testing.T) {
	item := func(text string) []byte {
		b, _ := json.Marshal(wireItem{ID: "1700000000000000001", PostID: "p", AuthorID: "u", Text: text, URL: "http://x/p/p/c/1"})
		return b
	}
	for _, tc := range []struct {
		name  string
		items [][]byte
		page  commentsPage
	}{
		{"empty", nil, commentsPage{}},
		{"one", [][]byte{item("hi")}, commentsPage{Meta: pageMeta{ResultCount: 1, NewestID: "1", OldestID: "1"}}},
		{"escapes and a next page", [][]byte{item("<b>&\"x\"\n😀"), item("\u2028"), json.RawMessage(`"corrupt item"`)},
			commentsPage{Meta: pageMeta{ResultCount: 3, NextToken: "MTc"}}},
		{"errors", [][]byte{item("a")}, commentsPage{Errors: []postError{{PostID: "q", Title: "Not Found", Detail: "post q does not exist"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			whole := struct {
				Data   []json.RawMessage `json:"data"`
				Meta   pageMeta          `json:"meta"`
				Errors []postError       `json:"errors,omitempty"`
			}{Data: make([]json.RawMessage, len(tc.items)), Meta: tc.page.Meta, Errors: tc.page.Errors}
			for i, it := range tc.items {
				whole.Data[i] = it
			}
			want, err := json.Marshal(whole)
			if err != nil {
				t.Fatal(err)
			}
			if got := encodePage(tc.items, tc.page); string(got) != string(want) {
				t.Errorf("encodePage\n%s\nwant\n%s", got, want)
			}
		})
	}
}
