package main

import (
	"bytes"
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

// pollCursor is a post's opaque cursor. Since is the createdAt (epoch ms)
// of the newest response delivered and SeenAt the ids delivered with that
// very createdAt: the next poll asks for since=Since and drops those. A
// walk through more pages than one poll reads keeps its place in Page (the
// API's token for the next, older page) and the newest response it met in
// Top and TopIDs, which become Since and SeenAt once the walk ends. So the
// cursor never passes a response that was not delivered.
type pollCursor struct {
	V      int      `json:"v"`
	Since  int64    `json:"since,omitempty"`
	SeenAt []string `json:"seen,omitempty"`
	Page   string   `json:"page,omitempty"`
	Top    int64    `json:"top,omitempty"`
	TopIDs []string `json:"top_ids,omitempty"`
}

func decodePollCursor(raw []byte) (pollCursor, error) {
	var c pollCursor
	if len(raw) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return pollCursor{}, err
	}
	switch {
	case c.V != 1:
		return pollCursor{}, fmt.Errorf("version %d", c.V)
	case c.Since < 0 || c.Top < 0:
		return pollCursor{}, errors.New("negative time")
	case c.Page == "" && (c.Top != 0 || len(c.TopIDs) > 0):
		return pollCursor{}, errors.New("a walk's top without its page")
	case c.Page != "" && c.Top < c.Since:
		return pollCursor{}, errors.New("a walk's top before its since")
	}
	return c, nil
}

func (c pollCursor) encode() []byte {
	c.V = 1
	data, _ := json.Marshal(c)
	return data
}

// responsesPage is one page of /v1/posts/{id}/responses.
type responsesPage struct {
	Data   *[]json.RawMessage `json:"data"`
	Paging struct {
		Next string `json:"next"`
	} `json:"paging"`
}

// Poll fetches each post's responses newer than its cursor: one request per
// page (the API has no call for several posts), at most max_pages pages per
// post, newest first. A post with more says More, and the host polls it
// again at once; so does a post whose walk through older pages, begun by an
// earlier poll, has just ended (what was written meanwhile is ready).
//
// A problem with one post (it does not exist, the API failed on it, the
// answer was not the JSON expected) goes in that post's Err with whatever
// was read before it. A refused token fails the whole call. A spent rate
// limit (429), an API that does not answer, or one that fails (5xx) on
// maxServerErrors posts in a row stops the call: it fails as a whole when
// no response was read yet (so the host backs off), and otherwise returns
// what was read, the remaining posts marked not polled, so no quota already
// spent is wasted.
//
// Two things stop the call early without failing it: an answer that says
// no request is left in the rate window (X-RateLimit-Remaining: 0, with a
// reset still to come), since the next request would only earn a 429; and
// a call deadline less than one request timeout away, since a request
// begun then could be cut off with everything read before it. Either way
// what was read comes back with its cursors (a walk keeps its place and
// says More) and the posts not reached say "not polled: ...". The call's
// first request is always made, so a deadline shorter than timeout still
// lets each call make progress. A ctx that ends mid-request returns what
// was read before it, or fails the call when nothing was.
func (m *Medium) Poll(ctx context.Context, posts []sdk.PostCursor) (sdk.PollResponse, error) {
	s, err := m.current()
	if err != nil {
		return sdk.PollResponse{}, err
	}
	var out sdk.PollResponse
	call := &pollCall{settings: s}
	read, progressed, failedInARow := false, false, 0
	for i, pc := range posts {
		r := call.pollPost(ctx, pc)
		if r.rate.Known() {
			out.RateLimit = r.rate
		}
		read = read || len(r.entry.Comments) > 0
		progressed = progressed || len(r.entry.Comments) > 0 || !bytes.Equal(r.entry.Cursor, pc.Cursor)
		out.Posts = append(out.Posts, r.entry)
		stop := r.stop
		switch {
		case stop != nil:
		case r.serverFailed:
			if failedInARow++; failedInARow == maxServerErrors {
				stop = fmt.Errorf("the API failed on %d posts in a row, the last: %s", failedInARow, r.entry.Err)
			}
		default:
			failedInARow = 0
		}
		if stop == nil {
			continue
		}
		switch {
		case errors.Is(stop, errRefused):
			return sdk.PollResponse{RateLimit: out.RateLimit}, stop
		case errors.As(stop, new(pause)):
			// Nothing failed: what was read comes back, and the rest waits.
		case ctx.Err() != nil:
			if !progressed {
				return sdk.PollResponse{RateLimit: out.RateLimit}, stop
			}
		case !read:
			return sdk.PollResponse{RateLimit: out.RateLimit}, stop
		}
		for _, rest := range posts[i+1:] {
			out.Posts = append(out.Posts, sdk.PostComments{PostID: rest.PostID, Cursor: rest.Cursor, Err: "not polled: " + stop.Error()})
		}
		break
	}
	return out, nil
}

