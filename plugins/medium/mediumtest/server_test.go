package mediumtest_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/plugins/medium/mediumtest"
)

const token = "tok-123"

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// clock is a settable clock for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func start(t *testing.T, opts mediumtest.Options) *mediumtest.Server {
	t.Helper()
	s := mediumtest.NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

// get fetches path with the token (when tok is set) and returns the answer.
func get(t *testing.T, s *mediumtest.Server, path, tok string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", path, err)
	}
	return res, body
}

type feed struct {
	Channel struct {
		Title string `xml:"title"`
		Items []struct {
			Title string `xml:"title"`
			Link  string `xml:"link"`
			GUID  struct {
				IsPermaLink string `xml:"isPermaLink,attr"`
				Value       string `xml:",chardata"`
			} `xml:"guid"`
			Creator    string   `xml:"http://purl.org/dc/elements/1.1/ creator"`
			PubDate    string   `xml:"pubDate"`
			Categories []string `xml:"category"`
			Content    string   `xml:"http://purl.org/rss/1.0/modules/content/ encoded"`
		} `xml:"item"`
	} `xml:"channel"`
}

func TestFeeds(t *testing.T) {
	s := start(t, mediumtest.Options{})
	s.AddUser(mediumtest.User{Username: "ann", Name: "Ann Lee"})
	var ids []string
	for i := range 12 {
		a := s.Publish(mediumtest.Article{
			Title: fmt.Sprintf("Story %d & <more>", i), Author: "@ann", Publication: map[bool]string{true: "gophers"}[i%2 == 0],
			PublishedAt: t0.Add(time.Duration(i) * time.Hour), Categories: []string{"go", "cdata]]>"}, Content: "<p>body ]]> end</p>",
		})
		ids = append(ids, a.ID)
	}
	res, body := get(t, s, "/feed/@ann", "")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/xml") {
		t.Fatalf("status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var f feed
	if err := xml.Unmarshal(body, &f); err != nil {
		t.Fatalf("feed is not XML: %v\n%s", err, body)
	}
	if f.Channel.Title != "Stories by Ann Lee on Medium" {
		t.Errorf("channel title %q", f.Channel.Title)
	}
	if len(f.Channel.Items) != mediumtest.FeedItems {
		t.Fatalf("%d items, want the newest %d", len(f.Channel.Items), mediumtest.FeedItems)
	}
	for i, it := range f.Channel.Items {
		want := ids[11-i] // newest first
		if it.GUID.Value != "https://medium.com/p/"+want || it.GUID.IsPermaLink != "false" {
			t.Errorf("item %d guid %+v, want https://medium.com/p/%s, isPermaLink false", i, it.GUID, want)
		}
		if !strings.Contains(it.Link, "-"+want+"?source=rss-") {
			t.Errorf("item %d link %q does not end in the story id and Medium's source query", i, it.Link)
		}
		if d, err := time.Parse(time.RFC1123, it.PubDate); err != nil || !d.Equal(t0.Add(time.Duration(11-i)*time.Hour)) {
			t.Errorf("item %d pubDate %q (%v)", i, it.PubDate, err)
		}
		if it.Creator != "Ann Lee" || !slices.Equal(it.Categories, []string{"go", "cdata]]>"}) || it.Content != "<p>body ]]> end</p>" {
			t.Errorf("item %d: creator %q, categories %q, content %q", i, it.Creator, it.Categories, it.Content)
		}
		if want := fmt.Sprintf("Story %d & <more>", 11-i); it.Title != want {
			t.Errorf("item %d title %q, want %q", i, it.Title, want)
		}
	}
	_, body = get(t, s, "/feed/gophers", "")
	f = feed{}
	if err := xml.Unmarshal(body, &f); err != nil || len(f.Channel.Items) != 6 || !strings.HasPrefix(f.Channel.Items[0].Link, "https://medium.com/gophers/story-10-more-") {
		t.Errorf("publication feed: %v, %d items, first link %v", err, len(f.Channel.Items), f.Channel.Items)
	}
	for _, path := range []string{"/feed/@nobody", "/feed/no-such-publication"} {
		if res, _ := get(t, s, path, ""); res.StatusCode != 404 {
			t.Errorf("%s: status %d, want 404", path, res.StatusCode)
		}
	}
}

type responsesPage struct {
	Data []struct {
		ID             string `json:"id"`
		PostID         string `json:"postId"`
		InResponseToID string `json:"inResponseToId"`
		CreatorID      string `json:"creatorId"`
		Creator        struct {
			Username string `json:"username"`
		} `json:"creator"`
		Content   string `json:"content"`
		CreatedAt int64  `json:"createdAt"`
		UpdatedAt int64  `json:"updatedAt"`
		URL       string `json:"url"`
	} `json:"data"`
	Paging struct {
		Next string `json:"next"`
	} `json:"paging"`
}

func TestResponsesAPI(t *testing.T) {
	s := start(t, mediumtest.Options{AccessToken: token})
	a := s.Publish(mediumtest.Article{Title: "A", Author: "ann", PublishedAt: t0})
	var want []string // newest first
	for i := range 5 {
		r := s.Respond(mediumtest.Response{PostID: a.ID, Author: "bob", Text: "r" + strconv.Itoa(i), CreatedAt: t0.Add(time.Duration(i) * time.Second)})
		want = append([]string{r.ID}, want...)
	}
	// Two at the same millisecond: ordered by id, descending.
	x := s.Respond(mediumtest.Response{PostID: a.ID, Author: "cat", Text: "same", CreatedAt: t0.Add(10 * time.Second)})
	y := s.Respond(mediumtest.Response{PostID: a.ID, Author: "dan", Text: "same", CreatedAt: t0.Add(10 * time.Second), InResponseTo: x.ID})
	same := []string{x.ID, y.ID}
	slices.Sort(same)
	want = append([]string{same[1], same[0]}, want...)

	var all []string
	next := ""
	for range 10 {
		path := "/v1/posts/" + a.ID + "/responses?limit=3"
		if next != "" {
			path += "&page=" + next
		}
		res, body := get(t, s, path, token)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, res.StatusCode, body)
		}
		var p responsesPage
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		for _, d := range p.Data {
			all = append(all, d.ID)
			if d.PostID != a.ID || d.CreatedAt == 0 || d.UpdatedAt < d.CreatedAt || d.CreatorID == "" || d.URL != "https://medium.com/@"+d.Creator.Username+"/"+d.ID {
				t.Errorf("response %+v", d)
			}
			if d.ID == y.ID && d.InResponseToID != x.ID || d.ID != y.ID && d.InResponseToID != a.ID {
				t.Errorf("response %s inResponseToId %q", d.ID, d.InResponseToID)
			}
		}
		if next = p.Paging.Next; next == "" {
			break
		}
	}
	if !slices.Equal(all, want) {
		t.Errorf("paged through %q, want newest first %q", all, want)
	}

	// since keeps what was created at or after it.
	_, body := get(t, s, fmt.Sprintf("/v1/posts/%s/responses?since=%d", a.ID, t0.Add(3*time.Second).UnixMilli()), token)
	var p responsesPage
	json.Unmarshal(body, &p)
	if len(p.Data) != 4 || p.Paging.Next != "" {
		t.Errorf("since: %d responses, next %q; want 4 and no next page", len(p.Data), p.Paging.Next)
	}

	for _, c := range []struct {
		path, tok string
		status    int
	}{
		{"/v1/posts/" + a.ID + "/responses", "", 401},
		{"/v1/posts/" + a.ID + "/responses", "wrong", 401},
		{"/v1/posts/nope/responses", token, 404},
		{"/v1/posts/" + a.ID + "/responses?limit=0", token, 400},
		{"/v1/posts/" + a.ID + "/responses?limit=101", token, 400},
		{"/v1/posts/" + a.ID + "/responses?since=x", token, 400},
		{"/v1/posts/" + a.ID + "/responses?page=!!", token, 400},
	} {
		res, body := get(t, s, c.path, c.tok)
		var e struct {
			Errors []struct{ Message string } `json:"errors"`
		}
		if res.StatusCode != c.status || json.Unmarshal(body, &e) != nil || len(e.Errors) != 1 || e.Errors[0].Message == "" {
			t.Errorf("%s (token %q): %d %s, want %d with an error message", c.path, c.tok, res.StatusCode, body, c.status)
		}
	}
	reqs := s.Requests()
	if reqs[len(reqs)-1].Authorized != true || reqs[len(reqs)-7].Authorized != false {
		t.Errorf("requests do not record authorization: %+v", reqs[len(reqs)-7:])
	}

	// Edits and deletions show.
	s.Edit(x.ID, "edited")
	s.Delete(y.ID)
	_, body = get(t, s, "/v1/posts/"+a.ID+"/responses?limit=1", token)
	p = responsesPage{}
	json.Unmarshal(body, &p)
	if len(p.Data) != 1 || p.Data[0].ID != x.ID || p.Data[0].Content != "edited" || p.Data[0].UpdatedAt <= p.Data[0].CreatedAt {
		t.Errorf("after edit and delete: %+v", p.Data)
	}
}

