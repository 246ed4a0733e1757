package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

// searchPath is X's recent search: the last 7 days of tweets.
const searchPath = "/2/tweets/search/recent"

// cursor is a post's poll position, opaque to the host (JSON). Since is the
// newest tweet id of the post delivered or known to be absent; during a
// walk back through pages that one Poll did not finish, Until is the oldest
// id delivered so far (the walk continues below it) and Newest the newest
// id the walk saw, which becomes Since once the walk is done. A cursor that
// is a bare tweet id is read as Since.
type cursor struct {
	Since  string `json:"s,omitempty"`
	Until  string `json:"u,omitempty"`
	Newest string `json:"n,omitempty"`
}

func parseCursor(b []byte) (cursor, error) {
	var c cursor
	if len(b) == 0 {
		return c, nil
	}
	if isID(string(b)) {
		return cursor{Since: string(b)}, nil
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return cursor{}, fmt.Errorf("unreadable cursor %.100q: %v", b, err)
	}
	for _, id := range []string{c.Since, c.Until, c.Newest} {
		if id != "" && !isID(id) {
			return cursor{}, fmt.Errorf("unreadable cursor %.100q: %q is not a tweet id", b, id)
		}
	}
	return c, nil
}

func (c cursor) bytes() []byte {
	if c == (cursor{}) {
		return nil
	}
	b, _ := json.Marshal(c)
	return b
}

func maxID(ids ...string) string {
	out := ""
	for _, id := range ids {
		if id != "" && (out == "" || compareIDs(id, out) > 0) {
			out = id
		}
	}
	return out
}

// searchPage is one page of recent search.
type searchPage struct {
	Data     []json.RawMessage `json:"data"`
	Includes struct {
		Users []struct {
			ID       string `json:"id"`
			Username string `json:"username"`
		} `json:"users"`
	} `json:"includes"`
	Meta struct {
		NewestID    string `json:"newest_id"`
		OldestID    string `json:"oldest_id"`
		ResultCount int    `json:"result_count"`
		NextToken   string `json:"next_token"`
	} `json:"meta"`
}

