// Package twittertest is a faithful fake of the subset of the X (Twitter)
// API v2 that moderator's twitter connector uses, served over real HTTP on
// 127.0.0.1, the way net/http/httptest serves a handler:
//
//	srv := twittertest.NewServer(twittertest.Options{})
//	defer srv.Close()
//	root := srv.Post(srv.Owner().ID, "hello")
//	reply := srv.Reply(srv.AddUser("2", "troll").ID, root.ID, "spam spam")
//	// point the connector's api_base_url at srv.URL, then check
//	// srv.Hidden(reply.ID), srv.Calls(), srv.Requests().
//
// What it serves, as the real API does:
//
//   - GET /2/tweets/search/recent: query of conversation_id:ID (and to:ID)
//     terms OR-ed
//     (parentheses allowed; anything else, an empty query or one over
//     Options.MaxQueryLength characters is a 400 with X's
//     {"errors":[...],"title":"Invalid Request",...} body), since_id (a
//     400 "'since_id' must be a tweet id created after ..." for one older
//     than 7 days, as on X), until_id, max_results 10..100, next_token, tweets of the last 7 days
//     newest first, meta.newest_id/oldest_id/result_count/next_token,
//     tweet.fields, expansions=author_id with includes.users. App-only
//     bearer auth (401 without it or with another token); an OAuth 1.0a
//     user-context request is accepted too.
//   - GET /2/users/:id/tweets: the user's tweets newest first, max_results
//     5..100, pagination_token, since_id, until_id, start_time,
//     exclude=replies,retweets. An unknown user is a 200 with an "errors"
//     array, as on X.
//   - PUT /2/tweets/:id/hidden {"hidden":bool}: OAuth 1.0a user context
//     only (HMAC-SHA1 verified with the consumer and token secrets: 401 on
//     a bad signature or a replayed nonce; a bearer token gets 403),
//     replies in conversations the authenticated user started only (403
//     otherwise), idempotent: {"data":{"hidden":bool}}.
//   - GET /2/users/by/username/:username: {"data":{"id","name","username"}},
//     or a 200 with an "errors" array for an unknown name.
//   - DELETE /2/tweets/:id: user context, the user's own tweets only (403
//     otherwise): {"data":{"deleted":true}}. A tweet that does not exist
//     or is already deleted is a 404 resource-not-found problem (an
//     assumption: X does not document this case).
//
// Every answer after authentication carries x-rate-limit-limit,
// x-rate-limit-remaining and x-rate-limit-reset (epoch seconds) for its
// endpoint's 15-minute window (Options.Limits, Options.Window, the clock in
// Options.Now); a spent window is a 429. SetUsageCapped makes the read
// endpoints answer 429 with X's UsageCapExceeded body, which no reset
// cures. SetFault injects 5xx answers, truncated JSON and slow answers.
//
// The filtered stream (stream.go): GET /2/tweets/search/stream (app-only,
// one connection at a time, 429 TooManyConnections for a second), a
// keep-alive "\r\n" every Options.StreamKeepAlive, each new tweet that
// matches a rule as a line with matching_rules, and DisconnectStreams for
// X's operational-disconnect message; rules at
// /2/tweets/search/stream/rules (GET, POST add/delete, dry_run), with
// conversation_id: and to: terms, DuplicateRule and invalid-rule errors.
//
// Account Activity webhooks are in webhook.go: CRC checks and signed
// tweet_create_events deliveries.
package twittertest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Endpoints, as keys of Options.Limits, Fault.Endpoint and SetRemaining.
const (
	EndpointSearch     = "GET /2/tweets/search/recent"
	EndpointUserTweets = "GET /2/users/:id/tweets"
	EndpointHide       = "PUT /2/tweets/:id/hidden"
	EndpointDelete     = "DELETE /2/tweets/:id"
	EndpointStream     = "GET /2/tweets/search/stream"
	EndpointRules      = "GET /2/tweets/search/stream/rules"
	EndpointRulesPost  = "POST /2/tweets/search/stream/rules"
	EndpointUserByName = "GET /2/users/by/username/:username"
)

// DefaultLimits are X's per-15-minute limits for an app (reads) and a user
// (hide, delete) on the Basic tier, roughly.
var DefaultLimits = map[string]int{
	EndpointSearch:     450,
	EndpointUserTweets: 1500,
	EndpointHide:       50,
	EndpointDelete:     50,
	EndpointStream:     50,
	EndpointRules:      450,
	EndpointRulesPost:  450,
	EndpointUserByName: 300,
}