func TestArticlesAPI(t *testing.T) {
	s := start(t, mediumtest.Options{AccessToken: token})
	u := s.AddUser(mediumtest.User{Username: "ann"})
	a := s.Publish(mediumtest.Article{Title: "One", Author: "ann", PublishedAt: t0, Categories: []string{"go"}})
	b := s.Publish(mediumtest.Article{Title: "Two", Author: "ann", Publication: "gophers", PublishedAt: t0.Add(time.Hour)})
	type art struct {
		ID, Title, AuthorID, PublicationID, URL, PublishStatus string
		PublishedAt                                            int64
		Tags                                                   []string
	}
	for _, c := range []struct {
		path string
		want []string
	}{
		{"/v1/users/" + u.ID + "/articles", []string{b.ID, a.ID}},
		{"/v1/users/@ann/articles", []string{b.ID, a.ID}},
		{"/v1/publications/gophers/posts", []string{b.ID}},
	} {
		res, body := get(t, s, c.path, token)
		var p struct{ Data []art }
		if res.StatusCode != 200 || json.Unmarshal(body, &p) != nil {
			t.Fatalf("%s: %d %s", c.path, res.StatusCode, body)
		}
		var got []string
		for _, d := range p.Data {
			got = append(got, d.ID)
			if d.AuthorID != u.ID || d.PublishStatus != "public" || d.PublishedAt == 0 || d.Tags == nil || !strings.HasSuffix(d.URL, d.ID) {
				t.Errorf("%s: article %+v", c.path, d)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.path, got, c.want)
		}
	}
	for _, path := range []string{"/v1/users/@nobody/articles", "/v1/publications/none/posts"} {
		if res, _ := get(t, s, path, token); res.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", path, res.StatusCode)
		}
	}
}

