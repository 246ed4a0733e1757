package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"time"

	"github.com/moderatorbot/moderator/core/internal/batch"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// hold says why a comment is held back, if it is.
type hold struct {
	// why names the first "hold" analyzer that failed on the comment and
	// its error; empty when the comment is not held.
	why string
	// own: every "hold" analyzer that failed on the comment failed on it
	// alone (see analyzerRun.own), so its retries back off.
	own bool
}

// analyze runs every analyzer over the comments at once. It returns each
// comment's analyses, and for each comment held back by a failing "hold"
// analyzer, why.
func (p *Pipeline) analyze(ctx context.Context, comments []sdk.Comment) ([][]store.Analysis, []hold) {
	runs := make([]analyzerRun, len(p.opts.Analyzers))
	var wg sync.WaitGroup
	for ai, a := range p.opts.Analyzers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			runs[ai] = p.runAnalyzer(ctx, a, comments)
			runs[ai].took = time.Since(start)
			p.opts.Metrics.analyzerLatency.WithLabelValues(a.Name).Observe(runs[ai].took.Seconds())
		}()
	}
	wg.Wait()

	analyses := make([][]store.Analysis, len(comments))
	held := make([]hold, len(comments))
	for ai, a := range p.opts.Analyzers {
		r := &runs[ai]
		plugin, version := "", ""
		if a.Info != nil {
			plugin, version = a.Info()
		}
		if ctx.Err() == nil {
			p.report(a, len(comments), r)
		}
		for ci := range comments {
			an := store.Analysis{Analyzer: a.Name, Plugin: plugin, Version: version, DurationMS: float64(r.took.Microseconds()) / 1000}
			if errText := r.results[ci].Err; errText != "" {
				if a.OnFailure != "skip" {
					if h := &held[ci]; h.why == "" {
						h.why, h.own = fmt.Sprintf("analyzer %s: %s", a.Name, errText), r.own[ci]
					} else {
						h.own = h.own && r.own[ci]
					}
					continue
				}
				// Decided without it, and the record says so: never a silent approve.
				an.Err = errText
			} else {
				an.Labels = r.results[ci].Labels
			}
			analyses[ci] = append(analyses[ci], an)
		}
	}
	return analyses, held
}

// report logs and counts what went wrong in one analyzer's run over a batch.
func (p *Pipeline) report(a Analyzer, n int, r *analyzerRun) {
	if r.failed != nil {
		p.opts.Metrics.analyzerErrors.WithLabelValues(a.Name).Inc()
	}
	if r.isolated > 0 {
		p.log.Warn("analyzer failed on single comments while it answers others", "analyzer", a.Name,
			"failed", r.isolated, "batch", n, "calls", r.calls, "on_failure", a.OnFailure)
	}
	if r.broken == 0 {
		return
	}
	// An analyzer that is down fails every batch until it is back: say so
	// at error level once a minute, not once per batch of held comments
	// coming round again.
	if ok, quiet := p.errorGate.open(a.Name, time.Now()); ok {
		args := []any{"analyzer", a.Name, "comments", r.broken, "batch", n, "calls", r.calls, "on_failure", a.OnFailure, "error", r.brokenErr}
		if quiet > 0 {
			args = append(args, "failures_not_logged", quiet)
		}
		p.log.Error("analyzer failed", args...)
	} else {
		p.log.Debug("analyzer failed", "analyzer", a.Name, "comments", r.broken, "batch", n, "calls", r.calls, "on_failure", a.OnFailure, "error", r.brokenErr)
	}
}

// analyzerRun is what one analyzer made of one batch.
type analyzerRun struct {
	// results holds one result per comment, in order. Err is set where the
	// comment could not be analyzed: the analyzer's own Result.Err, or the
	// error of the call that failed with it.
	results []sdk.Result
	// own[i] says that comment i's failure is its own and not the
	// analyzer's: the analyzer said so in Result.Err, or a call failed with
	// the comment alone while the analyzer answers others.
	own []bool
	// failed is the first error of a call over a whole chunk, after its
	// retries; nil when every chunk was answered.
	failed error
	// broken counts the comments that failed for the analyzer's sake (it is
	// unavailable, timed out, or failed on everything it was given), and
	// brokenErr is the first such error.
	broken    int
	brokenErr error
	// isolated counts the comments the analyzer failed on alone.
	isolated int
	calls    int
	took     time.Duration
}

