package sdk

import (
	"errors"
	"fmt"
)

// ErrUnsupported is returned for a capability or action the plugin does not
// have. The host treats it as a configuration error, never retries it.
var ErrUnsupported = errors.New("unsupported")

// ErrNotFound means the comment or post no longer exists on the platform.
var ErrNotFound = errors.New("not found")

// ErrMessageTooLarge is matched (errors.Is) by the error of a call whose
// request or reply was over gRPC's message size limit (MaxMessageBytes each
// way), on either side of the wire. gRPC reports it with the same status
// code as a rate limit (ResourceExhausted), but it says nothing about the
// plugin or the platform: the same call fails the same way however long one
// waits, and succeeds with less. The host splits an analyzer batch that
// fails with it instead of waiting for the analyzer.
var ErrMessageTooLarge = errors.New("message larger than the gRPC size limit")

// ErrNoHost is returned by the KV of a plugin that was configured without
// host services (for example in a unit test that passes none).
var ErrNoHost = errors.New("no host services: the plugin was configured without them")

// RateLimitedError reports that the platform refused for a rate limit. The
// host waits until RateLimit.Reset, or pauses the connector and tells the
// operator when RateLimit.UsageCapExceeded.
type RateLimitedError struct {
	// RateLimit is the platform's state: when the limit resets, whether
	// waiting helps at all.
	RateLimit RateLimit
	// Err is the platform's own error.
	Err error
}

// Error says which limit and until when, then the platform's own error.
func (e *RateLimitedError) Error() string {
	what := "rate limited"
	if e.RateLimit.UsageCapExceeded {
		what = "usage cap exceeded"
	}
	if !e.RateLimit.Reset.IsZero() {
		what += fmt.Sprintf(" until %s", e.RateLimit.Reset.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if e.Err != nil {
		return what + ": " + e.Err.Error()
	}
	return what
}

// Unwrap returns the platform's own error.
func (e *RateLimitedError) Unwrap() error { return e.Err }

// Permanent marks err as one that retrying will not cure (a 403, a comment
// the account may not hide). The host records it and moves on.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err, or one it wraps, was marked Permanent,
// or is ErrUnsupported.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p) || errors.Is(err, ErrUnsupported)
}