// Defaults for Options left empty.
const (
	DefaultBearerToken       = "fake-bearer-token"
	DefaultConsumerKey       = "fake-consumer-key"
	DefaultConsumerSecret    = "fake-consumer-secret"
	DefaultAccessToken       = "1000-fake-access-token"
	DefaultAccessTokenSecret = "fake-access-token-secret"
	DefaultUserID            = "1000"
	DefaultUsername          = "owner"
)

// Options configures a Server; zero values take the defaults above.
type Options struct {
	// BearerToken is the app-only token the read endpoints accept.
	BearerToken string
	// ConsumerKey and ConsumerSecret are the app's (API key and secret);
	// the secret also signs webhooks.
	ConsumerKey, ConsumerSecret string
	// AccessToken and AccessTokenSecret are the user-context token of the
	// account UserID (@Username), which hide and delete require.
	AccessToken, AccessTokenSecret string
	UserID, Username               string
	// Now is the clock: tweets' created_at, the 7-day search horizon and
	// the rate-limit windows follow it. Default time.Now.
	Now func() time.Time
	// Window is the rate-limit window (default 15 minutes).
	Window time.Duration
	// Limits overrides DefaultLimits per endpoint.
	Limits map[string]int
	// MaxQueryLength is the search query's and a stream rule's limit in
	// characters (default 512, X's Basic and Pro tiers; Enterprise 4096).
	MaxQueryLength int
	// StreamKeepAlive is how often the filtered stream sends a keep-alive
	// "\r\n" (default 20 s, as X).
	StreamKeepAlive time.Duration
	// MaxRules is how many stream rules the app may have (default 1000).
	MaxRules int
}

// User is an account on the fake.
type User struct {
	ID, Username, Name string
}

// Tweet is a tweet on the fake.
type Tweet struct {
	ID              string
	Text            string
	AuthorID        string
	ConversationID  string // its own ID for a root tweet
	InReplyToID     string // the tweet it replies to; empty for a root
	InReplyToUserID string
	CreatedAt       time.Time
	Hidden          bool
	Deleted         bool
}

// Call is a moderation call the fake received, whatever its outcome.
type Call struct {
	At      time.Time `json:"at"`
	Action  string    `json:"action"` // "hide", "unhide" or "delete"
	TweetID string    `json:"tweet_id"`
	Status  int       `json:"status"` // the HTTP status answered
}

// Request is any request the fake received.
type Request struct {
	At     time.Time
	Method string
	Path   string
	Query  url.Values
	Status int
}

// Fault is an injected failure. The zero Endpoint matches every endpoint.
type Fault struct {
	Endpoint string
	// Status, when set, answers this status (a 5xx, say) with an X-style
	// error body instead of handling the request.
	Status int
	// Truncate cuts a normal answer's body in half (Content-Length says
	// the cut length, as from a proxy that lost the rest).
	Truncate bool
	// Delay holds the answer this long, or until the client gives up.
	Delay time.Duration
	// Times is how many requests it applies to; 0: until ClearFaults.
	Times int
	// Skip lets this many matching requests through before it applies
	// (a failure on a later page, say).
	Skip int
}

// Server is the fake X API. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port, to use as api_base_url.
	URL string

	srv     *httptest.Server
	handler http.Handler
	opts    Options

	mu        sync.Mutex
	nextID    uint64
	users     map[string]User
	tweets    map[string]*Tweet
	buckets   map[string]*bucket
	nonces    map[string]bool
	faults    []*Fault
	capped    bool
	calls     []Call
	requests  []Request
	accountID int

	rules      []Rule
	nextRuleID uint64
	streams    map[*streamConn]bool
}

type bucket struct {
	limit, remaining int
	reset            time.Time
}

// NewServer starts a fake on 127.0.0.1. Close it when done.
func NewServer(opts Options) *Server {
	s := New(opts)
	s.srv = httptest.NewServer(s.handler)
	s.URL = s.srv.URL
	return s
}

