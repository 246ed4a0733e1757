// Package pipeline moves queued comments through their life: every
// configured analyzer at once, the policy, and the connector's moderate
// action, writing each state to the store before the next step starts, so
// that a crash at any instant resumes where it stopped and nothing is acted
// on twice (actions are idempotent and carry the decision's id as key).
//
// # When an analyzer fails
//
// A failed analyzer call is retried (analyzer_retries, with backoff). If it
// still fails, and its error does not say that the analyzer is unavailable
// (not running, restarting, quarantined, timed out, rate limited), the
// batch is split in halves and each failing half again, so that one comment
// that makes the analyzer fail (a panic, an error, an invalid reply) no
// longer takes its batch down with it: the others are decided in the same
// run, and only the comments the analyzer fails on alone meet its
// on_failure. That costs about 2·log2(n) calls per such comment in a batch
// of n, within a budget of 8·⌈log2 n⌉ calls; until the analyzer answers any
// of them only one path down is followed, so an analyzer that fails on
// everything costs about 2·log2(n) calls, never n.
//
// With on_failure = "skip", those comments are decided without the analyzer
// and its analysis in the record carries the error. With "hold" (the
// default) they are held and tried again: at hold_retry when the analyzer
// failed for its own sake, since its recovery is what they wait for; at
// hold_retry doubling with each attempt, up to 64·hold_retry, when the
// failure is the comment's own: the analyzer failed on it alone while it
// answers others, or said so in its Result.Err. Held is never decided
// without the analyzer, however often it fails: a fixed plugin, or
// on_failure = "skip", lets it through, or a human. A comment failed on
// alone joins the review queue at its ReviewAfter-th attempt, and an
// override of any held comment decides it (see Override). The record's last_error names the
// analyzer and its error. The log has one error line a minute at most per
// failing analyzer, a warning for each comment it failed on alone, and the
// comments held while it is down at debug level.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/core/policy"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
)

// ReviewAfter is the attempt after which a comment that an analyzer fails
// on alone joins the review queue (its retries go on): a human can decide
// it there with an override.
const ReviewAfter = 3

// Store is what the pipeline needs of the state store.
type Store interface {
	Queued(ctx context.Context, from uint64, limit int, skip func(seq uint64) bool) ([]store.Work, uint64, error)
	Save(ctx context.Context, steps []store.Step) error
	Requeue(ctx context.Context, now time.Time) (int, error)
	Notify() <-chan struct{}
}

// Analyzer is one configured analyzer instance.
type Analyzer struct {
	Name string
	// Get returns the running analyzer, waiting while it restarts.
	Get func(ctx context.Context) (sdk.Analyzer, error)
	// Info names the plugin and its version, for the record.
	Info    func() (plugin, version string)
	Timeout time.Duration
	// OnFailure is what happens to the comments an analyzer fails on:
	// "hold" (tried again later) or "skip" (decided without it). See the
	// package documentation.
	OnFailure string
	// MaxBatch, when set, returns the most comments one call may carry
	// (0: any); it can change when the plugin restarts as a new version.
	MaxBatch func() int
}

// Connector is one configured connector instance.
type Connector struct {
	Name string
	Get  func(ctx context.Context) (sdk.Moderator, error)
}

// Options configure a pipeline.
type Options struct {
	Logger          hclog.Logger
	Store           Store
	Policy          *policy.Policy
	Analyzers       []Analyzer
	Connectors      []Connector
	BatchSize       int
	Workers         int
	AnalyzerRetries int
	ActionRetries   int
	RetryBackoff    time.Duration
	// HoldRetry is when a held comment is tried again; for a comment an
	// analyzer fails on alone it doubles with each attempt, up to
	// 64·HoldRetry.
	HoldRetry time.Duration
	// Linger is how long a batch that is not full waits for more work
	// before it goes (default 5ms; negative: not at all). Comments that
	// trickle in one by one (webhooks) are then decided and saved together,
	// not in one write each: a few milliseconds on a decision, far fewer
	// synced writes. A full batch never waits.
	Linger  time.Duration
	Metrics *Metrics
	// PostTargets gives, for a connector's posts, the ids of the targets
	// that brought each in, for rules scoped with when.targets (see
	// policy.Decide). Nil: rules match on the post's id alone.
	PostTargets func(ctx context.Context, connector string, posts []string) (map[string][]string, error)
}

