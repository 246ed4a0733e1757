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
	"sync/atomic"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

// platform is the connector's Info.Platform and every comment's Platform.
const platform = "medium"

// Medium is the connector. It implements sdk.Discoverer (RSS), sdk.Poller
// (the JSON API), sdk.WebhookHandler and sdk.Moderator (flag only). Every
// method may run concurrently with the others and with a new Configure, so
// the settings sit behind an atomic pointer.
type Medium struct {
	settings atomic.Pointer[settings]
}

// config is the instance's [connector.config] table in moderator.toml.
type config struct {
	APIBaseURL    string       `json:"api_base_url"`
	RSSBaseURL    string       `json:"rss_base_url"`
	AccessToken   string       `json:"access_token"`
	Webhooks      bool         `json:"webhooks"`
	WebhookSecret string       `json:"webhook_secret"`
	Timeout       sdk.Duration `json:"timeout"`
	PageSize      int          `json:"page_size"`
	MaxPages      int          `json:"max_pages"`
}

// settings is a checked config, ready to use.
type settings struct {
	api      string // no trailing slash
	rss      string // no trailing slash
	token    string
	webhooks bool
	secret   []byte
	pageSize int
	maxPages int
	timeout  time.Duration // of one request
	client   *http.Client
	kv       sdk.KV
	now      func() time.Time // the clock: time.Now, but for tests
}

// minSecret is the shortest webhook_secret accepted: an HMAC key much
// shorter than this can be guessed.
const minSecret = 16

// Configure checks the table and keeps it for the calls that follow. It
// reaches nothing outside the process, so ValidateOnly changes nothing.
// No message repeats a secret.
func (m *Medium) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg := config{RSSBaseURL: "https://medium.com", Timeout: sdk.Duration(10 * time.Second), PageSize: 50, MaxPages: 4}
	errs, bad, err := decodeConfig(req.Config, &cfg)
	if err != nil {
		return err
	}
	// ok says a key decoded, so its value (or default) can be checked: a
	// key that did not is reported once, by decodeConfig.
	ok := func(key string) bool { return !bad[key] }
	switch {
	case !ok("api_base_url"):
	case cfg.APIBaseURL == "":
		errs.Add("api_base_url", "is required: the address of the JSON API (a proxy or third-party service) that serves /v1/posts/{id}/responses; Medium's own API cannot list responses")
	default:
		if msg := checkBaseURL(cfg.APIBaseURL); msg != "" {
			errs.Add("api_base_url", "%s", msg)
		}
	}
	if ok("rss_base_url") {
		if msg := checkBaseURL(cfg.RSSBaseURL); msg != "" {
			errs.Add("rss_base_url", "%s", msg)
		}
	}
	switch {
	case !ok("access_token"):
	case strings.TrimSpace(cfg.AccessToken) == "":
		errs.Add("access_token", "is required: the JSON API at api_base_url is called with it as a bearer token (write it as ${MEDIUM_ACCESS_TOKEN})")
	case strings.ContainsAny(cfg.AccessToken, "\r\n"):
		errs.Add("access_token", "must be one line (it holds a line break)")
	}
	switch {
	case !ok("webhook_secret"):
	case cfg.WebhookSecret != "" && len(cfg.WebhookSecret) < minSecret:
		errs.Add("webhook_secret", "is %d bytes long; use at least %d random bytes", len(cfg.WebhookSecret), minSecret)
	case !ok("webhooks"):
		// Whether the secret is needed or refused hangs on webhooks.
	case cfg.Webhooks && cfg.WebhookSecret == "":
		errs.Add("webhook_secret", "is required when webhooks = true: deliveries are verified with it (write it as ${MEDIUM_WEBHOOK_SECRET})")
	case cfg.WebhookSecret != "" && !cfg.Webhooks:
		errs.Add("webhooks", "is false, yet webhook_secret is set: set webhooks = true to accept deliveries, or remove the secret")
	}
	if ok("timeout") && cfg.Timeout <= 0 {
		errs.Add("timeout", "must be positive, got %s", time.Duration(cfg.Timeout))
	}
	if ok("page_size") && (cfg.PageSize < 1 || cfg.PageSize > 100) {
		errs.Add("page_size", "must be between 1 and 100, got %d", cfg.PageSize)
	}
	if ok("max_pages") && (cfg.MaxPages < 1 || cfg.MaxPages > 100) {
		errs.Add("max_pages", "must be between 1 and 100, got %d", cfg.MaxPages)
	}
	if err := errs.Err(); err != nil {
		return err
	}
	m.settings.Store(&settings{
		api: strings.TrimRight(cfg.APIBaseURL, "/"), rss: strings.TrimRight(cfg.RSSBaseURL, "/"),
		token: cfg.AccessToken, webhooks: cfg.Webhooks, secret: []byte(cfg.WebhookSecret),
		pageSize: cfg.PageSize, maxPages: cfg.MaxPages, timeout: time.Duration(cfg.Timeout),
		client: &http.Client{Timeout: time.Duration(cfg.Timeout)},
		kv:     req.KV, now: time.Now,
	})
	return nil
}