// maxServerErrors is how many posts in a row the API may fail on (5xx)
// before a poll stops: the API is down, not the posts.
const maxServerErrors = 3

// pause is a stop that is no failure: the rate window is spent, or the
// call's deadline is too near for another request.
type pause string

func (p pause) Error() string { return string(p) }

// pollCall is one Poll call's state across its posts.
type pollCall struct {
	*settings
	// requests is how many requests the call has made.
	requests int
}

// mayRequest says why the call must not make another request, or "": the
// call's deadline is less than one request timeout away. The first request
// is always made.
func (call *pollCall) mayRequest(ctx context.Context) string {
	dl, ok := ctx.Deadline()
	if !ok || call.requests == 0 || ctx.Err() != nil {
		// A ctx already done fails the request at once, and Poll treats
		// it as any ctx that ends mid-call.
		return ""
	}
	if left := dl.Sub(call.now()); left < call.timeout {
		return fmt.Sprintf("the call's deadline is %s away, less than one request's timeout (%s)", max(left, 0).Round(time.Millisecond), call.timeout)
	}
	return ""
}

// postResult is what polling one post came to.
type postResult struct {
	// entry is the post's reply: what was read, its cursor, its Err.
	entry sdk.PostComments
	// rate is the API's last rate-limit state.
	rate sdk.RateLimit
	// stop is set when the rest of the call should not go on (a rate
	// limit, a refused token, an API that does not answer; a pause for
	// a spent window or a near deadline); entry then holds what was read
	// of the post before it.
	stop error
	// serverFailed says the API answered a 5xx.
	serverFailed bool
}

