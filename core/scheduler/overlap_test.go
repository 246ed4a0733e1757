package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
)

// gate is an Intake that holds back the calls hold picks until release is
// closed, and fails the first fail calls, to show what the scheduler does
// while the store is slow or failing.
type gate struct {
	inner   Intake
	hold    func(cursors []store.CursorUpdate) bool
	release chan struct{}

	mu      sync.Mutex
	fail    int
	calls   int
	waiting int
}

func newGate(hold func([]store.CursorUpdate) bool) *gate {
	return &gate{hold: hold, release: make(chan struct{})}
}

func (g *gate) install(o *Options) { g.inner, o.Intake = o.Intake, g }

func (g *gate) Queue(ctx context.Context, connector, source string, cs []sdk.Comment, cur []store.CursorUpdate) (store.IntakeResult, error) {
	g.mu.Lock()
	g.calls++
	call := g.calls
	held := g.hold != nil && g.hold(cur)
	if held {
		g.waiting++
	}
	g.mu.Unlock()
	if held {
		select {
		case <-g.release:
		case <-ctx.Done():
		}
		g.mu.Lock()
		g.waiting--
		g.mu.Unlock()
	}
	if call <= g.fail {
		return store.IntakeResult{}, errors.New("injected store failure")
	}
	return g.inner.Queue(ctx, connector, source, cs, cur)
}

func (g *gate) held() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiting
}

func holdAll([]store.CursorUpdate) bool { return true }

// stepUntil moves the clock on by d until cond holds: when the run loop
// applies an outcome is up to the goroutines, so no one step is known to be
// the one.
func (e *env) stepUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	eventually(t, what, func() bool {
		if cond() {
			return true
		}
		e.clock.Advance(d)
		return false
	})
}

// pollsOf lists the cursors each poll of post sent, in order.
func (f *fakeConn) pollsOf(post string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, call := range f.polls {
		for _, pc := range call {
			if pc.PostID == post {
				out = append(out, string(pc.Cursor))
			}
		}
	}
	return out
}

func withComments(n int) map[string][]string {
	m := map[string][]string{}
	for i := range n {
		m[fmt.Sprintf("p%03d", i)] = []string{"hello"}
	}
	return m
}

func TestNextPollStartsWhileIntakeIsBlocked(t *testing.T) {
	g := newGate(holdAll)
	conn := &fakeConn{maxBatch: 1, comments: withComments(2)}
	e := start(t, postTargets(2), g.install, conn)
	// The intake's goroutine may reach the gate after the second poll was
	// made; holdAll keeps it there, so both holding at once is the overlap.
	eventually(t, "a second poll while the first poll's intake is held", func() bool { return conn.calls() == 2 && g.held() > 0 })
	if n := len(e.queued(t)); n != 0 {
		t.Fatalf("%d comments queued while every intake is held", n)
	}
	close(g.release)
	eventually(t, "both posts' comments", func() bool { return len(e.queued(t)) == 2 })
}

func TestAtMostTwoIntakesWait(t *testing.T) {
	g := newGate(holdAll)
	conn := &fakeConn{maxBatch: 1, comments: withComments(5)}
	e := start(t, postTargets(5), g.install, conn)
	eventually(t, "two intakes held", func() bool { return g.held() == 2 })
	// Every post stays due; only the bound on waiting intakes stops polling.
	for range 20 {
		e.clock.Advance(time.Minute)
		time.Sleep(2 * time.Millisecond)
	}
	if n := conn.calls(); n != 2 {
		t.Fatalf("%d polls while two intakes are held, want 2", n)
	}
	close(g.release)
	eventually(t, "every post's comment", func() bool { return len(e.queued(t)) == 5 })
}