func TestRateLimit(t *testing.T) {
	clk := &clock{now: t0}
	s := start(t, mediumtest.Options{RateLimit: 3, RateWindow: time.Minute, Now: clk.Now})
	a := s.Publish(mediumtest.Article{Title: "A", Author: "ann"})
	path := "/v1/posts/" + a.ID + "/responses"
	reset := strconv.FormatInt(t0.Add(time.Minute).Unix(), 10)
	for i, want := range []struct {
		status    int
		remaining string
	}{{200, "2"}, {200, "1"}, {200, "0"}, {429, "0"}} {
		res, _ := get(t, s, path, "")
		h := res.Header
		if res.StatusCode != want.status || h.Get("X-RateLimit-Limit") != "3" || h.Get("X-RateLimit-Remaining") != want.remaining || h.Get("X-RateLimit-Reset") != reset {
			t.Errorf("request %d: %d, headers %v; want %d with %s remaining, reset %s", i, res.StatusCode, h, want.status, want.remaining, reset)
		}
		if want.status == 429 && h.Get("Retry-After") != "60" {
			t.Errorf("429 Retry-After %q, want 60", h.Get("Retry-After"))
		}
	}
	// Feeds are not limited.
	if res, _ := get(t, s, "/feed/@ann", ""); res.StatusCode != 200 {
		t.Errorf("feed while limited: %d", res.StatusCode)
	}
	clk.Add(time.Minute)
	if res, _ := get(t, s, path, ""); res.StatusCode != 200 || res.Header.Get("X-RateLimit-Remaining") != "2" {
		t.Errorf("after the window: %d, remaining %s", res.StatusCode, res.Header.Get("X-RateLimit-Remaining"))
	}
	s.SetRemaining(0)
	if res, _ := get(t, s, path, ""); res.StatusCode != 429 {
		t.Errorf("after SetRemaining(0): %d", res.StatusCode)
	}
	if !s.RateReset().Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("RateReset %v", s.RateReset())
	}
}

