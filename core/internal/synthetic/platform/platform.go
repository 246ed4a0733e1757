package platform

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for the zero Options.
const (
	DefaultPageSize   = 100
	DefaultMaxPosts   = 100
	DefaultRateLimit  = 100000
	DefaultRateWindow = 15 * time.Minute
)

// firstID is the first comment id AddComment assigns: tweet-sized, so
// connectors meet ids that do not fit in 32 bits or a float64 exactly.
const firstID uint64 = 1700000000000000001

// Options configures a Server. The zero value is a usable platform.
type Options struct {
	// Secret is the webhook HMAC key Deliver signs with.
	Secret string
	// Token, when set, is the bearer token every API request must carry.
	Token string
	// PageSize is the most items per page (default 100).
	PageSize int
	// MaxPosts is the most posts one GET /v1/comments may ask for (default 100).
	MaxPosts int
	// RateLimit is how many requests a rate-limit window admits (default
	// 100000: generous, so only tests about limits meet them).
	RateLimit int
	// RateWindow is the length of a rate-limit window (default 15 minutes).
	RateWindow time.Duration
	// Now is the platform's clock (default time.Now): a test of rate-limit
	// windows moves it instead of sleeping.
	Now func() time.Time
}

// Comment is a comment as the platform stores it.
type Comment struct {
	ID       string
	PostID   string
	AuthorID string
	Handle   string
	Text     string
	// Version counts edits: 0 until the comment is first edited.
	Version   int
	CreatedAt time.Time
}

// Action is one moderation call the platform received.
type Action struct {
	CommentID      string
	Action         string
	IdempotencyKey string
	// Changed reports whether the call changed the comment's state.
	Changed bool
	// Status is the HTTP status the call was answered with.
	Status int
	At     time.Time
}

// Comment states, as State reports them.
const (
	StateVisible = "visible"
	StateHidden  = "hidden"
	StateDeleted = "deleted"
	StateFlagged = "flagged"
)

// Stats counts the API requests the platform received, by endpoint, and what
// became of them, so a test can prove how much quota a connector used.
type Stats struct {
	Comments   int // GET /v1/comments
	UserPosts  int // GET /v1/users/{id}/posts
	Moderation int // PUT /v1/comments/{id}/moderation
	Other      int // anything else (answered 404)
	Throttled  int // answered 429, window limit or usage cap
	Faulted    int // answered 503, or truncated, malformed or slowed by a fault
	Deliveries int // webhook deliveries sent by Deliver
}

// Total is the number of API requests received.
func (s Stats) Total() int { return s.Comments + s.UserPosts + s.Moderation + s.Other }

// Server is a running synthetic platform. Its methods are safe for
// concurrent use.
type Server struct {
	opts   Options
	url    string
	srv    *http.Server
	served chan struct{}

	mu       sync.Mutex
	posts    map[string]*post
	nposts   int
	byAuthor map[string][]*post // in the order added
	comments map[string]*comment
	maxID    uint64
	keys     map[string]keyUse
	actions  []Action
	faults   Faults
	stats    Stats
	window   window
}

type post struct {
	id, author string
	seq        int // order added, for newest-first listings and page tokens
	created    time.Time
	comments   []*comment // ascending id
}

type comment struct {
	Comment
	n                        uint64
	hidden, flagged, deleted bool
	// wire is the item as GET /v1/comments lists it, encoded when the
	// comment is added or edited rather than on every page that lists it.
	wire []byte
}

type keyUse struct{ commentID, action string }

type window struct {
	end  time.Time
	used int
}

