// Package mediumtest is a faithful fake of the parts of Medium the medium
// connector talks to, served over real HTTP on 127.0.0.1, the way
// net/http/httptest serves a handler:
//
//   - the RSS 2.0 feeds Medium really serves, GET /feed/@{username} and
//     GET /feed/{publication}: the newest ten stories, newest first, each
//     with its guid https://medium.com/p/{id} (isPermaLink="false"), link,
//     dc:creator, pubDate (RFC 1123, GMT), categories and content:encoded;
//     404 for a user or publication that does not exist;
//   - the JSON API of the Medium tracking guide, which Medium itself does not
//     serve (its official API is frozen and cannot list articles or read
//     responses): a proxy or third-party API serves it, and so does this fake.
//     See "The JSON API" below;
//   - webhooks: every response written, edited or deleted is POSTed to the
//     registered URL, signed with X-Medium-Signature;
//   - fault injection (5xx, 429, truncated bodies, slow answers) and a
//     settable clock.
//
// # The JSON API
//
// Every request to /v1/ must carry "Authorization: Bearer {token}" when
// Options.AccessToken is set (401 otherwise). Answers are JSON, {"data": ...}
// on success and {"errors": [{"message": ..., "code": ...}]} on failure, the
// shapes of Medium's official API.
//
//	GET /v1/users/{userId or @username}/articles
//	GET /v1/publications/{publicationId or slug}/posts
//	    {"data": [{"id", "title", "authorId", "publicationId", "url",
//	    "canonicalUrl", "publishStatus", "publishedAt", "tags"}]}, newest first
//	GET /v1/posts/{postId}/responses?limit=N&since=MS&page=TOKEN
//	    {"data": [response...], "paging": {"next": TOKEN}}
//
// A response is {"id", "postId", "inResponseToId", "creatorId", "creator":
// {"id", "username", "name"}, "content", "createdAt", "updatedAt", "url"},
// with createdAt and updatedAt in epoch milliseconds, as every time in
// Medium's API. Responses come newest first (createdAt, then id, both
// descending). limit is 1 to 100 (default 25). since (epoch ms) keeps only
// the responses created at or after it: ask with the createdAt of the newest
// response already seen, and drop the ids already seen at that millisecond.
// paging.next is there when more responses (older ones) match: pass it as
// page, with the same since, for the next page. A bad limit, since or page is
// a 400; an unknown post a 404.
//
// # Rate limits
//
// This API is served by a proxy, not by Medium, so there is no Medium
// convention to copy. The fake sends the de-facto standard headers that most
// proxies and API gateways send (GitHub, Kong, nginx modules):
// X-RateLimit-Limit (requests per window), X-RateLimit-Remaining and
// X-RateLimit-Reset (when the window restarts, in Unix seconds), on every
// answer under /v1/; a request over the limit gets 429 with Retry-After
// (seconds, RFC 9110), which every HTTP client understands. The window is
// fixed: Options.RateLimit requests per Options.RateWindow, counted from the
// first request of the window. The RSS feeds are not rate-limited.
//
// # Webhooks
//
// With a webhook registered (SetWebhook), writing, editing or deleting a
// response POSTs {"type": "response.created" | "response.updated" |
// "response.deleted", "data": response} to it, with
// X-Medium-Signature: hex(HMAC-SHA256(secret, body)), before the call that
// caused it returns. A delivery that is not answered 2xx (the receiver is
// down or restarting) is sent again, byte for byte, in the background, as
// real webhook senders do: Options.WebhookRetries times at most, waiting
// Options.WebhookBackoff, then twice as long each time; Close stops the
// retries. Redeliver sends an event again as a sender that believes it
// lost one does (the receiver must drop the duplicate). Deliveries lists
// every attempt and how it was answered.
package mediumtest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PublicURL is where the fake says its stories live, in feeds and in the
// JSON API, as Medium does: https://medium.com.
const PublicURL = "https://medium.com"

// FeedItems is how many stories a feed holds, as on Medium.
const FeedItems = 10

