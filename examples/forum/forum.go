package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

// wireComment is a comment as the forum's API sends it.
type wireComment struct {
	ID        string    `json:"id"`
	AuthorID  string    `json:"author_id"`
	Author    string    `json:"author"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
	EditedAt  time.Time `json:"edited_at,omitzero"`
}

// Poll fetches, for each post, the comments written after its cursor (the
// id of the last comment it delivered), one page per post and call. A post
// with more comments says More, and the host polls it again at once. A
// problem with one post (it does not exist, the forum failed on it) goes in
// that post's Err and leaves its cursor where it was; only a spent rate
// limit or a refused token fails the whole call, since the other posts would
// meet it too.
func (f *Forum) Poll(ctx context.Context, posts []sdk.PostCursor) (sdk.PollResponse, error) {
	s, err := f.current()
	if err != nil {
		return sdk.PollResponse{}, err
	}
	var out sdk.PollResponse
	for _, pc := range posts {
		q := url.Values{"limit": {strconv.Itoa(s.pageSize)}}
		if len(pc.Cursor) > 0 {
			q.Set("after", string(pc.Cursor))
		}
		var page struct {
			Comments []json.RawMessage `json:"comments"`
			HasMore  bool              `json:"has_more"`
		}
		rl, err := s.call(ctx, http.MethodGet, "/api/posts/"+url.PathEscape(pc.PostID)+"/comments?"+q.Encode(), nil, &page)
		if rl.Known() {
			out.RateLimit = rl
		}
		var rle *sdk.RateLimitedError
		if errors.As(err, &rle) || errors.Is(err, errRefused) {
			return out, err
		}
		entry := sdk.PostComments{PostID: pc.PostID, Cursor: pc.Cursor}
		if err != nil {
			entry.Err = err.Error()
			out.Posts = append(out.Posts, entry)
			continue
		}
		for _, raw := range page.Comments {
			var w wireComment
			if err := json.Unmarshal(raw, &w); err != nil || w.ID == "" {
				// The cursor stops before it, so it is not skipped for good.
				entry.Err = fmt.Sprintf("comment after %q is unreadable (%v): %.200s", entry.Cursor, err, raw)
				break
			}
			entry.Comments = append(entry.Comments, s.comment(pc.PostID, w, raw))
			entry.Cursor = []byte(w.ID)
		}
		entry.More = page.HasMore && entry.Err == ""
		out.Posts = append(out.Posts, entry)
	}
	return out, nil
}

// comment turns the forum's comment into moderator's.
func (s *settings) comment(post string, w wireComment, raw []byte) sdk.Comment {
	c := sdk.Comment{
		Platform: "forum", ID: w.ID, PostID: post, AuthorID: w.AuthorID, AuthorHandle: w.Author,
		Text: w.Text, CreatedAt: w.CreatedAt, Raw: raw,
		URL: s.base + "/posts/" + url.PathEscape(post) + "#comment-" + url.PathEscape(w.ID),
	}
	if !w.EditedAt.IsZero() {
		// An edit is a new version, which the host analyzes again.
		c.Version = w.EditedAt.UTC().Format(time.RFC3339Nano)
	}
	return c
}

// Moderate hides the comment. Hiding a hidden comment changes nothing and
// says so (Changed false), which is what makes the host's retries safe. The
// SDK calls it only with an action listed in Info.Actions, so it needs no
// check of its own that the action is "hide".
func (f *Forum) Moderate(ctx context.Context, req sdk.ModerateRequest) (sdk.ModerateResponse, error) {
	s, err := f.current()
	if err != nil {
		return sdk.ModerateResponse{}, err
	}
	var ans struct {
		Changed *bool `json:"changed"`
	}
	path := "/api/comments/" + url.PathEscape(req.Comment.ID) + "/hidden"
	if _, err := s.call(ctx, http.MethodPut, path, map[string]bool{"hidden": true}, &ans); err != nil {
		return sdk.ModerateResponse{}, fmt.Errorf("hide comment %s: %w", req.Comment.ID, err)
	}
	if ans.Changed == nil {
		// The forum may have hidden it: say so, and let the host retry.
		return sdk.ModerateResponse{}, fmt.Errorf("hide comment %s: the answer has no \"changed\"", req.Comment.ID)
	}
	detail := "hidden"
	if !*ans.Changed {
		detail = "was already hidden"
	}
	return sdk.ModerateResponse{Changed: *ans.Changed, Detail: detail}, nil
}

// maxBody bounds what the connector reads of one answer.
const maxBody = 8 << 20

// errRefused is a 401 or 403: the token is wrong or may not do this.
var errRefused = errors.New("the forum refused the token")

// call makes one request to the forum and decodes a 200 answer into out. It
// returns the rate-limit state the answer reported, and an error the host
// understands: a *sdk.RateLimitedError for a 429, sdk.ErrNotFound for a
// 404, sdk.Permanent for another 4xx (retrying will not cure it; errRefused
// for a 401 or 403), a plain error for the rest (retried with backoff).
func (s *settings) call(ctx context.Context, method, path string, in, out any) (sdk.RateLimit, error) {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return sdk.RateLimit{}, sdk.Permanent(fmt.Errorf("%s %s: encode the request: %w", method, path, err))
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, body)
	if err != nil {
		return sdk.RateLimit{}, sdk.Permanent(fmt.Errorf("%s %s: %w", method, path, err))
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	res, err := s.client.Do(req)
	if err != nil {
		return sdk.RateLimit{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return sdk.RateLimit{}, fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	rl := rateLimit(res.Header)
	msg := fmt.Sprintf("%s %s: HTTP %d %s", method, path, res.StatusCode, strings.TrimSpace(string(data[:min(len(data), 200)])))
	switch {
	case res.StatusCode == http.StatusOK:
	case res.StatusCode == http.StatusTooManyRequests:
		rl.Remaining = 0
		return rl, &sdk.RateLimitedError{RateLimit: rl, Err: errors.New(msg)}
	case res.StatusCode == http.StatusNotFound:
		return rl, fmt.Errorf("%s: %w", msg, sdk.ErrNotFound)
	case res.StatusCode == http.StatusUnauthorized, res.StatusCode == http.StatusForbidden:
		return rl, sdk.Permanent(fmt.Errorf("%s: %w", msg, errRefused))
	case res.StatusCode >= 400 && res.StatusCode < 500:
		return rl, sdk.Permanent(errors.New(msg))
	default:
		return rl, errors.New(msg)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return rl, fmt.Errorf("%s %s: the answer is not the JSON expected (%v): %.200s", method, path, err, data)
	}
	return rl, nil
}

// rateLimit reads the forum's X-RateLimit-* headers; what is missing stays zero.
func rateLimit(h http.Header) sdk.RateLimit {
	num := func(name string) int64 {
		n, _ := strconv.ParseInt(h.Get(name), 10, 64)
		return n
	}
	rl := sdk.RateLimit{Limit: num("X-RateLimit-Limit"), Remaining: num("X-RateLimit-Remaining")}
	if reset := num("X-RateLimit-Reset"); reset > 0 {
		rl.Reset = time.Unix(reset, 0).UTC()
	}
	return rl
}

func trimSlash(s string) string { return strings.TrimRight(s, "/") }