// New returns a fake that does not listen: serve its Handler on a listener
// of your own (the sandbox serves it beside other fakes). URL is empty.
func New(opts Options) *Server {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&opts.BearerToken, DefaultBearerToken)
	def(&opts.ConsumerKey, DefaultConsumerKey)
	def(&opts.ConsumerSecret, DefaultConsumerSecret)
	def(&opts.AccessToken, DefaultAccessToken)
	def(&opts.AccessTokenSecret, DefaultAccessTokenSecret)
	def(&opts.UserID, DefaultUserID)
	def(&opts.Username, DefaultUsername)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Window <= 0 {
		opts.Window = 15 * time.Minute
	}
	if opts.MaxQueryLength <= 0 {
		opts.MaxQueryLength = 512
	}
	if opts.StreamKeepAlive <= 0 {
		opts.StreamKeepAlive = 20 * time.Second
	}
	if opts.MaxRules <= 0 {
		opts.MaxRules = 1000
	}
	limits := map[string]int{}
	for k, v := range DefaultLimits {
		limits[k] = v
	}
	for k, v := range opts.Limits {
		limits[k] = v
	}
	opts.Limits = limits
	s := &Server{
		opts: opts, nextID: 1850000000000000000,
		users: map[string]User{}, tweets: map[string]*Tweet{},
		buckets: map[string]*bucket{}, nonces: map[string]bool{}, accountID: 1234567,
		streams: map[*streamConn]bool{},
	}
	s.users[opts.UserID] = User{ID: opts.UserID, Username: opts.Username, Name: opts.Username}
	mux := http.NewServeMux()
	mux.Handle("GET /2/tweets/search/recent", s.endpoint(EndpointSearch, authApp, s.search))
	mux.Handle("GET /2/users/{id}/tweets", s.endpoint(EndpointUserTweets, authApp, s.userTweets))
	mux.Handle("PUT /2/tweets/{id}/hidden", s.endpoint(EndpointHide, authUser, s.hide))
	mux.Handle("DELETE /2/tweets/{id}", s.endpoint(EndpointDelete, authUser, s.deleteTweet))
	mux.Handle("GET /2/users/by/username/{username}", s.endpoint(EndpointUserByName, authApp, s.userByName))
	mux.Handle("GET /2/tweets/search/stream", s.streamEndpoint())
	mux.Handle("GET /2/tweets/search/stream/rules", s.endpoint(EndpointRules, authAppOnly, s.getRules))
	mux.Handle("POST /2/tweets/search/stream/rules", s.endpoint(EndpointRulesPost, authAppOnly, s.postRules))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.record(r, http.StatusNotFound)
		problem(w, http.StatusNotFound, "Not Found", "Sorry, that page does not exist.", "about:blank")
	})
	s.handler = mux
	return s
}

// Handler is the fake's HTTP API.
func (s *Server) Handler() http.Handler { return s.handler }

// Close shuts the server down (NewServer's listener; nothing for New).
func (s *Server) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// Options returns the options in effect, defaults filled in (the
// credentials a connector needs).
func (s *Server) Options() Options { return s.opts }

// Owner is the account the user-context token belongs to.
func (s *Server) Owner() User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[s.opts.UserID]
}

// AddUser adds (or renames) an account.
func (s *Server) AddUser(id, username string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := User{ID: id, Username: username, Name: username}
	s.users[id] = u
	return u
}

// Post publishes a root tweet by authorID (which must exist).
func (s *Server) Post(authorID, text string) Tweet {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.newTweet(authorID, text)
	t.ConversationID = t.ID
	s.publishLocked(t)
	return *t
}

// Reply publishes a reply by authorID to tweet toID, in toID's conversation.
func (s *Server) Reply(authorID, toID, text string) Tweet {
	s.mu.Lock()
	defer s.mu.Unlock()
	parent, ok := s.tweets[toID]
	if !ok {
		panic("twittertest: Reply to unknown tweet " + toID)
	}
	t := s.newTweet(authorID, text)
	t.ConversationID, t.InReplyToID, t.InReplyToUserID = parent.ConversationID, parent.ID, parent.AuthorID
	s.publishLocked(t)
	return *t
}

func (s *Server) newTweet(authorID, text string) *Tweet {
	if _, ok := s.users[authorID]; !ok {
		panic("twittertest: unknown author " + authorID + " (AddUser first)")
	}
	// Ids are snowflakes of the fake's clock, as on X (whose own checks,
	// such as since_id's 7-day limit, read the time from the id), and grow
	// with gaps even when the clock stands still or goes back.
	s.nextID = max(s.nextID+1+s.nextID%7, Snowflake(s.opts.Now()))
	t := &Tweet{ID: strconv.FormatUint(s.nextID, 10), Text: text, AuthorID: authorID, CreatedAt: s.opts.Now().UTC().Truncate(time.Millisecond)}
	s.tweets[t.ID] = t
	return t
}

// snowflakeEpoch is the start of X's ids, in Unix milliseconds: an id's
// bits above the lowest 22 are its creation time in milliseconds since.
const snowflakeEpoch = 1288834974657

// Snowflake is the smallest tweet id X could give a tweet created at t.
func Snowflake(t time.Time) uint64 {
	ms := t.UnixMilli() - snowflakeEpoch
	if ms < 0 {
		return 0
	}
	return uint64(ms) << 22
}