// Options configures a Server. The zero value is a working fake: no token
// required, 300 requests per 15 minutes, the real clock.
type Options struct {
	// AccessToken, when set, must be sent as a bearer token on /v1/.
	AccessToken string
	// RateLimit is the requests allowed per RateWindow on /v1/ (0: 300).
	RateLimit int
	// RateWindow is the rate-limit window (0: 15 minutes).
	RateWindow time.Duration
	// Now is the fake's clock (nil: time.Now). Stories and responses
	// published without a time get Now, and rate windows run on it.
	Now func() time.Time
	// WebhookRetries is how many times a webhook delivery not answered 2xx
	// is sent again (0: 5; negative: never).
	WebhookRetries int
	// WebhookBackoff is the wait before a delivery's first retry, doubled
	// before each next one (0: 2s, so retries span about a minute).
	WebhookBackoff time.Duration
}

// User is a Medium account.
type User struct {
	ID       string // hex, assigned when empty
	Username string // without "@"
	Name     string // shown in feeds as dc:creator; Username when empty
}

// Publication is a Medium publication.
type Publication struct {
	ID   string // hex, assigned when empty
	Slug string // its feed is /feed/{Slug}
	Name string
}

// Article is a story.
type Article struct {
	ID          string // 12 hex digits, assigned when empty
	Title       string
	Author      string // username, without "@"; the user is created if new
	Publication string // slug, optional; the publication is created if new
	PublishedAt time.Time
	Categories  []string
	Content     string // HTML
}

// Response is a reply to a story (or to another response on it).
type Response struct {
	ID           string // 12 hex digits, assigned when empty
	PostID       string // the story's id
	InResponseTo string // the response replied to; the story when empty
	Author       string // username, without "@"; the user is created if new
	Text         string
	CreatedAt    time.Time // Now when zero
	UpdatedAt    time.Time // CreatedAt when zero
}

// Request is a request the fake received, without its credentials.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	// Authorized says the request carried the configured token.
	Authorized bool
}

// Fault makes the fake misbehave on matching requests. Its JSON form
// (Delay in nanoseconds) is for a sandbox's fault switch.
type Fault struct {
	// Path is a prefix of the paths the fault applies to ("" for all,
	// "/v1/posts/abc/responses", "/feed/").
	Path string `json:"path,omitempty"`
	// Status answers with this status (a 5xx, say) and a JSON error.
	Status int `json:"status,omitempty"`
	// RateLimited answers 429 with the rate-limit headers spent (the
	// window's real count is untouched). It applies only to requests the
	// API would otherwise count (under /v1/, with the token): the feeds are
	// not rate-limited, and a request without the token is a 401 first.
	RateLimited bool `json:"rate_limited,omitempty"`
	// Truncate serves the real answer cut in half.
	Truncate bool `json:"truncate,omitempty"`
	// Delay holds the answer this long (or until the client gives up).
	Delay time.Duration `json:"delay,omitempty"`
	// Times is how many requests the fault applies to (0: until cleared);
	// a request it does not apply to does not count.
	Times int `json:"times,omitempty"`
}

// Delivery is one webhook POST the fake made.
type Delivery struct {
	Type      string
	Body      []byte
	Signature string
	Attempt   int   // 1 for the first POST of an event, 2 for its first retry...
	Status    int   // the receiver's answer; 0 when it failed
	Err       error // why the POST failed
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the fake's base address, "http://127.0.0.1:port": use it as
	// both rss_base_url and api_base_url.
	URL string

	srv     *httptest.Server
	handler http.Handler
	opts    Options

	mu          sync.Mutex
	seq         int
	users       map[string]*User // by username
	pubs        map[string]*Publication
	articles    []*Article            // in publishing order
	responses   map[string][]Response // by post, in writing order
	requests    []Request
	faults      []*Fault
	windowStart time.Time
	used        int
	hookURL     string
	hookSecret  []byte
	deliveries  []Delivery
	lastEvent   map[string]Delivery // by response id: its last event sent
	hookClient  *http.Client
	deliverMu   sync.Mutex // one delivery at a time, in order

	ctx       context.Context // ends at Close: retries stop
	closeCtx  context.CancelFunc
	retrying  int        // deliveries with retries under way, under mu
	retryDone *sync.Cond // on mu: signalled when retrying drops to 0
	closeOnce sync.Once
}

// NewServer starts a fake on 127.0.0.1. Close it when done.
func NewServer(opts Options) *Server {
	s := New(opts)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("mediumtest: listen on 127.0.0.1: %v", err))
	}
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: s.handler}}
	s.srv.Start()
	s.URL = s.srv.URL
	return s
}