func TestFaults(t *testing.T) {
	s := start(t, mediumtest.Options{})
	a := s.Publish(mediumtest.Article{Title: "A", Author: "ann"})
	s.Respond(mediumtest.Response{PostID: a.ID, Author: "bob", Text: "hi"})
	path := "/v1/posts/" + a.ID + "/responses"

	s.InjectFault(mediumtest.Fault{Path: path, Status: 503, Times: 2})
	for i, want := range []int{503, 503, 200} {
		if res, _ := get(t, s, path, ""); res.StatusCode != want {
			t.Errorf("request %d: %d, want %d", i, res.StatusCode, want)
		}
	}

	s.InjectFault(mediumtest.Fault{Path: "/v1/", RateLimited: true, Times: 1})
	if res, _ := get(t, s, path, ""); res.StatusCode != 429 || res.Header.Get("Retry-After") == "" || res.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("rate-limited fault: %d %v", res.StatusCode, res.Header)
	}

	s.InjectFault(mediumtest.Fault{Path: path, Truncate: true})
	res, body := get(t, s, path, "")
	if res.StatusCode != 200 || json.Valid(body) || len(body) == 0 {
		t.Errorf("truncated: %d %q, want 200 and half a JSON document", res.StatusCode, body)
	}
	s.InjectFault(mediumtest.Fault{Path: "/feed/", Truncate: true})
	if _, body := get(t, s, "/feed/@ann", ""); xml.Unmarshal(body, &feed{}) == nil {
		t.Errorf("truncated feed parses: %q", body)
	}
	s.ClearFaults()

	// A slow answer: the client gives up first.
	s.InjectFault(mediumtest.Fault{Path: path, Delay: time.Hour})
	c := &http.Client{Timeout: 50 * time.Millisecond}
	if _, err := c.Get(s.URL + path); err == nil {
		t.Errorf("an hour's delay answered before the client's timeout")
	}
	s.ClearFaults()
	if res, _ := get(t, s, path, ""); res.StatusCode != 200 {
		t.Errorf("after ClearFaults: %d", res.StatusCode)
	}
}