// decodeConfig decodes the table into cfg with the SDK's Config.Decode,
// which reports every key it cannot decode (unknown keys, wrong types, bad
// durations) as FieldErrors but then fills in nothing. So that a bad key
// does not hide the problems of the others (config check shows them all at
// once), the keys that decode are decoded again without the bad ones. It
// returns those FieldErrors and the top-level keys they name; err is for a
// table that is not a table at all, reported as it is.
func decodeConfig(c sdk.Config, cfg *config) (errs sdk.FieldErrors, bad map[string]bool, err error) {
	err = c.Decode(cfg)
	if err == nil {
		return nil, nil, nil
	}
	if !errors.As(err, &errs) {
		return nil, nil, err
	}
	bad = map[string]bool{}
	for _, fe := range errs {
		key, _, _ := strings.Cut(fe.Field, ".")
		key, _, _ = strings.Cut(key, "[")
		if key == "" {
			// The table as a whole: nothing in it can be trusted.
			return nil, nil, err
		}
		bad[key] = true
	}
	var table map[string]json.RawMessage
	if json.Unmarshal(c.JSON, &table) != nil {
		return nil, nil, err
	}
	for key := range bad {
		delete(table, key)
	}
	rest, _ := json.Marshal(table)
	if c2 := (sdk.Config{JSON: rest}); c2.Decode(cfg) != nil {
		// Cannot happen: every key left decoded on its own.
		return nil, nil, err
	}
	return errs, bad, nil
}

// checkBaseURL says what is wrong with a base URL, or "". The URL is shown
// without any password it holds.
func checkBaseURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "is not a URL"
	}
	shown := u.Redacted()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("must be an absolute http or https URL, got %q", shown)
	case u.Host == "":
		return fmt.Sprintf("has no host: %q", shown)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Sprintf("must not have a query or fragment: %q", shown)
	}
	return ""
}

// current is the settings of the last Configure.
func (m *Medium) current() (*settings, error) {
	s := m.settings.Load()
	if s == nil {
		return nil, sdk.Permanent(errors.New("the connector was not configured"))
	}
	return s, nil
}

// maxBody bounds what the connector reads of one answer.
const maxBody = 16 << 20

// errRefused is a 401 or 403 from the JSON API: the token is wrong.
var errRefused = errors.New("the API refused the access token")

// answer is an HTTP answer read in full.
type answer struct {
	status int
	body   []byte
	rate   sdk.RateLimit
	// spent says the answer's rate-limit headers said no request is left
	// (Remaining 0, not merely absent).
	spent bool
}

// get makes one GET and reads the answer. It returns an error the host
// understands for anything but a 200: a *sdk.RateLimitedError for a 429,
// sdk.ErrNotFound for a 404, sdk.Permanent for another 4xx (errRefused for
// a 401 or 403), a plain error otherwise (retried with backoff). what names
// the endpoint in messages; the token never appears in one.
func (s *settings) get(ctx context.Context, rawURL, what string, auth bool) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return answer{}, sdk.Permanent(fmt.Errorf("%s: %w", what, err))
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", "moderator-medium/0.1 (+https://github.com/moderatorbot/moderator)")
	res, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return answer{}, ctx.Err()
		}
		return answer{}, fmt.Errorf("%s: %w", what, redactErr(err))
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody+1))
	a := answer{status: res.StatusCode, body: data, rate: rateLimit(res.Header, s.now()), spent: remainingZero(res.Header)}
	if err != nil {
		return a, fmt.Errorf("%s: read the answer: %w", what, err)
	}
	if len(data) > maxBody {
		return a, fmt.Errorf("%s: the answer is larger than %d bytes", what, maxBody)
	}
	msg := fmt.Sprintf("%s: HTTP %d %s", what, res.StatusCode, snippet(data))
	switch {
	case res.StatusCode == http.StatusOK:
		return a, nil
	case res.StatusCode == http.StatusTooManyRequests:
		a.rate.Remaining = 0
		return a, &sdk.RateLimitedError{RateLimit: a.rate, Err: errors.New(msg)}
	case res.StatusCode == http.StatusNotFound:
		return a, fmt.Errorf("%s: %w", msg, sdk.ErrNotFound)
	case res.StatusCode == http.StatusUnauthorized, res.StatusCode == http.StatusForbidden:
		return a, sdk.Permanent(fmt.Errorf("%s: %w", msg, errRefused))
	case res.StatusCode >= 400 && res.StatusCode < 500:
		return a, sdk.Permanent(errors.New(msg))
	default:
		return a, errors.New(msg)
	}
}

