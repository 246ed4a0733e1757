package twittertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dghubble/oauth1"
)

// TestSignatureDocumentedExamples checks the verifier's signing against the
// worked examples of X's "Creating a signature" page and RFC 5849 1.2.
func TestSignatureDocumentedExamples(t *testing.T) {
	tests := []struct {
		name, method, baseURL       string
		query, form                 url.Values
		oauth                       map[string]string
		consumerSecret, tokenSecret string
		want                        string
	}{
		{
			name: "x_docs", method: "POST", baseURL: "https://api.twitter.com/1.1/statuses/update.json",
			query: url.Values{"include_entities": {"true"}},
			form:  url.Values{"status": {"Hello Ladies + Gentlemen, a signed OAuth request!"}},
			oauth: map[string]string{
				"oauth_consumer_key": "xvz1evFS4wEEPTGEFPHBog", "oauth_nonce": "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
				"oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": "1318622958",
				"oauth_token": "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", "oauth_version": "1.0",
			},
			consumerSecret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw", tokenSecret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
			want: "hCtSmYh+iHYCEqBWrE7C7hYmtUk=",
		},
		{
			name: "rfc5849_1.2", method: "GET", baseURL: "http://photos.example.net/photos",
			query: url.Values{"file": {"vacation.jpg"}, "size": {"original"}},
			oauth: map[string]string{
				"realm": "Photos", "oauth_consumer_key": "dpf43f3p2l4k3l03", "oauth_token": "nnch734d00sl2jdk",
				"oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": "137131202", "oauth_nonce": "chapoH",
			},
			consumerSecret: "kd94hf93k423kf44", tokenSecret: "pfkkdhi9sl3r4s00",
			want: "MdpQcU8iPSUjWoN/UDMsK2sui9I=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := signatureBaseString(tt.method, tt.baseURL, tt.query, tt.oauth, tt.form)
			if got := hmacSHA1(tt.consumerSecret, tt.tokenSecret, base); got != tt.want {
				t.Errorf("signature %q, want %q (base string %q)", got, tt.want, base)
			}
		})
	}
}

func get(t *testing.T, srv *Server, path string, q url.Values, auth string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path+"?"+q.Encode(), nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return do(t, http.DefaultClient, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) (int, http.Header, map[string]any) {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", req.Method, req.URL.Path, body, err)
	}
	return res.StatusCode, res.Header, m
}

const bearer = "Bearer " + DefaultBearerToken

func TestSearchRefusesBadParameters(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Close()
	long := "conversation_id:1" + strings.Repeat(" OR conversation_id:1234567890123456789", 13)
	tests := []struct {
		name string
		q    url.Values
	}{
		{"max_results_low", url.Values{"query": {"conversation_id:1"}, "max_results": {"9"}}},
		{"max_results_high", url.Values{"query": {"conversation_id:1"}, "max_results": {"101"}}},
		{"max_results_text", url.Values{"query": {"conversation_id:1"}, "max_results": {"ten"}}},
		{"no_query", url.Values{}},
		{"empty_query", url.Values{"query": {" "}}},
		{"too_long", url.Values{"query": {long}}},
		{"trailing_or", url.Values{"query": {"conversation_id:1 OR"}}},
		{"leading_or", url.Values{"query": {"OR conversation_id:1"}}},
		{"double_or", url.Values{"query": {"conversation_id:1 OR OR conversation_id:2"}}},
		{"unbalanced", url.Values{"query": {"(conversation_id:1 OR conversation_id:2"}}},
		{"not_an_id", url.Values{"query": {"conversation_id:abc"}}},
		{"other_operator", url.Values{"query": {"from:someone"}}},
		{"bare_word", url.Values{"query": {"hello"}}},
		{"unknown_param", url.Values{"query": {"conversation_id:1"}, "colour": {"red"}}},
		{"unknown_field", url.Values{"query": {"conversation_id:1"}, "tweet.fields": {"created_at,mood"}}},
		{"bad_since_id", url.Values{"query": {"conversation_id:1"}, "since_id": {"-3"}}},
		{"bad_next_token", url.Values{"query": {"conversation_id:1"}, "next_token": {"nonsense"}}},
	}
	if len(long) <= 512 {
		t.Fatalf("the long query is only %d characters", len(long))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := get(t, srv, "/2/tweets/search/recent", tt.q, bearer)
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %v", status, body)
			}
			if errs, _ := body["errors"].([]any); len(errs) == 0 || body["title"] != "Invalid Request" {
				t.Errorf("body %v is not X's invalid-request shape", body)
			}
		})
	}
	// The same parameters, well formed, are accepted.
	ok := url.Values{"query": {"(conversation_id:1 OR conversation_id:2) OR conversation_id:3"}, "max_results": {"10"}, "tweet.fields": {"created_at"}}
	if status, _, body := get(t, srv, "/2/tweets/search/recent", ok, bearer); status != 200 {
		t.Errorf("a good query answered %d %v", status, body)
	}
}