func TestWebhooks(t *testing.T) {
	type got struct {
		sig  string
		body []byte
	}
	ch := make(chan got, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ch <- got{r.Header.Get("X-Medium-Signature"), body}
		w.WriteHeader(202)
	}))
	defer hook.Close()
	s := start(t, mediumtest.Options{})
	a := s.Publish(mediumtest.Article{Title: "A", Author: "ann"})
	s.Respond(mediumtest.Response{PostID: a.ID, Author: "bob", Text: "before the hook"})
	s.SetWebhook(hook.URL, "sekrit")
	r := s.Respond(mediumtest.Response{PostID: a.ID, Author: "bob", Text: "hello"})
	s.Edit(r.ID, "hello, edited")
	s.Delete(r.ID)
	for _, typ := range []string{"response.created", "response.updated", "response.deleted"} {
		g := <-ch
		var e struct {
			Type string
			Data struct{ ID, Content string }
		}
		if err := json.Unmarshal(g.body, &e); err != nil || e.Type != typ || e.Data.ID != r.ID {
			t.Errorf("delivery %s: %v %s", typ, err, g.body)
		}
		if g.sig != mediumtest.Sign([]byte("sekrit"), g.body) || len(g.sig) != 64 {
			t.Errorf("delivery %s: signature %q", typ, g.sig)
		}
	}
	ds := s.Deliveries()
	if len(ds) != 3 || ds[0].Status != 202 || ds[0].Err != nil || ds[1].Type != "response.updated" {
		t.Errorf("Deliveries: %+v", ds)
	}
	s.SetWebhook("", "")
	s.Respond(mediumtest.Response{PostID: a.ID, Author: "bob", Text: "after"})
	if len(s.Deliveries()) != 3 || len(ch) != 0 {
		t.Errorf("delivered with no webhook set")
	}
}

// TestRateLimitedFaultCountsOnlyWhatItLimits: a rate_limited fault with
// Times is not used up by requests it does not rate-limit (the feeds, a
// request without the token).
func TestRateLimitedFaultCountsOnlyWhatItLimits(t *testing.T) {
	s := start(t, mediumtest.Options{AccessToken: token})
	a := s.Publish(mediumtest.Article{Title: "A", Author: "ann"})
	path := "/v1/posts/" + a.ID + "/responses"
	s.InjectFault(mediumtest.Fault{RateLimited: true, Times: 1})
	for i, step := range []struct {
		path, tok string
		want      int
	}{
		{"/feed/@ann", "", 200},
		{"/feed/@ann", "", 200},
		{path, "", 401},
		{path, token, 429},
		{path, token, 200},
	} {
		if res, _ := get(t, s, step.path, step.tok); res.StatusCode != step.want {
			t.Errorf("request %d, %s: %d, want %d", i, step.path, res.StatusCode, step.want)
		}
	}
	// A later fault is not hidden by a rate limit that does not apply.
	s.InjectFault(mediumtest.Fault{RateLimited: true})
	s.InjectFault(mediumtest.Fault{Path: "/feed/", Status: 503, Times: 1})
	if res, _ := get(t, s, "/feed/@ann", ""); res.StatusCode != 503 {
		t.Errorf("feed behind a rate_limited fault: %d, want the feed's 503", res.StatusCode)
	}
}

// TestWebhookRetries: a delivery not answered 2xx is sent again, the same
// bytes and signature, with a bounded number of retries, until it is
// taken; Close stops retries still waiting.
func TestWebhookRetries(t *testing.T) {
	tests := []struct {
		name    string
		retries int
		answers []int // the receiver's answers in turn; the last repeats
		want    []int // the statuses Deliveries records
	}{
		{"taken at the third attempt", 4, []int{503, 502, 204}, []int{503, 502, 204}},
		{"never taken: bounded", 3, []int{500}, []int{500, 500, 500, 500}},
		{"taken at once: no retry", 3, []int{200}, []int{200}},
		{"retries off", -1, []int{503}, []int{503}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var bodies, sigs []string
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				mu.Lock()
				n := len(bodies)
				bodies, sigs = append(bodies, string(body)), append(sigs, r.Header.Get("X-Medium-Signature"))
				mu.Unlock()
				w.WriteHeader(tc.answers[min(n, len(tc.answers)-1)])
			}))
			defer hook.Close()
			s := mediumtest.NewServer(mediumtest.Options{WebhookRetries: tc.retries, WebhookBackoff: time.Microsecond})
			a := s.Publish(mediumtest.Article{Title: "A", Author: "ann"})
			s.SetWebhook(hook.URL, "sekrit")
			r := s.Respond(mediumtest.Response{PostID: a.ID, Author: "bob", Text: "hi"})
			s.WaitDeliveries()
			defer s.Close()
			var got []int
			for i, d := range s.Deliveries() {
				got = append(got, d.Status)
				if d.Attempt != i+1 || d.Type != "response.created" || !strings.Contains(string(d.Body), r.ID) {
					t.Errorf("delivery %d: %+v", i, d)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("statuses %v, want %v", got, tc.want)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(bodies) != len(tc.want) {
				t.Errorf("the receiver got %d POSTs, want %d", len(bodies), len(tc.want))
			}
			for i := range bodies {
				if bodies[i] != bodies[0] || sigs[i] != mediumtest.Sign([]byte("sekrit"), []byte(bodies[0])) {
					t.Errorf("attempt %d is not the same signed delivery: %s %s", i+1, bodies[i], sigs[i])
				}
			}
		})
	}
}

