package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/sdk"
)

// Analyzer sends comments to the configured service. Configure swaps in a
// new instance atomically, so calls in flight finish with the old one.
type Analyzer struct {
	inst atomic.Pointer[instance]
}

// instance is one configuration with its client (and circuit breaker).
type instance struct {
	s *settings
	c *client
}

func newAnalyzer() *Analyzer { return &Analyzer{} }

// Configure checks the table and, unless only validating, makes a client
// for it. It reaches nothing outside the process: a service that is down
// at start is the circuit breaker's business, not a config error.
func (a *Analyzer) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg := defaultConfig()
	if err := req.Config.Decode(&cfg); err != nil {
		return err
	}
	s, err := cfg.check()
	if err != nil {
		return err
	}
	if req.ValidateOnly {
		return nil
	}
	var log hclog.Logger
	if req.Logger != nil {
		log = req.Logger.Named("http")
	}
	if old := a.inst.Swap(&instance{s: s, c: newClient(s, log)}); old != nil {
		old.c.close()
	}
	return nil
}

// Analyze sends the batch in requests of at most batch_size comments, up to
// concurrency of them at once, and returns the results in order.
//
// The batch fails as a whole (an error: the host retries it, then applies
// the analyzer's on_failure) when a request gets no usable answer: no
// connection, a timeout, a 5xx or 429 after the retries, a 3xx or 4xx, an
// open circuit breaker, or an answer that cannot be matched to the
// comments (not JSON, the wrong shape, missing or unknown ids, a count
// that differs). A comment whose own result is unusable (a score outside
// [0,1], a span outside its text, a label nobody mapped, an error the
// service reports for it) gets Result.Err, and the others keep their
// labels; so does a comment that a one-comment-per-request service
// (Perspective) refuses with 400 or 422.
func (a *Analyzer) Analyze(ctx context.Context, comments []sdk.Comment) ([]sdk.Result, error) {
	inst := a.inst.Load()
	if inst == nil {
		return nil, errors.New("http: not configured (the host configures every plugin before analyzing)")
	}
	results := make([]sdk.Result, len(comments))
	if len(comments) == 0 {
		return results, nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, inst.s.Concurrency)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	size := inst.s.BatchSize
	for off := 0; off < len(comments); off += size {
		chunk := comments[off:min(off+size, len(comments))]
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := inst.analyzeChunk(ctx, chunk, results[off:off+len(chunk)]); err != nil {
				once.Do(func() {
					firstErr = fmt.Errorf("http: comments %d to %d of %d: %w", off+1, off+len(chunk), len(comments), err)
					cancel(firstErr)
				})
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("http: %w", context.Cause(ctx))
	}
	return results, nil
}

// analyzeChunk makes one request and fills out, one result per comment.
func (inst *instance) analyzeChunk(ctx context.Context, chunk []sdk.Comment, out []sdk.Result) error {
	m := inst.s.mapping
	body, err := m.encode(inst.s, chunk)
	if err != nil {
		return fmt.Errorf("encode the request: %w", err)
	}
	var remote []remoteResult
	err = inst.c.post(ctx, body, func(answer []byte) error {
		var err error
		remote, err = m.decode(inst.s, chunk, answer)
		if err == nil && len(remote) != len(chunk) {
			// A mapping bug, not the service's: say so rather than index
			// out of range.
			err = fmt.Errorf("mapping %T decoded %d results for %d comments", m, len(remote), len(chunk))
		}
		return err
	})
	var ae *attemptError
	if err != nil && m.maxBatch() == 1 && errors.As(err, &ae) &&
		(ae.status == http.StatusBadRequest || ae.status == http.StatusUnprocessableEntity) {
		// A service that takes one comment per request (Perspective)
		// refused this one (too long, a language it does not know): that
		// is the comment's problem, not the batch's.
		out[0] = sdk.Result{CommentID: chunk[0].ID, Err: fmt.Sprintf("%s refused the comment: %s", m.service(), ae.msg)}
		return nil
	}
	if err != nil {
		return err
	}
	for i := range chunk {
		out[i] = translate(inst.s, m, &chunk[i], remote[i])
	}
	return nil
}