// redactErr drops the URL from a *url.Error's message: it is named by the
// caller already, and could carry a password in its userinfo.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}

// snippet is the start of an answer's body, for error messages.
func snippet(data []byte) string {
	s := strings.TrimSpace(string(data[:min(len(data), 200)]))
	return strings.ToValidUTF8(s, "?")
}

// rateLimit reads the API's rate-limit headers; what is missing stays zero.
// It understands the de-facto X-RateLimit-Limit/-Remaining/-Reset (Unix
// seconds) that most proxies send, the IETF draft's RateLimit-Limit,
// -Remaining and -Reset (seconds from now), and Retry-After (seconds, or an
// HTTP date) for the reset of a 429: when both a reset header and
// Retry-After are there, the later of the two.
func rateLimit(h http.Header, now time.Time) sdk.RateLimit {
	num := func(names ...string) (int64, bool) {
		for _, name := range names {
			if v := strings.TrimSpace(h.Get(name)); v != "" {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
					return n, true
				}
			}
		}
		return 0, false
	}
	var rl sdk.RateLimit
	rl.Limit, _ = num("X-RateLimit-Limit", "RateLimit-Limit")
	rl.Remaining, _ = num("X-RateLimit-Remaining", "RateLimit-Remaining")
	if rl.Limit > 0 && rl.Remaining > rl.Limit {
		rl.Remaining = rl.Limit
	}
	if reset, ok := num("X-RateLimit-Reset"); ok && reset > 0 {
		rl.Reset = time.Unix(reset, 0).UTC()
	} else if delta, ok := num("RateLimit-Reset"); ok {
		rl.Reset = now.Add(time.Duration(delta) * time.Second).UTC().Truncate(time.Second)
	}
	// A proxy's X-RateLimit-Reset can be stale (a window it forgot to roll
	// over, a clock behind ours) while its Retry-After says to wait longer:
	// waiting less than either says only earns another 429, so the later
	// of the two is the reset.
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		var after time.Time
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			after = now.Add(time.Duration(n) * time.Second).UTC().Truncate(time.Second)
		} else if t, err := http.ParseTime(v); err == nil {
			after = t.UTC()
		}
		if after.After(rl.Reset) {
			rl.Reset = after
		}
	}
	return rl
}

// remainingZero says the rate-limit headers say, in so many words, that no
// request is left in the window.
func remainingZero(h http.Header) bool {
	for _, name := range []string{"X-RateLimit-Remaining", "RateLimit-Remaining"} {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			return v == "0"
		}
	}
	return false
}

// Moderate applies "flag", the one action Medium allows a bot: Medium has
// no way to remove or hide a response, so flagging makes no platform call.
// The host puts the flagged comment in its review queue, where a person
// decides (and can delete it on Medium by hand, as the story's author may).
// It records the flag in the host's key-value store under the response's
// id and version, so a second flag of the same version (a retry) reports
// Changed false, as the protocol wants, while a flag of an edited
// response's new version is a new flag. The SDK refuses every other action
// before Moderate is called.
func (m *Medium) Moderate(ctx context.Context, req sdk.ModerateRequest) (sdk.ModerateResponse, error) {
	s, err := m.current()
	if err != nil {
		return sdk.ModerateResponse{}, err
	}
	if req.Comment.ID == "" {
		return sdk.ModerateResponse{}, sdk.Permanent(errors.New("flag: the comment has no id"))
	}
	const detail = "flagged for review: Medium offers no way to remove a response, so nothing was changed on Medium"
	if s.kv == nil {
		return sdk.ModerateResponse{Changed: true, Detail: detail}, nil
	}
	fresh, err := s.kv.SetIfAbsent(ctx, flagKey(req.Comment), []byte(s.now().UTC().Format(time.RFC3339)), 0)
	if err != nil {
		return sdk.ModerateResponse{}, fmt.Errorf("flag %s: record the flag: %w", req.Comment.ID, err)
	}
	if !fresh {
		return sdk.ModerateResponse{Changed: false, Detail: "already flagged for review"}, nil
	}
	return sdk.ModerateResponse{Changed: true, Detail: detail}, nil
}

// flagKey is where the flag of one version of a response is recorded: an
// edit is a new version (see decodeResponse), moderated as a comment of its
// own, so its flag must not be taken for the old version's. A response never
// edited has no version and keeps the key it has always had.
func flagKey(c sdk.Comment) string {
	if c.Version == "" {
		return "flagged/" + c.ID
	}
	return "flagged/" + c.ID + "@" + c.Version
}
