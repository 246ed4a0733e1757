// Package scheduler decides when to ask each connector for new comments.
//
// Targets (from the config and added at run time) are expanded into posts:
// a "post" target is a post, and "author", "publication" and "query" targets
// are discovered into posts on their own interval. A post remembers every
// target that brought it in, and is polled while one of them is watched:
// when the last goes (removed at run time, or from the config before a
// restart), the post is forgotten at once, and what a poll in flight brings
// for it is dropped. A target whose discovery fails is retried on its own
// backoff, so one bad target neither floods the platform nor holds up the
// others. Each post is polled
// adaptively: soon after a comment arrives, less and less often as the
// conversation goes quiet, and not at all once it is old and quiet. Due posts
// of one connector are polled together, as many per call as the connector
// takes (fewer for a while after a reply came back over gRPC's message size
// limit: a backlog is read in smaller calls, not backed off). Every call is paced by the rate-limit state the connector reports,
// so the bot slows down before the platform says 429; a usage cap pauses the
// connector and tells the operator instead of retrying in a loop. A
// connector's next call may start as soon as the previous poll returned,
// while what it brought is still being queued; the posts of that poll stay
// out of the schedule until their comments and cursors are on disk, and at
// most maxIntakes polls per connector wait to be queued. Streams
// run beside polling; a stream that reports a gap brings its posts forward.
package scheduler

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
)

// Client is what the scheduler calls on a connector.
type Client interface {
	sdk.Poller
	sdk.Discoverer
	sdk.Streamer
}

// Connector is one configured connector instance.
type Connector struct {
	Name string
	// Get returns the running connector, waiting while it restarts.
	Get func(ctx context.Context) (Client, error)
	// Describe says what it can do (capabilities, max batch).
	Describe func() sdk.Description
}

// Store keeps posts and cursors.
type Store interface {
	Cursor(connector, post string) ([]byte, error)
	SavePosts(ctx context.Context, posts []store.Post) error
	RemovePosts(ctx context.Context, connector string, ids []string) error
	Posts(ctx context.Context, fn func(store.Post) error) error
}

// Intake durably queues what polls and streams bring in.
type Intake interface {
	Queue(ctx context.Context, connector, source string, comments []sdk.Comment, cursors []store.CursorUpdate) (store.IntakeResult, error)
}

// Options configure a scheduler. Zero durations take the defaults noted.
type Options struct {
	Logger     hclog.Logger
	Store      Store
	Intake     Intake
	Connectors []Connector
	// Targets lists what to watch; called at start and on Reload.
	Targets func(ctx context.Context) ([]store.Target, error)

	MinInterval      time.Duration // 30s: poll interval while a conversation is active
	MaxInterval      time.Duration // 15m: poll interval once it is quiet
	StopAfter        time.Duration // 168h: stop polling posts older and quieter than this
	DiscoverInterval time.Duration // 15m: how often author/publication/query targets are expanded
	DiscoverRetry    time.Duration // 30s: wait after a target's discovery first fails; it doubles with each failure
	DiscoverRetryMax time.Duration // 1h: the longest wait between a target's failing discoveries
	CallTimeout      time.Duration // 2m: the longest one poll or discover call may take
	Tick             time.Duration // 250ms: how often due work is looked for
	MaxBatch         int           // 100: posts per poll when the connector sets no limit
	Now              func() time.Time
	Metrics          *Metrics
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.MinInterval, 30*time.Second)
	def(&o.MaxInterval, 15*time.Minute)
	def(&o.StopAfter, 7*24*time.Hour)
	def(&o.DiscoverInterval, 15*time.Minute)
	def(&o.DiscoverRetry, 30*time.Second)
	def(&o.DiscoverRetryMax, time.Hour)
	if o.DiscoverRetryMax < o.DiscoverRetry {
		o.DiscoverRetryMax = o.DiscoverRetry
	}
	def(&o.Tick, 250*time.Millisecond)
	def(&o.CallTimeout, 2*time.Minute)
	if o.MaxInterval < o.MinInterval {
		o.MaxInterval = o.MinInterval
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 100
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
}

// Scheduler runs the polling and discovery of every connector.
type Scheduler struct {
	opts   Options
	log    hclog.Logger
	conns  map[string]*conn
	reload chan struct{}
	done   chan result
	gaps   chan *conn

	// unsaved is post activity the run loop saves once it has started the
	// calls that are due, so that a sync to disk does not hold them up.
	// It holds the posts, not copies: what is saved is their state then, so
	// that a target added to or removed from a post meanwhile is not undone,
	// and a post no target watches any more is not written back.
	unsaved []*post

	mu     sync.Mutex // guards status and applied
	status map[string]Status
	// applied is closed once a reading of the targets that started after it
	// was made is in effect (see Apply); nil until Run starts.
	applied chan struct{}
	// stopped is closed when Run returns.
	stopped chan struct{}
}