// New makes a fake that does not listen: serve its Handler yourself (the
// sandbox can mount it beside the Twitter fake; their paths do not
// overlap). URL is empty, and Close only stops webhook retries.
func New(opts Options) *Server {
	if opts.RateLimit <= 0 {
		opts.RateLimit = 300
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = 15 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.WebhookRetries == 0 {
		opts.WebhookRetries = 5
	}
	if opts.WebhookBackoff <= 0 {
		opts.WebhookBackoff = 2 * time.Second
	}
	s := &Server{
		opts:       opts,
		users:      map[string]*User{},
		pubs:       map[string]*Publication{},
		responses:  map[string][]Response{},
		lastEvent:  map[string]Delivery{},
		hookClient: &http.Client{Timeout: 10 * time.Second},
	}
	s.ctx, s.closeCtx = context.WithCancel(context.Background())
	s.retryDone = sync.NewCond(&s.mu)
	s.handler = s.newHandler()
	return s
}

// Close stops webhook retries (waiting for one under way to end) and shuts
// the fake down (a fake made by New has no listener to shut).
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.closeCtx()
		s.WaitDeliveries()
		if s.srv != nil {
			s.srv.Close()
		}
	})
}

// Handler serves the fake's feeds and API: GET /feed/..., GET /v1/....
func (s *Server) Handler() http.Handler { return s.handler }

// id makes the next id: hex, deterministic, and in no order, as Medium's
// ids are (a client must not compare them).
func (s *Server) id(n int) string {
	s.seq++
	sum := sha256.Sum256(fmt.Appendf(nil, "mediumtest-%d", s.seq))
	return hex.EncodeToString(sum[:])[:n]
}

// AddUser creates a user (or returns the one with that username).
func (s *Server) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.user(u)
}

func (s *Server) user(u User) *User {
	u.Username = strings.TrimPrefix(u.Username, "@")
	if old, ok := s.users[u.Username]; ok {
		return old
	}
	if u.ID == "" {
		u.ID = s.id(13)
	}
	if u.Name == "" {
		u.Name = u.Username
	}
	s.users[u.Username] = &u
	return &u
}

// AddPublication creates a publication (or returns the one with that slug).
func (s *Server) AddPublication(p Publication) Publication {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.pub(p)
}

func (s *Server) pub(p Publication) *Publication {
	if old, ok := s.pubs[p.Slug]; ok {
		return old
	}
	if p.ID == "" {
		p.ID = s.id(12)
	}
	if p.Name == "" {
		p.Name = p.Slug
	}
	s.pubs[p.Slug] = &p
	return &p
}

// Publish adds a story and returns it with its id and time filled in.
func (s *Server) Publish(a Article) Article {
	s.mu.Lock()
	defer s.mu.Unlock()
	a.Author = strings.TrimPrefix(a.Author, "@")
	s.user(User{Username: a.Author})
	if a.Publication != "" {
		s.pub(Publication{Slug: a.Publication})
	}
	if a.ID == "" {
		a.ID = s.id(12)
	}
	if a.PublishedAt.IsZero() {
		a.PublishedAt = s.opts.Now()
	}
	a.PublishedAt = a.PublishedAt.UTC().Truncate(time.Millisecond)
	a.Categories = slices.Clone(a.Categories)
	s.articles = append(s.articles, &a)
	if _, ok := s.responses[a.ID]; !ok {
		s.responses[a.ID] = nil
	}
	return a
}

// Respond writes a response on a story and returns it with its id and times
// filled in. It panics if the story does not exist: a test bug. With a
// webhook registered, the delivery is made before Respond returns.
func (s *Server) Respond(r Response) Response {
	s.mu.Lock()
	if _, ok := s.responses[r.PostID]; !ok {
		s.mu.Unlock()
		panic(fmt.Sprintf("mediumtest: Respond on story %q, which was not published", r.PostID))
	}
	r.Author = strings.TrimPrefix(r.Author, "@")
	s.user(User{Username: r.Author})
	if r.ID == "" {
		r.ID = s.id(12)
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.opts.Now()
	}
	r.CreatedAt = r.CreatedAt.UTC().Truncate(time.Millisecond)
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	r.UpdatedAt = r.UpdatedAt.UTC().Truncate(time.Millisecond)
	s.responses[r.PostID] = append(s.responses[r.PostID], r)
	body := s.eventLocked("response.created", r)
	s.mu.Unlock()
	s.deliver(r.ID, "response.created", body)
	return r
}