// pollPost reads one post's new responses.
func (call *pollCall) pollPost(ctx context.Context, pc sdk.PostCursor) (res postResult) {
	s := call.settings
	entry := &res.entry
	*entry = sdk.PostComments{PostID: pc.PostID, Cursor: pc.Cursor}
	if !validID(pc.PostID) {
		entry.Err = fmt.Sprintf("%q is not a Medium story id", pc.PostID)
		return res
	}
	cur, err := decodePollCursor(pc.Cursor)
	var notes []string
	if err != nil {
		// Starting over delivers responses again, which the host drops
		// as duplicates; keeping a cursor nobody can read would stop the
		// post for good.
		notes = append(notes, fmt.Sprintf("unreadable cursor (%v), started over", err))
		cur = pollCursor{}
	}
	seen := map[string]bool{}
	for _, id := range cur.SeenAt {
		seen[id] = true
	}
	top, topIDs := cur.Since, slices.Clone(cur.SeenAt)
	if cur.Page != "" {
		top, topIDs = cur.Top, slices.Clone(cur.TopIDs)
	}
	page := cur.Page
	path := "/v1/posts/" + url.PathEscape(pc.PostID) + "/responses"
	for n := 0; ; n++ {
		if why := call.mayRequest(ctx); why != "" {
			res.stop = pause(why)
			if n == 0 {
				// Not begun: the post keeps its cursor, and says why.
				entry.Err = joinNotes(notes, "not polled: "+res.stop.Error())
				entry.Cursor = pc.Cursor
				return res
			}
			// Mid-walk: entry.Cursor keeps the walk's place, as at max_pages.
			entry.More = true
			entry.Err = joinNotes(notes, "")
			return res
		}
		q := url.Values{"limit": {strconv.Itoa(s.pageSize)}}
		if cur.Since > 0 {
			q.Set("since", strconv.FormatInt(cur.Since, 10))
		}
		if page != "" {
			q.Set("page", page)
		}
		what := "GET " + path
		call.requests++
		a, err := s.get(ctx, s.api+path+"?"+q.Encode(), what, true)
		if a.rate.Known() {
			res.rate = a.rate
		}
		var rle *sdk.RateLimitedError
		switch {
		case err == nil:
		case errors.As(err, &rle), errors.Is(err, errRefused), ctx.Err() != nil, a.status == 0:
			// a.status 0: no answer at all (refused connection, timeout).
			entry.Err = joinNotes(notes, err.Error())
			res.stop = err
			return res
		case errors.Is(err, sdk.ErrNotFound):
			entry.Err = joinNotes(notes, "no such story on the API: "+err.Error())
			return res
		case a.status == http.StatusBadRequest && n == 0 && cur.Page != "":
			// The API no longer takes the walk's page token (it expired,
			// say): walk again from the cursor's since. What the walk
			// delivered comes again, and the host drops it as seen;
			// keeping the token would stop the post for good.
			notes = append(notes, fmt.Sprintf("%s: the page token was refused (%s), so the walk started over", what, snippet(a.body)))
			cur.Page, page = "", ""
			top, topIDs = cur.Since, slices.Clone(cur.SeenAt)
			n = -1
			continue
		default:
			entry.Err = joinNotes(notes, err.Error())
			res.serverFailed = a.status >= 500
			return res
		}
		if a.spent && a.rate.Reset.After(s.now()) {
			// This answer counts; the next request would be a 429.
			res.stop = pause("the rate limit is spent until " + a.rate.Reset.Format(time.RFC3339))
		}
		var p responsesPage
		if err := json.Unmarshal(a.body, &p); err != nil || p.Data == nil {
			if err == nil {
				err = errors.New(`no "data" list`)
			}
			entry.Err = joinNotes(notes, fmt.Sprintf("%s: the answer is not the JSON expected (%v): %s", what, err, snippet(a.body)))
			return res
		}
		bad, older := 0, false
		for _, raw := range *p.Data {
			c, err := decodeResponse(raw)
			if err == nil && c.PostID != pc.PostID {
				err = fmt.Errorf("response %s is on story %s", c.ID, c.PostID)
			}
			if err != nil {
				// A response that can never be read is passed over, and
				// said so, rather than stopping the post for good.
				if bad++; bad <= 3 {
					notes = append(notes, fmt.Sprintf("%s: skipped a malformed response (%v): %s", what, err, snippet(raw)))
				}
				continue
			}
			ms := c.CreatedAt.UnixMilli()
			if ms < cur.Since {
				// The API did not apply since (a proxy that ignores it):
				// newest first, every later page is older still.
				older = true
				continue
			}
			if ms == cur.Since && seen[c.ID] {
				continue
			}
			switch {
			case ms > top:
				top, topIDs = ms, []string{c.ID}
			case ms == top && !slices.Contains(topIDs, c.ID):
				topIDs = append(topIDs, c.ID)
			}
			entry.Comments = append(entry.Comments, c)
		}
		if bad > 3 {
			notes = append(notes, fmt.Sprintf("and %d more malformed responses", bad-3))
		}
		if p.Paging.Next == "" || older {
			entry.Cursor = pollCursor{Since: top, SeenAt: topIDs}.encode()
			entry.Err = joinNotes(notes, "")
			// A walk begun by an earlier poll has ended: responses written
			// since it began are newer than its top, and ready now.
			entry.More = cur.Page != ""
			return res
		}
		if p.Paging.Next == page {
			entry.Err = joinNotes(notes, what+": the API gave the same page token again")
			return res
		}
		page = p.Paging.Next
		entry.Cursor = pollCursor{Since: cur.Since, SeenAt: cur.SeenAt, Page: page, Top: top, TopIDs: topIDs}.encode()
		if n+1 == s.maxPages || res.stop != nil {
			entry.More = true
			entry.Err = joinNotes(notes, "")
			return res
		}
	}
}

// joinNotes is a post's Err: the notes gathered, then last ("" for none).
func joinNotes(notes []string, last string) string {
	if last != "" {
		notes = append(notes, last)
	}
	return strings.Join(notes, "; ")
}