// IDTime is when the tweet with snowflake id was created, to the millisecond.
func IDTime(id uint64) time.Time {
	return time.UnixMilli(int64(id>>22) + snowflakeEpoch).UTC()
}

// Tweet returns the tweet with id, deleted or not.
func (s *Server) Tweet(id string) (Tweet, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tweets[id]
	if !ok {
		return Tweet{}, false
	}
	return *t, true
}

// Hidden reports whether tweet id is a hidden reply.
func (s *Server) Hidden(id string) bool { t, _ := s.Tweet(id); return t.Hidden }

// Deleted reports whether tweet id was deleted.
func (s *Server) Deleted(id string) bool { t, _ := s.Tweet(id); return t.Deleted }

// User returns the account with id.
func (s *Server) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	return u, ok
}

// Calls returns every moderation call received, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Requests returns every request received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// SetFault injects a fault; faults apply in the order set.
func (s *Server) SetFault(f Fault) {
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

// SetUsageCapped turns the monthly usage cap on (the read endpoints answer
// 429 UsageCapExceeded) or off.
func (s *Server) SetUsageCapped(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.capped = on
}

// SetRemaining sets how many requests are left in endpoint's current window.
func (s *Server) SetRemaining(endpoint string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bucketLocked(endpoint)
	b.remaining = n
}

func (s *Server) bucketLocked(endpoint string) *bucket {
	now := s.opts.Now()
	b, ok := s.buckets[endpoint]
	if !ok || !now.Before(b.reset) {
		limit := s.opts.Limits[endpoint]
		b = &bucket{limit: limit, remaining: limit, reset: now.Add(s.opts.Window).Truncate(time.Second)}
		s.buckets[endpoint] = b
	}
	return b
}

func (s *Server) record(r *http.Request, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{At: s.opts.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Status: status})
}

type authKind int

const (
	authApp     authKind = iota // bearer (or user context)
	authUser                    // OAuth 1.0a user context only
	authAppOnly                 // bearer only (the filtered stream and its rules)
)

// bufferedWriter holds an answer so a fault can cut it.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// endpoint wraps a handler with what every X endpoint does: faults,
// authentication, the usage cap, the rate-limit window and its headers.
func (s *Server) endpoint(name string, auth authKind, h func(w http.ResponseWriter, r *http.Request, body []byte)) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		w := &bufferedWriter{header: http.Header{}}
		fault := s.takeFault(name)
		if fault.Delay > 0 {
			select {
			case <-time.After(fault.Delay):
			case <-r.Context().Done():
				s.record(r, 0)
				return
			}
		}
		switch {
		case fault.Status != 0:
			problem(w, fault.Status, http.StatusText(fault.Status), "Injected fault.", "about:blank")
		default:
			s.serve(w, r, name, auth, body, h)
		}
		out := w.body.Bytes()
		if fault.Truncate && w.status == http.StatusOK {
			out = out[:len(out)/2]
		}
		// Recorded before the answer leaves, so a client that has its
		// answer finds its request in Requests.
		s.record(r, w.status)
		h := rw.Header()
		for k, v := range w.header {
			h[k] = v
		}
		h.Set("Content-Length", strconv.Itoa(len(out)))
		rw.WriteHeader(w.status)
		rw.Write(out)
	})
}