// runAnalyzer calls one analyzer over the comments in batches it accepts
// (see batch.End), with its timeout, retrying a failed batch with backoff. A
// batch that still fails is split in halves, and each failing half again,
// so that what analyzes fine goes on and only the comments the analyzer
// fails on are left to on_failure (see bisection).
func (p *Pipeline) runAnalyzer(ctx context.Context, a Analyzer, comments []sdk.Comment) analyzerRun {
	b := &bisection{p: p, ctx: ctx, a: a, comments: comments,
		run: analyzerRun{results: make([]sdk.Result, len(comments)), own: make([]bool, len(comments))}}
	size := len(comments)
	if a.MaxBatch != nil {
		if m := a.MaxBatch(); m > 0 && m < size {
			size = m
		}
	}
	for lo, hi := 0, 0; lo < len(comments); lo = hi {
		hi = batch.End(comments, lo, size)
		if b.down != nil {
			b.fail(lo, hi, b.down)
			continue
		}
		var res []sdk.Result
		err := retry(ctx, p.opts.AnalyzerRetries, p.opts.RetryBackoff, func() error {
			var err error
			res, err = b.call(lo, hi)
			return err
		})
		switch {
		case err == nil:
			b.answered(lo, res)
			continue
		case b.run.failed == nil:
			b.run.failed = err
		}
		if unavailable(ctx, err) {
			b.down = err
			b.fail(lo, hi, err)
			continue
		}
		b.budget += splitBudget(hi - lo)
		b.split(lo, hi, err)
	}
	b.finish()
	return b.run
}

// splitBudget is how many calls splitting a failed batch of n comments may
// make: enough to single out about four comments that make the analyzer
// fail (2·⌈log2 n⌉ calls each); past it, what is left fails as it is.
func splitBudget(n int) int {
	return 8 * bits.Len(uint(n-1))
}

// bisection splits one analyzer's failed calls until it knows which comments
// make it fail.
//
// A failed group is split in halves and each half is called once (no
// retries: the whole batch had them). A half that is answered goes on; a
// half that fails is split again, down to single comments, which are the
// ones the analyzer fails on. k such comments in n cost about 2·k·log2(n)
// calls, and never more than splitBudget.
//
// What it does not split: an error saying the analyzer is unavailable (not
// running, restarting, quarantined, timed out, rate limited, without
// Analyze) stops everything, since no input of ours is to blame and calling
// again would only wait on it or hammer it. And until the analyzer has
// answered any call, only the first path down to a single comment is
// followed: the halves failing beside it are set aside whole, so an analyzer
// that fails on everything costs about 2·log2(n) calls, not 2n. Once it
// answers one, it works and what was set aside is split in turn.
type bisection struct {
	p        *Pipeline
	ctx      context.Context
	a        Analyzer
	comments []sdk.Comment
	run      analyzerRun

	alive    bool  // the analyzer answered a call of this run
	single   bool  // a single comment failed
	down     error // the analyzer is unavailable: nothing more is called
	budget   int   // calls splitting may still make
	deferred []group
	alone    []group // single comments that failed
}

// group is comments[lo:hi] and the error a call over them failed with.
type group struct {
	lo, hi int
	err    error
}

// call makes one Analyze call over comments[lo:hi] with the analyzer's timeout.
func (b *bisection) call(lo, hi int) ([]sdk.Result, error) {
	an, err := b.a.Get(b.ctx)
	if err != nil {
		return nil, notRunning{err}
	}
	b.run.calls++
	ctx, cancel := context.WithTimeout(b.ctx, b.a.Timeout)
	defer cancel()
	chunk := b.comments[lo:hi]
	res, err := an.Analyze(ctx, chunk)
	if err == nil && len(res) != len(chunk) {
		err = fmt.Errorf("%d results for %d comments", len(res), len(chunk))
	}
	return res, err
}

// answered records an answer to the call over comments[lo:lo+len(res)].
func (b *bisection) answered(lo int, res []sdk.Result) {
	b.alive = true
	b.p.answered(b.a.Name)
	for i, r := range res {
		b.run.results[lo+i] = r
		b.run.own[lo+i] = r.Err != ""
	}
}

// fail records that comments[lo:hi] could not be analyzed, for the
// analyzer's sake rather than theirs.
func (b *bisection) fail(lo, hi int, err error) {
	for i := lo; i < hi; i++ {
		b.run.results[i] = sdk.Result{CommentID: b.comments[i].ID, Err: err.Error()}
		b.run.own[i] = false
	}
	if b.run.brokenErr == nil {
		b.run.brokenErr = err
	}
	b.run.broken += hi - lo
}

