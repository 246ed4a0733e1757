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
	"sync/atomic"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/sdk"
)

const (
	platformName = "synthetic"
	// maxBatch is the most posts one Poll takes: what one GET /v1/comments
	// may ask for.
	maxBatch        = 100
	defaultTimeout  = 10 * time.Second
	defaultMaxPages = 10
	maxMaxPages     = 1000
	// maxBody bounds what the connector reads of one answer, so a broken
	// platform cannot make it hold gigabytes.
	maxBody = 32 << 20
)

// Synthetic is the connector. It is safe for concurrent use, and Configure
// may be called again at any time: each call works with the settings it
// started with.
type Synthetic struct {
	settings atomic.Pointer[settings]
}

// config is the instance's [connector.config] table.
type config struct {
	BaseURL       string       `json:"base_url"`
	Token         string       `json:"token"`
	WebhookSecret string       `json:"webhook_secret"`
	Timeout       sdk.Duration `json:"timeout"`
	MaxPages      int          `json:"max_pages"`
}

// settings is a checked config, ready to use.
type settings struct {
	base     string // no trailing slash
	token    string
	secret   []byte
	maxPages int
	client   *http.Client
	log      hclog.Logger
}

// Configure checks the table and, unless it only validates, makes it the
// one later calls use. It reaches nothing outside the process either way.
func (c *Synthetic) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg := config{Timeout: sdk.Duration(defaultTimeout), MaxPages: defaultMaxPages}
	if err := req.Config.Decode(&cfg); err != nil {
		return err
	}
	var errs sdk.FieldErrors
	base, err := url.Parse(cfg.BaseURL)
	switch {
	case cfg.BaseURL == "":
		errs.Add("base_url", `is required: the synthetic platform's API, such as "http://127.0.0.1:8080"`)
	case err != nil:
		errs.Add("base_url", "is not a URL: %v", errors.Unwrap(err))
	case base.Scheme != "http" && base.Scheme != "https", base.Host == "":
		errs.Add("base_url", "must be an absolute http or https URL, got %q", cfg.BaseURL)
	case base.RawQuery != "" || base.Fragment != "" || base.User != nil:
		errs.Add("base_url", "must have no user, query or fragment, got %q", cfg.BaseURL)
	}
	if cfg.Timeout <= 0 {
		errs.Add("timeout", "must be positive, got %s", time.Duration(cfg.Timeout))
	}
	if cfg.MaxPages < 1 || cfg.MaxPages > maxMaxPages {
		errs.Add("max_pages", "must be between 1 and %d, got %d", maxMaxPages, cfg.MaxPages)
	}
	if err := errs.Err(); err != nil {
		return err
	}
	if req.ValidateOnly {
		return nil
	}
	log := req.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	c.settings.Store(&settings{
		base:     strings.TrimRight(base.String(), "/"),
		token:    cfg.Token,
		secret:   []byte(cfg.WebhookSecret),
		maxPages: cfg.MaxPages,
		client:   &http.Client{Timeout: time.Duration(cfg.Timeout), Transport: http.DefaultTransport.(*http.Transport).Clone()},
		log:      log,
	})
	return nil
}

// errNotConfigured is what a call before Configure gets: the host always
// configures first, so this is a bug worth a clear message.
var errNotConfigured = errors.New("synthetic: not configured (Configure must come first)")

func (c *Synthetic) current() (*settings, error) {
	s := c.settings.Load()
	if s == nil {
		return nil, errNotConfigured
	}
	return s, nil
}

// response is one answer of the platform's API.
type response struct {
	status int
	body   []byte
	rate   sdk.RateLimit
}

// call makes one API request. path is already escaped. Only a request that
// got no answer is an error here; the caller judges the status.
func (s *settings) call(ctx context.Context, method, path string, query url.Values, body []byte, header http.Header) (response, error) {
	op := method + " " + path
	target := s.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return response{}, fmt.Errorf("%s: %w", op, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "moderator-synthetic/"+Version)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return response{}, fmt.Errorf("%s: read answer: %w", op, err)
	}
	if len(data) > maxBody {
		return response{}, fmt.Errorf("%s: answer larger than %d bytes", op, maxBody)
	}
	return response{status: resp.StatusCode, body: data, rate: rateLimitOf(resp.Header)}, nil
}

