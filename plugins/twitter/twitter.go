package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dghubble/oauth1"
	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/sdk"
)

// Twitter is the connector. It implements sdk.Discoverer, sdk.Poller,
// sdk.WebhookHandler and sdk.Moderator. Its calls may run concurrently with
// each other and with a new Configure, so the settings sit behind an
// atomic pointer.
type Twitter struct {
	settings atomic.Pointer[settings]
}

// config is the instance's [connector.config] table.
type config struct {
	APIBaseURL        string       `json:"api_base_url"`
	BearerToken       string       `json:"bearer_token"`
	ConsumerKey       string       `json:"consumer_key"`
	ConsumerSecret    string       `json:"consumer_secret"`
	AccessToken       string       `json:"access_token"`
	AccessTokenSecret string       `json:"access_token_secret"`
	UserID            string       `json:"user_id"`
	ReadOnly          bool         `json:"read_only"`
	Timeout           sdk.Duration `json:"timeout"`
	QueryMaxLength    int          `json:"query_max_length"`
	MaxResults        int          `json:"max_results"`
	MaxPages          int          `json:"max_pages"`
	Stream            bool         `json:"stream"`
	StreamStall       sdk.Duration `json:"stream_stall_timeout"`
	ModerateOwn       bool         `json:"moderate_own_replies"`
}

const (
	defaultBaseURL        = "https://api.x.com"
	defaultQueryMaxLength = 512
	// maxBatch posts fit one query of defaultQueryMaxLength characters
	// even with 19-digit ids: 13*len("conversation_id:")+13*19+12*len(" OR ") = 503.
	maxBatch = 13
)

// settings is a checked config, ready to use.
type settings struct {
	base           string
	bearer         string
	consumerSecret string
	userID         string
	readOnly       bool
	queryMax       int
	maxResults     int
	maxPages       int
	app            *http.Client // bearer token added per request
	user           *http.Client // signs with OAuth 1.0a; nil when read_only
	kv             sdk.KV
	log            hclog.Logger
	now            func() time.Time
	stream         bool
	streamStall    time.Duration
	streamClient   *http.Client // no overall timeout: the stream stays open
	backoff        backoff
	sleep          func(ctx context.Context, d time.Duration) bool // waits d; false when ctx ended first
	ruleTag        string
	timeout        time.Duration
	moderateOwn    bool // deliver the account's own replies as comments

	mu    sync.Mutex
	state map[string]string // memory of KV writes when the host has no KV
	rules []string          // the stream rules last made X's (nil: not yet)
}