// Start serves a new platform on 127.0.0.1 at a free port. It panics if it
// cannot listen, as httptest.NewServer does: a test cannot go on without it.
func Start(opts Options) *Server {
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.MaxPosts <= 0 {
		opts.MaxPosts = DefaultMaxPosts
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = DefaultRateLimit
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = DefaultRateWindow
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("platform: listen on 127.0.0.1: %v", err))
	}
	s := &Server{
		opts:     opts,
		url:      "http://" + ln.Addr().String(),
		served:   make(chan struct{}),
		posts:    map[string]*post{},
		byAuthor: map[string][]*post{},
		comments: map[string]*comment{},
		keys:     map[string]keyUse{},
	}
	mux := http.NewServeMux()
	mux.Handle("GET /v1/comments", s.api(&s.stats.Comments, s.listComments))
	mux.Handle("GET /v1/users/{id}/posts", s.api(&s.stats.UserPosts, s.listPosts))
	mux.Handle("PUT /v1/comments/{id}/moderation", s.api(&s.stats.Moderation, s.moderate))
	mux.Handle("/", s.api(&s.stats.Other, func(r *http.Request) reply {
		return problem(http.StatusNotFound, "Not Found", "no endpoint "+r.Method+" "+r.URL.Path)
	}))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln) // returns ErrServerClosed on Close
	}()
	return s
}

// URL is the base URL of the API, "http://127.0.0.1:PORT".
func (s *Server) URL() string { return s.url }

// Close stops the server and drops open connections; a slow response in
// flight is abandoned.
func (s *Server) Close() {
	_ = s.srv.Close()
	<-s.served
}

// AddPost publishes a post by authorID. Adding an existing post again does
// nothing. It panics on an id the API could not list (empty, or with ',',
// ':' or '/').
func (s *Server) AddPost(id, authorID string) {
	if !validName(id) {
		panic(fmt.Sprintf("platform: AddPost: invalid post id %q (non-empty, no ',', ':' or '/')", id))
	}
	if !validName(authorID) {
		panic(fmt.Sprintf("platform: AddPost: invalid author id %q (non-empty, no ',', ':' or '/')", authorID))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.posts[id] != nil {
		return
	}
	s.nposts++
	p := &post{id: id, author: authorID, seq: s.nposts, created: s.opts.Now().UTC()}
	s.posts[id] = p
	s.byAuthor[authorID] = append(s.byAuthor[authorID], p)
}

// AddComment publishes c on its post and returns it as stored. An empty ID
// gets the next id, a zero CreatedAt the platform's current time. Adding an
// existing ID again with another Text is an edit: the text changes and the
// Version goes up by one (other fields keep their first value); with the same
// Text, or on a deleted comment, it changes nothing. It panics when the post
// does not exist or a new id is not a canonical decimal larger than every id
// before it: ids only ever grow, which is what makes poll cursors work.
func (s *Server) AddComment(c Comment) Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.comments[c.ID]; c.ID != "" && old != nil {
		if !old.deleted && old.Text != c.Text {
			old.Text = c.Text
			old.Version++
			old.wire = s.encodeItem(old.Comment)
		}
		return old.Comment
	}
	p := s.posts[c.PostID]
	if p == nil {
		panic(fmt.Sprintf("platform: AddComment %q: no post %q (AddPost first)", c.ID, c.PostID))
	}
	var n uint64
	switch {
	case c.ID == "" && s.maxID == 0:
		n = firstID
	case c.ID == "":
		n = s.maxID + 1
	default:
		var ok bool
		if n, ok = parseID(c.ID); !ok {
			panic(fmt.Sprintf("platform: AddComment: id %q is not a canonical decimal of at most 64 bits", c.ID))
		}
		if n <= s.maxID {
			panic(fmt.Sprintf("platform: AddComment: id %q is not larger than %d: comment ids only grow", c.ID, s.maxID))
		}
	}
	s.maxID = n
	c.ID = strconv.FormatUint(n, 10)
	c.Version = 0
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.opts.Now()
	}
	c.CreatedAt = c.CreatedAt.UTC()
	stored := &comment{Comment: c, n: n, wire: s.encodeItem(c)}
	s.comments[c.ID] = stored
	p.comments = append(p.comments, stored) // n is the largest yet: order kept
	return c
}

