package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/core/ingress"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type clock struct {
	mu    sync.Mutex
	t     time.Time
	reads int // calls of Now, to tell when the scheduler has looked
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Step advances the clock by d and waits until it has been read twice
// since: the scheduler ticks in real time, and on a loaded machine (the
// race detector, two cores) a test that only slept a few milliseconds
// between steps moved the clock on many steps before the scheduler looked,
// and measured a 2-minute interval as 15. It gives up waiting after a
// second, as a scheduler with nothing to do may not read the clock at all.
func (c *clock) Step(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	seen := c.reads
	c.mu.Unlock()
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		c.mu.Lock()
		n := c.reads
		c.mu.Unlock()
		if n >= seen+2 {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// fakeConn is a platform connector: each poll returns the comments queued
// for a post since its cursor (a count).
type fakeConn struct {
	mu       sync.Mutex
	maxBatch int
	comments map[string][]string // post -> texts
	polls    [][]sdk.PostCursor
	polledAt []time.Time
	clock    *clock
	rate     func(call int) (sdk.RateLimit, error)
	authors  map[string][]string
	more     map[string]bool
	streamCh chan sdk.Comment
	gapCh    chan struct{}
	// streamErr, when set, is what Stream returns at once.
	streamErr error
	// targetKinds is what Describe declares in Info.TargetKinds.
	targetKinds []string
	// discoverErr, when set, is what Discover of a target returns (nil:
	// the posts of authors).
	discoverErr func(sdk.Target) error
	// discoverPage, when set, is how many posts a Discover page holds (the
	// authors' posts newest first, the cursor the next one's index).
	discoverPage int
	discovers    []discoverCall
	// pollGate and discoverGate, when set, hold each call (once recorded)
	// until they yield.
	pollGate, discoverGate chan struct{}
	streams                [][]sdk.Target // the targets of each Stream call
	// fits, when not zero, is the most posts whose reply fits in one gRPC
	// message (below zero: none): a poll of more fails as the SDK's
	// client reports it.
	fits int
}

type discoverCall struct {
	target sdk.Target
	at     time.Time
	cursor string
}

func (f *fakeConn) Poll(ctx context.Context, posts []sdk.PostCursor) (sdk.PollResponse, error) {
	f.mu.Lock()
	f.polls = append(f.polls, posts)
	f.polledAt = append(f.polledAt, f.clock.Now())
	gate := f.pollGate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return sdk.PollResponse{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var resp sdk.PollResponse
	if f.fits != 0 && len(posts) > max(f.fits, 0) {
		return resp, fmt.Errorf("poll: rpc error: code = ResourceExhausted desc = grpc: received message larger than max: %w", sdk.ErrMessageTooLarge)
	}
	if f.rate != nil {
		rl, err := f.rate(len(f.polls))
		if err != nil {
			return resp, err
		}
		resp.RateLimit = rl
	}
	for _, pc := range posts {
		seen := 0
		fmt.Sscan(string(pc.Cursor), &seen)
		all := f.comments[pc.PostID]
		out := sdk.PostComments{PostID: pc.PostID, Cursor: []byte(fmt.Sprint(len(all))), More: f.more[pc.PostID]}
		delete(f.more, pc.PostID)
		for i := seen; i < len(all); i++ {
			out.Comments = append(out.Comments, sdk.Comment{ID: fmt.Sprintf("%s-%d", pc.PostID, i), PostID: pc.PostID, Text: all[i]})
		}
		resp.Posts = append(resp.Posts, out)
	}
	return resp, nil
}

func (f *fakeConn) Discover(ctx context.Context, r sdk.DiscoverRequest) (sdk.DiscoverResponse, error) {
	f.mu.Lock()
	f.discovers = append(f.discovers, discoverCall{r.Target, f.clock.Now(), string(r.Cursor)})
	gate := f.discoverGate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return sdk.DiscoverResponse{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out sdk.DiscoverResponse
	if f.discoverErr != nil {
		if err := f.discoverErr(r.Target); err != nil {
			return out, err
		}
	}
	all := f.authors[r.Target.ID]
	from, to := 0, len(all)
	if f.discoverPage > 0 {
		fmt.Sscan(string(r.Cursor), &from)
		if to = min(from+f.discoverPage, len(all)); to < len(all) {
			out.Cursor = []byte(fmt.Sprint(to))
		}
	}
	for _, id := range all[from:to] {
		out.Posts = append(out.Posts, sdk.Post{ID: id, CreatedAt: f.clock.Now()})
	}
	return out, nil
}

func (f *fakeConn) Stream(ctx context.Context, req sdk.StreamRequest, sink sdk.StreamSink) error {
	f.mu.Lock()
	f.streams = append(f.streams, req.Targets)
	f.mu.Unlock()
	if f.streamErr != nil {
		return f.streamErr
	}
	if f.streamCh == nil {
		<-ctx.Done()
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-f.streamCh:
			if err := sink.Comment(c); err != nil {
				return err
			}
		case <-f.gapCh:
			sink.Status(sdk.StreamStatus{State: sdk.StreamReconnecting, Gap: true})
		}
	}
}

func (f *fakeConn) add(post string, texts ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.comments[post] = append(f.comments[post], texts...)
}

func (f *fakeConn) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.polls)
}

func (f *fakeConn) streamCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.streams)
}

