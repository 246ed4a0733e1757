package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/sony/gobreaker/v2"
)

// maxResponseBytes bounds one answer: a batch's labels are kilobytes, and a
// service that streams without end must not exhaust the plugin's memory.
const maxResponseBytes = 32 << 20

// snippetBytes is how much of an unexpected answer an error quotes.
const snippetBytes = 200

// errCircuitOpen marks calls refused because the circuit breaker is open.
var errCircuitOpen = errors.New("circuit breaker open")

// attemptError is one request that failed.
type attemptError struct {
	msg string
	// retryable: a connection error, a timeout, a 5xx or a 429.
	retryable bool
	// status is the HTTP status, 0 when there was no answer.
	status int
	// retryAfter is the answer's Retry-After, when it had one.
	retryAfter    time.Duration
	hasRetryAfter bool
}

func (e *attemptError) Error() string { return e.msg }

// clientError reports whether the service refused the request itself (a
// 3xx or 4xx other than 429): the service is up, the request or the config
// is wrong, so it is not retried and does not count against the service.
func (e *attemptError) clientError() bool {
	return e.status >= 300 && e.status < 500 && e.status != http.StatusTooManyRequests
}

// callerGone wraps the caller's context error: the host gave up on the call,
// which says nothing about the service's health.
type callerGone struct{ err error }

func (e callerGone) Error() string { return e.err.Error() }
func (e callerGone) Unwrap() error { return e.err }

// client POSTs to the service with deadlines, retries and a circuit breaker.
// It is safe for concurrent use.
type client struct {
	url      string
	shownURL string // redacted, for messages
	headers  http.Header
	secrets  []string // header values and their parts, blanked from messages
	httpc    *http.Client

	timeout    time.Duration
	retries    int
	backoff    time.Duration
	maxBackoff time.Duration
	openFor    time.Duration
	failures   int

	cb          *gobreaker.CircuitBreaker[struct{}]
	lastFailure atomic.Pointer[string]
	openedAt    atomic.Int64 // unix nanoseconds of the last opening
	log         hclog.Logger
}

func newClient(s *settings, log hclog.Logger) *client {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	c := &client{
		url:        s.url.String(),
		shownURL:   redactURL(s.url),
		headers:    http.Header{},
		timeout:    time.Duration(s.Timeout),
		retries:    s.Retries,
		backoff:    time.Duration(s.Backoff),
		maxBackoff: time.Duration(s.MaxBackoff),
		openFor:    time.Duration(s.Circuit.OpenFor),
		failures:   s.Circuit.Failures,
		log:        log,
	}
	c.headers.Set("Content-Type", "application/json")
	c.headers.Set("Accept", "application/json")
	c.headers.Set("User-Agent", "moderator-http/"+version)
	for name, value := range s.Headers {
		c.headers.Set(name, value)
		c.secrets = append(c.secrets, secretParts(value)...)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = max(2*s.Concurrency, tr.MaxIdleConnsPerHost)
	c.httpc = &http.Client{
		Transport: tr,
		// A redirected POST turns into a GET on most status codes: report
		// it, so the operator fixes the URL, rather than follow it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        c.shownURL,
		MaxRequests: 1, // one probe when half-open
		Timeout:     c.openFor,
		ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= uint32(c.failures) },
		IsExcluded: func(err error) bool {
			var ae *attemptError
			return errors.As(err, new(callerGone)) || errors.As(err, &ae) && ae.clientError()
		},
		OnStateChange: func(_ string, from, to gobreaker.State) {
			// Called with the breaker's lock held: touch only atomics.
			if to == gobreaker.StateOpen {
				c.openedAt.Store(time.Now().UnixNano())
			}
			c.log.Warn("circuit breaker changed state", "url", c.shownURL, "from", from.String(), "to", to.String(), "last_error", c.lastError())
		},
	})
	return c
}

// secretParts is what to blank out of messages for one header value: the
// value, and each long word of it, so "Bearer sk-..." is hidden even where a
// service echoes the token alone.
func secretParts(value string) []string {
	parts := []string{value}
	for _, f := range strings.Fields(value) {
		if len(f) >= 8 && f != value {
			parts = append(parts, f)
		}
	}
	return parts
}

// redact blanks every secret out of s.
func (c *client) redact(s string) string {
	for _, secret := range c.secrets {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[REDACTED]")
		}
	}
	return s
}

func (c *client) lastError() string {
	if p := c.lastFailure.Load(); p != nil {
		return *p
	}
	return ""
}

// close releases the client's idle connections.
func (c *client) close() { c.httpc.CloseIdleConnections() }