// tweet is a v2 tweet with the fields the connector asks for.
type tweet struct {
	ID               string   `json:"id"`
	Text             string   `json:"text"`
	AuthorID         string   `json:"author_id"`
	ConversationID   string   `json:"conversation_id"`
	CreatedAt        string   `json:"created_at"`
	InReplyToUserID  string   `json:"in_reply_to_user_id"`
	Lang             string   `json:"lang"`
	EditHistory      []string `json:"edit_history_tweet_ids"`
	ReferencedTweets []struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"referenced_tweets"`
}

// decodeSearch decodes a recent-search answer. It never panics on any input.
func decodeSearch(body []byte) (searchPage, []tweet, error) {
	var page searchPage
	if err := json.Unmarshal(body, &page); err != nil {
		return page, nil, err
	}
	tweets := make([]tweet, len(page.Data))
	for i, raw := range page.Data {
		if err := json.Unmarshal(raw, &tweets[i]); err != nil {
			return page, nil, fmt.Errorf("tweet %d: %v", i+1, err)
		}
		if !isID(tweets[i].ID) {
			return page, nil, fmt.Errorf("tweet %d has id %.40q, not a tweet id", i+1, tweets[i].ID)
		}
	}
	if page.Meta.NextToken != "" && len(page.Data) == 0 {
		return page, nil, errors.New("a next_token on a page with no tweets")
	}
	return page, tweets, nil
}

// toComment maps a v2 tweet to a comment.
func toComment(tw tweet, handle string, raw []byte) sdk.Comment {
	c := sdk.Comment{
		Platform: "twitter", ID: tw.ID, PostID: tw.ConversationID, AuthorID: tw.AuthorID, AuthorHandle: handle,
		Text: tw.Text, Lang: tw.Lang, Raw: raw, URL: tweetURL(handle, tw.ID),
	}
	if handle != "" {
		c.AuthorHandle = "@" + handle
	}
	for _, r := range tw.ReferencedTweets {
		if r.Type == "replied_to" {
			c.ParentID = r.ID
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, tw.CreatedAt); err == nil {
		c.CreatedAt = t.UTC()
	}
	if tw.InReplyToUserID != "" {
		c.Metadata = map[string]string{"in_reply_to_user_id": tw.InReplyToUserID}
	}
	return c
}

// tweetURL is where a person sees the tweet.
func tweetURL(handle, id string) string {
	if handle == "" {
		return "https://x.com/i/web/status/" + id
	}
	return "https://x.com/" + url.PathEscape(handle) + "/status/" + id
}

// pollPost is one post's state during a Poll.
type pollPost struct {
	cur     cursor
	since   string // the since_id this post allows: cur.Since, or "" when X would refuse it
	entry   *sdk.PostComments
	newest  string // the newest id delivered by this call
	skipped bool
}

// snowflakeEpoch is the start of X's ids in Unix milliseconds: an id's bits
// above the lowest 22 are its creation time in milliseconds since then.
const snowflakeEpoch = 1288834974657

// idTime is when the tweet with this id was created, read from the id.
func idTime(id string) (time.Time, bool) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(n>>22) + snowflakeEpoch).UTC(), true
}

const (
	// searchWindow is how far back recent search reaches; X answers 400
	// to a since_id older than that.
	searchWindow = 7 * 24 * time.Hour
	// sinceMargin keeps since_id clear of X's limit, against clock skew
	// and the time a walk takes.
	sinceMargin = time.Hour
)

// usableSince reports whether X takes id as since_id: a tweet of the last
// 7 days, less a margin. An older cursor is not sent: the search then
// covers all 7 days, and the post's own cursor filters what it saw.
func (s *settings) usableSince(id string) bool {
	t, ok := idTime(id)
	return ok && t.After(s.now().Add(-searchWindow+sinceMargin))
}

// Poll fetches the replies of many posts with as few requests as X allows:
// their conversation_id terms OR-ed into recent-search queries within the
// query length limit (one request for up to 13 posts with 512 characters),
// since_id the oldest of their cursors, and each post's tweets filtered by
// its own cursor. Posts without a usable cursor (new ones, or ones whose
// cursor is older than recent search's 7 days, which X refuses as since_id)
// are queried apart from the others, and the others are sorted by cursor,
// so that one query's posts need about the same since_id. It reads up to
// max_pages pages per query, and stops early when the rate-limit window is
// spent; when pages remain, each post's cursor records where the walk
// stopped (Until) and the post says More, so the host polls again and the
// walk goes on below it. Only the replies are comments: the post itself,
// and the account's own replies unless moderate_own_replies, are skipped.
//
// A query X refuses (400) is split in halves and tried again, so that one
// post X refuses gets the error alone. Only a failure of the first query
// fails the call; a later one is each of its posts' Err, and a rate limit
// met later ends the call with what was read and the limit's state in
// RateLimit (Remaining 0 until its reset).
//
// Recent search covers the last 7 days: older replies are out of its reach.
func (t *Twitter) Poll(ctx context.Context, posts []sdk.PostCursor) (sdk.PollResponse, error) {
	s, err := t.current()
	if err != nil {
		return sdk.PollResponse{}, err
	}
	out := sdk.PollResponse{Posts: make([]sdk.PostComments, len(posts))}
	state := map[string]*pollPost{}
	type group struct {
		until   string
		fresh   []string // no usable since_id
		cursors []string // with one
	}
	var groups []*group // by Until, in order of appearance
	byUntil := map[string]*group{}
	for i, pc := range posts {
		out.Posts[i] = sdk.PostComments{PostID: pc.PostID, Cursor: pc.Cursor}
		p := &pollPost{entry: &out.Posts[i]}
		if _, dup := state[pc.PostID]; dup {
			continue // the SDK refuses duplicates; never query one twice
		}
		state[pc.PostID] = p
		if !isID(pc.PostID) {
			p.entry.Err = fmt.Sprintf("%q is not a tweet id (X's ids are 1 to 19 digits)", pc.PostID)
			p.skipped = true
			continue
		}
		c, err := parseCursor(pc.Cursor)
		if err != nil {
			s.log.Warn("starting the post's poll over", "post", pc.PostID, "error", err)
			p.entry.Cursor = nil
		}
		p.cur = c
		if c.Since != "" && s.usableSince(c.Since) {
			p.since = c.Since
		}
		g := byUntil[c.Until]
		if g == nil {
			g = &group{until: c.Until}
			byUntil[c.Until] = g
			groups = append(groups, g)
		}
		if p.since == "" {
			g.fresh = append(g.fresh, pc.PostID)
		} else {
			g.cursors = append(g.cursors, pc.PostID)
		}
	}
	var queue []pollQuery
	for _, g := range groups {
		slices.SortStableFunc(g.cursors, func(a, b string) int { return compareIDs(state[a].since, state[b].since) })
		for _, ids := range [][]string{g.fresh, g.cursors} {
			for _, chunk := range chunkQueries(ids, s.queryMax) {
				queue = append(queue, pollQuery{ids: chunk, until: g.until})
			}
		}
	}
	answered := false // X answered a query of this call
	notPolled := func(rest []pollQuery, why string) {
		for _, q := range rest {
			for _, id := range q.ids {
				state[id].entry.Err = "not polled: " + why
			}
		}
	}
	for len(queue) > 0 {
		q := queue[0]
		if rl := out.RateLimit; answered && rl.Limit > 0 && rl.Remaining == 0 {
			// The window is spent: asking again would only be a 429. The
			// posts left keep their cursors and come with the next poll.
			notPolled(queue, fmt.Sprintf("the search rate limit is spent until %s", rl.Reset.UTC().Format(time.RFC3339)))
			break
		}
		queue = queue[1:]
		res := s.pollChunk(ctx, q.ids, q.until, state)
		if res.rate.Known() {
			out.RateLimit = res.rate
		}
		switch {
		case res.refused && len(q.ids) > 1:
			// One post X refuses must not keep the others from being
			// polled: try each half on its own.
			half := len(q.ids) / 2
			queue = append([]pollQuery{{ids: q.ids[:half], until: q.until}, {ids: q.ids[half:], until: q.until}}, queue...)
			answered = true
		case res.refused:
			state[q.ids[0]].entry.Err = res.err.Error()
			answered = true
		case res.err != nil && !answered:
			return sdk.PollResponse{RateLimit: out.RateLimit}, res.err
		case res.err != nil:
			// What the earlier queries read stands; these posts keep their
			// cursors and come with the next poll.
			var rle *sdk.RateLimitedError
			if errors.As(res.err, &rle) {
				notPolled(append([]pollQuery{q}, queue...), res.err.Error())
				out.RateLimit = res.rate
				queue = nil
				break
			}
			notPolled([]pollQuery{q}, res.err.Error())
		default:
			answered = true
		}
	}
	return out, nil
}

// pollQuery is the posts one query covers.
type pollQuery struct {
	ids   []string
	until string
}

// chunkQueries splits ids into groups whose OR-ed query fits max characters.
func chunkQueries(ids []string, max int) [][]string {
	terms := make([]string, len(ids))
	for i, id := range ids {
		terms[i] = "conversation_id:" + id
	}
	out := orGroups(terms, max)
	for _, g := range out {
		for i, term := range g {
			g[i] = strings.TrimPrefix(term, "conversation_id:")
		}
	}
	return out
}

// orGroups splits terms, in order, into runs whose " OR "-joined length is
// at most max characters; a term longer than max is a run of its own.
func orGroups(terms []string, max int) [][]string {
	var out [][]string
	n := 0
	for _, term := range terms {
		if len(out) > 0 && n+len(" OR ")+len(term) <= max {
			out[len(out)-1] = append(out[len(out)-1], term)
			n += len(" OR ") + len(term)
			continue
		}
		out = append(out, []string{term})
		n = len(term)
	}
	return out
}

func buildQuery(ids []string) string {
	terms := make([]string, len(ids))
	for i, id := range ids {
		terms[i] = "conversation_id:" + id
	}
	return strings.Join(terms, " OR ")
}

// chunkResult is how one query went.
type chunkResult struct {
	// rate is the last rate-limit state X gave: for a 429, Remaining 0
	// and the window's reset (a usage cap's too, so that the host waits
	// at least that long before it meets the cap again).
	rate sdk.RateLimit
	// err is a failure of the first page, which read nothing.
	err error
	// refused: X answered the first page 400 (err says why).
	refused bool
}

// pollChunk runs one query, page by page, and files what it finds under the
// posts in state. A failure after the first page is each post's Err, with
// what the earlier pages read.
func (s *settings) pollChunk(ctx context.Context, ids []string, until string, state map[string]*pollPost) chunkResult {
	since := ""
	for i, id := range ids {
		p := state[id]
		if p.since == "" {
			since = ""
			break
		}
		if i == 0 || compareIDs(p.since, since) < 0 {
			since = p.since
		}
	}
	q := url.Values{
		"query":        {buildQuery(ids)},
		"max_results":  {fmt.Sprint(s.maxResults)},
		"tweet.fields": {"author_id,conversation_id,created_at,in_reply_to_user_id,referenced_tweets,lang"},
		"expansions":   {"author_id"},
		"user.fields":  {"username"},
	}
	if since != "" {
		q.Set("since_id", since)
	}
	if until != "" {
		q.Set("until_id", until)
	}
	var rl sdk.RateLimit
	walkNewest, oldest := "", ""
	done := false
	var failure error
	for page := 0; page < s.maxPages; page++ {
		res, err := s.call(ctx, false, http.MethodGet, searchPath, q, nil, "GET "+searchPath)
		if res.rate.Known() {
			rl = res.rate
		}
		if err == nil {
			err = res.check()
		}
		var body searchPage
		var tweets []tweet
		if err == nil {
			var derr error
			body, tweets, derr = decodeSearch(res.body)
			if derr != nil {
				err = fmt.Errorf("%s: the answer is not the JSON expected (%v): %.200q", res.what, derr, res.body)
			}
		}
		if err != nil {
			var rle *sdk.RateLimitedError
			if errors.As(err, &rle) {
				rl = rle.RateLimit
				if rl.Reset.IsZero() {
					rl.Reset = res.rate.Reset
				}
			}
			if page == 0 {
				// This query was refused (a bug, or ids or a since_id X
				// rejects): Poll tries its posts apart.
				return chunkResult{rate: rl, err: err, refused: res.status == http.StatusBadRequest}
			}
			failure = err
			break
		}
		users := map[string]string{}
		for _, u := range body.Includes.Users {
			users[u.ID] = u.Username
		}
		for i, tw := range tweets {
			walkNewest = maxID(walkNewest, tw.ID)
			if oldest == "" || compareIDs(tw.ID, oldest) < 0 {
				oldest = tw.ID
			}
			p := state[tw.ConversationID]
			if p == nil || p.skipped {
				s.log.Warn("recent search returned a tweet of a conversation not asked for", "tweet", tw.ID, "conversation_id", tw.ConversationID)
				continue
			}
			if tw.ID == tw.ConversationID {
				continue // the post itself
			}
			if p.cur.Since != "" && compareIDs(tw.ID, p.cur.Since) <= 0 {
				continue // delivered before
			}
			if p.cur.Until != "" && compareIDs(tw.ID, p.cur.Until) >= 0 {
				continue
			}
			c := toComment(tw, users[tw.AuthorID], tweetsRaw(body, i))
			if s.ownReply(c) {
				continue // the account's own reply
			}
			p.entry.Comments = append(p.entry.Comments, c)
			p.newest = maxID(p.newest, tw.ID)
		}
		if body.Meta.NextToken == "" {
			done = true
			break
		}
		if res.rate.Limit > 0 && res.rate.Remaining == 0 {
			// The window is spent: the next page would be a 429. The walk
			// goes on from here once it resets.
			break
		}
		q.Set("next_token", body.Meta.NextToken)
	}
	for _, id := range ids {
		p := state[id]
		newest := maxID(p.cur.Since, p.cur.Newest, p.newest, walkNewest)
		switch {
		case done:
			p.entry.Cursor = cursor{Since: newest}.bytes()
		case oldest == "":
			// Nothing read at all (a failure on a later page of nothing):
			// keep the old cursor.
		default:
			p.entry.Cursor = cursor{Since: p.cur.Since, Until: oldest, Newest: newest}.bytes()
			p.entry.More = failure == nil
		}
		if failure != nil {
			p.entry.Err = fmt.Sprintf("read in part; the rest comes with the next poll: %v", failure)
		}
	}
	return chunkResult{rate: rl}
}

func tweetsRaw(p searchPage, i int) []byte {
	return append([]byte(nil), p.Data[i]...)
}