// Edit changes a response's text, stamps its UpdatedAt with the clock and
// returns it; ok is false when there is no such response.
func (s *Server) Edit(id, text string) (Response, bool) {
	s.mu.Lock()
	for post, rs := range s.responses {
		for i := range rs {
			if rs[i].ID == id {
				rs[i].Text = text
				rs[i].UpdatedAt = s.opts.Now().UTC().Truncate(time.Millisecond)
				if !rs[i].UpdatedAt.After(rs[i].CreatedAt) {
					rs[i].UpdatedAt = rs[i].CreatedAt.Add(time.Millisecond)
				}
				r := rs[i]
				s.responses[post] = rs
				body := s.eventLocked("response.updated", r)
				s.mu.Unlock()
				s.deliver(r.ID, "response.updated", body)
				return r, true
			}
		}
	}
	s.mu.Unlock()
	return Response{}, false
}

// Delete removes a response, as its author can on Medium; ok is false when
// there is no such response.
func (s *Server) Delete(id string) bool {
	s.mu.Lock()
	for post, rs := range s.responses {
		for i := range rs {
			if rs[i].ID == id {
				r := rs[i]
				s.responses[post] = slices.Delete(rs, i, i+1)
				body := s.eventLocked("response.deleted", r)
				s.mu.Unlock()
				s.deliver(r.ID, "response.deleted", body)
				return true
			}
		}
	}
	s.mu.Unlock()
	return false
}

// Responses returns a story's responses in the order they were written.
func (s *Server) Responses(postID string) []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.responses[postID])
}

// Requests returns every request the fake received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// ResetRequests forgets the requests received so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// InjectFault adds a fault; the first matching fault applies to a request.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// SetRemaining sets how many requests are left in the current window
// (starting a window now if none is running).
func (s *Server) SetRemaining(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.window()
	s.used = max(0, s.opts.RateLimit-n)
}

// RateReset is when the current rate window ends (starting one now if none
// is running).
func (s *Server) RateReset() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.window()
}

// SetWebhook registers where response events are POSTed and the secret
// they are signed with; an empty url stops deliveries.
func (s *Server) SetWebhook(url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL, s.hookSecret = url, []byte(secret)
}

// Deliveries returns every webhook POST made so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// Sign is the X-Medium-Signature of body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// eventLocked encodes a webhook event, or returns nil with no webhook.
func (s *Server) eventLocked(typ string, r Response) []byte {
	if s.hookURL == "" {
		return nil
	}
	body, _ := json.Marshal(map[string]any{"type": typ, "data": s.wireResponse(r)})
	return body
}

// deliver POSTs an event for response id, and retries it in the
// background until it is answered 2xx, the retries are spent or the fake is
// closed.
func (s *Server) deliver(id, typ string, body []byte) {
	if body == nil {
		return
	}
	s.mu.Lock()
	secret := s.hookSecret
	s.mu.Unlock()
	d := Delivery{Type: typ, Body: body, Signature: Sign(secret, body)}
	s.mu.Lock()
	s.lastEvent[id] = d
	s.mu.Unlock()
	s.send(d)
}

// Redeliver POSTs the last event sent for response id again, byte for byte
// and signed as it was, as a sender does that believes a delivery was lost
// (retried like any delivery). It reports false when no event was sent for
// that response or no webhook is registered.
func (s *Server) Redeliver(id string) bool {
	s.mu.Lock()
	d, ok := s.lastEvent[id]
	ok = ok && s.hookURL != ""
	s.mu.Unlock()
	if ok {
		s.send(d)
	}
	return ok
}

// WaitDeliveries waits until no webhook delivery is being retried: each was
// taken (2xx), spent its retries, or was abandoned by Close.
func (s *Server) WaitDeliveries() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.retrying > 0 {
		s.retryDone.Wait()
	}
}

// send makes a delivery's first attempt now, and its retries later.
func (s *Server) send(d Delivery) {
	d.Attempt = 1
	if s.attempt(d) || s.opts.WebhookRetries < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return
	}
	s.retrying++
	go func() {
		defer func() {
			s.mu.Lock()
			if s.retrying--; s.retrying == 0 {
				s.retryDone.Broadcast()
			}
			s.mu.Unlock()
		}()
		wait := s.opts.WebhookBackoff
		for d.Attempt <= s.opts.WebhookRetries {
			t := time.NewTimer(wait)
			select {
			case <-s.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			d.Attempt++
			if s.attempt(d) {
				return
			}
			wait *= 2
		}
	}()
}