// rateLimitOf reads the x-rate-limit-* headers; a missing or bad one leaves
// its field zero.
func rateLimitOf(h http.Header) sdk.RateLimit {
	var rl sdk.RateLimit
	num := func(name string) (int64, bool) {
		v, err := strconv.ParseInt(strings.TrimSpace(h.Get(name)), 10, 64)
		return v, err == nil && v >= 0
	}
	if v, ok := num("x-rate-limit-limit"); ok {
		rl.Limit = v
	}
	if v, ok := num("x-rate-limit-remaining"); ok {
		rl.Remaining = v
	}
	if v, ok := num("x-rate-limit-reset"); ok && v > 0 {
		rl.Reset = time.Unix(v, 0).UTC()
	}
	return rl
}

// usageCapTitle is the problem title of a 429 that waiting does not cure.
const usageCapTitle = "UsageCapExceeded"

// statusError turns an answer other than the expected one into the error
// the host acts on: a rate limit it waits out (or pauses for, on the usage
// cap), a comment that is gone, a request retrying will not fix (other
// 4xx), or anything else, which the host retries.
func statusError(op string, res response) error {
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(res.body, &p) // a body that is no problem object still has a status
	msg := fmt.Sprintf("%s: HTTP %d", op, res.status)
	if p.Title != "" {
		msg += " " + p.Title
	}
	if p.Detail != "" {
		msg += ": " + p.Detail
	}
	switch {
	case res.status == http.StatusTooManyRequests:
		rl := res.rate
		if p.Title == usageCapTitle {
			rl.UsageCapExceeded = true
		} else {
			rl.Remaining = 0
		}
		return &sdk.RateLimitedError{RateLimit: rl, Err: errors.New(msg)}
	case res.status == http.StatusNotFound, res.status == http.StatusGone:
		return fmt.Errorf("%s: %w", msg, sdk.ErrNotFound)
	case res.status >= 400 && res.status < 500:
		return sdk.Permanent(errors.New(msg))
	}
	return errors.New(msg)
}

// validName reports whether a post or user id can be put in the API's lists.
func validName(id string) bool {
	return id != "" && !strings.ContainsAny(id, ",:/")
}

// parseID parses a canonical comment id: decimal digits, no leading zero,
// at most 64 bits. Ids are compared as numbers, never as strings.
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

// wireComment is a comment item of the API and of webhook deliveries.
type wireComment struct {
	ID           string  `json:"id"`
	PostID       string  `json:"post_id"`
	AuthorID     string  `json:"author_id"`
	AuthorHandle string  `json:"author_handle"`
	Text         *string `json:"text"`
	Version      int     `json:"version"`
	CreatedAt    string  `json:"created_at"`
	URL          string  `json:"url"`
}

// decodeComment decodes and checks one comment item. An item that fails is
// malformed: it must never become a comment with made-up fields.
func decodeComment(raw []byte) (sdk.Comment, error) {
	var w wireComment
	if err := gojson.Unmarshal(raw, &w); err != nil {
		return sdk.Comment{}, fmt.Errorf("not a comment object: %w", err)
	}
	return checkComment(raw, &w)
}

// checkComment checks a decoded item and makes it a comment.
func checkComment(raw []byte, w *wireComment) (sdk.Comment, error) {
	switch {
	case !validID(w.ID):
		return sdk.Comment{}, fmt.Errorf("id %q is not a comment id", w.ID)
	case w.PostID == "":
		return sdk.Comment{}, fmt.Errorf("comment %s has no post_id", w.ID)
	case w.AuthorID == "":
		return sdk.Comment{}, fmt.Errorf("comment %s has no author_id", w.ID)
	case w.Text == nil:
		return sdk.Comment{}, fmt.Errorf("comment %s has no text", w.ID)
	case w.Version < 0:
		return sdk.Comment{}, fmt.Errorf("comment %s has version %d", w.ID, w.Version)
	}
	c := sdk.Comment{
		Platform: platformName, ID: w.ID, PostID: w.PostID, AuthorID: w.AuthorID, AuthorHandle: w.AuthorHandle,
		Text: *w.Text, URL: w.URL, Raw: raw,
	}
	if w.Version > 0 {
		c.Version = strconv.Itoa(w.Version)
	}
	if w.CreatedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, w.CreatedAt)
		if err != nil {
			return sdk.Comment{}, fmt.Errorf("comment %s: created_at %q is not an RFC 3339 time", w.ID, w.CreatedAt)
		}
		c.CreatedAt = t.UTC()
	}
	return c, nil
}

func validID(s string) bool {
	_, ok := parseID(s)
	return ok
}
