package platform

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Faults is the fault injection in force; Server.Faults replaces it. The
// zero value turns every fault off. Counted faults hit the next N requests
// they apply to and are used up one per request.
type Faults struct {
	// UsageCapExceeded answers every API request with 429 and the title
	// "UsageCapExceeded" while it is set.
	UsageCapExceeded bool `json:"usage_cap_exceeded,omitempty"`
	// RateLimited answers the next N API requests with a window 429
	// ("Too Many Requests", x-rate-limit-remaining 0).
	RateLimited int `json:"rate_limited,omitempty"`
	// ServerErrors answers the next N API requests with 503, without acting
	// on them.
	ServerErrors int `json:"server_errors,omitempty"`
	// Slow holds back every API response by this long, after the request was
	// acted on, while it is set.
	Slow time.Duration `json:"slow,omitempty"`
	// Truncated cuts the JSON body of the next N 200 answers in half.
	Truncated int `json:"truncated,omitempty"`
	// Malformed corrupts one item, the middle one, of the next N non-empty
	// comments pages, the way MalformedKind says.
	Malformed int `json:"malformed,omitempty"`
	// MalformedKind is how an item is corrupted (default MalformedIDNumber).
	MalformedKind MalformedKind `json:"malformed_kind,omitempty"`
}

// MalformedKind is a way a comment item can be corrupted.
type MalformedKind string

// The kinds of malformed items.
const (
	// MalformedIDNumber sends "id" as a JSON number, not a string; the rest
	// of the item, post_id included, is intact.
	MalformedIDNumber MalformedKind = "id_number"
	// MalformedNoText leaves "text" out; the id is intact.
	MalformedNoText MalformedKind = "no_text"
	// MalformedNotObject replaces the item with a JSON string, so nothing
	// says which post it belonged to.
	MalformedNotObject MalformedKind = "not_object"
)

// Faults replaces the fault injection in force.
func (s *Server) Faults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// reply is what an endpoint answers, before faults after acting apply.
type reply struct {
	status int
	body   any
	// raw, when set, is the body already encoded, and body is ignored.
	raw []byte
	// faulted: the endpoint itself applied a fault (a malformed item).
	faulted bool
}

type problemBody struct {
	Title  string `json:"title"`
	Detail string `json:"detail,omitempty"`
	Status int    `json:"status"`
}

func problem(status int, title, detail string) reply {
	return reply{status: status, body: problemBody{Title: title, Detail: detail, Status: status}}
}

// rateState is what the x-rate-limit-* headers say.
type rateState struct {
	limit, remaining int
	reset            time.Time
}

// peekLocked is the rate-limit state without using up a request.
func (s *Server) peekLocked(now time.Time) rateState {
	if !now.Before(s.window.end) {
		return rateState{s.opts.RateLimit, s.opts.RateLimit, now.Add(s.opts.RateWindow)}
	}
	return rateState{s.opts.RateLimit, s.opts.RateLimit - s.window.used, s.window.end}
}

// admitLocked uses up one request of the window, or refuses when none is
// left. A window starts at the first request after the previous one ended.
func (s *Server) admitLocked(now time.Time) (rateState, bool) {
	if !now.Before(s.window.end) {
		s.window = window{end: now.Add(s.opts.RateWindow)}
	}
	if s.window.used >= s.opts.RateLimit {
		return rateState{s.opts.RateLimit, 0, s.window.end}, false
	}
	s.window.used++
	return rateState{s.opts.RateLimit, s.opts.RateLimit - s.window.used, s.window.end}, true
}

