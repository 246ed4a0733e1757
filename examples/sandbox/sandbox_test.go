package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/plugins/medium/mediumtest"
	"github.com/moderatorbot/moderator/plugins/twitter/twittertest"
)

func newSandbox(t *testing.T, cfg Config) (*Sandbox, *httptest.Server) {
	t.Helper()
	sb, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	return sb, srv
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
