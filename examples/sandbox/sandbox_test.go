package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/plugins/medium/mediumtest"
	"github.com/moderatorbot/moderator/plugins/twitter/twittertest"
)

func newSandbox(t *testing.T, cfg Config) (*Sandbox, *httptest.Server) {
	t.Helper()
	sb, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	return sb, srv
}

// do makes a request to the sandbox and returns its status, body and Allow.
func do(t *testing.T, method, u, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header.Get("Allow")
}

// clock is a settable clock for Config.Now.
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

func get(t *testing.T, u, token string, into any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if into != nil && res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatalf("GET %s: %v in %s", u, err, body)
		}
	}
	return res.StatusCode
}

// The comments the sandbox writes are on the platforms, where a connector
// finds them: X's recent search and Medium's responses API, behind the one
// address; and GET /_sandbox/comments says what is true of each.
func TestCommentsReachBothPlatforms(t *testing.T) {
	sb, srv := newSandbox(t, Config{Seed: 7})
	kinds := map[string]int{}
	for range 200 {
		p := sb.Step(context.Background())
		kinds[p.Platform+"/"+p.Kind]++
	}
	if kinds["twitter/new"] < 50 || kinds["medium/new"] < 50 || kinds["medium/edit"] == 0 {
		t.Errorf("comments written: %v; want many on each platform and some edits", kinds)
	}
	var published []Published
	get(t, srv.URL+"/_sandbox/comments", "", &published)
	if len(published) != 200 {
		t.Fatalf("/_sandbox/comments lists %d, want 200", len(published))
	}
	labelled := 0
	for _, p := range published {
		if len(p.Labels) > 0 {
			labelled++
		}
	}
	if labelled < 20 || labelled > 120 {
		t.Errorf("%d of 200 comments are labelled: want a realistic mix", labelled)
	}
	// The first X reply, found by the search a connector makes.
	var first Published
	for _, p := range published {
		if p.Platform == "twitter" {
			first = p
			break
		}
	}
	var search struct {
		Data []struct{ ID, Text string } `json:"data"`
	}
	q := url.Values{"query": {"conversation_id:" + first.PostID}, "max_results": {"100"}}
	if code := get(t, srv.URL+"/2/tweets/search/recent?"+q.Encode(), twittertest.DefaultBearerToken, &search); code != http.StatusOK {
		t.Fatalf("search: %d", code)
	}
	found := false
	for _, d := range search.Data {
		found = found || (d.ID == first.CommentID && d.Text == first.Text)
	}
	if !found {
		t.Errorf("X reply %s not in its conversation's search: %+v", first.CommentID, search.Data)
	}
	// A Medium response, through the JSON API and its token.
	var firstMedium Published
	for _, p := range published {
		if p.Platform == "medium" && p.Kind == "new" {
			firstMedium = p
			break
		}
	}
	var responses struct {
		Data []struct{ ID string } `json:"data"`
	}
	if code := get(t, srv.URL+"/v1/posts/"+firstMedium.PostID+"/responses", DefaultMediumToken, &responses); code != http.StatusOK {
		t.Fatalf("responses: %d", code)
	}
	if !strings.Contains(strings.Join(func() []string {
		var ids []string
		for _, d := range responses.Data {
			ids = append(ids, d.ID)
		}
		return ids
	}(), ","), firstMedium.CommentID) {
		t.Errorf("Medium response %s not in its story's responses", firstMedium.CommentID)
	}
	if code := get(t, srv.URL+"/feed/"+MediumAuthor, "", nil); code != http.StatusOK {
		t.Errorf("the writer's feed: %d", code)
	}
	if code := get(t, srv.URL+"/_sandbox/nothing", "", nil); code != http.StatusNotFound {
		t.Errorf("unknown sandbox endpoint: %d", code)
	}
}

// The same seed writes the same comments.
func TestSeedRepeats(t *testing.T) {
	texts := func() []string {
		sb, _ := newSandbox(t, Config{Seed: 3})
		var out []string
		for range 30 {
			p := sb.Step(context.Background())
			out = append(out, p.Platform+":"+p.Sample)
		}
		return out
	}
	if a, b := texts(), texts(); strings.Join(a, "|") != strings.Join(b, "|") {
		t.Errorf("seed 3 wrote %v, then %v", a, b)
	}
}