// api wraps an endpoint with what every request goes through: counting,
// authentication, the rate limit and the faults, in the order the package
// documentation gives.
func (s *Server) api(counter *int, endpoint func(*http.Request) reply) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		*counter++
		now := s.opts.Now()
		var (
			rl   rateState
			rep  reply
			pass bool
		)
		switch {
		case s.opts.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.opts.Token:
			rl = s.peekLocked(now)
			rep = problem(http.StatusUnauthorized, "Unauthorized", "a valid bearer token is required")
		case s.faults.UsageCapExceeded:
			s.stats.Throttled++
			rl = s.peekLocked(now)
			rep = problem(http.StatusTooManyRequests, "UsageCapExceeded", "the usage cap of this app is used up; it does not reset with the rate-limit window")
		case s.faults.RateLimited > 0:
			s.faults.RateLimited--
			s.stats.Throttled++
			rl = s.peekLocked(now)
			rl.remaining = 0
			rep = problem(http.StatusTooManyRequests, "Too Many Requests", "rate limit exceeded")
		default:
			var ok bool
			if rl, ok = s.admitLocked(now); !ok {
				s.stats.Throttled++
				rep = problem(http.StatusTooManyRequests, "Too Many Requests", "rate limit exceeded")
			} else if s.faults.ServerErrors > 0 {
				s.faults.ServerErrors--
				s.stats.Faulted++
				rep = problem(http.StatusServiceUnavailable, "Service Unavailable", "injected server error")
			} else {
				pass = true
			}
		}
		s.mu.Unlock()

		if pass {
			rep = endpoint(r)
		}
		body, err := rep.raw, error(nil)
		if body == nil {
			body, err = json.Marshal(rep.body)
		}
		if err != nil {
			rep, body = problem(http.StatusInternalServerError, "Internal Server Error", err.Error()), nil
			body, _ = json.Marshal(rep.body)
		}

		var slow time.Duration
		if pass {
			s.mu.Lock()
			faulted := rep.faulted
			if rep.status == http.StatusOK && s.faults.Truncated > 0 {
				s.faults.Truncated--
				body = body[:len(body)/2]
				faulted = true
			}
			if slow = s.faults.Slow; slow > 0 {
				faulted = true
			}
			if faulted {
				s.stats.Faulted++
			}
			s.mu.Unlock()
		}
		if slow > 0 {
			t := time.NewTimer(slow)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return // the client gave up; the action, if any, stands
			}
		}

		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		h.Set("x-rate-limit-limit", strconv.Itoa(rl.limit))
		h.Set("x-rate-limit-remaining", strconv.Itoa(rl.remaining))
		// Rounded up: a client that waits until the header's second must
		// find the new window open.
		h.Set("x-rate-limit-reset", strconv.FormatInt(rl.reset.Add(time.Second-1).Unix(), 10))
		w.WriteHeader(rep.status)
		_, _ = w.Write(body)
	})
}

type pageMeta struct {
	ResultCount int    `json:"result_count"`
	NewestID    string `json:"newest_id,omitempty"`
	OldestID    string `json:"oldest_id,omitempty"`
	NextToken   string `json:"next_token,omitempty"`
}

type postError struct {
	PostID string `json:"post_id"`
	Title  string `json:"title"`
	Detail string `json:"detail,omitempty"`
}

// commentsPage is a page of GET /v1/comments without its items, which
// encodePage puts in front of it: {"data": [...], "meta": ..., "errors": ...}.
type commentsPage struct {
	Meta   pageMeta    `json:"meta"`
	Errors []postError `json:"errors,omitempty"`
}