type env struct {
	clock *clock
	conn  *fakeConn
	store *store.Store
	s     *Scheduler
	// halt stops the scheduler; stop stops it and closes the store.
	halt, stop func()
}

func start(t *testing.T, targets []store.Target, tune func(*Options), conn *fakeConn) *env {
	t.Helper()
	st, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := startOn(t, st, clk, targets, tune, conn)
	halt := e.halt
	e.stop = func() { halt(); st.Close() }
	t.Cleanup(e.stop)
	return e
}

// startOn runs a scheduler over st, which outlives it (restarts).
func startOn(t *testing.T, st *store.Store, clk *clock, targets []store.Target, tune func(*Options), conn *fakeConn) *env {
	t.Helper()
	if conn == nil {
		conn = &fakeConn{}
	}
	conn.clock = clk
	if conn.comments == nil {
		conn.comments = map[string][]string{}
	}
	caps := []string{sdk.CapPoll, sdk.CapDiscover}
	if conn.streamCh != nil || conn.streamErr != nil {
		caps = append(caps, sdk.CapStream)
	}
	opts := Options{
		Store: st, Intake: ingress.NewIntake(st), Now: clk.Now, Tick: 2 * time.Millisecond,
		MinInterval: time.Minute, MaxInterval: 8 * time.Minute, StopAfter: 24 * time.Hour, DiscoverInterval: time.Hour,
		Connectors: []Connector{{Name: "x",
			Get: func(context.Context) (Client, error) { return conn, nil },
			Describe: func() sdk.Description {
				return sdk.Description{Info: sdk.Info{Name: "fake", MaxBatch: conn.maxBatch, TargetKinds: conn.targetKinds}, Capabilities: caps}
			},
		}},
		Targets: func(context.Context) ([]store.Target, error) { return targets, nil },
	}
	if tune != nil {
		tune(&opts)
	}
	s := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	e := &env{clock: clk, conn: conn, store: st, s: s}
	var once sync.Once
	e.halt = func() { once.Do(func() { cancel(); <-done }) }
	e.stop = e.halt
	t.Cleanup(e.halt)
	return e
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// settle lets the run loop see the current clock, then checks cond stays false.
func never(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 20 {
		if cond() {
			t.Fatalf("%s happened", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *env) queued(t *testing.T) []store.Work {
	w, _, err := e.store.Queued(context.Background(), 0, 100000, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func postTargets(n int) []store.Target {
	var ts []store.Target
	for i := range n {
		ts = append(ts, store.Target{Connector: "x", Kind: "post", ID: fmt.Sprintf("p%03d", i)})
	}
	return ts
}

func TestPollsQueueAndAdvanceCursors(t *testing.T) {
	conn := &fakeConn{comments: map[string][]string{"p000": {"first", "second"}}}
	e := start(t, postTargets(1), nil, conn)
	eventually(t, "the first poll's comments", func() bool { return len(e.queued(t)) == 2 })
	if c, _ := e.store.Cursor("x", "p000"); string(c) != "2" {
		t.Errorf("cursor %q", c)
	}
	conn.add("p000", "third")
	// The first poll's outcome may be applied after any one step of the
	// clock, so step it until the next poll comes due.
	eventually(t, "the third comment", func() bool {
		e.clock.Advance(30 * time.Second)
		return len(e.queued(t)) == 3
	})
	w := e.queued(t)
	if w[2].Record.Comment.Text != "third" || w[2].Record.Source != "poll" {
		t.Errorf("queued %+v", w[2].Record)
	}
	conn.mu.Lock()
	if string(conn.polls[1][0].Cursor) != "2" {
		t.Errorf("second poll sent cursor %q", conn.polls[1][0].Cursor)
	}
	conn.mu.Unlock()
}

func TestBatchesManyPostsPerCall(t *testing.T) {
	conn := &fakeConn{maxBatch: 100}
	start(t, postTargets(250), nil, conn)
	eventually(t, "three calls", func() bool { return conn.calls() >= 3 })
	never(t, "a fourth call before any post is due", func() bool { return conn.calls() > 3 })
	conn.mu.Lock()
	defer conn.mu.Unlock()
	seen := map[string]bool{}
	for _, call := range conn.polls {
		if len(call) > 100 {
			t.Errorf("a call with %d posts", len(call))
		}
		for _, p := range call {
			seen[p.PostID] = true
		}
	}
	if len(seen) != 250 {
		t.Errorf("%d posts polled, want 250", len(seen))
	}
}

// step advances the test clock by d once every poll the connector has
// answered is folded back into the schedule (the next poll's time counts
// from then), and waits until the scheduler has looked at the clock.
// Advancing while a poll's answer waited for the scheduler's loop moved
// the base of the next interval: on a loaded machine a 2-minute interval
// measured 15.
func (e *env) step(d time.Duration) {
	applied := func() int {
		n := 0
		for _, outcome := range []string{"ok", "error"} {
			n += int(testutil.ToFloat64(e.s.Metrics().calls.WithLabelValues("x", "poll", outcome)))
		}
		return n
	}
	for deadline := time.Now().Add(time.Second); applied() < e.conn.calls() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Microsecond)
	}
	e.clock.Step(d)
}

func TestAdaptiveIntervalAndStop(t *testing.T) {
	conn := &fakeConn{}
	e := start(t, postTargets(1), nil, conn)
	eventually(t, "first poll", func() bool { return conn.calls() == 1 })
	// Quiet: the interval doubles each time, up to the maximum.
	var gaps []time.Duration
	for want := 2; want <= 6; want++ {
		for conn.calls() < want {
			e.step(15 * time.Second)
		}
	}
	conn.mu.Lock()
	for i := 1; i < len(conn.polledAt); i++ {
		gaps = append(gaps, conn.polledAt[i].Sub(conn.polledAt[i-1]))
	}
	conn.mu.Unlock()
	// Intervals 2, 4, 8, 8, 8 minutes (plus up to 10% jitter; the test clock moves in
	// 15 s steps, and a poll already started may read it a step or more late).
	wantMin := []time.Duration{2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 8 * time.Minute, 8 * time.Minute}
	for i, g := range gaps {
		if g < wantMin[i] || g > wantMin[i]+wantMin[i]/10+time.Minute {
			t.Errorf("gap %d = %s, want about %s", i, g, wantMin[i])
		}
	}
	// Activity brings it back to the minimum interval.
	conn.add("p000", "hello")
	n := conn.calls()
	for conn.calls() == n {
		e.step(15 * time.Second)
	}
	n = conn.calls()
	for conn.calls() == n {
		e.step(15 * time.Second)
	}
	conn.mu.Lock()
	g2 := conn.polledAt[n].Sub(conn.polledAt[n-1])
	conn.mu.Unlock()
	if g2 > time.Minute+6*time.Second+time.Minute {
		t.Errorf("after activity the next poll came %s later, want about 1m", g2)
	}
	// A day of quiet: the post is dropped and stays dropped.
	for range 200 {
		e.clock.Advance(10 * time.Minute)
		time.Sleep(time.Millisecond)
	}
	eventually(t, "the post to be done", func() bool {
		done := false
		e.store.Posts(context.Background(), func(p store.Post) error { done = p.Done; return nil })
		return done
	})
	n = conn.calls()
	e.clock.Advance(time.Hour)
	never(t, "a poll of a finished conversation", func() bool { return conn.calls() > n })
}

// A reply over gRPC's message size limit is a backlog, not a fault: the
// same posts are asked for again at once, fewer per call, and the batch
// grows back once replies fit.
func TestPollsFewerPostsWhenRepliesAreTooLarge(t *testing.T) {
	conn := &fakeConn{fits: 30, comments: map[string][]string{}}
	for i := range 100 {
		conn.comments[fmt.Sprintf("p%03d", i)] = []string{"a comment"}
	}
	e := start(t, postTargets(100), nil, conn)
	eventually(t, "every comment queued", func() bool { return len(e.queued(t)) == 100 })
	conn.mu.Lock()
	var sizes []int
	for i, call := range conn.polls {
		sizes = append(sizes, len(call))
		if !conn.polledAt[i].Equal(conn.polledAt[0]) {
			t.Errorf("call %d at %v, the first at %v: a reply too large backed the connector off", i, conn.polledAt[i], conn.polledAt[0])
		}
	}
	conn.fits = 0 // the backlog drained
	conn.mu.Unlock()
	if want := []int{100, 50, 25, 25, 25, 25}; !slices.Equal(sizes, want) {
		t.Errorf("posts per call %v, want %v", sizes, want)
	}
	eventually(t, "a call of 100 posts again", func() bool {
		e.step(time.Minute)
		conn.mu.Lock()
		defer conn.mu.Unlock()
		return len(conn.polls[len(conn.polls)-1]) == 100
	})
}

// A poll of one post whose reply is too large is the connector's to fix:
// it fails like any other call, and is retried after a backoff.
func TestOnePostTooLargeBacksOff(t *testing.T) {
	conn := &fakeConn{fits: -1, comments: map[string][]string{"p000": {"a comment"}}}
	e := start(t, postTargets(1), nil, conn)
	eventually(t, "the first call", func() bool { return conn.calls() == 1 })
	never(t, "a second call at once", func() bool { return conn.calls() > 1 })
	if n := len(e.queued(t)); n != 0 {
		t.Errorf("%d comments queued from a failed poll", n)
	}
}

// A call that never answers fails after call_timeout, so the connector is
// polled again after its backoff instead of staying busy for ever.
func TestHungCallsTimeOut(t *testing.T) {
	for _, kind := range []string{"poll", "discover"} {
		t.Run(kind, func(t *testing.T) {
			hang := make(chan struct{}) // never closed
			conn := &fakeConn{comments: map[string][]string{"a1": {"hi"}}, authors: map[string][]string{"alice": {"a1"}}}
			targets := []store.Target{{Connector: "x", Kind: "post", ID: "a1"}}
			if kind == "poll" {
				conn.pollGate = hang
			} else {
				conn.discoverGate = hang
				targets = []store.Target{{Connector: "x", Kind: "author", ID: "alice"}}
			}
			e := start(t, targets, func(o *Options) { o.CallTimeout = 20 * time.Millisecond }, conn)
			failed := e.s.Metrics().calls.WithLabelValues("x", kind, "error")
			eventually(t, "the hung call to fail", func() bool { return testutil.ToFloat64(failed) >= 1 })
			conn.mu.Lock()
			conn.pollGate, conn.discoverGate = nil, nil
			conn.mu.Unlock()
			eventually(t, "the comment, after a retry", func() bool {
				e.clock.Advance(time.Minute)
				return len(e.queued(t)) == 1
			})
		})
	}
}

func TestRateLimitPacingAndPause(t *testing.T) {
	reset := time.Date(2026, 1, 1, 0, 15, 0, 0, time.UTC)
	conn := &fakeConn{maxBatch: 1, rate: func(call int) (sdk.RateLimit, error) {
		// 100 calls per window; after the first call only the reserve is left.
		return sdk.RateLimit{Limit: 100, Remaining: 10, Reset: reset}, nil
	}}
	e := start(t, postTargets(5), nil, conn)
	eventually(t, "first call", func() bool { return conn.calls() == 1 })
	e.clock.Advance(14 * time.Minute)
	never(t, "a call inside the reserve before the reset", func() bool { return conn.calls() > 1 })
	e.clock.Advance(2 * time.Minute)
	eventually(t, "calls after the reset", func() bool { return conn.calls() > 1 })
}

func TestPacingSpreadsTheWindow(t *testing.T) {
	reset := time.Date(2026, 1, 1, 0, 15, 0, 0, time.UTC)
	conn := &fakeConn{maxBatch: 1, rate: func(call int) (sdk.RateLimit, error) {
		return sdk.RateLimit{Limit: 100, Remaining: 40, Reset: reset}, nil
	}}
	e := start(t, postTargets(5), nil, conn)
	eventually(t, "first call", func() bool { return conn.calls() == 1 })
	// 30 calls may be spent over 15 minutes: one every 30 s, not all at once.
	never(t, "a second call at once", func() bool { return conn.calls() > 1 })
	e.clock.Advance(31 * time.Second)
	eventually(t, "the second call", func() bool { return conn.calls() == 2 })
}

func TestUsageCapPausesWithoutLooping(t *testing.T) {
	conn := &fakeConn{rate: func(call int) (sdk.RateLimit, error) {
		return sdk.RateLimit{}, &sdk.RateLimitedError{RateLimit: sdk.RateLimit{UsageCapExceeded: true}}
	}}
	e := start(t, postTargets(3), nil, conn)
	eventually(t, "first call", func() bool { return conn.calls() == 1 })
	for range 10 {
		e.clock.Advance(time.Hour)
		time.Sleep(2 * time.Millisecond)
	}
	if n := conn.calls(); n != 1 {
		t.Errorf("%d calls while the usage cap is exhausted, want 1", n)
	}
	eventually(t, "the status to show the pause", func() bool {
		st := e.s.Statuses()
		return len(st) == 1 && st[0].PauseReason == "usage cap exceeded"
	})
}

func TestDiscoverAuthor(t *testing.T) {
	conn := &fakeConn{authors: map[string][]string{"alice": {"a1", "a2"}}, comments: map[string][]string{"a2": {"hi"}}}
	e := start(t, []store.Target{{Connector: "x", Kind: "author", ID: "alice"}}, nil, conn)
	eventually(t, "a comment from a discovered post", func() bool { return len(e.queued(t)) == 1 })
	n := 0
	e.store.Posts(context.Background(), func(p store.Post) error {
		if !slices.Equal(p.Targets, []string{"author:alice"}) {
			t.Errorf("post %+v", p)
		}
		n++
		return nil
	})
	if n != 2 {
		t.Errorf("%d posts tracked", n)
	}
}

// A target's pages are read one after another while they bring new posts,
// and the next walk starts again from the first page, where new posts
// appear (it kept the last page's cursor and read that page for ever).
func TestDiscoverWalksPagesThenStartsOver(t *testing.T) {
	conn := &fakeConn{discoverPage: 2, authors: map[string][]string{"alice": {"a5", "a4", "a3", "a2", "a1"}}}
	e := start(t, []store.Target{{Connector: "x", Kind: "author", ID: "alice"}}, nil, conn)
	tracked := func() []string {
		var ids []string
		e.store.Posts(context.Background(), func(p store.Post) error { ids = append(ids, p.ID); return nil })
		slices.Sort(ids)
		return ids
	}
	cursors := func() []string {
		conn.mu.Lock()
		defer conn.mu.Unlock()
		var out []string
		for _, d := range conn.discovers {
			out = append(out, d.cursor)
		}
		return out
	}
	// The whole first walk, without waiting for discover_interval.
	eventually(t, "every page of the first walk", func() bool { return len(tracked()) == 5 })
	if got, want := cursors(), []string{"", "2", "4"}; !slices.Equal(got, want) {
		t.Errorf("first walk asked with cursors %q, want %q", got, want)
	}
	conn.mu.Lock()
	conn.authors["alice"] = append([]string{"a6"}, conn.authors["alice"]...)
	conn.mu.Unlock()
	eventually(t, "the new post, on the first page of the next walk", func() bool {
		e.clock.Advance(10 * time.Minute)
		return len(tracked()) == 6
	})
	// The second walk reads page two, which brings nothing new, and stops.
	eventually(t, "the second walk to end", func() bool { return len(cursors()) >= 5 })
	never(t, "a third page in the second walk", func() bool { return len(cursors()) > 5 })
	if got, want := cursors(), []string{"", "2", "4", "", "2"}; !slices.Equal(got, want) {
		t.Errorf("walks asked with cursors %q, want %q", got, want)
	}
}

func TestMoreMeansAgainNow(t *testing.T) {
	conn := &fakeConn{more: map[string]bool{"p000": true}}
	start(t, postTargets(1), nil, conn)
	eventually(t, "a second poll without waiting", func() bool { return conn.calls() == 2 })
}

func TestStreamAndGap(t *testing.T) {
	conn := &fakeConn{streamCh: make(chan sdk.Comment), gapCh: make(chan struct{})}
	e := start(t, postTargets(2), nil, conn)
	eventually(t, "first polls", func() bool { return conn.calls() >= 1 })
	conn.streamCh <- sdk.Comment{ID: "s1", PostID: "p000", Text: "streamed"}
	eventually(t, "the streamed comment", func() bool {
		w := e.queued(t)
		return len(w) == 1 && w[0].Record.Source == "stream"
	})
	n := conn.calls()
	conn.gapCh <- struct{}{}
	eventually(t, "a gap-filling poll", func() bool { return conn.calls() > n })
}

// TestStreamOffInConfig: a connector whose stream is off in its instance's
// config answers Stream with ErrUnsupported; the host does not restart it,
// nor poll for a gap it did not leave. (A stream that fails otherwise is
// restarted after a second and followed by a gap poll.)
func TestStreamOffInConfig(t *testing.T) {
	for _, tt := range []struct {
		err     error
		restart bool
	}{
		{fmt.Errorf("the stream is off in the config: %w", sdk.ErrUnsupported), false},
		{errors.New("connection refused"), true},
	} {
		conn := &fakeConn{streamErr: tt.err}
		start(t, postTargets(1), nil, conn)
		eventually(t, "the first poll and stream", func() bool { return conn.calls() == 1 && conn.streamCalls() == 1 })
		if tt.restart {
			eventually(t, "a gap poll and a second stream", func() bool { return conn.calls() >= 2 && conn.streamCalls() >= 2 })
			continue
		}
		time.Sleep(2500 * time.Millisecond) // past the first restart's backoff (1s) and the second's (2s)
		if n, s := conn.calls(), conn.streamCalls(); n != 1 || s != 1 {
			t.Errorf("%v: %d polls and %d streams, want the one each", tt.err, n, s)
		}
	}
}

// TestRestartPollsWithinAPostsOwnInterval: after a restart the first round
// is spread over each post's own interval when it is shorter than the
// minimum, so a target polled every 2s is not left for up to a minute.
func TestRestartPollsWithinAPostsOwnInterval(t *testing.T) {
	st, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var targets []store.Target
	for i := range 10 {
		targets = append(targets, store.Target{Connector: "x", Kind: sdk.TargetPost, ID: fmt.Sprintf("p%d", i), PollInterval: 2 * time.Second})
	}
	conn := &fakeConn{}
	polled := func() map[string]bool {
		conn.mu.Lock()
		defer conn.mu.Unlock()
		seen := map[string]bool{}
		for _, call := range conn.polls {
			for _, pc := range call {
				seen[pc.PostID] = true
			}
		}
		return seen
	}
	e := startOn(t, st, clk, targets, nil, conn)
	eventually(t, "the first polls", func() bool { return len(polled()) == 10 })
	e.halt()
	conn.mu.Lock()
	conn.polls = nil
	conn.mu.Unlock()

	startOn(t, st, clk, targets, nil, conn)
	// Twice the interval: the restarted scheduler may read the clock for
	// its first round after the first step. Spread over the minute, all
	// ten would fall in those 4s with a chance of (4/60)^10.
	clk.Step(2*time.Second + time.Millisecond)
	clk.Step(2*time.Second + time.Millisecond)
	eventually(t, "every post polled within its 2s after the restart", func() bool { return len(polled()) == 10 })
}