func (s *Server) takeFault(endpoint string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Endpoint != "" && f.Endpoint != endpoint {
			continue
		}
		if f.Skip > 0 {
			f.Skip--
			continue
		}
		out := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		return out
	}
	return Fault{}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, name string, auth authKind, body []byte, h func(http.ResponseWriter, *http.Request, []byte)) {
	authz := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(authz, "OAuth ") && auth == authAppOnly:
		problem(w, http.StatusForbidden, "Unsupported Authentication",
			"Authenticating with OAuth 1.0a User Context is forbidden for this endpoint.  Supported authentication types are [OAuth 2.0 Application-Only].",
			"https://api.twitter.com/2/problems/unsupported-authentication")
		return
	case strings.HasPrefix(authz, "Bearer ") && auth == authUser:
		problem(w, http.StatusForbidden, "Unsupported Authentication",
			"Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
			"https://api.twitter.com/2/problems/unsupported-authentication")
		return
	case strings.HasPrefix(authz, "Bearer "):
		if strings.TrimPrefix(authz, "Bearer ") != s.opts.BearerToken {
			unauthorized(w)
			return
		}
	case strings.HasPrefix(authz, "OAuth "):
		_, err := verifyOAuth(r, body, s.opts.ConsumerKey, s.opts.ConsumerSecret, func(tok string) (string, bool) {
			return s.opts.AccessTokenSecret, tok == s.opts.AccessToken
		})
		if err == nil {
			p, _ := parseOAuthHeader(authz)
			s.mu.Lock()
			if s.nonces[p["oauth_nonce"]+p["oauth_timestamp"]] {
				err = fmt.Errorf("nonce used before")
			}
			s.nonces[p["oauth_nonce"]+p["oauth_timestamp"]] = true
			s.mu.Unlock()
		}
		if err != nil {
			unauthorized(w)
			return
		}
	default:
		unauthorized(w)
		return
	}
	s.mu.Lock()
	b := s.bucketLocked(name)
	capped := s.capped && auth != authUser
	limited := b.remaining <= 0
	if !limited && !capped {
		b.remaining--
	}
	w.Header().Set("x-rate-limit-limit", strconv.Itoa(b.limit))
	w.Header().Set("x-rate-limit-remaining", strconv.Itoa(b.remaining))
	w.Header().Set("x-rate-limit-reset", strconv.FormatInt(b.reset.Unix(), 10))
	account := s.accountID
	s.mu.Unlock()
	switch {
	case capped:
		writeJSON(w, http.StatusTooManyRequests, map[string]any{
			"account_id": account, "product_name": "standard-basic", "title": "UsageCapExceeded",
			"period": "Monthly", "scope": "Product", "detail": "Usage cap exceeded: Monthly product cap",
			"type": "https://api.twitter.com/2/problems/usage-capped",
		})
	case limited:
		problem(w, http.StatusTooManyRequests, "Too Many Requests", "Too Many Requests", "about:blank")
	default:
		h(w, r, body)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func problem(w http.ResponseWriter, status int, title, detail, typ string) {
	writeJSON(w, status, map[string]any{"title": title, "detail": detail, "type": typ, "status": status})
}

func unauthorized(w http.ResponseWriter) {
	problem(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized", "about:blank")
}

// invalid is X's 400 for a bad parameter.
func invalid(w http.ResponseWriter, param, value, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"errors": []map[string]any{{"parameters": map[string][]string{param: {value}}, "message": msg}},
		"title":  "Invalid Request", "detail": "One or more parameters to your request was invalid.",
		"type": "https://api.twitter.com/2/problems/invalid-request",
	})
}

// tweetFields X knows; the fake renders those in renderedFields.
var knownTweetFields = []string{"article", "attachments", "author_id", "card_uri", "community_id", "context_annotations", "conversation_id", "created_at", "display_text_range", "edit_controls", "edit_history_tweet_ids", "entities", "geo", "id", "in_reply_to_user_id", "lang", "media_metadata", "non_public_metrics", "note_tweet", "organic_metrics", "possibly_sensitive", "promoted_metrics", "public_metrics", "referenced_tweets", "reply_settings", "scopes", "source", "text", "withheld"}

var knownExpansions = []string{"article.cover_media", "article.media_entities", "attachments.media_keys", "attachments.media_source_tweet", "attachments.poll_ids", "author_id", "edit_history_tweet_ids", "entities.mentions.username", "geo.place_id", "in_reply_to_user_id", "entities.note.mentions.username", "referenced_tweets.id", "referenced_tweets.id.attachments.media_keys", "referenced_tweets.id.author_id"}

var knownUserFields = []string{"affiliation", "confirmed_email", "connection_status", "created_at", "description", "entities", "id", "is_identity_verified", "location", "most_recent_tweet_id", "name", "parody", "pinned_tweet_id", "profile_banner_url", "profile_image_url", "protected", "public_metrics", "receives_your_dm", "subscription", "subscription_type", "url", "username", "verified", "verified_followers_count", "verified_type", "withheld"}

// listParam splits a comma-separated parameter and checks each value.
func listParam(w http.ResponseWriter, q url.Values, name string, known []string) (map[string]bool, bool) {
	out := map[string]bool{}
	if !q.Has(name) {
		return out, true
	}
	for v := range strings.SplitSeq(q.Get(name), ",") {
		if !slices.Contains(known, v) {
			invalid(w, name, v, fmt.Sprintf("The `%s` query parameter value [%s] is not one of [%s]", name, v, strings.Join(known, ",")))
			return nil, false
		}
		out[v] = true
	}
	return out, true
}

// checkParams refuses a parameter the endpoint does not take, as X does.
func checkParams(w http.ResponseWriter, q url.Values, allowed []string) bool {
	for k := range q {
		if !slices.Contains(allowed, k) {
			invalid(w, k, q.Get(k), fmt.Sprintf("The query parameter [%s] is not one of [%s]", k, strings.Join(allowed, ",")))
			return false
		}
	}
	return true
}