// X refuses a since_id older than recent search's 7 days with a 400 that
// names the oldest id it would take; ids are snowflakes of the clock, so a
// tweet's id says when it was made.
func TestSearchSinceIDWithinSevenDays(t *testing.T) {
	clk := &clock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv := NewServer(Options{Now: clk.Now})
	defer srv.Close()
	root := srv.Post(srv.Owner().ID, "root")
	if got := IDTime(mustID(t, root.ID)); !got.Equal(clk.Now()) {
		t.Errorf("tweet made at %v has an id of %v", clk.Now(), got)
	}
	clk.Add(6 * 24 * time.Hour)
	recent := srv.Post(srv.Owner().ID, "recent")
	clk.Add(24*time.Hour + time.Minute)
	tests := []struct {
		name    string
		sinceID string
		status  int
	}{
		{"six_days_old", recent.ID, http.StatusOK},
		{"seven_days_and_a_minute_old", root.ID, http.StatusBadRequest},
		{"ancient", "7", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{"query": {"conversation_id:" + root.ID}, "since_id": {tt.sinceID}}
			status, _, body := get(t, srv, "/2/tweets/search/recent", q, bearer)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			if status == http.StatusOK {
				return
			}
			horizon := clk.Now().Add(-7 * 24 * time.Hour)
			want := fmt.Sprintf("'since_id' must be a tweet id created after %s. Please use a 'since_id' that is larger than %d", horizon.Format("2006-01-02T15:04Z"), Snowflake(horizon))
			errs, _ := body["errors"].([]any)
			if len(errs) != 1 || body["title"] != "Invalid Request" || errs[0].(map[string]any)["message"] != want {
				t.Errorf("body %v, want X's invalid-request with %q", body, want)
			}
		})
	}
}