// Configure checks the table and keeps it. It reaches nothing outside the
// process, so it behaves the same under `moderator config check`.
func (t *Twitter) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg := config{APIBaseURL: defaultBaseURL, Timeout: sdk.Duration(15 * time.Second), QueryMaxLength: defaultQueryMaxLength, MaxResults: 100, MaxPages: 5, StreamStall: sdk.Duration(30 * time.Second)}
	if err := req.Config.Decode(&cfg); err != nil {
		return err
	}
	var errs sdk.FieldErrors
	if u, err := url.Parse(cfg.APIBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		errs.Add("api_base_url", "must be an absolute http or https URL such as %q, got %q", defaultBaseURL, cfg.APIBaseURL)
	}
	if cfg.BearerToken == "" {
		errs.Add("bearer_token", "is required: the app-only bearer token that polling (recent search) and discovery use; write it as ${TWITTER_BEARER_TOKEN}")
	}
	user := map[string]string{
		"consumer_key": cfg.ConsumerKey, "consumer_secret": cfg.ConsumerSecret,
		"access_token": cfg.AccessToken, "access_token_secret": cfg.AccessTokenSecret,
	}
	if !cfg.ReadOnly {
		for _, k := range []string{"consumer_key", "consumer_secret", "access_token", "access_token_secret"} {
			if user[k] == "" {
				errs.Add(k, "is required to hide, unhide and delete (X allows them only with OAuth 1.0a user context: consumer_key, consumer_secret, access_token and access_token_secret of the account); set read_only = true to poll without moderating")
			}
		}
		if cfg.UserID == "" {
			errs.Add("user_id", "is required to moderate: the numeric id of the account whose conversations are moderated (the owner of access_token)")
		}
	}
	if cfg.UserID != "" && !isID(cfg.UserID) {
		errs.Add("user_id", "must be a numeric X user id (1 to 19 digits), got %q", cfg.UserID)
	}
	if tok, _, ok := strings.Cut(cfg.AccessToken, "-"); ok && cfg.UserID != "" && isID(tok) && tok != cfg.UserID {
		// User access tokens start with the account's id.
		errs.Add("user_id", "is %s, but access_token belongs to account %s: hide and delete act as the token's account", cfg.UserID, tok)
	}
	if cfg.Timeout <= 0 {
		errs.Add("timeout", "must be positive, got %s", time.Duration(cfg.Timeout))
	}
	if cfg.QueryMaxLength < 64 || cfg.QueryMaxLength > 4096 {
		errs.Add("query_max_length", "must be between 64 and 4096 (X allows 512 on Basic and Pro, 4096 on Enterprise), got %d", cfg.QueryMaxLength)
	}
	if cfg.MaxResults < 10 || cfg.MaxResults > 100 {
		errs.Add("max_results", "must be between 10 and 100 (X's limits for recent search), got %d", cfg.MaxResults)
	}
	if cfg.MaxPages < 1 || cfg.MaxPages > 100 {
		errs.Add("max_pages", "must be between 1 and 100, got %d", cfg.MaxPages)
	}
	if cfg.StreamStall < sdk.Duration(time.Second) {
		errs.Add("stream_stall_timeout", "must be at least 1s (X sends a keep-alive every 20 s), got %s", time.Duration(cfg.StreamStall))
	}
	if err := errs.Err(); err != nil {
		return err
	}
	timeout := time.Duration(cfg.Timeout)
	s := &settings{
		base: strings.TrimRight(cfg.APIBaseURL, "/"), bearer: cfg.BearerToken, consumerSecret: cfg.ConsumerSecret,
		userID: cfg.UserID, readOnly: cfg.ReadOnly, queryMax: cfg.QueryMaxLength, maxResults: cfg.MaxResults, maxPages: cfg.MaxPages,
		app: &http.Client{Timeout: timeout}, kv: req.KV, log: req.Logger, now: time.Now, state: map[string]string{},
		stream: cfg.Stream, streamStall: time.Duration(cfg.StreamStall), streamClient: &http.Client{}, backoff: xBackoff, sleep: sleep,
		ruleTag: "moderator:" + req.Instance, timeout: timeout, moderateOwn: cfg.ModerateOwn,
	}
	if s.log == nil {
		s.log = hclog.NewNullLogger()
	}
	if cfg.ConsumerKey != "" && cfg.ConsumerSecret != "" && cfg.AccessToken != "" && cfg.AccessTokenSecret != "" {
		s.user = oauth1.NewConfig(cfg.ConsumerKey, cfg.ConsumerSecret).Client(oauth1.NoContext, oauth1.NewToken(cfg.AccessToken, cfg.AccessTokenSecret))
		s.user.Timeout = timeout
	}
	t.settings.Store(s)
	return nil
}

// sleep waits d, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (t *Twitter) current() (*settings, error) {
	s := t.settings.Load()
	if s == nil {
		return nil, sdk.Permanent(errors.New("the twitter connector was not configured"))
	}
	return s, nil
}

// ownReply reports whether c is a reply by the account itself (user_id),
// which is not a comment to moderate unless moderate_own_replies.
func (s *settings) ownReply(c sdk.Comment) bool {
	return !s.moderateOwn && s.userID != "" && c.AuthorID == s.userID
}

