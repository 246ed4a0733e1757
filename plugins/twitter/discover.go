package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

// discoverCursor is a Discover page's position, opaque to the host: X's
// pagination token, the since_id the walk started from (the token is only
// good with the same parameters) and the newest post id the walk saw.
type discoverCursor struct {
	Token  string `json:"p"`
	Since  string `json:"s,omitempty"`
	Newest string `json:"n,omitempty"`
}

// Discover lists an author's posts (target kind "author": the numeric user
// id, or a @username looked up once a day), newest first, a page of up to 100 per call, with GET
// /2/users/:id/tweets without replies and retweets. Only posts of the last 7
// days are asked for: recent search, which polls their replies, reaches no
// further back. The newest post id a walk saw is kept in the host's
// key-value store, and the next walk asks only for newer posts
// (since_id), so rediscovering an author every few minutes does not spend
// the monthly post cap on posts the host already has.
func (t *Twitter) Discover(ctx context.Context, req sdk.DiscoverRequest) (sdk.DiscoverResponse, error) {
	s, err := t.current()
	if err != nil {
		return sdk.DiscoverResponse{}, err
	}
	author := req.Target.ID
	if !isID(author) {
		id, rl, err := s.lookupUser(ctx, author)
		if err != nil {
			return sdk.DiscoverResponse{RateLimit: rl}, err
		}
		author = id
	}
	var cur discoverCursor
	if len(req.Cursor) > 0 {
		if err := json.Unmarshal(req.Cursor, &cur); err != nil || cur.Token == "" {
			return sdk.DiscoverResponse{}, sdk.Permanent(fmt.Errorf("author %s: unreadable cursor %.100q", author, req.Cursor))
		}
	} else if since, ok := s.kvGet(ctx, discoverKey(author)); ok && isID(since) {
		cur.Since = since
	}
	path := "/2/users/" + author + "/tweets"
	bucket := "GET /2/users/:id/tweets"
	q := url.Values{
		"max_results":  {"100"},
		"exclude":      {"replies,retweets"},
		"tweet.fields": {"author_id,conversation_id,created_at"},
		"start_time":   {s.now().Add(-7 * 24 * time.Hour).UTC().Format(time.RFC3339)},
	}
	if cur.Since != "" {
		q.Set("since_id", cur.Since)
	}
	if cur.Token != "" {
		q.Set("pagination_token", cur.Token)
	}
	res, err := s.call(ctx, false, http.MethodGet, path, q, nil, bucket)
	out := sdk.DiscoverResponse{RateLimit: res.rate}
	if err != nil {
		return out, err
	}
	if err := res.check(); err != nil {
		return out, err
	}
	var page struct {
		Data   []tweet `json:"data"`
		Errors []struct {
			Detail string `json:"detail"`
			Type   string `json:"type"`
		} `json:"errors"`
		Meta struct {
			NextToken string `json:"next_token"`
		} `json:"meta"`
	}
	if err := res.decode(&page); err != nil {
		return out, err
	}
	if len(page.Data) == 0 && len(page.Errors) > 0 {
		err := fmt.Errorf("%s: %s", res.what, page.Errors[0].Detail)
		if page.Errors[0].Type == "https://api.twitter.com/2/problems/resource-not-found" {
			return out, sdk.Permanent(fmt.Errorf("%w: %w", err, sdk.ErrNotFound))
		}
		return out, err
	}
	for i, tw := range page.Data {
		if !isID(tw.ID) {
			return out, fmt.Errorf("%s: the answer is not the JSON expected: post %d has id %.40q", res.what, i+1, tw.ID)
		}
		p := sdk.Post{ID: tw.ID, AuthorID: tw.AuthorID, Title: title(tw.Text), URL: tweetURL("", tw.ID)}
		if ct, err := time.Parse(time.RFC3339Nano, tw.CreatedAt); err == nil {
			p.CreatedAt = ct.UTC()
		}
		out.Posts = append(out.Posts, p)
		cur.Newest = maxID(cur.Newest, tw.ID)
	}
	// The newest post seen is kept on every page, not only on a walk's
	// last: the host stops a walk at the first page with nothing new to it,
	// so a walk that once ended early (an error, a restart) would otherwise
	// never reach its last page again, and every walk would read the
	// author's week again without since_id.
	if cur.Newest != "" && cur.Newest != cur.Since {
		s.kvSet(ctx, discoverKey(author), cur.Newest, 0)
	}
	if page.Meta.NextToken != "" && page.Meta.NextToken != cur.Token {
		next := cur
		next.Token = page.Meta.NextToken
		out.Cursor, _ = json.Marshal(next)
	}
	return out, nil
}

func discoverKey(author string) string { return "discover-since/" + author }

// usernameTTL is how long a looked-up username's id is kept: accounts can
// be renamed.
const usernameTTL = 24 * time.Hour

// lookupUser looks up the id of an "@username" (or "username") with GET
// /2/users/by/username/:username, remembered a day in the host's store.
func (s *settings) lookupUser(ctx context.Context, target string) (string, sdk.RateLimit, error) {
	name := strings.TrimPrefix(target, "@")
	if !validUsername(name) {
		return "", sdk.RateLimit{}, sdk.Permanent(fmt.Errorf("author target %q: neither a numeric user id nor a @username (1 to 15 letters, digits or _)", target))
	}
	key := "user-id/" + strings.ToLower(name)
	if id, ok := s.kvGet(ctx, key); ok && isID(id) {
		return id, sdk.RateLimit{}, nil
	}
	res, err := s.call(ctx, false, http.MethodGet, "/2/users/by/username/"+name, nil, nil, "GET /2/users/by/username/:username")
	if err == nil {
		err = res.check()
	}
	if err != nil {
		return "", res.rate, err
	}
	var ans struct {
		Data *struct {
			ID string `json:"id"`
		} `json:"data"`
		Errors []struct {
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	if err := res.decode(&ans); err != nil {
		return "", res.rate, err
	}
	if ans.Data == nil || !isID(ans.Data.ID) {
		detail := "no user in the answer"
		if len(ans.Errors) > 0 {
			detail = ans.Errors[0].Detail
		}
		return "", res.rate, sdk.Permanent(fmt.Errorf("author target %q: %s: %w", target, detail, sdk.ErrNotFound))
	}
	s.kvSet(ctx, key, ans.Data.ID, usernameTTL)
	return ans.Data.ID, res.rate, nil
}

func validUsername(name string) bool {
	if name == "" || len(name) > 15 {
		return false
	}
	for _, c := range name {
		if c != '_' && (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// title is the first words of a post.
func title(text string) string {
	r := []rune(text)
	if len(r) <= 80 {
		return text
	}
	return string(r[:79]) + "…"
}