// Webhooks: every new X reply is delivered, signed, to the Account Activity
// URL, and Medium's events to its own.
func TestWebhookDeliveries(t *testing.T) {
	got := make(chan string, 100)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.Header.Get(twittertest.SignatureHeader) == twittertest.Sign(twittertest.DefaultConsumerSecret, body):
			got <- "twitter"
		case r.Header.Get("X-Medium-Signature") == mediumtest.Sign([]byte("a-secret-of-16-bytes"), body):
			got <- "medium"
		default:
			got <- "unsigned"
		}
	}))
	defer hook.Close()
	sb, _ := newSandbox(t, Config{Seed: 5, TwitterWebhook: hook.URL + "/x", MediumWebhook: hook.URL + "/medium", MediumWebhookSecret: "a-secret-of-16-bytes"})
	for range 40 {
		sb.Step(context.Background())
	}
	close(got)
	seen := map[string]int{}
	for g := range got {
		seen[g]++
	}
	if seen["twitter"] == 0 || seen["medium"] == 0 || seen["unsigned"] != 0 {
		t.Errorf("deliveries %v", seen)
	}
	if _, err := New(Config{MediumWebhook: hook.URL}); err == nil {
		t.Error("a Medium webhook without a secret was accepted")
	}
}

func TestFaults(t *testing.T) {
	sb, srv := newSandbox(t, Config{})
	post := func(body string) (int, string) {
		res, err := http.Post(srv.URL+"/_sandbox/faults", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	search := func() int {
		q := url.Values{"query": {"conversation_id:" + sb.twPosts[0]}}
		return get(t, srv.URL+"/2/tweets/search/recent?"+q.Encode(), twittertest.DefaultBearerToken, nil)
	}
	responses := func() int {
		return get(t, srv.URL+"/v1/posts/"+sb.mdPosts[0]+"/responses", DefaultMediumToken, nil)
	}
	tests := []struct {
		body  string
		check func() int
		want  int
	}{
		{`{"platform":"twitter","fault":"server_error","times":1}`, search, http.StatusServiceUnavailable},
		{`{"platform":"twitter","fault":"rate_limit"}`, search, http.StatusTooManyRequests},
		{`{"clear":true}`, search, http.StatusOK},
		{`{"platform":"twitter","fault":"usage_cap"}`, search, http.StatusTooManyRequests},
		{`{"platform":"twitter","clear":true}`, search, http.StatusOK},
		{`{"platform":"medium","fault":"rate_limit","times":1}`, responses, http.StatusTooManyRequests},
		{`{"platform":"medium","fault":"server_error"}`, responses, http.StatusServiceUnavailable},
		{`{"platform":"medium","clear":true}`, responses, http.StatusOK},
	}
	for _, tt := range tests {
		if code, body := post(tt.body); code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", tt.body, code, body)
		}
		if got := tt.check(); got != tt.want {
			t.Errorf("after %s: %d, want %d", tt.body, got, tt.want)
		}
	}
	for body, want := range map[string]string{
		`{"platform":"twitter","fault":"nope"}`:               "want one of rate_limit",
		`{"platform":"medium","fault":"usage_cap"}`:           "Medium has none",
		`{"platform":"myspace","fault":"timeout"}`:            `want \"twitter\" or`,
		`{"platform":"twitter","fault":"timeout","x":1}`:      "unknown field",
		`{"platform":"twitter","fault":"timeout","times":-1}`: "times -1",
		`not json`: "body:",
	} {
		if code, got := post(body); code != http.StatusBadRequest || !strings.Contains(got, want) {
			t.Errorf("POST %s: %d %s; want 400 with %q", body, code, got, want)
		}
	}
}

// TestMediumRateLimitLiftsAtTheReset: Medium's rate_limit without times is
// a spent window, 429 with the Retry-After of its reset, and it lifts at
// that reset, as the 429 said; with times it is that many 429s.
func TestMediumRateLimitLiftsAtTheReset(t *testing.T) {
	clk := &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	sb, srv := newSandbox(t, Config{Now: clk.Now})
	responses := func() (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/posts/"+sb.mdPosts[0]+"/responses", nil)
		req.Header.Set("Authorization", "Bearer "+DefaultMediumToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, res.Header.Get("Retry-After")
	}
	if code, body, _ := do(t, http.MethodPost, srv.URL+"/_sandbox/faults", `{"platform":"medium","fault":"rate_limit"}`); code != http.StatusOK {
		t.Fatalf("rate_limit: %d %s", code, body)
	}
	code, after := responses()
	secs, _ := strconv.Atoi(after)
	if code != http.StatusTooManyRequests || secs < 1 || secs > 15*60 {
		t.Fatalf("while limited: %d, Retry-After %q", code, after)
	}
	clk.Add(time.Duration(secs-1) * time.Second)
	if code, _ := responses(); code != http.StatusTooManyRequests {
		t.Errorf("a second before the reset: %d, want 429", code)
	}
	clk.Add(time.Second)
	if code, _ := responses(); code != http.StatusOK {
		t.Errorf("at the reset Retry-After gave: %d, want 200: the limit lifts", code)
	}

	do(t, http.MethodPost, srv.URL+"/_sandbox/faults", `{"platform":"medium","fault":"rate_limit","times":2}`)
	var got []int
	for range 3 {
		code, _ := responses()
		got = append(got, code)
	}
	if !slices.Equal(got, []int{429, 429, 200}) {
		t.Errorf("rate_limit times 2: %v", got)
	}
}

// TestFaultRequests: what the fault switch refuses (400, saying why, and
// changing nothing), that a fault replaces the platform's previous one,
// and 405 for a known endpoint asked with the wrong method.
func TestFaultRequests(t *testing.T) {
	sb, srv := newSandbox(t, Config{})
	post := func(body string) (int, string) {
		code, b, _ := do(t, http.MethodPost, srv.URL+"/_sandbox/faults", body)
		return code, b
	}
	for body, want := range map[string]string{
		`{"platform":"twitter","fault":"rate_limit","times":2}`:                                      "twitter's rate_limit takes none (times is for server_error, timeout and truncated, and for Medium's rate_limit)",
		`{"platform":"twitter","fault":"usage_cap","times":1}`:                                       "twitter's usage_cap takes none",
		`{"platform":"twitter","fault":"disconnect","times":1}`:                                      "twitter's disconnect takes none",
		`{"clear":true,"times":3}`:                                                                   "clear takes none",
		`{"platform":"medium","clear":true,"times":1}`:                                               "clear takes none",
		`{"platform":"medium","fault":"server_error"} {"platform":"twitter","fault":"server_error"}`: "more after the JSON object",
		`{"clear":true}xyz`: "more after the JSON object",
	} {
		if code, got := post(body); code != http.StatusBadRequest || !strings.Contains(got, want) {
			t.Errorf("POST %s: %d %s; want 400 with %q", body, code, got, want)
		}
	}
	// Nothing refused above took effect.
	search := func() int {
		q := url.Values{"query": {"conversation_id:" + sb.twPosts[0]}}
		return get(t, srv.URL+"/2/tweets/search/recent?"+q.Encode(), twittertest.DefaultBearerToken, nil)
	}
	responses := func() int {
		return get(t, srv.URL+"/v1/posts/"+sb.mdPosts[0]+"/responses", DefaultMediumToken, nil)
	}
	if a, b := search(), responses(); a != 200 || b != 200 {
		t.Fatalf("after refused requests: X %d, Medium %d", a, b)
	}

	// A fault replaces the platform's previous one, even an unlimited one.
	steps := []struct {
		body  string
		check func() int
		want  []int
	}{
		{`{"platform":"twitter","fault":"server_error"}`, search, []int{503}},
		{`{"platform":"twitter","fault":"server_error","times":1}`, search, []int{503, 200}},
		{`{"platform":"twitter","fault":"usage_cap"}`, search, []int{429}},
		{`{"platform":"twitter","fault":"server_error","times":1}`, search, []int{503, 200}},
		{`{"platform":"medium","fault":"server_error"}`, responses, []int{503}},
		{`{"platform":"medium","fault":"server_error","times":1}`, responses, []int{503, 200}},
		{`{"platform":"medium","fault":"rate_limit"}`, responses, []int{429}},
		{`{"platform":"medium","fault":"server_error","times":2}`, responses, []int{503, 503, 200}},
		// A disconnect replaces nothing.
		{`{"platform":"twitter","fault":"server_error"}`, search, []int{503}},
		{`{"platform":"twitter","fault":"disconnect"}`, search, []int{503}},
	}
	for _, st := range steps {
		if code, body := post(st.body); code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", st.body, code, body)
		}
		var got []int
		for range st.want {
			got = append(got, st.check())
		}
		if !slices.Equal(got, st.want) {
			t.Errorf("after %s: %v, want %v", st.body, got, st.want)
		}
	}

	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodPost, "/_sandbox/actions", "GET, HEAD"},
		{http.MethodDelete, "/_sandbox/comments", "GET, HEAD"},
		{http.MethodGet, "/_sandbox/faults", "POST"},
	} {
		code, body, allow := do(t, tc.method, srv.URL+tc.path, "")
		if code != http.StatusMethodNotAllowed || allow != tc.allow || !strings.Contains(body, "takes "+tc.allow) {
			t.Errorf("%s %s: %d, Allow %q, %s; want 405 with Allow %q", tc.method, tc.path, code, allow, body, tc.allow)
		}
	}
	if code, _, _ := do(t, http.MethodGet, srv.URL+"/_sandbox/nothing", ""); code != http.StatusNotFound {
		t.Errorf("unknown endpoint: %d, want 404", code)
	}
}