// attempt POSTs d to the registered webhook, records it, and reports
// whether it is done with: answered 2xx, or no webhook to send it to.
func (s *Server) attempt(d Delivery) bool {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	s.mu.Lock()
	hookURL := s.hookURL
	s.mu.Unlock()
	if hookURL == "" || s.ctx.Err() != nil {
		return true
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, hookURL, bytes.NewReader(d.Body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Medium-Webhooks/1.0 (mediumtest)")
		req.Header.Set("X-Medium-Signature", d.Signature)
		var res *http.Response
		if res, err = s.hookClient.Do(req); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			d.Status = res.StatusCode
		}
	}
	d.Err = err
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
	return d.Status/100 == 2
}

// window returns the end of the current rate window, starting a new one
// when the last has ended.
func (s *Server) window() time.Time {
	now := s.opts.Now()
	if s.windowStart.IsZero() || !now.Before(s.windowStart.Add(s.opts.RateWindow)) {
		s.windowStart, s.used = now, 0
	}
	return s.windowStart.Add(s.opts.RateWindow)
}

func (s *Server) newHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /feed/{name}", s.feed)
	mux.HandleFunc("GET /v1/users/{id}/articles", s.userArticles)
	mux.HandleFunc("GET /v1/publications/{id}/posts", s.publicationPosts)
	mux.HandleFunc("GET /v1/posts/{id}/responses", s.postResponses)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		api := strings.HasPrefix(r.URL.Path, "/v1/")
		authorized := s.opts.AccessToken == "" || r.Header.Get("Authorization") == "Bearer "+s.opts.AccessToken
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Authorized: authorized})
		var fault *Fault
		for i, f := range s.faults {
			if f.RateLimited && !(api && authorized) {
				// Not a request the rate limit counts: the fault does
				// not apply, nor count it.
				continue
			}
			if strings.HasPrefix(r.URL.Path, f.Path) {
				fault = f
				if f.Times > 0 {
					if f.Times--; f.Times == 0 {
						s.faults = slices.Delete(s.faults, i, i+1)
					}
				}
				break
			}
		}
		var reset time.Time
		spent := false
		if api {
			reset = s.window()
			remaining := 0
			switch {
			case fault != nil && fault.RateLimited:
				// Spent for this answer only: the window's count is untouched.
				spent = true
			case s.used >= s.opts.RateLimit:
				spent = true
			default:
				if authorized {
					s.used++
				}
				remaining = s.opts.RateLimit - s.used
			}
			w.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.opts.RateLimit))
			w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		}
		now := s.opts.Now()
		s.mu.Unlock()

		if fault != nil && fault.Delay > 0 {
			t := time.NewTimer(fault.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		switch {
		case api && !authorized:
			w.Header().Set("WWW-Authenticate", `Bearer realm="medium"`)
			apiError(w, http.StatusUnauthorized, 6000, "An access token is required.")
			return
		case spent:
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(reset.Sub(now).Seconds()+0.999))))
			apiError(w, http.StatusTooManyRequests, 6029, "Rate limit exceeded.")
			return
		case fault != nil && fault.Status != 0:
			apiError(w, fault.Status, 0, http.StatusText(fault.Status))
			return
		case fault != nil && fault.Truncate:
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			body := rec.Body.Bytes()
			w.WriteHeader(rec.Code)
			w.Write(body[:len(body)/2])
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func apiError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"message": msg, "code": code}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func (s *Server) wireArticle(a *Article) map[string]any {
	u := s.users[a.Author]
	m := map[string]any{
		"id": a.ID, "title": a.Title, "authorId": u.ID,
		"url":           articleURL(a),
		"canonicalUrl":  articleURL(a),
		"publishStatus": "public",
		"publishedAt":   millis(a.PublishedAt),
		"tags":          append([]string{}, a.Categories...),
		"license":       "all-rights-reserved",
	}
	if p, ok := s.pubs[a.Publication]; ok && a.Publication != "" {
		m["publicationId"] = p.ID
	}
	return m
}