// split takes a group whose call failed with err (not for unavailability).
func (b *bisection) split(lo, hi int, err error) {
	switch {
	case b.down != nil:
		b.fail(lo, hi, b.down)
		return
	case hi-lo == 1:
		b.alone = append(b.alone, group{lo, hi, err})
		b.single = true
		return
	case !b.alive && b.single:
		b.deferred = append(b.deferred, group{lo, hi, err})
		return
	}
	mid := lo + (hi-lo)/2
	for _, h := range [2][2]int{{lo, mid}, {mid, hi}} {
		switch {
		case b.down != nil:
			b.fail(h[0], h[1], b.down)
			continue
		case b.budget <= 0:
			b.fail(h[0], h[1], err)
			continue
		}
		b.budget--
		res, err := b.call(h[0], h[1])
		switch {
		case err == nil:
			b.answered(h[0], res)
		case unavailable(b.ctx, err):
			b.down = err
			b.fail(h[0], h[1], err)
		default:
			b.split(h[0], h[1], err)
		}
	}
}

// finish splits what was set aside, if the analyzer has answered since, and
// gives the single comments that failed their verdict: their own failure if
// the analyzer answers others (in this run or lately), the analyzer's if it
// answered nothing.
func (b *bisection) finish() {
	deferred := b.deferred
	b.deferred = nil
	for _, g := range deferred {
		if b.alive {
			b.split(g.lo, g.hi, g.err)
		} else {
			b.fail(g.lo, g.hi, g.err)
		}
	}
	works := b.alive || b.p.answeredSince(b.a.Name, time.Now().Add(-b.p.opts.HoldRetry))
	for _, g := range b.alone {
		if !works {
			b.fail(g.lo, g.hi, g.err)
			continue
		}
		b.run.results[g.lo] = sdk.Result{CommentID: b.comments[g.lo].ID,
			Err: "failed on this comment while it answers others: " + g.err.Error()}
		b.run.own[g.lo] = true
		b.run.isolated++
	}
}

// notRunning wraps the error of getting the analyzer: it is not running.
type notRunning struct{ error }

func (e notRunning) Unwrap() error { return e.error }

// unavailable says whether err means the analyzer could not be asked or did
// not answer in time, rather than that it refused the comments it was given:
// then splitting the batch would only call it in vain. A plugin that is not
// running, restarting, quarantined or stopped fails in Get; one that died
// during the call fails with Unavailable or Canceled from gRPC; a timeout,
// a rate limit and an analyzer without Analyze say so in their error.
// Everything else (the analyzer's error, a panic in it, a reply that breaks
// the protocol) may be due to one of the comments; so is a request or reply
// over gRPC's message size limit (sdk.ErrMessageTooLarge), which gRPC
// reports with a rate limit's status code but which less input cures.
func unavailable(ctx context.Context, err error) bool {
	var nr notRunning
	var rl *sdk.RateLimitedError
	switch {
	case ctx.Err() != nil:
		return true
	case errors.Is(err, sdk.ErrMessageTooLarge):
		return false
	case errors.As(err, &nr), errors.As(err, &rl), errors.Is(err, sdk.ErrUnsupported),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.Canceled, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Unimplemented:
		return true
	}
	return false
}

// maxHoldDoublings bounds the backoff of a comment held for its own
// failure: hold_retry doubles at most six times, to 64·hold_retry (about an
// hour at the default of a minute).
const maxHoldDoublings = 6

// holdDelay is how long a held comment waits before it is tried again, on
// its attempts-th analysis. A comment held because its analyzer is down
// waits hold_retry, as the analyzer's recovery is what it waits for. One
// the analyzer fails on alone waits twice as long each time (its attempts
// count every analysis, and every one before this held it), up to
// 64·hold_retry.
func (p *Pipeline) holdDelay(own bool, attempts int) time.Duration {
	d := p.opts.HoldRetry
	if !own {
		return d
	}
	for i := 1; i < attempts && i <= maxHoldDoublings; i++ {
		d *= 2
	}
	return d
}

// answered notes that the named analyzer answered a call now.
func (p *Pipeline) answered(name string) {
	if t := p.lastAnswer[name]; t != nil {
		t.Store(time.Now().UnixNano())
	}
}

// answeredSince says whether the named analyzer answered a call after t.
func (p *Pipeline) answeredSince(name string, t time.Time) bool {
	last := p.lastAnswer[name]
	return last != nil && last.Load() > t.UnixNano()
}

// logGate lets a line through once per interval per key, and counts the
// ones it held back.
type logGate struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
	quiet map[string]int
}

func newLogGate(every time.Duration) *logGate {
	return &logGate{every: every, last: map[string]time.Time{}, quiet: map[string]int{}}
}

// open says whether the line for key may go out now, and how many were held
// back since the last one that did.
func (g *logGate) open(key string, now time.Time) (bool, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if last, ok := g.last[key]; ok && now.Sub(last) < g.every {
		g.quiet[key]++
		return false, 0
	}
	n := g.quiet[key]
	g.last[key], g.quiet[key] = now, 0
	return true, n
}