// Comment returns the comment with this id as stored (deleted ones too).
func (s *Server) Comment(id string) (Comment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.comments[id]
	if c == nil {
		return Comment{}, false
	}
	return c.Comment, true
}

// Actions returns every moderation call received, in the order received.
func (s *Server) Actions() []Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.actions)
}

// State is the comment's effective state: deleted, else hidden, else
// flagged, else visible; "" for an unknown comment.
func (s *Server) State(commentID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.comments[commentID]
	if c == nil {
		return ""
	}
	return c.state()
}

func (c *comment) state() string {
	switch {
	case c.deleted:
		return StateDeleted
	case c.hidden:
		return StateHidden
	case c.flagged:
		return StateFlagged
	}
	return StateVisible
}

// Requests returns the request counts so far.
func (s *Server) Requests() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Sign is the X-Synthetic-Signature value for body: "sha256=" and the hex
// HMAC-SHA256 of body under Options.Secret. Tests use it to forge deliveries
// of their own.
func (s *Server) Sign(body []byte) string {
	mac := hmac.New(sha256.New, []byte(s.opts.Secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Event types of webhook deliveries.
const (
	EventCreated = "comment.created"
	EventUpdated = "comment.updated"
)

// Deliver POSTs one signed webhook delivery carrying these comments, as
// given (they need not be stored), to url and returns the HTTP status it was
// answered with. A comment with Version above 0 is a comment.updated event.
func (s *Server) Deliver(ctx context.Context, url string, comments ...Comment) (int, error) {
	req, err := s.DeliveryRequest(ctx, url, comments...)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.stats.Deliveries++
	s.mu.Unlock()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("platform: deliver to %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// DeliveryRequest is the signed webhook delivery Deliver would send, not
// sent, for a caller that sends it its own way (a load generator writing
// prepared requests straight to its connections).
func (s *Server) DeliveryRequest(ctx context.Context, url string, comments ...Comment) (*http.Request, error) {
	type event struct {
		Type    string   `json:"type"`
		Comment wireItem `json:"comment"`
	}
	payload := struct {
		Events []event `json:"events"`
	}{Events: make([]event, len(comments))}
	for i, c := range comments {
		typ := EventCreated
		if c.Version > 0 {
			typ = EventUpdated
		}
		payload.Events[i] = event{Type: typ, Comment: s.item(c)}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("platform: encode delivery: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("platform: delivery request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Synthetic-Signature", s.Sign(body))
	req.Header.Set("X-Synthetic-Delivery", rand.Text())
	return req, nil
}

// wireItem is a comment as the API and webhooks carry it.
type wireItem struct {
	ID           string `json:"id"`
	PostID       string `json:"post_id"`
	AuthorID     string `json:"author_id"`
	AuthorHandle string `json:"author_handle"`
	Text         string `json:"text"`
	Version      int    `json:"version"`
	CreatedAt    string `json:"created_at"`
	URL          string `json:"url"`
}

// encodeItem is the JSON of c's wireItem.
func (s *Server) encodeItem(c Comment) []byte {
	b, _ := json.Marshal(s.item(c)) // plain strings and an int: cannot fail
	return b
}

func (s *Server) item(c Comment) wireItem {
	return wireItem{
		ID: c.ID, PostID: c.PostID, AuthorID: c.AuthorID, AuthorHandle: c.Handle, Text: c.Text,
		Version: c.Version, CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339Nano),
		URL: s.url + "/p/" + c.PostID + "/c/" + c.ID,
	}
}

// validName reports whether a post or user id can appear in the API's lists.
func validName(id string) bool {
	return id != "" && !strings.ContainsAny(id, ",:/")
}

// parseID parses a canonical comment id: decimal digits, no leading zero,
// at most 64 bits.
func parseID(s string) (uint64, bool) {
	if s == "" || s[0] == '0' || len(s) > 20 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}