// Status is what the operator sees of a connector's scheduling.
type Status struct {
	Connector   string        `json:"connector"`
	Posts       int           `json:"posts"`
	PausedUntil time.Time     `json:"paused_until,omitzero"`
	PauseReason string        `json:"pause_reason,omitempty"`
	RateLimit   sdk.RateLimit `json:"rate_limit"`
}

// maxIntakes is how many polls of one connector may wait to be queued at
// once: enough for the next poll to overlap the store's work on the last
// one, few enough that a slow store holds back polling (and the memory its
// comments take) instead of piling them up.
const maxIntakes = 2

// conn is the scheduling state of one connector. Only the run loop touches it.
type conn struct {
	Connector
	posts   map[string]*post
	due     postHeap
	targets map[string]*target
	// busy: a poll or discover call is in flight (one at a time).
	busy bool
	// intakes counts polls whose comments are being queued; their posts are
	// out of due until it is done.
	intakes  int
	paused   time.Time
	reason   string
	nextCall time.Time
	backoff  time.Duration // after failed calls to the connector
	// intakeBackoff is after failed intakes: a store that fails is not the
	// platform's fault, and a successful poll says nothing about it.
	intakeBackoff time.Duration
	rate          sdk.RateLimit
	stream        streamCtl
	// fit, when above zero, is how many posts a poll asks for since a
	// reply came back over gRPC's message size limit: it halves at each
	// such reply and doubles back after fitGrowAfter polls in a row that
	// fit, since a reply that large is a backlog, which drains.
	fit, fitted int
}

// fitGrowAfter is how many polls in a row must come back under the message
// size limit before a connector's batch, cut after one that did not, doubles.
const fitGrowAfter = 8

type post struct {
	store.Post
	next     time.Time
	interval time.Duration
	index    int // in the heap; -1 when not in it
	// backlog: its last poll said More, so the next one fills whole pages.
	backlog bool
	// cursor is the post's stored cursor, when cursorKnown: only the intake
	// of its own polls writes it, so after the first read the scheduler
	// knows it without asking the store, whose reads wait for the commits
	// in flight (the pipeline's among them).
	cursor      []byte
	cursorKnown bool
	// removed: no target watches the post any more. It is out of posts and
	// due; a poll or intake in flight that holds it drops what it brought
	// for it and does not put it back.
	removed bool
}

type target struct {
	store.Target
	nextDiscover time.Time
	cursor       []byte
	// backoff is the wait after the last of failures discover calls in a
	// row that failed for this target: a target of its own, so that one
	// bad target is retried slowly while the others and the polls go on.
	backoff  time.Duration
	failures int
	// unsupported: the connector said it cannot watch the target's kind,
	// and the operator was told.
	unsupported bool
}

// New makes a scheduler; Run starts it.
func New(opts Options) *Scheduler {
	opts.defaults()
	s := &Scheduler{opts: opts, log: opts.Logger, conns: map[string]*conn{}, reload: make(chan struct{}, 1),
		done: make(chan result, len(opts.Connectors)+1), gaps: make(chan *conn, len(opts.Connectors)+1), status: map[string]Status{},
		stopped: make(chan struct{})}
	for _, c := range opts.Connectors {
		s.conns[c.Name] = &conn{Connector: c, posts: map[string]*post{}, targets: map[string]*target{}}
	}
	return s
}

// Metrics returns the scheduler's collectors.
func (s *Scheduler) Metrics() *Metrics { return s.opts.Metrics }

// Reload makes the scheduler read its targets again (after one was added or
// removed at run time), without waiting for it; see Apply.
func (s *Scheduler) Reload() {
	select {
	case s.reload <- struct{}{}:
	default:
	}
}

// Apply makes the scheduler read its targets again and waits until what it
// read is in effect: once it returns, the posts a removed target alone
// brought in are no longer polled, and nothing more from them is queued
// but the comments of a poll that were already being written to the store.
// It returns at once when the scheduler has not started (it reads the
// targets when it does) or has stopped, and ctx's error if ctx ends first.
func (s *Scheduler) Apply(ctx context.Context) error {
	s.mu.Lock()
	applied := s.applied
	s.mu.Unlock()
	s.Reload()
	if applied == nil {
		return nil
	}
	select {
	case <-applied:
		return nil
	case <-s.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the scheduler to apply the targets: %w", ctx.Err())
	}
}

// beginLoad is called before the targets are read: it returns the channel
// that callers of Apply waiting since the previous reading wait on, for the
// caller to close once this reading is in effect (nil on the first).
func (s *Scheduler) beginLoad() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.applied
	s.applied = make(chan struct{})
	return ch
}

// Statuses returns each connector's scheduling state.
func (s *Scheduler) Statuses() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.status))
	for _, c := range s.opts.Connectors {
		out = append(out, s.status[c.Name])
	}
	return out
}