// isID reports whether s is a tweet or user id: 1 to 19 digits.
func isID(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// compareIDs orders numeric ids without parsing them.
func compareIDs(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// maxBody bounds what the connector reads of one answer.
const maxBody = 16 << 20

// apiError is X's error body: a problem (title, detail, type) and/or an
// errors array.
type apiError struct {
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Type   string `json:"type"`
	Reason string `json:"reason"` // a client-forbidden problem's: "client-not-enrolled"
	Errors []struct {
		Message string `json:"message"`
		Detail  string `json:"detail"`
		Title   string `json:"title"`
	} `json:"errors"`
}

func (e apiError) message() string {
	var parts []string
	for _, s := range []string{e.Title, e.Detail} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	for _, er := range e.Errors {
		for _, s := range []string{er.Message, er.Detail} {
			if s != "" {
				parts = append(parts, s)
			}
		}
	}
	return strings.Join(parts, ": ")
}

// errForbidden marks a 403: the account may not do this.
var errForbidden = errors.New("forbidden by X")

// appForbidden says what is wrong when a 403's body blames the app or the
// way it authenticated rather than the tweet ("" when it does not): X
// answers 403 alike to a hide outside the account's conversations and to an
// app without write permission.
func appForbidden(body []byte) string {
	var ae apiError
	_ = json.Unmarshal(body, &ae)
	switch {
	case strings.HasSuffix(ae.Type, "/oauth1-permissions"):
		return "the app has no write permission: set App permissions to \"Read and write\" in the X developer portal, then generate the access token and secret again"
	case ae.Reason == "client-not-enrolled" || strings.HasSuffix(ae.Type, "/client-not-enrolled") || strings.HasSuffix(ae.Type, "/client-forbidden"):
		return "the app may not use this endpoint: it must belong to a Project with an API plan that includes it"
	case strings.HasSuffix(ae.Type, "/unsupported-authentication"):
		return "X does not take this kind of credentials for this endpoint"
	}
	return ""
}

// response is one answer, read in full.
type response struct {
	status int
	body   []byte
	rate   sdk.RateLimit
	what   string // "GET /2/..." for messages
}

// call makes one request. With user true it is signed with OAuth 1.0a user
// context, otherwise it carries the app-only bearer token. It returns the
// answer whatever its status (see check) or an error when there was none.
func (s *settings) call(ctx context.Context, user bool, method, path string, q url.Values, body []byte, bucket string) (response, error) {
	// bucket is the endpoint as X's rate limits name it, method included
	// ("GET /2/tweets/search/recent"): it names the call in messages.
	what := bucket
	if what == "" {
		what = method + " " + path
	}
	u := s.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return response{}, sdk.Permanent(fmt.Errorf("%s: %w", what, err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := s.app
	if user {
		if s.user == nil {
			return response{}, sdk.Permanent(fmt.Errorf("%s: needs user-context credentials (consumer_key, consumer_secret, access_token, access_token_secret), and this instance is read_only", what))
		}
		client = s.user
	} else {
		req.Header.Set("Authorization", "Bearer "+s.bearer)
	}
	res, err := client.Do(req)
	if err != nil {
		// url.Error repeats the URL, which carries no secret.
		return response{}, fmt.Errorf("%s: %w", what, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	r := response{status: res.StatusCode, body: data, rate: rateLimit(res.Header, bucket), what: what}
	if err != nil {
		return r, fmt.Errorf("%s: reading the answer: %w", what, err)
	}
	return r, nil
}

// check turns a non-200 answer into the error the host understands: a
// *sdk.RateLimitedError for a 429 (UsageCapExceeded for the monthly cap), an
// sdk.Permanent error for 400, 401 and 403, sdk.ErrNotFound for a 404, a
// plain (retried) error for the rest.
func (r response) check() error {
	if r.status == http.StatusOK {
		return nil
	}
	var ae apiError
	_ = json.Unmarshal(r.body, &ae)
	msg := ae.message()
	if msg == "" {
		msg = strings.TrimSpace(string(r.body[:min(len(r.body), 200)]))
	}
	base := fmt.Sprintf("%s: HTTP %d: %s", r.what, r.status, msg)
	switch {
	case r.status == http.StatusTooManyRequests:
		rl := r.rate
		rl.Remaining = 0
		if ae.Title == "UsageCapExceeded" || strings.HasSuffix(ae.Type, "/usage-capped") {
			// x-rate-limit-reset is the 15-minute window's: waiting for it
			// does not restore a monthly cap, so it is not passed on (the
			// host then pauses the connector for a day).
			rl.UsageCapExceeded = true
			rl.Reset = time.Time{}
			return &sdk.RateLimitedError{RateLimit: rl, Err: fmt.Errorf("%s (the monthly usage cap of the X API plan is spent; waiting for the 15-minute window does not restore it)", base)}
		}
		if rl.Reset.IsZero() {
			rl.Reset = time.Now().Add(15 * time.Minute)
		}
		return &sdk.RateLimitedError{RateLimit: rl, Err: errors.New(base)}
	case r.status == http.StatusUnauthorized:
		return sdk.Permanent(fmt.Errorf("%s (X refused the credentials: check the bearer token, or the consumer and access keys and secrets for user-context calls)", base))
	case r.status == http.StatusForbidden:
		return sdk.Permanent(fmt.Errorf("%s: %w", base, errForbidden))
	case r.status == http.StatusNotFound:
		return fmt.Errorf("%s: %w", base, sdk.ErrNotFound)
	case r.status >= 400 && r.status < 500:
		return sdk.Permanent(errors.New(base))
	}
	return errors.New(base)
}

// decode reads a 200 answer into out, with an error naming the endpoint
// when it is not the JSON expected.
func (r response) decode(out any) error {
	if err := json.Unmarshal(r.body, out); err != nil {
		return fmt.Errorf("%s: the answer is not the JSON expected (%v): %.200q", r.what, err, r.body)
	}
	return nil
}

// rateLimit reads X's x-rate-limit-* headers; what is missing stays zero.
func rateLimit(h http.Header, bucket string) sdk.RateLimit {
	num := func(name string) (int64, bool) {
		n, err := strconv.ParseInt(h.Get(name), 10, 64)
		return n, err == nil && n >= 0
	}
	var rl sdk.RateLimit
	limit, ok1 := num("x-rate-limit-limit")
	remaining, ok2 := num("x-rate-limit-remaining")
	if ok1 && ok2 {
		rl.Limit, rl.Remaining = limit, min(remaining, limit)
	}
	if reset, ok := num("x-rate-limit-reset"); ok && reset > 0 {
		rl.Reset = time.Unix(reset, 0).UTC()
	}
	if rl.Known() {
		rl.Bucket = bucket
	}
	return rl
}

// kvGet and kvSet use the host's store, or the process's memory when the
// host offers none (a unit test without one).
func (s *settings) kvGet(ctx context.Context, key string) (string, bool) {
	if s.kv != nil {
		v, ok, err := s.kv.Get(ctx, key)
		if err == nil && ok {
			return string(v), true
		}
		if err != nil && !errors.Is(err, sdk.ErrNoHost) {
			s.log.Warn("the host's key-value store failed; using the process's memory", "key", key, "error", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.state[key]
	return v, ok
}

// kvSet keeps value in the host's store, or in memory when that fails.
func (s *settings) kvSet(ctx context.Context, key, value string, ttl time.Duration) {
	if s.kv != nil {
		err := s.kv.Set(ctx, key, []byte(value), ttl)
		if err == nil {
			s.mu.Lock()
			delete(s.state, key)
			s.mu.Unlock()
			return
		}
		if !errors.Is(err, sdk.ErrNoHost) {
			s.log.Warn("the host's key-value store failed; remembered in memory only", "key", key, "error", err)
		}
	}
	s.mu.Lock()
	s.state[key] = value
	s.mu.Unlock()
}

// kvSetMany is kvSet for many keys, in one call to the host where it can.
func (s *settings) kvSetMany(ctx context.Context, writes []sdk.KVWrite) {
	if len(writes) == 0 {
		return
	}
	if s.kv != nil {
		err := sdk.SetMany(ctx, s.kv, writes)
		if err == nil {
			return
		}
		if !errors.Is(err, sdk.ErrNoHost) {
			s.log.Warn("the host's key-value store failed; remembered in memory only", "keys", len(writes), "error", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range writes {
		s.state[w.Key] = string(w.Value)
	}
}