func TestPostInUnfinishedIntakeIsNotPolledAgain(t *testing.T) {
	// p000 says More, so it would be due again at once; its intake is held.
	g := newGate(func(cur []store.CursorUpdate) bool { return len(cur) == 1 && cur[0].PostID == "p000" })
	conn := &fakeConn{maxBatch: 1, comments: withComments(2), more: map[string]bool{"p000": true}}
	e := start(t, postTargets(2), g.install, conn)
	eventually(t, "p000's intake held", func() bool { return g.held() == 1 })
	// p001 goes on being polled, well past p000's interval.
	e.stepUntil(t, 30*time.Second, "three polls of p001", func() bool { return len(conn.pollsOf("p001")) >= 3 })
	if got := conn.pollsOf("p000"); len(got) != 1 {
		t.Fatalf("p000 polled %d times while its intake is unfinished, want 1", len(got))
	}
	conn.add("p000", "second")
	close(g.release)
	// More brings it back at once, from the cursor that was committed.
	eventually(t, "p000 polled again", func() bool { return len(conn.pollsOf("p000")) == 2 })
	if got := conn.pollsOf("p000"); got[1] != "1" {
		t.Errorf("p000 polled again with cursor %q, want the committed \"1\"", got[1])
	}
	eventually(t, "p000's second comment", func() bool { return len(e.queued(t)) == 3 })
}

func TestPacingHoldsWhileIntakeIsBlocked(t *testing.T) {
	reset := time.Date(2026, 1, 1, 0, 15, 0, 0, time.UTC)
	g := newGate(holdAll)
	conn := &fakeConn{maxBatch: 1, comments: withComments(3), rate: func(int) (sdk.RateLimit, error) {
		// 30 calls to spend over 15 minutes: one every 30 s.
		return sdk.RateLimit{Limit: 100, Remaining: 40, Reset: reset}, nil
	}}
	e := start(t, postTargets(3), g.install, conn)
	eventually(t, "the first intake held", func() bool { return g.held() == 1 })
	never(t, "a second call before its turn", func() bool { return conn.calls() > 1 })
	e.clock.Advance(29 * time.Second)
	never(t, "a second call before its turn", func() bool { return conn.calls() > 1 })
	e.clock.Advance(2 * time.Second)
	eventually(t, "the second call, with the first intake still held", func() bool { return conn.calls() == 2 })
	if g.held() == 0 {
		t.Fatal("no intake is held")
	}
}

func TestUsageCapPausesWhileIntakeIsBlocked(t *testing.T) {
	g := newGate(holdAll)
	conn := &fakeConn{maxBatch: 1, comments: withComments(3), rate: func(call int) (sdk.RateLimit, error) {
		if call == 1 {
			return sdk.RateLimit{}, nil
		}
		return sdk.RateLimit{}, &sdk.RateLimitedError{RateLimit: sdk.RateLimit{UsageCapExceeded: true}}
	}}
	e := start(t, postTargets(3), g.install, conn)
	eventually(t, "the usage cap while the first intake is held", func() bool { return conn.calls() == 2 })
	close(g.release)
	eventually(t, "the first poll's comment", func() bool { return len(e.queued(t)) == 1 })
	for range 10 {
		e.clock.Advance(time.Hour)
		time.Sleep(2 * time.Millisecond)
	}
	if n := conn.calls(); n != 2 {
		t.Errorf("%d calls while the usage cap is exhausted, want 2", n)
	}
	eventually(t, "the status to show the pause", func() bool {
		st := e.s.Statuses()
		return len(st) == 1 && st[0].PauseReason == "usage cap exceeded"
	})
}

