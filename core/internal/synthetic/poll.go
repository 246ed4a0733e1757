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
	"slices"
	"strconv"
	"strings"

	gojson "github.com/goccy/go-json"
	"github.com/moderatorbot/moderator/sdk"
)

// cursor is a post's poll position, opaque to the host. Since is the
// newest comment id up to which every comment was delivered intact: the
// next poll asks for newer ones. While a backlog longer than max_pages is
// being read, Until and Newest are set too: the comments between Since and
// Until are still to read (pages run newest first, so a long backlog is
// read from the top down), every one from Until up was delivered, and
// Newest is the newest of them (or Since, when the post had none), where
// the next cursor starts once the backlog is done. Zero means unset.
type cursor struct {
	Since, Until, Newest uint64
}

type wireCursor struct {
	Since  string `json:"since,omitempty"`
	Until  string `json:"until,omitempty"`
	Newest string `json:"newest,omitempty"`
}

func (c cursor) encode() []byte {
	w := wireCursor{Since: idString(c.Since), Until: idString(c.Until), Newest: idString(c.Newest)}
	b, _ := json.Marshal(w) // three strings: cannot fail
	return b
}

func idString(n uint64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

// decodeCursor reads a cursor this connector wrote; empty is the start.
func decodeCursor(b []byte) (cursor, error) {
	if len(b) == 0 {
		return cursor{}, nil
	}
	var w wireCursor
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return cursor{}, fmt.Errorf("invalid cursor %q: %w", b, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return cursor{}, fmt.Errorf("invalid cursor %q: data after the object", b)
	}
	var c cursor
	for _, f := range []struct {
		name, s string
		n       *uint64
	}{{"since", w.Since, &c.Since}, {"until", w.Until, &c.Until}, {"newest", w.Newest, &c.Newest}} {
		if f.s == "" {
			continue
		}
		n, ok := parseID(f.s)
		if !ok {
			return cursor{}, fmt.Errorf("invalid cursor %q: %s is not a comment id", b, f.name)
		}
		*f.n = n
	}
	switch {
	case c.Until != 0 && c.Until <= c.Since:
		return cursor{}, fmt.Errorf("invalid cursor %q: until is not above since", b)
	case c.Until == 0 && c.Newest != 0:
		return cursor{}, fmt.Errorf("invalid cursor %q: newest without until", b)
	case c.Newest != 0 && c.Newest < c.Since:
		return cursor{}, fmt.Errorf("invalid cursor %q: newest is below since", b)
	}
	return c, nil
}

// commentsPage is one page of GET /v1/comments. Items stay raw so that one
// malformed item spoils only itself.
type commentsPage struct {
	Data   []json.RawMessage `json:"data"`
	Meta   pageMeta          `json:"meta"`
	Errors []pageError       `json:"errors"`
}

type pageMeta struct {
	NextToken string `json:"next_token"`
}

type pageError struct {
	PostID string `json:"post_id"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

// decodePage decodes a page; a body that is not one whole JSON object (a
// truncated answer) is an error for the whole call.
func decodePage(body []byte) (commentsPage, error) {
	var p commentsPage
	if err := decodeWhole(body, &p); err != nil {
		return commentsPage{}, err
	}
	return p, nil
}

// decodeWhole decodes body into v; a body that is not one whole JSON value
// is an error.
func decodeWhole(body []byte, v any) error {
	dec := gojson.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed page: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("malformed page: data after the JSON object")
	}
	return nil
}

// postIDOf digs the post id out of an item that failed to decode, to know
// whose comments it may have been; "" when it cannot tell.
func postIDOf(raw []byte) string {
	var m struct {
		PostID json.RawMessage `json:"post_id"`
	}
	var id string
	if json.Unmarshal(raw, &m) != nil || json.Unmarshal(m.PostID, &id) != nil {
		return ""
	}
	return id
}

// polled is one post's part of a poll.
type polled struct {
	id   string
	raw  []byte // its cursor as the host gave it
	cur  cursor
	gone string // the platform says the post does not exist
	// seen holds its intact comments in the order read, newest first.
	seen []seenItem
	// lastBad is the position in the read of the oldest malformed item that
	// may have been this post's comment, or -1.
	lastBad int
	bad     []string
	result  sdk.PostComments
}

type seenItem struct {
	pos int
	n   uint64
	c   sdk.Comment
}

// Poll fetches the comments newer than each post's cursor, for up to
// MaxBatch posts in one query walked page by page. Pages run newest first
// across all posts, so a cursor may only move up to a comment below which
// everything was read intact:
//
//   - when every page was read, a post's cursor moves to its newest comment;
//   - when max_pages ran out first, it records the range still to read and
//     More is set; the next Poll reads that range, then moves on;
//   - a malformed item (a comment the platform sent broken) is skipped and
//     reported in Err, with the comments that were intact; the cursor of
//     its post (of every post, when the item does not say whose it is)
//     moves only up to the newest comment older than the item, so that
//     comment is read again next time. Comments newer than it come again
//     too: a duplicate, which the host drops, never a gap.
//
// A post the platform does not know gets Err and keeps its cursor. A 429
// is a *sdk.RateLimitedError (UsageCapExceeded for the usage cap); an
// answer that could not be read, a 5xx or a timeout is a plain error the
// host retries. Comments come oldest first.
func (c *Synthetic) Poll(ctx context.Context, posts []sdk.PostCursor) (sdk.PollResponse, error) {
	s, err := c.current()
	if err != nil {
		return sdk.PollResponse{}, err
	}
	out := sdk.PollResponse{Posts: make([]sdk.PostComments, len(posts))}
	byID := map[string]*polled{}
	var todo []*polled
	for i, pc := range posts {
		out.Posts[i] = sdk.PostComments{PostID: pc.PostID, Cursor: pc.Cursor}
		if !validName(pc.PostID) {
			out.Posts[i].Err = fmt.Sprintf("invalid post id %q: the synthetic platform's ids are non-empty, without ',', ':' or '/'", pc.PostID)
			continue
		}
		if byID[pc.PostID] != nil {
			continue // asked twice: both get the first one's result
		}
		cur, err := decodeCursor(pc.Cursor)
		if err != nil {
			out.Posts[i].Err = err.Error()
			continue
		}
		p := &polled{id: pc.PostID, raw: pc.Cursor, cur: cur, lastBad: -1}
		byID[pc.PostID] = p
		todo = append(todo, p)
	}
	for chunk := range slices.Chunk(todo, maxBatch) {
		rl, err := s.pollChunk(ctx, chunk)
		if rl.Known() {
			out.RateLimit = rl
		}
		if err != nil {
			return sdk.PollResponse{RateLimit: out.RateLimit}, err
		}
	}
	for i := range out.Posts {
		if p := byID[out.Posts[i].PostID]; p != nil && out.Posts[i].Err == "" {
			out.Posts[i] = p.result
		}
	}
	return out, nil
}

const commentsPath = "/v1/comments"

// pollChunk reads the pages of one query for posts and sets each one's result.
func (s *settings) pollChunk(ctx context.Context, posts []*polled) (sdk.RateLimit, error) {
	byID := make(map[string]*polled, len(posts))
	ids := make([]string, len(posts))
	var since, until []string
	for i, p := range posts {
		byID[p.id], ids[i] = p, p.id
		if p.cur.Since != 0 {
			since = append(since, p.id+":"+idString(p.cur.Since))
		}
		if p.cur.Until != 0 {
			until = append(until, p.id+":"+idString(p.cur.Until))
		}
	}
	q := url.Values{"posts": {strings.Join(ids, ",")}}
	if len(since) > 0 {
		q.Set("since", strings.Join(since, ","))
	}
	if len(until) > 0 {
		q.Set("until", strings.Join(until, ","))
	}

	var (
		rl       sdk.RateLimit
		pos      int    // items read so far, across pages
		lastGood uint64 // id of the last intact item read: everything above it was read
		complete bool
	)
	for page := 1; page <= s.maxPages; page++ {
		res, err := s.call(ctx, http.MethodGet, commentsPath, q, nil, nil)
		if err != nil {
			return rl, err
		}
		rl = res.rate
		if res.status != http.StatusOK {
			return rl, statusError("GET "+commentsPath, res)
		}
		pg, err := decodePage(res.body)
		if err != nil {
			return rl, fmt.Errorf("GET %s page %d: %w", commentsPath, page, err)
		}
		for _, e := range pg.Errors {
			if p := byID[e.PostID]; p != nil {
				p.gone = strings.TrimSuffix(e.Title+": "+e.Detail, ": ")
			}
		}
		for i, raw := range pg.Data {
			cm, err := decodeComment(raw)
			if err == nil && byID[cm.PostID] == nil {
				err = fmt.Errorf("comment %s is on post %q, which was not asked for", cm.ID, cm.PostID)
			}
			if err != nil {
				reason := fmt.Sprintf("page %d item %d: %v", page, i+1, err)
				s.log.Warn("malformed comment item skipped", "reason", reason)
				if p := byID[postIDOf(raw)]; p != nil {
					p.lastBad, p.bad = pos, append(p.bad, reason)
				} else {
					for _, p := range posts {
						p.lastBad, p.bad = pos, append(p.bad, reason)
					}
				}
			} else {
				n, _ := parseID(cm.ID) // decodeComment checked it
				p := byID[cm.PostID]
				p.seen = append(p.seen, seenItem{pos: pos, n: n, c: cm})
				lastGood = n
			}
			pos++
		}
		if pg.Meta.NextToken == "" {
			complete = true
			break
		}
		q.Set("page_token", pg.Meta.NextToken)
	}
	for _, p := range posts {
		p.result = p.finish(complete, lastGood)
	}
	return rl, nil
}

// finish works out a post's comments and next cursor from what was read.
func (p *polled) finish(complete bool, lastGood uint64) sdk.PostComments {
	r := sdk.PostComments{PostID: p.id, Cursor: p.raw}
	if p.gone != "" {
		r.Err = "the platform says: " + p.gone
		return r
	}
	r.Comments = make([]sdk.Comment, 0, len(p.seen))
	for i := len(p.seen) - 1; i >= 0; i-- {
		r.Comments = append(r.Comments, p.seen[i].c)
	}
	var newest uint64
	if len(p.seen) > 0 {
		newest = p.seen[0].n
	}
	cur := p.cur
	next := cur
	switch {
	case p.lastBad >= 0:
		r.Err = fmt.Sprintf("%d malformed comment item(s) skipped; the cursor stays below them so they are read again: %s",
			len(p.bad), strings.Join(p.bad, "; "))
		if complete {
			// Everything from the old cursor up to the newest intact comment
			// older than the last bad item was read.
			next = cursor{Since: cur.Since}
			for _, it := range p.seen {
				if it.pos > p.lastBad {
					next.Since = it.n
					break
				}
			}
		}
	case complete:
		next = cursor{Since: max(cur.Since, cur.Newest, newest)}
		// A backlog was just finished: newer comments may be waiting.
		r.More = cur.Until != 0
	case lastGood != 0:
		next = cursor{Since: cur.Since, Until: lastGood, Newest: max(cur.Newest, cur.Since, newest)}
		r.More = true
	}
	if next != cur {
		r.Cursor = next.encode()
	}
	return r
}
