package twittertest

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func postRules(t *testing.T, srv *Server, body, auth string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/2/tweets/search/stream/rules", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", auth)
	status, _, m := do(t, http.DefaultClient, req)
	return status, m
}

func TestStreamRulesEndpoint(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Close()
	status, body := postRules(t, srv, `{"add":[{"value":"conversation_id:5 OR to:owner","tag":"a"},{"value":"conversation_id:5 OR to:owner"},{"value":"from:x"}]}`, bearer)
	summary := body["meta"].(map[string]any)["summary"].(map[string]any)
	if status != 200 || summary["created"] != 1.0 || summary["invalid"] != 2.0 || len(body["errors"].([]any)) != 2 {
		t.Errorf("add: %d %v", status, body)
	}
	rules := srv.Rules()
	if len(rules) != 1 || rules[0].Tag != "a" {
		t.Fatalf("rules %+v", rules)
	}
	if status, _ := postRules(t, srv, `{"add":[]`, bearer); status != 400 {
		t.Errorf("bad body: %d", status)
	}
	if status, _ := postRules(t, srv, `{"delete":{"ids":["`+rules[0].ID+`"]}}`, "Bearer wrong"); status != 401 {
		t.Errorf("wrong token: %d", status)
	}
	status, body = postRules(t, srv, `{"delete":{"ids":["`+rules[0].ID+`","123"]}}`, bearer)
	if summary := body["meta"].(map[string]any)["summary"].(map[string]any); status != 200 || summary["deleted"] != 1.0 || summary["not_deleted"] != 1.0 || len(srv.Rules()) != 0 {
		t.Errorf("delete: %d %v, rules %v", status, body, srv.Rules())
	}
	status, _, body = get(t, srv, "/2/tweets/search/stream/rules", nil, bearer)
	if status != 200 || body["meta"].(map[string]any)["result_count"] != 0.0 {
		t.Errorf("list: %d %v", status, body)
	}
}

func TestStreamEndpoint(t *testing.T) {
	srv := NewServer(Options{StreamKeepAlive: 10 * time.Millisecond})
	defer srv.Close()
	fan := srv.AddUser("2", "fan")
	root := srv.Post(srv.Owner().ID, "post")
	postRules(t, srv, `{"add":[{"value":"to:`+srv.Owner().ID+`","tag":"mine"}]}`, bearer)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/2/tweets/search/stream?tweet.fields=conversation_id&expansions=author_id", nil)
	req.Header.Set("Authorization", bearer)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("connect: %v %v", res, err)
	}
	defer res.Body.Close()
	// A second connection is refused, as on X's plans with one.
	if status, _, body := get(t, srv, "/2/tweets/search/stream", nil, bearer); status != 429 || body["connection_issue"] != "TooManyConnections" {
		t.Errorf("second connection: %d %v", status, body)
	}
	r := bufio.NewReader(res.Body)
	line, err := r.ReadString('\n')
	if err != nil || line != "\r\n" {
		t.Fatalf("first line %q %v, want a keep-alive", line, err)
	}
	reply := srv.Reply(fan.ID, root.ID, "hello")
	for {
		line, err = r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(line) != "" {
			break
		}
	}
	var msg struct {
		Data struct {
			ID             string `json:"id"`
			ConversationID string `json:"conversation_id"`
		} `json:"data"`
		Includes struct {
			Users []struct{ Username string } `json:"users"`
		} `json:"includes"`
		MatchingRules []struct{ Tag string } `json:"matching_rules"`
	}
	if err := json.Unmarshal([]byte(line), &msg); err != nil || msg.Data.ID != reply.ID || msg.Data.ConversationID != root.ID || msg.MatchingRules[0].Tag != "mine" || msg.Includes.Users[0].Username != "fan" {
		t.Errorf("message %q: %+v %v", line, msg, err)
	}
	srv.DisconnectStreams()
	for {
		line, err = r.ReadString('\n')
		if err != nil {
			t.Fatalf("the stream ended without the operational-disconnect message: %v", err)
		}
		if strings.Contains(line, `"operational-disconnect"`) {
			break
		}
	}
	req2, _ := http.NewRequest(http.MethodGet, srv.URL+"/2/tweets/search/stream", nil)
	c := userClient(DefaultConsumerSecret, DefaultAccessTokenSecret)
	if status, _, _ := do(t, c, req2); status != 403 {
		t.Errorf("user context on the stream: %d, want 403", status)
	}
}

// A client that reconnects the moment it reads the operational-disconnect
// must get in: the closed connection no longer counts against the limit.
func TestStreamReconnectAfterDisconnectIsLetIn(t *testing.T) {
	srv := NewServer(Options{StreamKeepAlive: time.Hour})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	connect := func() *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/2/tweets/search/stream", nil)
		req.Header.Set("Authorization", bearer)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// X allows 50 connections a window; these are many more, to catch the race.
	srv.SetRemaining(EndpointStream, 1000)
	res := connect()
	for i := range 200 {
		if res.StatusCode != 200 {
			t.Fatalf("reconnect %d: HTTP %d", i, res.StatusCode)
		}
		srv.DisconnectStreams()
		line, err := bufio.NewReader(res.Body).ReadString('\n')
		if err != nil || !strings.Contains(line, `"operational-disconnect"`) {
			t.Fatalf("reconnect %d: read %q %v, want the operational-disconnect", i, line, err)
		}
		next := connect()
		res.Body.Close()
		res = next
	}
	res.Body.Close()
}