// A failed poll or a failed intake puts the posts back with a backoff that
// doubles, and they are polled again from the cursor they had: nothing the
// failed call brought was committed.
func TestFailuresPutPostsBackWithBackoff(t *testing.T) {
	const failures = 4
	for _, tc := range []struct {
		name string
		fail func(*fakeConn, *gate)
	}{
		{"poll", func(c *fakeConn, _ *gate) {
			c.rate = func(call int) (sdk.RateLimit, error) {
				if call <= failures {
					return sdk.RateLimit{}, errors.New("injected platform failure")
				}
				return sdk.RateLimit{}, nil
			}
		}},
		{"intake", func(_ *fakeConn, g *gate) { g.fail = failures }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate(nil)
			conn := &fakeConn{comments: withComments(1)}
			tc.fail(conn, g)
			e := start(t, postTargets(1), func(o *Options) {
				g.install(o)
				o.MinInterval, o.MaxInterval = time.Second, time.Second
			}, conn)
			e.stepUntil(t, 100*time.Millisecond, "a poll that succeeds", func() bool { return len(e.queued(t)) == 1 })
			if got := conn.pollsOf("p000"); len(got) != failures+1 {
				t.Fatalf("%d polls, want %d", len(got), failures+1)
			}
			for i, cur := range conn.pollsOf("p000") {
				if cur != "" {
					t.Errorf("poll %d sent cursor %q: a failed call's cursor was kept", i, cur)
				}
			}
			conn.mu.Lock()
			defer conn.mu.Unlock()
			for i := 1; i < len(conn.polledAt); i++ {
				gap, want := conn.polledAt[i].Sub(conn.polledAt[i-1]), time.Second<<(i-1)
				if gap < want || gap > want+time.Second {
					t.Errorf("retry %d came %s after the failure, want about %s", i, gap, want)
				}
			}
		})
	}
}

// countingStore counts the cursor reads that reach the store.
type countingStore struct {
	Store
	mu    sync.Mutex
	reads map[string]int
}

func (s *countingStore) Cursor(connector, post string) ([]byte, error) {
	s.mu.Lock()
	s.reads[post]++
	s.mu.Unlock()
	return s.Store.Cursor(connector, post)
}

func (s *countingStore) readsOf(post string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[post]
}

func TestCursorIsReadFromTheStoreOnce(t *testing.T) {
	cs := &countingStore{reads: map[string]int{}}
	conn := &fakeConn{comments: withComments(1)}
	e := start(t, postTargets(1), func(o *Options) { cs.Store, o.Store = o.Store, cs }, conn)
	eventually(t, "the first comment", func() bool { return len(e.queued(t)) == 1 })
	conn.add("p000", "second")
	e.stepUntil(t, 30*time.Second, "the second comment", func() bool { return len(e.queued(t)) == 2 })
	e.stepUntil(t, 30*time.Second, "a poll after it", func() bool { return len(conn.pollsOf("p000")) >= 3 })
	if got := conn.pollsOf("p000"); got[0] != "" || got[1] != "1" || got[2] != "2" {
		t.Errorf("polls sent cursors %q, want \"\", \"1\", \"2\"", got)
	}
	if n := cs.readsOf("p000"); n != 1 {
		t.Errorf("the cursor was read from the store %d times, want once", n)
	}
}

func TestFailedIntakeKeepsTheCommittedCursor(t *testing.T) {
	g := newGate(nil)
	conn := &fakeConn{comments: withComments(1)}
	e := start(t, postTargets(1), g.install, conn)
	eventually(t, "the first comment", func() bool { return len(e.queued(t)) == 1 })
	g.mu.Lock()
	g.fail = g.calls + 1 // the next intake fails
	g.mu.Unlock()
	conn.add("p000", "second")
	e.stepUntil(t, 30*time.Second, "the second comment, after a failed intake", func() bool { return len(e.queued(t)) == 2 })
	// The failed poll's cursor "2" was never stored: the retry starts at "1".
	if got := conn.pollsOf("p000"); len(got) != 3 || got[1] != "1" || got[2] != "1" {
		t.Errorf("polls sent cursors %q, want \"\", \"1\", \"1\"", got)
	}
	if c, _ := e.store.Cursor("x", "p000"); string(c) != "2" {
		t.Errorf("stored cursor %q, want \"2\"", c)
	}
}