// TestCloseStopsWebhookRetries: a retry still waiting when the fake closes
// is never sent.
func TestCloseStopsWebhookRetries(t *testing.T) {
	var mu sync.Mutex
	posts := 0
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		posts++
		mu.Unlock()
		w.WriteHeader(503)
	}))
	defer hook.Close()
	s := mediumtest.New(mediumtest.Options{WebhookBackoff: time.Hour})
	a := s.Publish(mediumtest.Article{Title: "A", Author: "ann"})
	s.SetWebhook(hook.URL, "sekrit")
	s.Respond(mediumtest.Response{PostID: a.ID, Author: "bob", Text: "hi"})
	s.Close() // returns at once: the hour's wait is abandoned
	s.Respond(mediumtest.Response{PostID: a.ID, Author: "bob", Text: "after Close"})
	mu.Lock()
	defer mu.Unlock()
	if n := len(s.Deliveries()); posts != 1 || n != 1 {
		t.Errorf("%d POSTs, %d deliveries recorded; want the first attempt only", posts, n)
	}
}

// TestRedeliver: an event is sent again byte for byte, as a sender that
// thinks it lost a delivery does; a response with no event sent cannot be.
func TestRedeliver(t *testing.T) {
	ch := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ch <- r.Header.Get("X-Medium-Signature") + " " + string(body)
	}))
	defer hook.Close()
	s := start(t, mediumtest.Options{})
	a := s.Publish(mediumtest.Article{Title: "A", Author: "ann"})
	before := s.Respond(mediumtest.Response{PostID: a.ID, Author: "bob", Text: "before the hook"})
	s.SetWebhook(hook.URL, "sekrit")
	r := s.Respond(mediumtest.Response{PostID: a.ID, Author: "bob", Text: "hello"})
	s.Edit(r.ID, "hello, edited")
	if !s.Redeliver(r.ID) {
		t.Fatal("Redeliver of a response with events: false")
	}
	created, updated, again := <-ch, <-ch, <-ch
	if again != updated || again == created || !strings.Contains(again, "response.updated") {
		t.Errorf("redelivered %q, want the last event %q", again, updated)
	}
	if s.Redeliver(before.ID) || s.Redeliver("nope") {
		t.Error("Redeliver of a response with no event sent: true")
	}
}

func TestNewServesThroughHandler(t *testing.T) {
	s := mediumtest.New(mediumtest.Options{})
	defer s.Close()
	a := s.Publish(mediumtest.Article{Title: "A", Author: "ann"})
	s.Respond(mediumtest.Response{PostID: a.ID, Author: "bob", Text: "hi"})
	mux := http.NewServeMux()
	mux.Handle("/", s.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/v1/posts/" + a.ID + "/responses")
	if err != nil {
		t.Fatal(err)
	}
	var p responsesPage
	json.NewDecoder(res.Body).Decode(&p)
	res.Body.Close()
	if res.StatusCode != 200 || len(p.Data) != 1 || s.URL != "" {
		t.Errorf("%d, %d responses, URL %q", res.StatusCode, len(p.Data), s.URL)
	}
}