// TestMediumCommentsOnlyOnFeedStories: with more posts than Medium's feed
// lists, every Medium comment is on a story the feed lists, where the
// connector discovers it.
func TestMediumCommentsOnlyOnFeedStories(t *testing.T) {
	sb, srv := newSandbox(t, Config{Seed: 9, Posts: 15})
	res, err := http.Get(srv.URL + "/feed/" + MediumAuthor)
	if err != nil {
		t.Fatal(err)
	}
	feed, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if n := strings.Count(string(feed), "<item>"); n != mediumtest.FeedItems {
		t.Fatalf("the feed lists %d stories, want %d", n, mediumtest.FeedItems)
	}
	medium := 0
	for range 100 {
		p := sb.Step(context.Background())
		if p.Platform != "medium" {
			continue
		}
		medium++
		if !strings.Contains(string(feed), mediumtest.PublicURL+"/p/"+p.PostID) {
			t.Errorf("Medium comment %s is on story %s, which the feed does not list", p.CommentID, p.PostID)
		}
	}
	if medium < 20 {
		t.Errorf("%d Medium comments in 100", medium)
	}
}

// TestMediumRedelivery: with a Medium webhook, the sandbox now and then
// delivers a Medium event again, byte for byte, as senders do; and a
// delivery the daemon did not take is retried.
func TestMediumRedelivery(t *testing.T) {
	var mu sync.Mutex
	bodies := map[string]int{}
	refuse := 2 // the daemon is restarting: the first deliveries are refused
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if refuse > 0 {
			refuse--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		bodies[string(body)]++
	}))
	defer hook.Close()
	sb, err := New(Config{Seed: 11, MediumWebhook: hook.URL, MediumWebhookSecret: "a-secret-of-16-bytes", MediumWebhookBackoff: time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	var published []Published
	for range 300 {
		published = append(published, sb.Step(context.Background()))
	}
	sb.md.WaitDeliveries()
	sb.Close()
	mu.Lock()
	defer mu.Unlock()
	redelivered, taken := 0, 0
	for _, p := range published {
		if p.Platform == "medium" {
			taken++
		}
		if p.Platform == "medium" && p.Kind == "redelivery" {
			redelivered++
		}
	}
	twice := 0
	for _, n := range bodies {
		if n >= 2 {
			twice++
		}
	}
	if redelivered == 0 || twice == 0 {
		t.Errorf("%d Medium redeliveries written, %d event bodies received twice; want some", redelivered, twice)
	}
	total := 0
	for _, n := range bodies {
		total += n
	}
	// Every Medium comment written, redeliveries included, reached the
	// hook, the two refused at first too.
	if total != taken {
		t.Errorf("the hook took %d Medium deliveries, the sandbox wrote %d", total, taken)
	}
}