// idParam reads an optional tweet id parameter.
func idParam(w http.ResponseWriter, q url.Values, name string) (uint64, bool) {
	if !q.Has(name) {
		return 0, true
	}
	v := q.Get(name)
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || !isID(v) {
		invalid(w, name, v, fmt.Sprintf("The `%s` query parameter value [%s] is not valid", name, v))
		return 0, false
	}
	return n, true
}

func intParam(w http.ResponseWriter, q url.Values, name string, def, lo, hi int) (int, bool) {
	if !q.Has(name) {
		return def, true
	}
	v := q.Get(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		invalid(w, name, v, fmt.Sprintf("The `%s` query parameter value [%s] is not between %d and %d", name, v, lo, hi))
		return 0, false
	}
	return n, true
}

type wireRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type wireTweet struct {
	ID               string    `json:"id"`
	Text             string    `json:"text"`
	EditHistory      []string  `json:"edit_history_tweet_ids"`
	AuthorID         string    `json:"author_id,omitempty"`
	ConversationID   string    `json:"conversation_id,omitempty"`
	CreatedAt        string    `json:"created_at,omitempty"`
	InReplyToUserID  string    `json:"in_reply_to_user_id,omitempty"`
	ReferencedTweets []wireRef `json:"referenced_tweets,omitempty"`
	Lang             string    `json:"lang,omitempty"`
}

func render(t *Tweet, fields map[string]bool) wireTweet {
	out := wireTweet{ID: t.ID, Text: t.Text, EditHistory: []string{t.ID}}
	if fields["author_id"] {
		out.AuthorID = t.AuthorID
	}
	if fields["conversation_id"] {
		out.ConversationID = t.ConversationID
	}
	if fields["created_at"] {
		out.CreatedAt = t.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if fields["in_reply_to_user_id"] {
		out.InReplyToUserID = t.InReplyToUserID
	}
	if fields["referenced_tweets"] && t.InReplyToID != "" {
		out.ReferencedTweets = []wireRef{{Type: "replied_to", ID: t.InReplyToID}}
	}
	if fields["lang"] {
		out.Lang = "en"
	}
	return out
}

// pageToken is an opaque next_token bound to the query it pages.
func pageToken(scope string, after uint64) string {
	h := sha256.Sum256([]byte(scope))
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%x:%d", h[:6], after))
}

func readPageToken(scope, tok string) (uint64, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	h := sha256.Sum256([]byte(scope))
	prefix, n, ok := strings.Cut(string(raw), ":")
	if !ok || prefix != fmt.Sprintf("%x", h[:6]) {
		return 0, false
	}
	after, err := strconv.ParseUint(n, 10, 64)
	return after, err == nil
}

// listing is a page of tweets, newest first, as search and timelines answer.
type listing struct {
	match      func(*Tweet) bool
	since      uint64
	until      uint64
	after      uint64 // from the page token: ids below it
	max        int
	scope      string
	fields     map[string]bool
	expansions map[string]bool
}

func (s *Server) page(l listing) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var hits []*Tweet
	for _, t := range s.tweets {
		id, _ := strconv.ParseUint(t.ID, 10, 64)
		if t.Deleted || !l.match(t) || id <= l.since || (l.until > 0 && id >= l.until) || (l.after > 0 && id >= l.after) {
			continue
		}
		hits = append(hits, t)
	}
	slices.SortFunc(hits, func(a, b *Tweet) int { return compareIDs(b.ID, a.ID) })
	more := len(hits) > l.max
	if more {
		hits = hits[:l.max]
	}
	meta := map[string]any{"result_count": len(hits)}
	out := map[string]any{"meta": meta}
	if len(hits) == 0 {
		return out
	}
	data := make([]wireTweet, len(hits))
	var users []User
	seen := map[string]bool{}
	for i, t := range hits {
		data[i] = render(t, l.fields)
		for _, uid := range []string{t.AuthorID, t.InReplyToUserID} {
			want := uid == t.AuthorID && l.expansions["author_id"] || uid == t.InReplyToUserID && l.expansions["in_reply_to_user_id"]
			if uid != "" && want && !seen[uid] {
				seen[uid] = true
				users = append(users, s.users[uid])
			}
		}
	}
	out["data"] = data
	if len(users) > 0 {
		wu := make([]map[string]string, len(users))
		for i, u := range users {
			wu[i] = map[string]string{"id": u.ID, "name": u.Name, "username": u.Username}
		}
		out["includes"] = map[string]any{"users": wu}
	}
	meta["newest_id"] = hits[0].ID
	meta["oldest_id"] = hits[len(hits)-1].ID
	if more {
		last, _ := strconv.ParseUint(hits[len(hits)-1].ID, 10, 64)
		meta["next_token"] = pageToken(l.scope, last)
	}
	return out
}

