package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
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
// id), newest first, a page of up to 100 per call, with GET
// /2/users/:id/tweets without replies and retweets. Only posts of the last 7
// days are asked for: recent search, which polls their replies, reaches no
// further back. The newest post id a finished walk saw is kept in the
// host's key-value store, and the next walk asks only for newer posts
// (since_id), so rediscovering an author every few minutes does not spend
// the monthly post cap on posts the host already has.
func (t *Twitter) Discover(ctx context.Context, req sdk.DiscoverRequest) (sdk.DiscoverResponse, error) {
	s, err := t.current()
	if err != nil {
		return sdk.DiscoverResponse{}, err
	}
	author := req.Target.ID
	if !isID(author) {
		return sdk.DiscoverResponse{}, sdk.Permanent(fmt.Errorf("author target %q: give the account's numeric user id (X user ids are 1 to 19 digits; a @username is not looked up)", author))
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
	if page.Meta.NextToken != "" && page.Meta.NextToken != cur.Token {
		next := cur
		next.Token = page.Meta.NextToken
		out.Cursor, _ = json.Marshal(next)
		return out, nil
	}
	if cur.Newest != "" {
		s.kvSet(ctx, discoverKey(author), cur.Newest, 0)
	}
	return out, nil
}

func discoverKey(author string) string { return "discover-since/" + author }

// title is the first words of a post.
func title(text string) string {
	r := []rune(text)
	if len(r) <= 80 {
		return text
	}
	return string(r[:79]) + "…"
}