// Run schedules until ctx is done, then waits for calls and intakes in flight.
func (s *Scheduler) Run(ctx context.Context) error {
	defer close(s.stopped)
	if err := s.start(ctx); err != nil {
		return err
	}
	var streams sync.WaitGroup
	s.startStreams(ctx, &streams)
	tick := time.NewTicker(s.opts.Tick)
	defer tick.Stop()
	// wake is for a call whose turn under the pacing comes before the next
	// tick: pacing a busy connector spaces calls by milliseconds, which
	// waiting for ticks would stretch to a tick each.
	wake := time.NewTimer(time.Hour)
	wake.Stop()
	defer wake.Stop()
	// What is due at start (new targets, a backlog left by a restart) is
	// asked for now, not a tick later.
	inflight, at := s.dispatch(ctx)
	if !at.IsZero() {
		wake.Reset(at.Sub(s.opts.Now()))
	}
	for {
		select {
		case <-ctx.Done():
			// An intake started now fails at once on the done context: its
			// posts keep their cursors and are polled again after a restart.
			for ; inflight > 0; inflight-- {
				inflight += s.apply(ctx, <-s.done)
			}
			s.saveActivity(context.WithoutCancel(ctx))
			streams.Wait()
			return nil
		case r := <-s.done:
			inflight--
			inflight += s.apply(ctx, r)
		case <-s.reload:
			applied := s.beginLoad()
			if err := s.loadTargets(ctx); err != nil {
				s.log.Error("targets not applied", "error", err)
			}
			close(applied)
		case c := <-s.gaps:
			now := s.opts.Now()
			for _, p := range c.posts {
				if p.index >= 0 {
					p.next = now
					heap.Fix(&c.due, p.index)
				}
			}
		case <-tick.C:
		case <-wake.C:
		}
		started, at := s.dispatch(ctx)
		inflight += started
		if !at.IsZero() {
			wake.Reset(at.Sub(s.opts.Now()))
		}
		s.saveActivity(ctx)
		s.snapshot()
	}
}

func (s *Scheduler) track(c *conn, p store.Post, next time.Time) *post {
	if tp, ok := c.posts[p.ID]; ok {
		return tp
	}
	tp := &post{Post: p, next: next, interval: s.opts.MinInterval, index: -1}
	if p.Interval > 0 {
		tp.interval = p.Interval
	}
	c.posts[p.ID] = tp
	heap.Push(&c.due, tp)
	return tp
}