// Pipeline processes the store's work queue.
type Pipeline struct {
	opts       Options
	log        hclog.Logger
	connectors map[string]Connector
	// lastAnswer is when each analyzer last answered a call (Unix ns).
	lastAnswer map[string]*atomic.Int64
	errorGate  *logGate
	// running is true while Run is: Override leaves held comments' actions
	// to it then, and applies them itself otherwise.
	running atomic.Bool
}

// New checks the options and fills in defaults.
func New(opts Options) (*Pipeline, error) {
	if opts.Store == nil || opts.Policy == nil {
		return nil, errors.New("pipeline: a store and a policy are required")
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = time.Second
	}
	if opts.HoldRetry <= 0 {
		opts.HoldRetry = time.Minute
	}
	if opts.Linger == 0 {
		opts.Linger = 5 * time.Millisecond
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	p := &Pipeline{opts: opts, log: opts.Logger, connectors: map[string]Connector{},
		lastAnswer: map[string]*atomic.Int64{}, errorGate: newLogGate(time.Minute)}
	for _, c := range opts.Connectors {
		p.connectors[c.Name] = c
	}
	for _, a := range opts.Analyzers {
		p.lastAnswer[a.Name] = new(atomic.Int64)
	}
	return p, nil
}

// Metrics returns the pipeline's collectors.
func (p *Pipeline) Metrics() *Metrics { return p.opts.Metrics }

// Run processes work until ctx is done. Work already queued when it starts
// (left by a crash) is processed first.
func (p *Pipeline) Run(ctx context.Context) error {
	p.running.Store(true)
	defer p.running.Store(false)
	sem := make(chan struct{}, p.opts.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	// inflight holds the queue entries a worker has; a scan skips them. Only
	// this goroutine touches it, and it forgets a finished batch only between
	// scans: a scan that began before the batch's outcome was committed reads
	// a snapshot that still shows the batch queued, and must still skip it.
	inflight := map[uint64]bool{}
	busy := func(seq uint64) bool { return inflight[seq] }
	finished := make(chan []store.Work, p.opts.Workers)
	forget := func(work []store.Work) {
		for _, w := range work {
			delete(inflight, w.Seq)
		}
	}
	requeue := time.NewTicker(time.Second)
	defer requeue.Stop()
	// from is where the next scan starts: below it everything was seen, and
	// is finished, in a worker's hands or held for the next batch. A batch
	// that could not be saved is still queued below it, so its failure sends
	// the scan back to the start.
	var from uint64
	var rescan atomic.Bool
	// held is a batch that is not full yet, lingering for more work until
	// linger fires. Its entries are in inflight already: scans skip them.
	var held []store.Work
	var linger <-chan time.Time
	lingered := false
	for {
		if rescan.Swap(false) {
			from = 0
		}
	drain:
		for {
			select {
			case w := <-finished:
				forget(w)
			default:
				break drain
			}
		}
		work, next, err := p.opts.Store.Queued(ctx, from, p.opts.BatchSize-len(held), busy)
		if err == nil {
			from = next
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			p.log.Error("read work queue", "error", err)
			work = nil
		}
		for _, w := range work {
			inflight[w.Seq] = true
		}
		if held == nil {
			held = work // Queued's own slice: nothing else holds it
		} else {
			held = append(held, work...)
		}
		full := len(held) == p.opts.BatchSize
		if len(held) > 0 && (full || lingered || p.opts.Linger < 0) {
			batch := held
			held, linger, lingered = nil, nil, false
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if !p.process(ctx, batch) {
					rescan.Store(true)
				}
				select {
				case finished <- batch:
				case <-ctx.Done():
				}
			}()
			if full {
				continue // more is waiting: don't sleep
			}
		} else if len(held) > 0 && linger == nil {
			linger = time.After(p.opts.Linger)
		}
		select {
		case <-ctx.Done():
			return nil
		case w := <-finished:
			forget(w)
		case <-p.opts.Store.Notify():
		case <-linger:
			linger, lingered = nil, true
		case <-requeue.C:
			if _, err := p.opts.Store.Requeue(ctx, time.Now()); err != nil && ctx.Err() == nil {
				p.log.Error("requeue held work", "error", err)
			}
		}
	}
}

// postTargets looks up the targets of the comments' posts, by connector
// and post.
func (p *Pipeline) postTargets(ctx context.Context, comments []sdk.Comment) (map[string]map[string][]string, error) {
	if p.opts.PostTargets == nil {
		return nil, nil
	}
	posts := map[string][]string{}
	for _, c := range comments {
		posts[c.Connector] = append(posts[c.Connector], c.PostID)
	}
	out := make(map[string]map[string][]string, len(posts))
	for connector, ids := range posts {
		m, err := p.opts.PostTargets(ctx, connector, ids)
		if err != nil {
			return nil, err
		}
		out[connector] = m
	}
	return out, nil
}

// process takes one batch through analysis, decision and action, and says
// whether every outcome was saved.
func (p *Pipeline) process(ctx context.Context, work []store.Work) bool {
	// A Record is some 450 bytes: sized once, the slices are not copied
	// over as they grow.
	analyze := make([]int, 0, len(work))
	for i := range work {
		switch work[i].Record.State {
		case store.StateSeen, store.StateHeld:
			analyze = append(analyze, i)
		}
	}
	steps := make([]store.Step, 0, len(work))
	var act []int
	if len(analyze) > 0 {
		comments := make([]sdk.Comment, len(analyze))
		for j, i := range analyze {
			comments[j] = work[i].Record.Comment
		}
		analyses, held := p.analyze(ctx, comments)
		if ctx.Err() != nil {
			return false // shutting down: the queue still has it all
		}
		targets, err := p.postTargets(ctx, comments)
		if err != nil {
			p.log.Error("look up the targets of the batch's posts", "error", err)
			return false // the batch is tried again, like after a failed save
		}
		now := time.Now().UTC()
		for j, i := range analyze {
			rec := &work[i].Record
			rec.Attempts++
			if h := held[j]; h.why != "" {
				rec.State, rec.LastError, rec.RetryAt = store.StateHeld, h.why, now.Add(p.holdDelay(h.own, rec.Attempts))
				// A comment held because its analyzer is down is one of a
				// batch that the analyzer's error line speaks for; one the
				// analyzer fails on alone is its own story, and comes round
				// less and less often.
				logf := p.log.Debug
				if h.own {
					logf = p.log.Warn
				}
				logf("comment held: an analyzer failed", "id", rec.ID, "error", h.why, "attempts", rec.Attempts, "retry_at", rec.RetryAt)
				p.opts.Metrics.held.Inc()
				// The analyzers may never decide a comment they fail on
				// alone: after a few tries a human is asked to.
				rec.InReview = rec.InReview || h.own && rec.Attempts >= ReviewAfter
				steps = append(steps, store.Step{Seq: work[i].Seq, Record: *rec, Delay: true})
				continue
			}
			v := p.opts.Policy.Decide(rec.Comment, analyses[j], targets[rec.Comment.Connector][rec.Comment.PostID])
			rec.State, rec.LastError, rec.RetryAt = store.StateDecided, "", time.Time{}
			rec.Decision = &store.Decision{At: now, Analyses: analyses[j], Rule: v.Rule, Action: v.Action, Reason: v.Reason, DryRun: v.DryRun}
			wasInReview := rec.InReview
			rec.InReview = v.Action == sdk.ActionReview
			p.opts.Metrics.decision(v)
			pending := needsPlatform(rec.Decision)
			steps = append(steps, store.Step{Seq: work[i].Seq, Record: *rec, Done: !pending, LeftReview: wasInReview && !rec.InReview})
			if pending {
				act = append(act, i)
			}
		}
	}
	for i := range work {
		if work[i].Record.State == store.StateDecided && needsPlatform(work[i].Record.Decision) && !contains(act, i) {
			act = append(act, i) // decided before a crash, not yet acted on
		}
	}
	// The decisions are on disk before anything is done on a platform.
	if len(steps) > 0 {
		if err := p.opts.Store.Save(ctx, steps); err != nil {
			p.log.Error("save decisions", "error", err)
			return false
		}
		for _, st := range steps {
			if st.Record.State == store.StateDecided {
				p.logDecision(st.Record)
			}
		}
	}
	if len(act) == 0 {
		return true
	}
	steps = steps[:0]
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, i := range act {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := p.act(ctx, work[i])
			mu.Lock()
			steps = append(steps, st)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return false
	}
	if err := p.opts.Store.Save(ctx, steps); err != nil {
		p.log.Error("save actions", "error", err)
		return false
	}
	return true
}

// logDecision writes the moderation log an operator watches: every decision
// a rule made, with its reason, at info; the rest (no rule matched) at
// debug, since on a busy account they are most of the traffic.
func (p *Pipeline) logDecision(rec store.Record) {
	d := rec.Decision
	logf := p.log.Info
	if d.Rule == "" {
		logf = p.log.Debug
	}
	logf("decided", "id", rec.ID, "connector", rec.Comment.Connector, "comment", rec.Comment.ID,
		"author", policy.Author(rec.Comment), "action", d.Action, "dry_run", d.DryRun, "rule", d.Rule, "reason", d.Reason)
}

// needsPlatform says whether a decision still has a platform action to apply.
func needsPlatform(d *store.Decision) bool {
	if d == nil || d.DryRun || d.Platform != nil {
		return false
	}
	switch d.Action {
	case sdk.ActionApprove, sdk.ActionReview:
		return false
	}
	return true
}

func contains(list []int, x int) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

// act applies a decided action through the record's connector and returns
// the record's next step.
func (p *Pipeline) act(ctx context.Context, w store.Work) store.Step {
	rec := w.Record
	d := rec.Decision
	c, ok := p.connectors[rec.Comment.Connector]
	var resp sdk.ModerateResponse
	var err error
	if !ok {
		err = sdk.Permanent(fmt.Errorf("connector %q is not configured any more", rec.Comment.Connector))
	} else {
		err = retry(ctx, p.opts.ActionRetries, p.opts.RetryBackoff, func() error {
			m, err := c.Get(ctx)
			if err != nil {
				return err
			}
			resp, err = m.Moderate(ctx, sdk.ModerateRequest{Comment: rec.Comment, Action: d.Action, Reason: d.Reason, IdempotencyKey: rec.ID})
			return err
		})
	}
	now := time.Now().UTC()
	var rl *sdk.RateLimitedError
	switch {
	case err == nil:
		rec.State = store.StateActed
		d.Platform = &store.PlatformAnswer{At: now, Changed: resp.Changed, Detail: resp.Detail}
		p.log.Info("acted", "id", rec.ID, "connector", rec.Comment.Connector, "comment", rec.Comment.ID, "action", d.Action,
			"changed", resp.Changed, "detail", resp.Detail)
		p.opts.Metrics.actions.WithLabelValues(rec.Comment.Connector, d.Action, "ok").Inc()
		return store.Step{Seq: w.Seq, Record: rec, Done: true}
	case sdk.IsPermanent(err) || errors.Is(err, sdk.ErrNotFound):
		rec.State, rec.LastError = store.StateFailed, err.Error()
		d.Platform = &store.PlatformAnswer{At: now, Err: err.Error()}
		p.log.Error("action failed for good", "id", rec.ID, "action", d.Action, "error", err)
		p.opts.Metrics.actions.WithLabelValues(rec.Comment.Connector, d.Action, "failed").Inc()
		return store.Step{Seq: w.Seq, Record: rec, Done: true}
	case errors.As(err, &rl) && !rl.RateLimit.Reset.IsZero():
		rec.RetryAt = rl.RateLimit.Reset
	default:
		rec.RetryAt = now.Add(p.opts.HoldRetry)
	}
	rec.LastError = err.Error()
	p.log.Warn("action will be retried", "id", rec.ID, "action", d.Action, "retry_at", rec.RetryAt, "error", err)
	p.opts.Metrics.actions.WithLabelValues(rec.Comment.Connector, d.Action, "retry").Inc()
	return store.Step{Seq: w.Seq, Record: rec, Delay: true}
}

// retry calls fn up to 1+retries times, doubling the wait between tries,
// and stops early on errors that retrying cannot cure.
func retry(ctx context.Context, retries int, backoff time.Duration, fn func() error) error {
	var err error
	for attempt := 0; ; attempt++ {
		err = fn()
		var rl *sdk.RateLimitedError
		if err == nil || attempt >= retries || sdk.IsPermanent(err) || errors.Is(err, sdk.ErrNotFound) || errors.As(err, &rl) ||
			errors.Is(err, sdk.ErrMessageTooLarge) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff << attempt):
		}
	}
}