func TestBacklogIsReadInTwoAlternatingHalves(t *testing.T) {
	// Every post has more to read after the first poll; from the second
	// intake on, intakes are held.
	intakes := 0
	g := newGate(func([]store.CursorUpdate) bool { intakes++; return intakes > 1 })
	conn := &fakeConn{maxBatch: 4, comments: withComments(4), more: map[string]bool{"p000": true, "p001": true, "p002": true, "p003": true}}
	start(t, postTargets(4), g.install, conn)
	eventually(t, "a third call while the second's intake is held", func() bool { return conn.calls() == 3 })
	eventually(t, "both intakes held", func() bool { return g.held() == 2 })
	conn.mu.Lock()
	defer conn.mu.Unlock()
	if len(conn.polls[0]) != 4 {
		t.Fatalf("first call asked for %d posts, want all 4", len(conn.polls[0]))
	}
	seen := map[string]bool{}
	for _, call := range conn.polls[1:] {
		if len(call) != 2 {
			t.Errorf("a backlog call asked for %d posts, want half of 4", len(call))
		}
		for _, pc := range call {
			seen[pc.PostID] = true
		}
	}
	if len(seen) != 4 {
		t.Errorf("the two backlog calls covered %d posts, want 4", len(seen))
	}
}

// slowSaves holds back saves of post activity until release is closed.
type slowSaves struct {
	Store
	release chan struct{}
	mu      sync.Mutex
	held    int
}

func (s *slowSaves) SavePosts(ctx context.Context, posts []store.Post) error {
	if len(posts) > 0 && !posts[0].LastActivity.IsZero() {
		s.mu.Lock()
		s.held++
		s.mu.Unlock()
		<-s.release
	}
	return s.Store.SavePosts(ctx, posts)
}

func TestSavingActivityDoesNotHoldUpTheNextPoll(t *testing.T) {
	ss := &slowSaves{release: make(chan struct{})}
	conn := &fakeConn{comments: withComments(1), more: map[string]bool{"p000": true}}
	start(t, postTargets(1), func(o *Options) { ss.Store, o.Store = o.Store, ss }, conn)
	t.Cleanup(func() { close(ss.release) })
	// The first poll found a comment and said More: its activity is being
	// saved, and the next poll is due at once.
	eventually(t, "the next poll while the activity is being saved", func() bool { return conn.calls() == 2 })
	eventually(t, "the save to be held", func() bool {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		return ss.held == 1
	})
}

func TestPacedCallStartsWhenItsTurnComesNotAtTheNextTick(t *testing.T) {
	reset := time.Date(2026, 1, 1, 0, 15, 0, 0, time.UTC)
	conn := &fakeConn{maxBatch: 1, rate: func(int) (sdk.RateLimit, error) {
		// 81,000 calls to spend over 15 minutes: one every 11 ms.
		return sdk.RateLimit{Limit: 100000, Remaining: 91000, Reset: reset}, nil
	}}
	e := start(t, postTargets(2), func(o *Options) { o.Tick = time.Hour }, conn)
	e.s.Reload() // an event, in place of the first tick
	eventually(t, "the first call", func() bool { return conn.calls() >= 1 })
	// No tick comes; only the pacing's own wake-up can start the second.
	e.stepUntil(t, 5*time.Millisecond, "the second call", func() bool { return conn.calls() == 2 })
	conn.mu.Lock()
	defer conn.mu.Unlock()
	if gap := conn.polledAt[1].Sub(conn.polledAt[0]); gap < 11*time.Millisecond {
		t.Errorf("the second call came %s after the first, before its turn (11 ms)", gap)
	}
}

// What is due when the scheduler starts is asked for at once: no tick and no
// other event comes in this test, so only the start can have started it.
func TestDueWorkStartsAtOnceNotAtTheFirstTick(t *testing.T) {
	conn := &fakeConn{}
	start(t, postTargets(1), func(o *Options) { o.Tick = time.Hour }, conn)
	eventually(t, "the first poll, with no tick", func() bool { return conn.calls() == 1 })
}