func mustID(t *testing.T, id string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSearchAuth(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Close()
	q := url.Values{"query": {"conversation_id:1"}}
	for _, auth := range []string{"", "Bearer wrong", "Basic Zm9vOmJhcg=="} {
		if status, _, body := get(t, srv, "/2/tweets/search/recent", q, auth); status != http.StatusUnauthorized {
			t.Errorf("auth %q: status %d %v, want 401", auth, status, body)
		}
	}
}

func TestSearchPagesNewestFirst(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Close()
	fan := srv.AddUser("2", "fan")
	root := srv.Post(srv.Owner().ID, "a post")
	other := srv.Post(srv.Owner().ID, "another post")
	want := []string{root.ID}
	for i := range 25 {
		want = append(want, srv.Reply(fan.ID, root.ID, "reply "+strconv.Itoa(i)).ID)
		srv.Reply(fan.ID, other.ID, "elsewhere")
	}
	q := url.Values{"query": {"conversation_id:" + root.ID}, "max_results": {"10"}, "tweet.fields": {"conversation_id,author_id,referenced_tweets"}, "expansions": {"author_id"}}
	var got []string
	for page := 0; ; page++ {
		status, _, body := get(t, srv, "/2/tweets/search/recent", q, bearer)
		if status != 200 {
			t.Fatalf("page %d: %d %v", page, status, body)
		}
		meta := body["meta"].(map[string]any)
		data := body["data"].([]any)
		if int(meta["result_count"].(float64)) != len(data) {
			t.Errorf("result_count %v, %d tweets", meta["result_count"], len(data))
		}
		for _, d := range data {
			tw := d.(map[string]any)
			if tw["conversation_id"] != root.ID {
				t.Errorf("tweet %v is not in conversation %s", tw, root.ID)
			}
			got = append(got, tw["id"].(string))
		}
		if meta["newest_id"] != data[0].(map[string]any)["id"] || meta["oldest_id"] != data[len(data)-1].(map[string]any)["id"] {
			t.Errorf("meta %v does not match the page", meta)
		}
		users := body["includes"].(map[string]any)["users"].([]any)
		if len(users) == 0 {
			t.Errorf("no includes.users with expansions=author_id")
		}
		tok, _ := meta["next_token"].(string)
		if tok == "" {
			break
		}
		q.Set("next_token", tok)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d tweets over the pages, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[len(want)-1-i] {
			t.Fatalf("tweet %d is %s, want %s: not newest first", i, got[i], want[len(want)-1-i])
		}
	}
	// since_id leaves out the older ones.
	q = url.Values{"query": {"conversation_id:" + root.ID}, "since_id": {want[21]}}
	_, _, body := get(t, srv, "/2/tweets/search/recent", q, bearer)
	if n := body["meta"].(map[string]any)["result_count"].(float64); n != 4 {
		t.Errorf("since_id: %v tweets, want 4", n)
	}
}

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

func TestRateLimitWindow(t *testing.T) {
	clk := &clock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv := NewServer(Options{Now: clk.Now, Limits: map[string]int{EndpointSearch: 2}})
	defer srv.Close()
	q := url.Values{"query": {"conversation_id:1"}}
	wantReset := strconv.FormatInt(clk.Now().Add(15*time.Minute).Unix(), 10)
	for i, want := range []struct {
		status    int
		remaining string
	}{{200, "1"}, {200, "0"}, {429, "0"}} {
		status, h, _ := get(t, srv, "/2/tweets/search/recent", q, bearer)
		if status != want.status || h.Get("x-rate-limit-remaining") != want.remaining || h.Get("x-rate-limit-limit") != "2" || h.Get("x-rate-limit-reset") != wantReset {
			t.Errorf("request %d: %d, headers limit=%s remaining=%s reset=%s; want %d remaining=%s reset=%s", i+1, status,
				h.Get("x-rate-limit-limit"), h.Get("x-rate-limit-remaining"), h.Get("x-rate-limit-reset"), want.status, want.remaining, wantReset)
		}
	}
	clk.Add(15 * time.Minute)
	if status, h, _ := get(t, srv, "/2/tweets/search/recent", q, bearer); status != 200 || h.Get("x-rate-limit-remaining") != "1" {
		t.Errorf("after the reset: %d remaining=%s, want 200 remaining=1", status, h.Get("x-rate-limit-remaining"))
	}
}

func TestUsageCap(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Close()
	srv.SetUsageCapped(true)
	status, _, body := get(t, srv, "/2/tweets/search/recent", url.Values{"query": {"conversation_id:1"}}, bearer)
	if status != 429 || body["title"] != "UsageCapExceeded" || body["period"] != "Monthly" || body["type"] != "https://api.twitter.com/2/problems/usage-capped" {
		t.Errorf("usage cap: %d %v", status, body)
	}
}

func TestFaults(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Close()
	q := url.Values{"query": {"conversation_id:1"}}
	srv.SetFault(Fault{Endpoint: EndpointSearch, Status: 503, Times: 1})
	if status, _, _ := get(t, srv, "/2/tweets/search/recent", q, bearer); status != 503 {
		t.Errorf("injected 503: got %d", status)
	}
	if status, _, _ := get(t, srv, "/2/tweets/search/recent", q, bearer); status != 200 {
		t.Errorf("after a one-time fault: got %d", status)
	}
	srv.SetFault(Fault{Truncate: true, Times: 1})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/2/tweets/search/recent?"+q.Encode(), nil)
	req.Header.Set("Authorization", bearer)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if json.Valid(body) || len(body) == 0 {
		t.Errorf("truncated answer %q is valid JSON", body)
	}
	srv.SetFault(Fault{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/2/tweets/search/recent?"+q.Encode(), nil)
	req.Header.Set("Authorization", bearer)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Errorf("a request under a one-hour delay came back before its deadline")
	}
	srv.ClearFaults()
}

func userClient(consumerSecret, tokenSecret string) *http.Client {
	return oauth1.NewConfig(DefaultConsumerKey, consumerSecret).Client(oauth1.NoContext, oauth1.NewToken(DefaultAccessToken, tokenSecret))
}

func TestHideNeedsUserContextInOwnConversations(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Close()
	fan := srv.AddUser("2", "fan")
	own := srv.Post(srv.Owner().ID, "mine")
	reply := srv.Reply(fan.ID, own.ID, "hi")
	theirs := srv.Post(fan.ID, "theirs")
	replyThere := srv.Reply(fan.ID, theirs.ID, "hi")
	good := userClient(DefaultConsumerSecret, DefaultAccessTokenSecret)
	put := func(c *http.Client, id, body, auth string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/2/tweets/"+id+"/hidden", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		status, _, m := do(t, c, req)
		return status, m
	}
	tests := []struct {
		name   string
		client *http.Client
		auth   string
		id     string
		body   string
		status int
		hidden bool
	}{
		{"bearer", http.DefaultClient, bearer, reply.ID, `{"hidden":true}`, 403, false},
		{"unsigned", http.DefaultClient, "", reply.ID, `{"hidden":true}`, 401, false},
		{"wrong_consumer_secret", userClient("wrong", DefaultAccessTokenSecret), "", reply.ID, `{"hidden":true}`, 401, false},
		{"wrong_token_secret", userClient(DefaultConsumerSecret, "wrong"), "", reply.ID, `{"hidden":true}`, 401, false},
		{"bad_body", good, "", reply.ID, `{"hide":true}`, 400, false},
		{"other_conversation", good, "", replyThere.ID, `{"hidden":true}`, 403, false},
		{"root", good, "", own.ID, `{"hidden":true}`, 403, false},
		{"missing", good, "", "42", `{"hidden":true}`, 404, false},
		{"hide", good, "", reply.ID, `{"hidden":true}`, 200, true},
		{"hide_again", good, "", reply.ID, `{"hidden":true}`, 200, true},
		{"unhide", good, "", reply.ID, `{"hidden":false}`, 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := put(tt.client, tt.id, tt.body, tt.auth)
			if status != tt.status {
				t.Fatalf("status %d %v, want %d", status, body, tt.status)
			}
			if got := srv.Hidden(reply.ID); got != tt.hidden {
				t.Errorf("reply hidden=%v, want %v", got, tt.hidden)
			}
			if status == 200 && body["data"].(map[string]any)["hidden"] != tt.hidden {
				t.Errorf("answer %v", body)
			}
		})
	}
	if srv.Hidden(replyThere.ID) {
		t.Errorf("a reply in someone else's conversation was hidden")
	}
}

func TestDeleteOwnTweetsOnly(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Close()
	fan := srv.AddUser("2", "fan")
	own := srv.Post(srv.Owner().ID, "mine")
	mine := srv.Reply(srv.Owner().ID, own.ID, "my reply")
	theirs := srv.Reply(fan.ID, own.ID, "their reply")
	c := userClient(DefaultConsumerSecret, DefaultAccessTokenSecret)
	del := func(id string) int {
		req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/2/tweets/"+id, nil)
		status, _, _ := do(t, c, req)
		return status
	}
	if s := del(theirs.ID); s != 403 || srv.Deleted(theirs.ID) {
		t.Errorf("deleting someone else's reply: %d, deleted=%v", s, srv.Deleted(theirs.ID))
	}
	if s := del(mine.ID); s != 200 || !srv.Deleted(mine.ID) {
		t.Errorf("deleting my reply: %d, deleted=%v", s, srv.Deleted(mine.ID))
	}
	if s := del(mine.ID); s != 404 {
		t.Errorf("deleting it again: %d, want 404", s)
	}
	calls := srv.Calls()
	if len(calls) != 3 || calls[0].Action != "delete" || calls[0].Status != 403 || calls[1].Status != 200 {
		t.Errorf("calls %+v", calls)
	}
}

func TestUserTweets(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Close()
	fan := srv.AddUser("2", "fan")
	var posts []string
	for range 7 {
		p := srv.Post(srv.Owner().ID, "post")
		posts = append(posts, p.ID)
		srv.Reply(srv.Owner().ID, p.ID, "self reply")
		srv.Reply(fan.ID, p.ID, "fan reply")
	}
	q := url.Values{"max_results": {"5"}, "exclude": {"replies,retweets"}}
	status, _, body := get(t, srv, "/2/users/"+srv.Owner().ID+"/tweets", q, bearer)
	if status != 200 || len(body["data"].([]any)) != 5 {
		t.Fatalf("%d %v", status, body)
	}
	tok := body["meta"].(map[string]any)["next_token"].(string)
	q.Set("pagination_token", tok)
	_, _, body = get(t, srv, "/2/users/"+srv.Owner().ID+"/tweets", q, bearer)
	if data := body["data"].([]any); len(data) != 2 || data[1].(map[string]any)["id"] != posts[0] {
		t.Errorf("second page %v", body)
	}
	if status, _, _ := get(t, srv, "/2/users/"+srv.Owner().ID+"/tweets", url.Values{"max_results": {"4"}}, bearer); status != 400 {
		t.Errorf("max_results 4: %d, want 400", status)
	}
	if status, _, body := get(t, srv, "/2/users/999/tweets", nil, bearer); status != 200 || body["errors"] == nil {
		t.Errorf("unknown user: %d %v, want 200 with errors", status, body)
	}
}

func TestWebhookHelpers(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Close()
	fan := srv.AddUser("2", "fan")
	root := srv.Post(srv.Owner().ID, "post")
	reply := srv.Reply(fan.ID, root.ID, strings.Repeat("long ", 40))
	var got []byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("crc_token"); r.Method == http.MethodGet {
			json.NewEncoder(w).Encode(map[string]string{"response_token": CRCResponseToken(DefaultConsumerSecret, tok)})
			return
		}
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(SignatureHeader) != Sign(DefaultConsumerSecret, body) {
			w.WriteHeader(401)
			return
		}
		got = body
	}))
	defer hook.Close()
	if err := srv.CRC(context.Background(), hook.URL); err != nil {
		t.Errorf("CRC: %v", err)
	}
	status, _, err := srv.Deliver(context.Background(), hook.URL, reply)
	if err != nil || status != 200 {
		t.Fatalf("Deliver: %d %v", status, err)
	}
	var p struct {
		ForUserID string `json:"for_user_id"`
		Events    []struct {
			IDStr         string `json:"id_str"`
			InReplyTo     string `json:"in_reply_to_status_id_str"`
			Truncated     bool   `json:"truncated"`
			ExtendedTweet struct {
				FullText string `json:"full_text"`
			} `json:"extended_tweet"`
			User struct {
				ScreenName string `json:"screen_name"`
			} `json:"user"`
		} `json:"tweet_create_events"`
	}
	if err := json.Unmarshal(got, &p); err != nil || p.ForUserID != DefaultUserID || len(p.Events) != 1 {
		t.Fatalf("payload %s: %v", got, err)
	}
	ev := p.Events[0]
	if ev.IDStr != reply.ID || ev.InReplyTo != root.ID || !ev.Truncated || ev.ExtendedTweet.FullText != reply.Text || ev.User.ScreenName != "fan" {
		t.Errorf("event %+v", ev)
	}
}

func TestHandlerOnAListenerOfYourOwn(t *testing.T) {
	srv := New(Options{})
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	res, err := http.Get(hs.URL + "/2/tweets/search/recent?query=conversation_id:1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || len(srv.Requests()) != 1 {
		t.Errorf("%d, %d requests recorded", res.StatusCode, len(srv.Requests()))
	}
}