// compareIDs orders numeric ids.
func compareIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	if !checkParams(w, q, []string{"query", "start_time", "end_time", "since_id", "until_id", "max_results", "next_token", "pagination_token", "sort_order", "expansions", "tweet.fields", "user.fields", "media.fields", "place.fields", "poll.fields"}) {
		return
	}
	if !q.Has("query") {
		invalid(w, "query", "", "The `query` query parameter can not be empty")
		return
	}
	parsed, err := parseQuery(q.Get("query"), s.opts.MaxQueryLength)
	if err != nil {
		invalid(w, "query", q.Get("query"), "There were errors processing your request: "+err.Error())
		return
	}
	l, ok := s.listingParams(w, q, 10, 10, "next_token")
	if !ok {
		return
	}
	horizon := s.opts.Now().Add(-7 * 24 * time.Hour)
	if q.Has("since_id") && !IDTime(l.since).After(horizon) {
		// X refuses a since_id older than what recent search covers.
		invalid(w, "since_id", q.Get("since_id"), fmt.Sprintf("'since_id' must be a tweet id created after %s. Please use a 'since_id' that is larger than %d",
			horizon.UTC().Format("2006-01-02T15:04Z"), Snowflake(horizon)))
		return
	}
	l.match = func(t *Tweet) bool {
		return parsed.matches(t, s.users[t.InReplyToUserID].Username) && !t.CreatedAt.Before(horizon)
	}
	writeJSON(w, http.StatusOK, s.page(l))
}

// listingParams reads what search and timelines share.
func (s *Server) listingParams(w http.ResponseWriter, q url.Values, def, lo int, tokenParam string) (listing, bool) {
	var l listing
	var ok bool
	if l.max, ok = intParam(w, q, "max_results", def, lo, 100); !ok {
		return l, false
	}
	if l.since, ok = idParam(w, q, "since_id"); !ok {
		return l, false
	}
	if l.until, ok = idParam(w, q, "until_id"); !ok {
		return l, false
	}
	if l.fields, ok = listParam(w, q, "tweet.fields", knownTweetFields); !ok {
		return l, false
	}
	if l.expansions, ok = listParam(w, q, "expansions", knownExpansions); !ok {
		return l, false
	}
	if _, ok = listParam(w, q, "user.fields", knownUserFields); !ok {
		return l, false
	}
	l.scope = strings.Join([]string{q.Get("query"), q.Get("since_id"), q.Get("until_id"), q.Get("exclude"), q.Get("start_time")}, "\x00")
	if tok := q.Get(tokenParam); q.Has(tokenParam) {
		if l.after, ok = readPageToken(l.scope, tok); !ok {
			invalid(w, tokenParam, tok, fmt.Sprintf("The `%s` query parameter value [%s] is not valid for this request", tokenParam, tok))
			return l, false
		}
	}
	return l, true
}

func (s *Server) userTweets(w http.ResponseWriter, r *http.Request, _ []byte) {
	id := r.PathValue("id")
	q := r.URL.Query()
	if !isID(id) {
		invalid(w, "id", id, fmt.Sprintf("The `id` query parameter value [%s] does not match ^[0-9]{1,19}$", id))
		return
	}
	if !checkParams(w, q, []string{"max_results", "pagination_token", "since_id", "until_id", "start_time", "end_time", "exclude", "expansions", "tweet.fields", "user.fields", "media.fields", "place.fields", "poll.fields"}) {
		return
	}
	excl, ok := listParam(w, q, "exclude", []string{"replies", "retweets"})
	if !ok {
		return
	}
	var start time.Time
	if v := q.Get("start_time"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			invalid(w, "start_time", v, fmt.Sprintf("Invalid 'start_time':'%s'. 'start_time' must be a valid RFC3339 date.", v))
			return
		}
		start = t
	}
	l, ok := s.listingParams(w, q, 10, 5, "pagination_token")
	if !ok {
		return
	}
	if _, known := s.User(id); !known {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []map[string]string{{
			"value": id, "detail": fmt.Sprintf("Could not find user with id: [%s].", id), "title": "Not Found Error",
			"resource_type": "user", "parameter": "id", "resource_id": id, "type": "https://api.twitter.com/2/problems/resource-not-found",
		}}})
		return
	}
	l.match = func(t *Tweet) bool {
		return t.AuthorID == id && !(excl["replies"] && t.InReplyToID != "") && !t.CreatedAt.Before(start)
	}
	writeJSON(w, http.StatusOK, s.page(l))
}