// encodePage writes the page around items that are JSON already, which is
// what json.Marshal of a []json.RawMessage field would write, without
// compacting each item again.
func encodePage(items [][]byte, page commentsPage) []byte {
	rest, _ := json.Marshal(page) // strings and ints: cannot fail
	n := len(`{"data":[],`) + len(rest)
	for _, it := range items {
		n += len(it) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"data":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	b = append(b, "],"...)
	return append(b, rest[1:]...) // rest without its opening brace
}

// listComments is GET /v1/comments.
func (s *Server) listComments(r *http.Request) reply {
	q := r.URL.Query()
	if q.Get("posts") == "" {
		return problem(http.StatusBadRequest, "Invalid Request", "posts is required: a comma-separated list of post ids")
	}
	var ids []string
	asked := map[string]bool{}
	for _, id := range strings.Split(q.Get("posts"), ",") {
		if !validName(id) {
			return problem(http.StatusBadRequest, "Invalid Request", fmt.Sprintf("posts: invalid post id %q", id))
		}
		if !asked[id] {
			asked[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) > s.opts.MaxPosts {
		return problem(http.StatusBadRequest, "Invalid Request", fmt.Sprintf("posts: %d posts, at most %d per request", len(ids), s.opts.MaxPosts))
	}
	since, err := parseBounds(q.Get("since"), asked)
	if err != nil {
		return problem(http.StatusBadRequest, "Invalid Request", "since: "+err.Error())
	}
	until, err := parseBounds(q.Get("until"), asked)
	if err != nil {
		return problem(http.StatusBadRequest, "Invalid Request", "until: "+err.Error())
	}
	below := uint64(math.MaxUint64)
	if t := q.Get("page_token"); t != "" {
		if below, err = decodeToken(t); err != nil {
			return problem(http.StatusBadRequest, "Invalid Request", "page_token: "+err.Error())
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var page commentsPage
	// One descending run of candidates per post, merged newest first.
	type run struct {
		cs []*comment
		i  int
	}
	var runs []run
	for _, id := range ids {
		p := s.posts[id]
		if p == nil {
			page.Errors = append(page.Errors, postError{PostID: id, Title: "Not Found", Detail: "post " + id + " does not exist"})
			continue
		}
		hi := below
		if u, ok := until[id]; ok && u < hi {
			hi = u
		}
		end := sort.Search(len(p.comments), func(i int) bool { return p.comments[i].n >= hi })
		start := sort.Search(len(p.comments), func(i int) bool { return p.comments[i].n > since[id] })
		if end > start {
			runs = append(runs, run{cs: p.comments[start:end], i: end - start - 1})
		}
	}
	var items []*comment
	for len(items) <= s.opts.PageSize {
		best := -1
		for k := range runs {
			if runs[k].i >= 0 && (best < 0 || runs[k].cs[runs[k].i].n > runs[best].cs[runs[best].i].n) {
				best = k
			}
		}
		if best < 0 {
			break
		}
		c := runs[best].cs[runs[best].i]
		runs[best].i--
		if !c.deleted {
			items = append(items, c)
		}
	}
	if len(items) > s.opts.PageSize {
		items = items[:s.opts.PageSize]
		page.Meta.NextToken = encodeToken(items[len(items)-1].n)
	}
	data := make([][]byte, len(items))
	for i, c := range items {
		data[i] = c.wire
	}
	rep := reply{status: http.StatusOK}
	if len(items) > 0 {
		page.Meta.NewestID, page.Meta.OldestID = items[0].ID, items[len(items)-1].ID
		if s.faults.Malformed > 0 {
			s.faults.Malformed--
			mid := len(items) / 2
			data[mid] = malform(s.faults.MalformedKind, s.item(items[mid].Comment))
			rep.faulted = true
		}
	}
	page.Meta.ResultCount = len(items)
	rep.raw = encodePage(data, page)
	return rep
}

// malform corrupts one item the way kind says.
func malform(kind MalformedKind, it wireItem) json.RawMessage {
	if kind == MalformedNotObject {
		return json.RawMessage(`"corrupt item"`)
	}
	var m map[string]any
	b, _ := json.Marshal(it)
	_ = json.Unmarshal(b, &m)
	if kind == MalformedNoText {
		delete(m, "text")
	} else {
		m["id"] = json.Number(it.ID)
	}
	b, _ = json.Marshal(m)
	return b
}

// parseBounds parses "P1:ID,P2:ID": one comment id per post, each post one
// of asked.
func parseBounds(raw string, asked map[string]bool) (map[string]uint64, error) {
	out := map[string]uint64{}
	if raw == "" {
		return out, nil
	}
	for _, pair := range strings.Split(raw, ",") {
		post, id, ok := strings.Cut(pair, ":")
		if !ok {
			return nil, fmt.Errorf("%q is not post_id:comment_id", pair)
		}
		if !asked[post] {
			return nil, fmt.Errorf("post %q is not in posts", post)
		}
		if _, dup := out[post]; dup {
			return nil, fmt.Errorf("post %q is given twice", post)
		}
		n, ok := parseID(id)
		if !ok {
			return nil, fmt.Errorf("%q is not a comment id", id)
		}
		out[post] = n
	}
	return out, nil
}

// Page tokens are opaque to clients; inside, the last item's id or sequence.
func encodeToken(n uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(n, 10)))
}

func decodeToken(t string) (uint64, error) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return 0, fmt.Errorf("not a token of this API")
	}
	n, ok := parseID(string(b))
	if !ok {
		return 0, fmt.Errorf("not a token of this API")
	}
	return n, nil
}

type wirePost struct {
	ID        string `json:"id"`
	AuthorID  string `json:"author_id"`
	Title     string `json:"title"`
	URL       string `json:"url"`
	CreatedAt string `json:"created_at"`
}

// listPosts is GET /v1/users/{id}/posts.
func (s *Server) listPosts(r *http.Request) reply {
	below := uint64(math.MaxUint64)
	if t := r.URL.Query().Get("page_token"); t != "" {
		var err error
		if below, err = decodeToken(t); err != nil {
			return problem(http.StatusBadRequest, "Invalid Request", "page_token: "+err.Error())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var page struct {
		Data []wirePost `json:"data"`
		Meta pageMeta   `json:"meta"`
	}
	page.Data = []wirePost{}
	posts := s.byAuthor[r.PathValue("id")]
	var last *post
	for i := len(posts) - 1; i >= 0; i-- {
		p := posts[i]
		if uint64(p.seq) >= below {
			continue
		}
		if len(page.Data) == s.opts.PageSize {
			page.Meta.NextToken = encodeToken(uint64(last.seq))
			break
		}
		last = p
		page.Data = append(page.Data, wirePost{
			ID: p.id, AuthorID: p.author, Title: "Post " + p.id, URL: s.url + "/p/" + p.id,
			CreatedAt: p.created.Format(time.RFC3339Nano),
		})
	}
	page.Meta.ResultCount = len(page.Data)
	return reply{status: http.StatusOK, body: page}
}

type moderationBody struct {
	ID      string `json:"id"`
	Action  string `json:"action"`
	Changed bool   `json:"changed"`
	State   string `json:"state"`
}

// Moderation actions the API accepts.
var moderationActions = map[string]bool{"hide": true, "unhide": true, "delete": true, "flag": true}

// moderate is PUT /v1/comments/{id}/moderation.
func (s *Server) moderate(r *http.Request) reply {
	id := r.PathValue("id")
	key := r.Header.Get("Idempotency-Key")
	var body struct {
		Action string `json:"action"`
	}
	decodeErr := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body)

	s.mu.Lock()
	defer s.mu.Unlock()
	record := func(status int, changed bool) {
		s.actions = append(s.actions, Action{CommentID: id, Action: body.Action, IdempotencyKey: key, Changed: changed, Status: status, At: s.opts.Now()})
	}
	fail := func(status int, title, detail string) reply {
		record(status, false)
		return problem(status, title, detail)
	}
	switch {
	case decodeErr != nil:
		return fail(http.StatusBadRequest, "Invalid Request", `body must be {"action": "hide"|"unhide"|"delete"|"flag"}`)
	case !moderationActions[body.Action]:
		return fail(http.StatusBadRequest, "Invalid Request", fmt.Sprintf("unknown action %q", body.Action))
	case key == "":
		return fail(http.StatusBadRequest, "Invalid Request", "the Idempotency-Key header is required")
	}
	c := s.comments[id]
	if c == nil {
		return fail(http.StatusNotFound, "Not Found", "comment "+id+" does not exist")
	}
	if use, ok := s.keys[key]; ok && use != (keyUse{id, body.Action}) {
		return fail(http.StatusUnprocessableEntity, "Idempotency Key Reused",
			fmt.Sprintf("key %q was used to %s comment %s", key, use.action, use.commentID))
	}
	s.keys[key] = keyUse{id, body.Action}
	if c.deleted && body.Action != "delete" {
		return fail(http.StatusGone, "Gone", "comment "+id+" was deleted")
	}
	var changed bool
	switch body.Action {
	case "hide":
		changed, c.hidden = !c.hidden, true
	case "unhide":
		changed, c.hidden = c.hidden, false
	case "flag":
		changed, c.flagged = !c.flagged, true
	case "delete":
		changed, c.deleted = !c.deleted, true
	}
	record(http.StatusOK, changed)
	return reply{status: http.StatusOK, body: moderationBody{ID: id, Action: body.Action, Changed: changed, State: c.state()}}
}
