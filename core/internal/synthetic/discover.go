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

// Discover lists an author's posts (target kind "author", the one kind the
// plugin declares: Serve refuses the others before Discover runs), a page
// per call, newest first; the cursor is the platform's page token.
func (c *Synthetic) Discover(ctx context.Context, req sdk.DiscoverRequest) (sdk.DiscoverResponse, error) {
	s, err := c.current()
	if err != nil {
		return sdk.DiscoverResponse{}, err
	}
	if !validName(req.Target.ID) {
		return sdk.DiscoverResponse{}, sdk.Permanent(fmt.Errorf("discover author %q: not a user id of the synthetic platform", req.Target.ID))
	}
	path := "/v1/users/" + url.PathEscape(req.Target.ID) + "/posts"
	q := url.Values{}
	if len(req.Cursor) > 0 {
		q.Set("page_token", string(req.Cursor))
	}
	res, err := s.call(ctx, http.MethodGet, path, q, nil, nil)
	if err != nil {
		return sdk.DiscoverResponse{}, err
	}
	if res.status != http.StatusOK {
		return sdk.DiscoverResponse{}, statusError("GET "+path, res)
	}
	var page struct {
		Data []struct {
			ID        string `json:"id"`
			AuthorID  string `json:"author_id"`
			Title     string `json:"title"`
			URL       string `json:"url"`
			CreatedAt string `json:"created_at"`
		} `json:"data"`
		Meta struct {
			NextToken string `json:"next_token"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(res.body, &page); err != nil {
		return sdk.DiscoverResponse{}, fmt.Errorf("GET %s: malformed page: %w", path, err)
	}
	out := sdk.DiscoverResponse{RateLimit: res.rate, Posts: make([]sdk.Post, 0, len(page.Data))}
	for i, p := range page.Data {
		if !validName(p.ID) {
			return sdk.DiscoverResponse{}, fmt.Errorf("GET %s: malformed page: post %d has id %q", path, i+1, p.ID)
		}
		post := sdk.Post{ID: p.ID, URL: p.URL, AuthorID: p.AuthorID, Title: p.Title}
		if t, err := time.Parse(time.RFC3339Nano, p.CreatedAt); err == nil {
			post.CreatedAt = t.UTC()
		}
		out.Posts = append(out.Posts, post)
	}
	if page.Meta.NextToken != "" {
		out.Cursor = []byte(page.Meta.NextToken)
	}
	return out, nil
}