func (s *Server) userByName(w http.ResponseWriter, r *http.Request, _ []byte) {
	name := r.PathValue("username")
	if !checkParams(w, r.URL.Query(), []string{"expansions", "tweet.fields", "user.fields"}) {
		return
	}
	valid := len(name) > 0 && len(name) <= 15
	for _, c := range name {
		valid = valid && (c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z')
	}
	if !valid {
		invalid(w, "username", name, fmt.Sprintf("The `username` query parameter value [%s] does not match ^[A-Za-z0-9_]{1,15}$", name))
		return
	}
	s.mu.Lock()
	var found *User
	for _, u := range s.users {
		if strings.EqualFold(u.Username, name) {
			found = &u
			break
		}
	}
	s.mu.Unlock()
	if found == nil {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []map[string]string{{
			"value": name, "detail": fmt.Sprintf("Could not find user with username: [%s].", name), "title": "Not Found Error",
			"resource_type": "user", "parameter": "username", "resource_id": name, "type": "https://api.twitter.com/2/problems/resource-not-found",
		}}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]string{"id": found.ID, "name": found.Name, "username": found.Username}})
}

func notFound(w http.ResponseWriter, id string) {
	writeJSON(w, http.StatusNotFound, map[string]any{
		"errors": []map[string]string{{"value": id, "detail": fmt.Sprintf("Could not find tweet with id: [%s].", id), "title": "Not Found Error",
			"resource_type": "tweet", "parameter": "id", "resource_id": id, "type": "https://api.twitter.com/2/problems/resource-not-found"}},
		"title": "Not Found Error", "detail": fmt.Sprintf("Could not find tweet with id: [%s].", id),
		"type": "https://api.twitter.com/2/problems/resource-not-found", "status": http.StatusNotFound,
	})
}

func (s *Server) hide(w http.ResponseWriter, r *http.Request, body []byte) {
	id := r.PathValue("id")
	var req struct {
		Hidden *bool `json:"hidden"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Hidden == nil {
		invalid(w, "hidden", string(body), `The request body must be {"hidden": true|false}`)
		s.addCall("hide?", id, http.StatusBadRequest)
		return
	}
	action := "unhide"
	if *req.Hidden {
		action = "hide"
	}
	s.mu.Lock()
	t, ok := s.tweets[id]
	status := http.StatusOK
	switch {
	case !isID(id):
		status = http.StatusBadRequest
	case !ok || t.Deleted:
		status = http.StatusNotFound
	case t.InReplyToID == "" || s.tweets[t.ConversationID] == nil || s.tweets[t.ConversationID].AuthorID != s.opts.UserID:
		status = http.StatusForbidden
	default:
		t.Hidden = *req.Hidden
	}
	s.mu.Unlock()
	s.addCall(action, id, status)
	switch status {
	case http.StatusBadRequest:
		invalid(w, "id", id, fmt.Sprintf("The `id` query parameter value [%s] does not match ^[0-9]{1,19}$", id))
	case http.StatusNotFound:
		notFound(w, id)
	case http.StatusForbidden:
		problem(w, http.StatusForbidden, "Forbidden", "You cannot hide or unhide replies to conversations you do not own", "about:blank")
	default:
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]bool{"hidden": *req.Hidden}})
	}
}

func (s *Server) deleteTweet(w http.ResponseWriter, r *http.Request, _ []byte) {
	id := r.PathValue("id")
	s.mu.Lock()
	t, ok := s.tweets[id]
	status := http.StatusOK
	switch {
	case !isID(id):
		status = http.StatusBadRequest
	case !ok || t.Deleted:
		status = http.StatusNotFound
	case t.AuthorID != s.opts.UserID:
		status = http.StatusForbidden
	default:
		t.Deleted = true
	}
	s.mu.Unlock()
	s.addCall("delete", id, status)
	switch status {
	case http.StatusBadRequest:
		invalid(w, "id", id, fmt.Sprintf("The `id` query parameter value [%s] does not match ^[0-9]{1,19}$", id))
	case http.StatusNotFound:
		notFound(w, id)
	case http.StatusForbidden:
		problem(w, http.StatusForbidden, "Forbidden", "You are not allowed to delete this Tweet.", "about:blank")
	default:
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]bool{"deleted": true}})
	}
}

func (s *Server) addCall(action, id string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{At: s.opts.Now(), Action: action, TweetID: id, Status: status})
}