// post sends body and hands a 2xx answer to handle, retrying what can be
// retried. An error from handle means the answer was garbage: it is not
// retried (the same request would get the same answer) but counts against
// the service. The error returned names the URL (redacted), what went wrong
// and after how many attempts; a 429 that outlasts the retries comes back
// as an sdk.RateLimitedError, a refusal of the request (3xx, 4xx) as
// sdk.Permanent.
func (c *client) post(ctx context.Context, body []byte, handle func([]byte) error) error {
	for attempt := 1; ; attempt++ {
		_, err := c.cb.Execute(func() (struct{}, error) {
			err := c.once(ctx, body, handle)
			var ae *attemptError
			if errors.As(err, &ae) && !ae.clientError() {
				// Before the breaker sees it, so its log names this failure.
				c.lastFailure.Store(&ae.msg)
			}
			return struct{}{}, err
		})
		if err == nil {
			return nil
		}
		var ae *attemptError
		switch {
		case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
			return c.openError()
		case !errors.As(err, &ae):
			// The caller gave up: its context's error, as it is.
			return fmt.Errorf("POST %s: %w", c.shownURL, err)
		}
		msg := ae.msg
		fail := func(why string) error {
			err := fmt.Errorf("POST %s: %w%s", c.shownURL, ae, why)
			switch {
			case ae.status == http.StatusTooManyRequests:
				return &sdk.RateLimitedError{RateLimit: sdk.RateLimit{Reset: time.Now().Add(ae.retryAfter)}, Err: err}
			case ae.clientError():
				return sdk.Permanent(err)
			}
			return err
		}
		if !ae.retryable {
			return fail("")
		}
		if attempt > c.retries {
			return fail(fmt.Sprintf(" (gave up after %s)", attempts(attempt)))
		}
		wait := c.wait(attempt)
		if ae.hasRetryAfter {
			if ae.retryAfter > c.maxBackoff {
				return fail(fmt.Sprintf(" (the service asks to retry after %s, longer than max_backoff %s)", ae.retryAfter, c.maxBackoff))
			}
			wait = ae.retryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return fail(fmt.Sprintf(" (after %s; no time left to wait %s before the call's deadline)", attempts(attempt), wait.Round(time.Millisecond)))
		}
		c.log.Debug("retrying", "url", c.shownURL, "attempt", attempt, "wait", wait, "error", msg)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("POST %s: %w while waiting to retry after: %s", c.shownURL, ctx.Err(), msg)
		case <-t.C:
		}
	}
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// wait is the backoff before retry number attempt (1-based): backoff
// doubled per attempt, capped at max_backoff, with "equal jitter" (half
// fixed, half random) so that many plugins do not retry in step.
func (c *client) wait(attempt int) time.Duration {
	d := c.backoff
	for i := 1; i < attempt && d < c.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.maxBackoff)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

func (c *client) openError() error {
	until := ""
	if at := c.openedAt.Load(); at != 0 {
		left := time.Until(time.Unix(0, at).Add(c.openFor))
		until = fmt.Sprintf(" for another %s", max(0, left).Round(time.Millisecond))
	}
	last := c.lastError()
	if last != "" {
		last = "; last failure: " + last
	}
	return fmt.Errorf("POST %s: %w after %d failed requests in a row: not calling the service%s%s",
		c.shownURL, errCircuitOpen, c.failures, until, last)
}

// once makes one request.
func (c *client) once(ctx context.Context, body []byte, handle func([]byte) error) error {
	if err := ctx.Err(); err != nil {
		return callerGone{err}
	}
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return &attemptError{msg: "cannot build the request: " + c.redact(unwrapURLError(err).Error())}
	}
	req.Header = c.headers.Clone()
	resp, err := c.httpc.Do(req)
	if err != nil {
		return c.transportError(ctx, actx, "no answer", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return c.transportError(ctx, actx, fmt.Sprintf("answer %d cut short", resp.StatusCode), err)
	}
	status := resp.StatusCode
	switch {
	case len(data) > maxResponseBytes:
		return &attemptError{msg: fmt.Sprintf("answer is larger than %d MiB", maxResponseBytes>>20), status: status}
	case status >= 200 && status < 300:
		if err := handle(data); err != nil {
			return &attemptError{msg: c.redact(err.Error()), status: status}
		}
		return nil
	case status == http.StatusTooManyRequests || status >= 500:
		ae := &attemptError{msg: c.statusMessage(resp, data), retryable: true, status: status}
		ae.retryAfter, ae.hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return ae
	case status >= 300 && status < 400:
		msg := c.statusMessage(resp, data)
		if loc, err := resp.Location(); err == nil {
			msg += fmt.Sprintf(" (redirects to %s: set url to the final address)", redactURL(loc))
		}
		return &attemptError{msg: msg, status: status}
	default:
		return &attemptError{msg: c.statusMessage(resp, data), status: status}
	}
}

// transportError describes a request that got no (complete) answer.
func (c *client) transportError(ctx, actx context.Context, what string, err error) error {
	switch {
	case ctx.Err() != nil:
		return callerGone{ctx.Err()}
	case errors.Is(actx.Err(), context.DeadlineExceeded):
		return &attemptError{msg: fmt.Sprintf("%s within the timeout of %s", what, c.timeout), retryable: true}
	}
	return &attemptError{msg: what + ": " + c.redact(unwrapURLError(err).Error()), retryable: true}
}

// statusMessage is "answered 503 Service Unavailable: <start of body>".
func (c *client) statusMessage(resp *http.Response, data []byte) string {
	msg := "answered " + resp.Status
	if s := snippet(data); s != "" {
		msg += ": " + s
	}
	return c.redact(msg)
}

// unwrapURLError drops net/http's *url.Error wrapper, whose message repeats
// the URL with its query (and so any key in it).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// snippet is the start of an answer, printable and on one line, for an
// error message.
func snippet(data []byte) string {
	s := strings.ToValidUTF8(string(data[:min(len(data), snippetBytes+4)]), "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(data) > snippetBytes {
		cut := min(len(s), snippetBytes)
		for cut > 0 && !isRuneStart(s, cut) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func isRuneStart(s string, i int) bool { return i >= len(s) || s[i]&0xC0 != 0x80 }

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}