// start reads the targets, then the tracked posts: those of targets no
// longer watched (removed from the config, or at run time while the daemon
// was stopped) are forgotten, the others are scheduled.
func (s *Scheduler) start(ctx context.Context) error {
	s.beginLoad()
	ts, err := s.opts.Targets(ctx)
	if err != nil {
		return fmt.Errorf("read targets: %w", err)
	}
	added := s.setTargets(ctx, ts)
	now := s.opts.Now()
	orphans := map[*conn][]string{}
	err = s.opts.Store.Posts(ctx, func(p store.Post) error {
		c, ok := s.conns[p.Connector]
		if !ok {
			return nil // its connector is not configured: leave it be
		}
		live := slices.DeleteFunc(slices.Clone(p.Targets), func(k string) bool { return c.targets[k] == nil })
		if len(live) == 0 {
			orphans[c] = append(orphans[c], p.ID)
			return nil
		}
		if p.Done {
			return nil
		}
		trimmed := len(live) < len(p.Targets)
		p.Targets = live
		// Spread the first round over the shortest interval so a restart
		// does not poll everything at once: the post's own, when it is
		// shorter (a target's poll_interval of 2s waited up to the 30s
		// minimum after every restart).
		spread := s.opts.MinInterval
		if p.Interval > 0 && p.Interval < spread {
			spread = p.Interval
		}
		tp := s.track(c, p, now.Add(jitter(spread)))
		if trimmed {
			s.unsaved = append(s.unsaved, tp)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load tracked posts: %w", err)
	}
	for c, ids := range orphans {
		s.log.Info("no target watches these posts any more: they are no longer polled", "connector", c.Name, "posts", len(ids))
		if err := s.opts.Store.RemovePosts(ctx, c.Name, ids); err != nil {
			return fmt.Errorf("forget the posts of removed targets: %w", err)
		}
	}
	s.trackPostTargets(ctx, added, now)
	return nil
}

// loadTargets reads the targets again and brings the schedule in line.
func (s *Scheduler) loadTargets(ctx context.Context) error {
	ts, err := s.opts.Targets(ctx)
	if err != nil {
		return fmt.Errorf("read targets: %w", err)
	}
	s.trackPostTargets(ctx, s.setTargets(ctx, ts), s.opts.Now())
	return nil
}

// setTargets makes ts each connector's targets, and returns those that are
// new. New ones are discovered when due (post targets are tracked by
// trackPostTargets); removed ones let go of their posts (see release). A
// connector whose targets changed restarts its stream with them.
func (s *Scheduler) setTargets(ctx context.Context, ts []store.Target) map[*conn][]*target {
	want := make(map[*conn]map[string]store.Target, len(s.conns))
	for _, c := range s.conns {
		want[c] = map[string]store.Target{}
	}
	for _, t := range ts {
		if c, ok := s.conns[t.Connector]; ok {
			want[c][t.Key()] = t
		}
	}
	now := s.opts.Now()
	added := map[*conn][]*target{}
	for c, keep := range want {
		var gone []string
		for k := range c.targets {
			if _, ok := keep[k]; !ok {
				delete(c.targets, k)
				gone = append(gone, k)
			}
		}
		for k, t := range keep {
			if _, ok := c.targets[k]; !ok {
				nt := &target{Target: t, nextDiscover: now}
				c.targets[k] = nt
				added[c] = append(added[c], nt)
			}
		}
		if len(gone) > 0 {
			s.log.Info("targets no longer watched", "connector", c.Name, "targets", strings.Join(gone, ", "))
			s.release(ctx, c, gone)
		}
		if len(gone) > 0 || len(added[c]) > 0 {
			s.restream(c)
		}
	}
	return added
}

// trackPostTargets polls new post targets at once. A post already tracked
// (discovered by an author target, say) is now watched by the post target
// too.
func (s *Scheduler) trackPostTargets(ctx context.Context, added map[*conn][]*target, now time.Time) {
	var save []store.Post
	for c, ts := range added {
		for _, t := range ts {
			if t.Kind != sdk.TargetPost {
				continue
			}
			key := t.Key()
			if p, ok := c.posts[t.ID]; ok {
				if !slices.Contains(p.Targets, key) {
					p.Targets = append(slices.Clip(p.Targets), key)
					save = append(save, p.Post)
				}
				continue
			}
			p := store.Post{Connector: c.Name, ID: t.ID, Targets: []string{key}, CreatedAt: now, Interval: t.PollInterval}
			s.track(c, p, now)
			save = append(save, p)
		}
	}
	if len(save) > 0 {
		if err := s.opts.Store.SavePosts(ctx, save); err != nil {
			s.log.Error("save tracked posts", "error", err)
		}
	}
}

// release lets go of what the removed targets gone brought in: a post that
// no other target watches is no longer polled and is forgotten by the store
// (so a restart does not poll it either); a poll or intake in flight that
// holds it drops what it brought for it. A post another target also
// brought in stays, watched by that one.
func (s *Scheduler) release(ctx context.Context, c *conn, gone []string) {
	var forget []string
	var save []store.Post
	for id, p := range c.posts {
		if !slices.ContainsFunc(p.Targets, func(k string) bool { return slices.Contains(gone, k) }) {
			continue
		}
		// A new slice: copies of the post being saved share the old.
		p.Targets = slices.DeleteFunc(slices.Clone(p.Targets), func(k string) bool { return slices.Contains(gone, k) })
		if len(p.Targets) > 0 {
			save = append(save, p.Post)
			continue
		}
		p.removed = true
		delete(c.posts, id)
		if p.index >= 0 {
			heap.Remove(&c.due, p.index)
		}
		forget = append(forget, id)
	}
	if len(forget) > 0 {
		s.log.Info("posts no longer polled: no target watches them", "connector", c.Name, "posts", len(forget))
		if err := s.opts.Store.RemovePosts(ctx, c.Name, forget); err != nil {
			// They are not polled in this run; the next start forgets them.
			s.log.Error("forget the posts of removed targets", "connector", c.Name, "error", err)
		}
	}
	if len(save) > 0 {
		if err := s.opts.Store.SavePosts(ctx, save); err != nil {
			s.log.Error("save tracked posts", "error", err)
		}
	}
}

// dispatch starts a call on every idle connector that has work due, and
// returns how many it started, and when the pacing lets the next one start
// (zero when no connector with due work waits for its turn). A poll waits
// while maxIntakes earlier polls are still being queued.
//
// At most half of a batch are posts with a backlog: when there are more, they
// are read in two alternating calls, so that the platform serves one half
// while the store queues the other's comments. It costs no requests to
// speak of: a backlog fills whole pages whichever call reads it.
func (s *Scheduler) dispatch(ctx context.Context) (started int, wake time.Time) {
	now := s.opts.Now()
	for _, c := range s.conns {
		if c.busy || now.Before(c.paused) {
			continue
		}
		if now.Before(c.nextCall) {
			if c.due.Len() > 0 && !c.nextCall.Before(c.due[0].next) && (wake.IsZero() || c.nextCall.Before(wake)) {
				wake = c.nextCall
			}
			continue
		}
		d := c.Describe()
		if d.Name == "" {
			continue // not running yet
		}
		// Discovery first: new posts are what the operator asked for.
		for _, t := range c.targets {
			if t.Kind == sdk.TargetPost || now.Before(t.nextDiscover) {
				continue
			}
			if err := CheckTargetKind(d, t.Kind); err != nil {
				// Added before the connector could be asked, or before
				// the host checked kinds: say so once, and never call.
				if !t.unsupported {
					t.unsupported = true
					s.log.Error("target not watched: the connector "+err.Error()+"; remove it with `moderator targets remove`",
						"connector", c.Name, "target", t.Key())
				}
				continue
			}
			if !d.Has(sdk.CapDiscover) {
				continue
			}
			c.busy = true
			started++
			go s.discover(ctx, c, t)
			break
		}
		if c.busy || !d.Has(sdk.CapPoll) || c.intakes >= maxIntakes {
			continue
		}
		max := d.MaxBatch
		if max <= 0 || max > s.opts.MaxBatch {
			max = s.opts.MaxBatch
		}
		if c.fit > 0 {
			max = min(max, c.fit)
		}
		var batch []*post
		half, backlog := (max+1)/2, 0
		for c.due.Len() > 0 && len(batch) < max && !now.Before(c.due[0].next) {
			if c.due[0].backlog {
				if backlog == half {
					break
				}
				backlog++
			}
			batch = append(batch, heap.Pop(&c.due).(*post))
		}
		if len(batch) == 0 {
			continue
		}
		c.busy = true
		started++
		go s.poll(ctx, c, batch)
	}
	return started, wake
}

// result is what a call, or an intake, brought back to the run loop.
type result struct {
	c     *conn
	batch []*post
	resp  sdk.PollResponse
	found map[string]int // comments per post
	t     *target
	disc  sdk.DiscoverResponse
	err   error
	// req is what a poll asked for, one cursor per post of batch.
	req []sdk.PostCursor
	// A poll's comments and cursors, still to be queued.
	comments []sdk.Comment
	cursors  []store.CursorUpdate
	// queued: this is the end of the intake of a poll's results (err is the
	// store's), not the end of a call.
	queued bool
}

// poll calls the connector; the run loop queues what it brought.
func (s *Scheduler) poll(ctx context.Context, c *conn, batch []*post) {
	r := result{c: c, batch: batch}
	defer func() { s.done <- r }()
	cl, err := c.Get(ctx)
	if err != nil {
		r.err = err
		return
	}
	req := make([]sdk.PostCursor, len(batch))
	for i, p := range batch {
		cur := p.cursor
		if !p.cursorKnown {
			if cur, err = s.opts.Store.Cursor(c.Name, p.ID); err != nil {
				r.err = fmt.Errorf("read cursor of %s: %w", p.ID, err)
				return
			}
		}
		req[i] = sdk.PostCursor{PostID: p.ID, Cursor: cur}
	}
	r.req = req
	callCtx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	r.resp, r.err = cl.Poll(callCtx, req)
	cancel()
	if r.err != nil {
		r.err = s.timedOut(ctx, callCtx, fmt.Sprintf("poll of %d posts", len(req)), r.err)
		return
	}
	n := 0
	for _, pc := range r.resp.Posts {
		n += len(pc.Comments)
	}
	r.comments = make([]sdk.Comment, 0, n)
	r.found = make(map[string]int, len(r.resp.Posts))
	for _, pc := range r.resp.Posts {
		r.comments = append(r.comments, pc.Comments...)
		r.found[pc.PostID] += len(pc.Comments)
		if pc.Err != "" {
			s.log.Warn("poll: post could not be polled", "connector", c.Name, "post", pc.PostID, "error", pc.Err)
		}
		// The cursor is stored with the comments it covers, or not at all.
		if len(pc.Cursor) > 0 {
			r.cursors = append(r.cursors, store.CursorUpdate{Connector: c.Name, PostID: pc.PostID, Cursor: pc.Cursor})
		}
	}
}

// intake durably queues a poll's comments and cursors, then hands the poll
// back to the run loop to put its posts back in the schedule.
func (s *Scheduler) intake(ctx context.Context, r result) {
	r.queued = true
	defer func() { s.done <- r }()
	if _, err := s.opts.Intake.Queue(ctx, r.c.Name, "poll", r.comments, r.cursors); err != nil {
		r.err = fmt.Errorf("queue polled comments: %w", err)
	}
	r.comments = nil
}

func (s *Scheduler) discover(ctx context.Context, c *conn, t *target) {
	r := result{c: c, t: t}
	defer func() { s.done <- r }()
	cl, err := c.Get(ctx)
	if err != nil {
		r.err = err
		return
	}
	callCtx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	r.disc, r.err = cl.Discover(callCtx, sdk.DiscoverRequest{Target: sdk.Target{Kind: t.Kind, ID: t.ID}, Cursor: t.cursor})
	if r.err != nil {
		r.err = s.timedOut(ctx, callCtx, "discover of "+t.Key(), r.err)
	}
}

// timedOut says so when a call failed because it outlasted CallTimeout: a
// connector that hangs (a platform that never answers, a plugin stuck) must
// not keep its connector busy, and so unpolled, for ever; the call fails
// and is retried after the usual backoff.
func (s *Scheduler) timedOut(ctx, callCtx context.Context, what string, err error) error {
	if ctx.Err() == nil && errors.Is(callCtx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s gave no answer within call_timeout (%s): %w", what, s.opts.CallTimeout, err)
	}
	return err
}

// apply folds a finished call or intake into the schedule, and returns how
// many goroutines it started (an intake of what a poll brought).
func (s *Scheduler) apply(ctx context.Context, r result) int {
	c := r.c
	now := s.opts.Now()
	if r.queued {
		c.intakes--
		if r.err != nil {
			c.intakeBackoff = min(max(2*c.intakeBackoff, time.Second), 5*time.Minute)
			s.log.Error("polled comments could not be queued; their posts will be polled again from the old cursors",
				"connector", c.Name, "posts", len(r.batch), "backoff", c.intakeBackoff, "error", r.err)
			for _, p := range r.batch {
				if p.removed {
					continue
				}
				// Whether the cursors were written is not known.
				p.cursor, p.cursorKnown = nil, false
				p.next = now.Add(max(c.intakeBackoff, p.interval))
				heap.Push(&c.due, p)
			}
			return 0
		}
		c.intakeBackoff = 0
		s.reschedule(c, r, now)
		return 0
	}
	c.busy = false
	outcome := "ok"
	defer func() { s.opts.Metrics.calls.WithLabelValues(c.Name, callKind(r), outcome).Inc() }()
	if r.err != nil {
		outcome = "error"
		if r.t != nil {
			s.discoverFailed(c, r.t, r.err, now)
			return 0
		}
		cut := s.cutBatch(c, r)
		if !cut {
			s.failed(c, r.err, now)
		}
		for _, p := range r.batch {
			if p.removed {
				continue
			}
			p.next = now
			if !cut {
				p.next = now.Add(max(c.backoff, p.interval))
			}
			heap.Push(&c.due, p)
		}
		return 0
	}
	c.backoff = 0
	if r.t == nil && c.fit > 0 {
		if c.fitted++; c.fitted >= fitGrowAfter {
			c.fit, c.fitted = 2*c.fit, 0
			if c.fit >= s.opts.MaxBatch {
				c.fit = 0
			}
		}
	}
	rl := r.resp.RateLimit
	if r.t != nil {
		rl = r.disc.RateLimit
	}
	// Pacing applies from the moment the call returned, whatever the
	// intake of its comments takes.
	s.pace(c, rl, now)
	if r.t != nil {
		if r.t.failures > 0 {
			s.log.Info("discover works again", "connector", c.Name, "target", r.t.Key(), "after_failures", r.t.failures)
		}
		r.t.backoff, r.t.failures = 0, 0
		if c.targets[r.t.Key()] != r.t {
			return 0 // removed while it was discovered
		}
		// Discovered posts are saved even while shutting down; only new
		// intakes see ctx end.
		s.discovered(context.WithoutCancel(ctx), c, r.t, r.disc, now)
		return 0
	}
	dropRemoved(&r)
	if len(r.comments) == 0 && len(r.cursors) == 0 {
		s.reschedule(c, r, now)
		return 0
	}
	c.intakes++
	go s.intake(ctx, r)
	return 1
}

// dropRemoved takes out of a poll's results the comments and cursors of the
// posts that were let go while it was in flight: nothing is queued for a
// post after its last target was removed.
func dropRemoved(r *result) {
	var removed map[string]bool
	for _, p := range r.batch {
		if p.removed {
			if removed == nil {
				removed = map[string]bool{}
			}
			removed[p.ID] = true
		}
	}
	if removed == nil {
		return
	}
	kept := r.comments[:0]
	for _, pc := range r.resp.Posts {
		if !removed[pc.PostID] {
			kept = append(kept, pc.Comments...)
		}
	}
	clear(r.comments[len(kept):])
	r.comments = kept
	r.cursors = slices.DeleteFunc(r.cursors, func(cu store.CursorUpdate) bool { return removed[cu.PostID] })
}

// reschedule puts the posts of a poll whose results are queued back in the
// schedule, sooner when the conversation is active, and lets old quiet ones
// go.
func (s *Scheduler) reschedule(c *conn, r result, now time.Time) {
	s.learnCursors(c, r)
	for _, p := range r.batch {
		if p.removed {
			continue
		}
		p.backlog = false
		if r.found[p.ID] > 0 {
			p.LastActivity = now
			p.interval = s.opts.MinInterval
			s.unsaved = append(s.unsaved, p)
		} else {
			p.interval = min(p.interval*2, s.opts.MaxInterval)
		}
		if p.Post.Interval > 0 {
			p.interval = p.Post.Interval
		}
		last := p.CreatedAt
		if p.LastActivity.After(last) {
			last = p.LastActivity
		}
		if now.Sub(last) > s.opts.StopAfter {
			p.Done = true
			delete(c.posts, p.ID)
			s.unsaved = append(s.unsaved, p)
			s.log.Debug("post is old and quiet: no longer polled", "connector", c.Name, "post", p.ID)
			continue
		}
		p.next = now.Add(p.interval + jitter(p.interval/10))
		heap.Push(&c.due, p)
	}
	for _, pc := range r.resp.Posts {
		if pc.More {
			if p, ok := c.posts[pc.PostID]; ok && p.index >= 0 {
				p.next, p.backlog = now, true
				heap.Fix(&c.due, p.index)
			}
		}
	}
}

// learnCursors records the cursors a poll's intake stored: the last one given
// for a post, else the one it was polled with.
func (s *Scheduler) learnCursors(c *conn, r result) {
	inBatch := make(map[string]*post, len(r.batch))
	for i, p := range r.batch {
		inBatch[p.ID] = p
		if i < len(r.req) {
			p.cursor, p.cursorKnown = r.req[i].Cursor, true
		}
	}
	for _, cu := range r.cursors {
		if p := inBatch[cu.PostID]; p != nil {
			p.cursor, p.cursorKnown = cu.Cursor, true
		} else if p := c.posts[cu.PostID]; p != nil {
			// A connector answered for a post it was not asked about:
			// the store has what it said.
			p.cursor, p.cursorKnown = nil, false
		}
	}
}

// saveActivity saves what reschedule learnt about posts. It is what a
// restart schedules from, not what exactly-once rests on (the cursors are
// queued with the comments), so it may trail the calls it came from.
func (s *Scheduler) saveActivity(ctx context.Context) {
	if len(s.unsaved) == 0 {
		return
	}
	save := make([]store.Post, 0, len(s.unsaved))
	seen := make(map[*post]bool, len(s.unsaved))
	for _, p := range s.unsaved {
		if !p.removed && !seen[p] {
			seen[p] = true
			save = append(save, p.Post)
		}
	}
	s.unsaved = nil
	if len(save) == 0 {
		return
	}
	if err := s.opts.Store.SavePosts(ctx, save); err != nil {
		s.log.Error("save post activity", "error", err)
	}
}

func callKind(r result) string {
	if r.t != nil {
		return "discover"
	}
	return "poll"
}

// cutBatch halves the posts per poll of a connector whose reply to a poll
// of several posts was over gRPC's message size limit, and reports whether
// it did: those posts are asked for again at once, fewer at a time. A reply
// that large is a backlog of comments, not a fault, and the connector did
// nothing wrong but answer; backing it off would only let the backlog grow.
// A poll of one post that is too large is the connector's to fix (it should
// return a page and say More), and fails like any other call.
func (s *Scheduler) cutBatch(c *conn, r result) bool {
	if !errors.Is(r.err, sdk.ErrMessageTooLarge) {
		return false
	}
	if len(r.batch) < 2 {
		s.log.Error("a poll of one post came back over the message size limit: the connector should return fewer comments per poll and say there are more",
			"connector", c.Name, "post", r.batch[0].ID, "error", r.err)
		return false
	}
	c.fit, c.fitted = len(r.batch)/2, 0
	s.log.Warn("a poll's reply was over the message size limit; asking for fewer posts per call until replies fit",
		"connector", c.Name, "posts", len(r.batch), "now", c.fit, "error", r.err)
	return true
}

// failed backs the connector off; a rate limit pauses it until the reset,
// and a usage cap pauses it until the operator acts.
func (s *Scheduler) failed(c *conn, err error, now time.Time) {
	var rl *sdk.RateLimitedError
	switch {
	case errors.As(err, &rl) && rl.RateLimit.UsageCapExceeded:
		until := rl.RateLimit.Reset
		if !until.After(now) {
			until = now.Add(24 * time.Hour)
		}
		c.paused, c.reason, c.rate = until, "usage cap exceeded", rl.RateLimit
		s.log.Error("connector paused: the platform's usage cap is exhausted; polling will not resume before "+until.Format(time.RFC3339)+
			" (raise the plan's cap, or restart moderator once it is lifted)", "connector", c.Name, "error", err)
		s.opts.Metrics.paused.WithLabelValues(c.Name, "usage_cap").Inc()
	case errors.As(err, &rl):
		until := rl.RateLimit.Reset
		if !until.After(now) {
			until = now.Add(time.Minute)
		}
		c.paused, c.reason, c.rate = until, "rate limited", rl.RateLimit
		s.log.Warn("connector rate limited; waiting for the window to reset", "connector", c.Name, "until", until)
		s.opts.Metrics.paused.WithLabelValues(c.Name, "rate_limit").Inc()
	default:
		c.backoff = min(max(2*c.backoff, time.Second), 5*time.Minute)
		s.log.Warn("connector call failed; backing off", "connector", c.Name, "backoff", c.backoff, "error", err)
	}
}

// discoverFailed schedules the target's next discovery after its own
// backoff: doubling from DiscoverRetry with each failure in a row, up to
// DiscoverRetryMax (at once for an error the connector says retrying will
// not cure), with a quarter of jitter on top. Polls, and the other targets,
// go on meanwhile; a rate limit pauses the whole connector as for a poll.
// Each failure is logged once, as each is a step of the backoff.
func (s *Scheduler) discoverFailed(c *conn, t *target, err error, now time.Time) {
	var rl *sdk.RateLimitedError
	if errors.As(err, &rl) {
		s.failed(c, err, now)
		t.nextDiscover = c.paused
		return
	}
	t.failures++
	if sdk.IsPermanent(err) {
		t.backoff = s.opts.DiscoverRetryMax
	} else {
		t.backoff = min(max(2*t.backoff, s.opts.DiscoverRetry), s.opts.DiscoverRetryMax)
	}
	wait := t.backoff + jitter(t.backoff/4)
	t.nextDiscover = now.Add(wait)
	s.log.Warn("discover failed; the target is tried again later", "connector", c.Name, "target", t.Key(),
		"failures", t.failures, "retry_in", wait.Round(time.Second).String(), "error", err)
}

// CheckTargetKind says whether a connector that described itself as d can
// watch targets of kind (post, author, publication or query): post targets
// always (the host polls them itself, and rules may name them), other kinds
// when the connector lists them in its Describe (Info.TargetKinds). A
// connector that discovers or streams but lists no kinds, as plugins built
// before the SDK asked for them, is taken at its word for any kind; a target
// it then fails on is backed off on its own.
func CheckTargetKind(d sdk.Description, kind string) error {
	if kind == sdk.TargetPost || slices.Contains(d.TargetKinds, kind) {
		return nil
	}
	if len(d.TargetKinds) == 0 && (d.Has(sdk.CapDiscover) || d.Has(sdk.CapStream)) {
		return nil
	}
	takes := []string{sdk.TargetPost}
	for _, k := range d.TargetKinds {
		if !slices.Contains(takes, k) {
			takes = append(takes, k)
		}
	}
	return kindError(fmt.Sprintf("cannot watch %q targets (it takes: %s)", kind, strings.Join(takes, ", ")))
}

// kindError is CheckTargetKind's error: it reads as a sentence, and is
// sdk.ErrUnsupported to errors.Is.
type kindError string

func (e kindError) Error() string { return string(e) }
func (e kindError) Unwrap() error { return sdk.ErrUnsupported }

// pace spaces calls so that what is left of the window lasts until its
// reset, keeping a tenth of it in reserve, and stops calling when only the
// reserve is left.
func (s *Scheduler) pace(c *conn, rl sdk.RateLimit, now time.Time) {
	if !rl.Known() {
		return
	}
	c.rate = rl
	s.opts.Metrics.remaining.WithLabelValues(c.Name).Set(float64(rl.Remaining))
	if rl.Reset.IsZero() || !rl.Reset.After(now) {
		return
	}
	reserve := max(rl.Limit/10, 1)
	left := rl.Remaining - reserve
	if left <= 0 {
		c.paused, c.reason = rl.Reset, "rate-limit reserve reached"
		s.log.Info("connector near its rate limit; waiting for the window to reset", "connector", c.Name, "remaining", rl.Remaining, "until", rl.Reset)
		return
	}
	c.nextCall = now.Add(rl.Reset.Sub(now) / time.Duration(left))
}

// discovered tracks the posts a target's discovery found; a post another
// target brought in already is now watched by both.
func (s *Scheduler) discovered(ctx context.Context, c *conn, t *target, resp sdk.DiscoverResponse, now time.Time) {
	var save []store.Post
	key, fresh := t.Key(), 0
	for _, p := range resp.Posts {
		if tp, ok := c.posts[p.ID]; ok {
			if !slices.Contains(tp.Targets, key) {
				tp.Targets = append(slices.Clip(tp.Targets), key)
				save = append(save, tp.Post)
			}
			continue
		}
		created := p.CreatedAt
		if created.IsZero() || created.After(now) {
			created = now
		}
		sp := store.Post{Connector: c.Name, ID: p.ID, Targets: []string{key}, CreatedAt: created, Interval: t.PollInterval}
		if now.Sub(created) > s.opts.StopAfter {
			continue // already old: nothing new will come
		}
		s.track(c, sp, now)
		save = append(save, sp)
		fresh++
	}
	// A walk over the target's pages goes on at once (as pacing allows)
	// while pages bring posts not seen before, and ends on the last page or
	// on one that brings nothing new: pages come newest first, so the ones
	// after it are older still. The next walk, after discover_interval,
	// starts again from the first page, where new posts appear. Keeping the
	// last page's cursor instead would read that page for ever and never
	// see a new post again.
	if len(resp.Cursor) > 0 && fresh > 0 {
		t.cursor, t.nextDiscover = resp.Cursor, now
	} else {
		t.cursor = nil
		t.nextDiscover = now.Add(s.opts.DiscoverInterval + jitter(s.opts.DiscoverInterval/10))
	}
	if fresh > 0 {
		s.log.Info("discovered posts", "connector", c.Name, "target", key, "new", fresh)
	}
	if len(save) > 0 {
		if err := s.opts.Store.SavePosts(ctx, save); err != nil {
			s.log.Error("save discovered posts", "error", err)
		}
	}
}

func (s *Scheduler) snapshot() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, c := range s.conns {
		st := Status{Connector: name, Posts: len(c.posts), RateLimit: c.rate}
		if s.opts.Now().Before(c.paused) {
			st.PausedUntil, st.PauseReason = c.paused, c.reason
		}
		s.status[name] = st
	}
}

// jitter is a random duration in [0, d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// postHeap orders posts by when they are due.
type postHeap []*post

func (h postHeap) Len() int           { return len(h) }
func (h postHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h postHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *postHeap) Push(x any) {
	p := x.(*post)
	p.index = len(*h)
	*h = append(*h, p)
}
func (h *postHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	p.index = -1
	*h = old[:len(old)-1]
	return p
}