func (s *Server) wireResponse(r Response) map[string]any {
	u := s.users[r.Author]
	parent := r.InResponseTo
	if parent == "" {
		parent = r.PostID
	}
	return map[string]any{
		"id": r.ID, "postId": r.PostID, "inResponseToId": parent,
		"creatorId": u.ID,
		"creator":   map[string]string{"id": u.ID, "username": u.Username, "name": u.Name},
		"content":   r.Text,
		"createdAt": millis(r.CreatedAt), "updatedAt": millis(r.UpdatedAt),
		"url": PublicURL + "/@" + u.Username + "/" + r.ID,
	}
}

// slug makes the URL words of a title.
func slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func articleURL(a *Article) string {
	words := slug(a.Title)
	if words != "" {
		words += "-"
	}
	if a.Publication != "" {
		return PublicURL + "/" + a.Publication + "/" + words + a.ID
	}
	return PublicURL + "/@" + a.Author + "/" + words + a.ID
}

// newestFirst returns the articles matching keep, newest first.
func (s *Server) newestFirst(keep func(*Article) bool) []*Article {
	var out []*Article
	for _, a := range s.articles {
		if keep(a) {
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(a, b *Article) int { return b.PublishedAt.Compare(a.PublishedAt) })
	return out
}

func (s *Server) userArticles(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	var user *User
	for _, u := range s.users {
		if u.ID == id || "@"+u.Username == id {
			user = u
		}
	}
	if user == nil {
		apiError(w, http.StatusNotFound, 6027, "User not found.")
		return
	}
	data := []map[string]any{}
	for _, a := range s.newestFirst(func(a *Article) bool { return a.Author == user.Username }) {
		data = append(data, s.wireArticle(a))
	}
	writeJSON(w, map[string]any{"data": data})
}

func (s *Server) publicationPosts(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	var pub *Publication
	for _, p := range s.pubs {
		if p.ID == id || p.Slug == id {
			pub = p
		}
	}
	if pub == nil {
		apiError(w, http.StatusNotFound, 6030, "Publication not found.")
		return
	}
	data := []map[string]any{}
	for _, a := range s.newestFirst(func(a *Article) bool { return a.Publication == pub.Slug }) {
		data = append(data, s.wireArticle(a))
	}
	writeJSON(w, map[string]any{"data": data})
}

// pageToken is an opaque position in a newest-first list: the last
// response served.
func pageToken(r Response) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d:%s", millis(r.CreatedAt), r.ID))
}

func parsePageToken(tok string) (int64, string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, "", false
	}
	ms, id, ok := strings.Cut(string(raw), ":")
	n, err := strconv.ParseInt(ms, 10, 64)
	return n, id, ok && err == nil && id != ""
}

// before reports whether a comes after b in newest-first order.
func before(aMS int64, aID string, bMS int64, bID string) bool {
	return aMS < bMS || aMS == bMS && aID < bID
}

func (s *Server) postResponses(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, ok := s.responses[r.PathValue("id")]
	if !ok {
		apiError(w, http.StatusNotFound, 6031, "Post not found.")
		return
	}
	q := r.URL.Query()
	limit := 25
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			apiError(w, http.StatusBadRequest, 6002, "limit must be an integer from 1 to 100.")
			return
		}
		limit = n
	}
	var since int64
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			apiError(w, http.StatusBadRequest, 6002, "since must be a time in epoch milliseconds.")
			return
		}
		since = n
	}
	var afterMS int64
	var afterID string
	paged := false
	if v := q.Get("page"); v != "" {
		if afterMS, afterID, paged = parsePageToken(v); !paged {
			apiError(w, http.StatusBadRequest, 6002, "page is not a token this API gave.")
			return
		}
	}
	matching := make([]Response, 0, len(all))
	for _, resp := range all {
		ms := millis(resp.CreatedAt)
		if ms < since || paged && !before(ms, resp.ID, afterMS, afterID) {
			continue
		}
		matching = append(matching, resp)
	}
	slices.SortFunc(matching, func(a, b Response) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	out := map[string]any{}
	if len(matching) > limit {
		matching = matching[:limit]
		out["paging"] = map[string]string{"next": pageToken(matching[limit-1])}
	}
	data := make([]map[string]any, len(matching))
	for i, resp := range matching {
		data[i] = s.wireResponse(resp)
	}
	out["data"] = data
	writeJSON(w, out)
}
