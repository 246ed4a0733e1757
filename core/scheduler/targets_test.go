package scheduler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/core/internal/lockedbuf"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
)

// targetList is a Targets source that a test changes, as `moderator targets
// add|remove` changes the store's.
type targetList struct {
	mu sync.Mutex
	ts []store.Target
}

func newTargetList(ts ...store.Target) *targetList { return &targetList{ts: ts} }

func (l *targetList) get(context.Context) ([]store.Target, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ts), nil
}

func (l *targetList) set(ts ...store.Target) {
	l.mu.Lock()
	l.ts = ts
	l.mu.Unlock()
}

func (l *targetList) install(o *Options) { o.Targets = l.get }

func tgt(kind, id string) store.Target { return store.Target{Connector: "x", Kind: kind, ID: id} }

// storedPosts is what the store's post table holds: each post's targets.
func storedPosts(t *testing.T, st *store.Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := st.Posts(context.Background(), func(p store.Post) error {
		ts := slices.Clone(p.Targets)
		slices.Sort(ts)
		out[p.ID] = ts
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// polledSince lists the posts the polls from the n-th on asked for.
func (f *fakeConn) polledSince(n int) map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for _, call := range f.polls[n:] {
		for _, pc := range call {
			out[pc.PostID] = true
		}
	}
	return out
}

// queuedTexts is every queued comment's text.
func (e *env) queuedTexts(t *testing.T) map[string]bool {
	out := map[string]bool{}
	for _, w := range e.queued(t) {
		out[w.Record.Comment.Text] = true
	}
	return out
}

// tracked is how many posts the scheduler polls, as its status says.
func (e *env) tracked() int {
	st := e.s.Statuses()
	if len(st) == 0 {
		return -1
	}
	return st[0].Posts
}

// commentOnAll adds a comment to each post, "<post> <round>", and returns
// the texts by post.
func (f *fakeConn) commentOnAll(posts []string, round string) map[string]string {
	out := map[string]string{}
	for _, p := range posts {
		out[p] = p + " " + round
		f.add(p, out[p])
	}
	return out
}

// pollRound adds a comment to every post, then moves the clock on until the
// comment of every post in want is queued and a full MaxInterval (with its
// jitter) has passed, so that any post still tracked has come due; it
// returns the posts the polls asked for meanwhile and the texts queued.
func (e *env) pollRound(t *testing.T, all []string, want map[string][]string, round string) (map[string]bool, map[string]string) {
	t.Helper()
	n := e.conn.calls()
	texts := e.conn.commentOnAll(all, round)
	until := e.clock.Now().Add(10 * time.Minute) // MaxInterval 8m + 10%, and the minimum
	e.stepUntil(t, 15*time.Second, "every watched post's new comment, and a full interval", func() bool {
		q := e.queuedTexts(t)
		for p := range want {
			if !q[texts[p]] {
				return false
			}
		}
		return !e.clock.Now().Before(until)
	})
	return e.conn.polledSince(n), texts
}

// TestRemovedTargetStopsItsPosts removes one target at run time, then
// restarts, and checks which posts are polled and queued from, and what
// the store keeps, against a platform where alice wrote a1 and a2, bob a2
// and b1. "ctl" is a post target that is never removed.
func TestRemovedTargetStopsItsPosts(t *testing.T) {
	all := []string{"ctl", "p1", "a1", "a2", "b1"}
	tests := []struct {
		name    string
		targets []store.Target
		remove  store.Target
		// want is the store's posts after the removal, with their targets.
		want map[string][]string
	}{
		{"post target",
			[]store.Target{tgt("post", "ctl"), tgt("post", "p1")}, tgt("post", "p1"),
			map[string][]string{"ctl": {"post:ctl"}}},
		{"author target",
			[]store.Target{tgt("post", "ctl"), tgt("author", "alice")}, tgt("author", "alice"),
			map[string][]string{"ctl": {"post:ctl"}}},
		{"author whose post is also a post target",
			[]store.Target{tgt("post", "ctl"), tgt("author", "alice"), tgt("post", "a1")}, tgt("author", "alice"),
			map[string][]string{"ctl": {"post:ctl"}, "a1": {"post:a1"}}},
		{"post target whose post an author target found too",
			[]store.Target{tgt("post", "ctl"), tgt("author", "alice"), tgt("post", "a1")}, tgt("post", "a1"),
			map[string][]string{"ctl": {"post:ctl"}, "a1": {"author:alice"}, "a2": {"author:alice"}}},
		{"author sharing a post with another author",
			[]store.Target{tgt("post", "ctl"), tgt("author", "alice"), tgt("author", "bob")}, tgt("author", "alice"),
			map[string][]string{"ctl": {"post:ctl"}, "a2": {"author:bob"}, "b1": {"author:bob"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := store.Open("", store.Options{InMemory: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			list := newTargetList(tt.targets...)
			conn := &fakeConn{authors: map[string][]string{"alice": {"a1", "a2"}, "bob": {"a2", "b1"}}}
			e := startOn(t, st, clk, nil, list.install, conn)

			// Every target's posts are watched before the removal.
			before := map[string]bool{}
			for _, tg := range tt.targets {
				if tg.Kind == "post" {
					before[tg.ID] = true
				}
				for _, p := range conn.authors[tg.ID] {
					before[p] = true
				}
			}
			eventually(t, "every target's posts tracked", func() bool { return e.tracked() == len(before) })

			list.set(slices.DeleteFunc(slices.Clone(tt.targets), func(x store.Target) bool { return x == tt.remove })...)
			if err := e.s.Apply(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := storedPosts(t, st); !maps.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("the store keeps %v once the removal is applied, want %v", got, tt.want)
			}
			eventually(t, "the status to count the posts still watched", func() bool { return e.tracked() == len(tt.want) })

			check := func(when string, polled map[string]bool, texts map[string]string) {
				t.Helper()
				queued := e.queuedTexts(t)
				for _, p := range all {
					_, watched := tt.want[p]
					if !watched && polled[p] {
						t.Errorf("%s: post %s polled, though no target watches it", when, p)
					}
					if !watched && queued[texts[p]] {
						t.Errorf("%s: %q queued, though no target watches its post", when, texts[p])
					}
				}
			}
			polled, texts := e.pollRound(t, all, tt.want, "after removal")
			check("after the removal", polled, texts)

			// A restart watches the same posts.
			e.halt()
			e = startOn(t, st, clk, nil, list.install, conn)
			polled, texts = e.pollRound(t, all, tt.want, "after restart")
			check("after a restart", polled, texts)
			if got := storedPosts(t, st); !maps.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("the store keeps %v after a restart, want %v", got, tt.want)
			}
		})
	}
}

// A connector whose every target is removed polls nothing.
func TestRemovingTheLastTargetStopsPolling(t *testing.T) {
	list := newTargetList(tgt("post", "p1"), tgt("author", "alice"))
	conn := &fakeConn{authors: map[string][]string{"alice": {"a1"}}}
	e := start(t, nil, list.install, conn)
	eventually(t, "both posts polled", func() bool { p := conn.polledSince(0); return p["p1"] && p["a1"] })
	list.set()
	if err := e.s.Apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := storedPosts(t, e.store); len(got) != 0 {
		t.Errorf("the store keeps %v", got)
	}
	eventually(t, "no post tracked", func() bool { return e.tracked() == 0 })
	n := conn.calls()
	conn.commentOnAll([]string{"p1", "a1"}, "late")
	for range 40 {
		e.step(15 * time.Second)
	}
	if conn.calls() != n || len(e.queued(t)) != 0 {
		t.Errorf("%d polls and %d comments queued after every target was removed", conn.calls()-n, len(e.queued(t)))
	}
}

// What a poll in flight brings for a post whose target is removed meanwhile
// is not queued, and its cursor does not move; the other posts of the same
// poll are queued as usual.
func TestRemovalDropsWhatAPollInFlightBrings(t *testing.T) {
	list := newTargetList(tgt("post", "keep"), tgt("post", "gone"))
	conn := &fakeConn{comments: map[string][]string{"keep": {"kept"}, "gone": {"dropped"}}, pollGate: make(chan struct{})}
	e := start(t, nil, list.install, conn)
	eventually(t, "a poll of both posts in flight", func() bool { p := conn.polledSince(0); return p["keep"] && p["gone"] })
	list.set(tgt("post", "keep"))
	if err := e.s.Apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(conn.pollGate)
	eventually(t, "the kept post's comment", func() bool { return e.queuedTexts(t)["kept"] })
	if q := e.queuedTexts(t); q["dropped"] {
		t.Errorf("queued %v: the removed post's comment came in", q)
	}
	if c, err := e.store.Cursor("x", "gone"); err != nil || len(c) != 0 {
		t.Errorf("the removed post's cursor is %q (%v), want none", c, err)
	}
	n := conn.calls()
	for range 40 {
		e.step(15 * time.Second)
	}
	if conn.polledSince(n)["gone"] {
		t.Error("the removed post was polled again")
	}
	if got := storedPosts(t, e.store); !maps.EqualFunc(got, map[string][]string{"keep": {"post:keep"}}, slices.Equal) {
		t.Errorf("the store keeps %v", got)
	}
}

// Posts a discovery in flight finds for a target removed meanwhile are not
// tracked.
func TestRemovalDropsADiscoveryInFlight(t *testing.T) {
	list := newTargetList(tgt("author", "alice"))
	conn := &fakeConn{authors: map[string][]string{"alice": {"a1"}}, comments: map[string][]string{"a1": {"hi"}}, discoverGate: make(chan struct{})}
	e := start(t, nil, list.install, conn)
	eventually(t, "the discovery in flight", func() bool {
		conn.mu.Lock()
		defer conn.mu.Unlock()
		return len(conn.discovers) == 1
	})
	list.set()
	if err := e.s.Apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(conn.discoverGate)
	for range 20 {
		e.step(15 * time.Second)
	}
	if conn.calls() != 0 || len(storedPosts(t, e.store)) != 0 || len(e.queued(t)) != 0 {
		t.Errorf("%d polls, posts stored %v, %d comments queued after the target was removed",
			conn.calls(), storedPosts(t, e.store), len(e.queued(t)))
	}
}

// Posts stored by an earlier run for targets that are gone now (removed
// from the config, or at run time while the daemon was stopped) are
// forgotten at start; a post another target still watches stays with it.
func TestStartForgetsPostsOfTargetsGoneSinceTheLastRun(t *testing.T) {
	st, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	conn := &fakeConn{authors: map[string][]string{"alice": {"a1", "a2"}, "bob": {"a2"}}}
	list := newTargetList(tgt("post", "p1"), tgt("post", "nosuchpost"), tgt("author", "alice"), tgt("author", "bob"))
	e := startOn(t, st, clk, nil, list.install, conn)
	eventually(t, "every post tracked", func() bool { return e.tracked() == 4 })
	e.halt()

	list.set(tgt("post", "p1"), tgt("author", "bob"))
	e = startOn(t, st, clk, nil, list.install, conn)
	want := map[string][]string{"p1": {"post:p1"}, "a2": {"author:bob"}}
	eventually(t, "the posts still watched", func() bool { return e.tracked() == len(want) })
	if got := storedPosts(t, st); !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("the store keeps %v, want %v", got, want)
	}
	polled, texts := e.pollRound(t, []string{"p1", "nosuchpost", "a1", "a2"}, want, "second run")
	q := e.queuedTexts(t)
	for _, p := range []string{"nosuchpost", "a1"} {
		if polled[p] || q[texts[p]] {
			t.Errorf("post %s of a removed target: polled %v, its comment queued %v", p, polled[p], q[texts[p]])
		}
	}
}

// A post written before posts kept all their targets (one, under "target")
// is watched by that target.
func TestStartKeepsPostsOfOneTargetWrittenBefore(t *testing.T) {
	st, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var old store.Post
	if err := old.UnmarshalJSON([]byte(`{"connector":"x","id":"a1","target":"author:alice","created_at":"2026-01-01T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	if err := st.SavePosts(context.Background(), []store.Post{old}); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	conn := &fakeConn{comments: map[string][]string{"a1": {"hello"}}}
	e := startOn(t, st, clk, nil, newTargetList(tgt("author", "alice")).install, conn)
	e.stepUntil(t, 15*time.Second, "the old post's comment", func() bool { return e.queuedTexts(t)["hello"] })
}

// A stream is restarted with the targets that are left, and its old session
// ends.
func TestStreamFollowsTheTargets(t *testing.T) {
	list := newTargetList(tgt("author", "alice"), tgt("query", "q"))
	conn := &fakeConn{streamCh: make(chan sdk.Comment), gapCh: make(chan struct{})}
	e := start(t, nil, list.install, conn)
	streams := func() [][]sdk.Target {
		conn.mu.Lock()
		defer conn.mu.Unlock()
		return slices.Clone(conn.streams)
	}
	eventually(t, "the stream", func() bool { return len(streams()) == 1 })
	if got := streams()[0]; len(got) != 2 {
		t.Fatalf("streamed %v", got)
	}
	list.set(tgt("author", "alice"))
	if err := e.s.Apply(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the stream restarted", func() bool { return len(streams()) == 2 })
	if got, want := streams()[1], []sdk.Target{{Kind: "author", ID: "alice"}}; !slices.Equal(got, want) {
		t.Errorf("restarted with %v, want %v", got, want)
	}
	conn.streamCh <- sdk.Comment{ID: "s1", PostID: "a1", Text: "streamed"}
	eventually(t, "the new session's comment", func() bool { return e.queuedTexts(t)["streamed"] })
}

// A target whose discovery keeps failing is retried on its own backoff,
// which polls that succeed meanwhile do not reset, and each failure is
// logged once.
func TestDiscoverBackoffIsPerTarget(t *testing.T) {
	const retry, retryMax = 30 * time.Second, 4 * time.Minute
	rateReset := time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC)
	tests := []struct {
		name string
		err  error
		// minGap is the least fake time from failure i to the next call.
		minGap func(i int) time.Duration
	}{
		{"failing: doubles up to the cap", errors.New("connection reset"),
			func(i int) time.Duration { return min(retry<<i, retryMax) }},
		{"unsupported: the cap at once", fmt.Errorf("only author targets: %w", sdk.ErrUnsupported),
			func(int) time.Duration { return retryMax }},
		{"permanent: the cap at once", sdk.Permanent(errors.New("403 forbidden")),
			func(int) time.Duration { return retryMax }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &lockedbuf.Buffer{}
			conn := &fakeConn{
				comments: map[string][]string{"p1": {"first"}},
				discoverErr: func(tg sdk.Target) error {
					if tg.ID == "bad" {
						return tt.err
					}
					return nil
				},
				authors: map[string][]string{"good": {"g1"}},
			}
			e := start(t, []store.Target{tgt("post", "p1"), tgt("query", "bad"), tgt("author", "good")}, func(o *Options) {
				o.DiscoverRetry, o.DiscoverRetryMax = retry, retryMax
				o.Logger = hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Warn})
			}, conn)
			// Twenty minutes, with a new comment on p1 every minute: polls
			// keep succeeding all along.
			for i := range 80 {
				if i%4 == 0 {
					conn.add("p1", fmt.Sprint("comment ", i))
				}
				e.step(15 * time.Second)
			}
			conn.mu.Lock()
			var bad []time.Time
			good := 0
			for _, d := range conn.discovers {
				switch d.target.ID {
				case "bad":
					bad = append(bad, d.at)
				case "good":
					good++
				}
			}
			conn.mu.Unlock()
			if len(bad) < 2 {
				t.Fatalf("the failing target was tried %d times in 20 minutes: it must be retried", len(bad))
			}
			for i := 1; i < len(bad); i++ {
				if gap := bad[i].Sub(bad[i-1]); gap < tt.minGap(i-1) {
					t.Errorf("retry %d came %s after the failure before, want at least %s", i, gap, tt.minGap(i-1))
				}
			}
			if good != 1 {
				t.Errorf("the working target was discovered %d times, want once (its interval is an hour)", good)
			}
			if n := len(conn.polledSince(0)); n != 2 || conn.calls() < 10 {
				t.Errorf("%d polls of %d posts while a target failed: polling must go on", conn.calls(), n)
			}
			// Only the failures are logged at warn, once each.
			eventually(t, "the last failure logged", func() bool { return strings.Count(logs.String(), "discover failed") >= len(bad)-1 })
			if n := strings.Count(logs.String(), "discover failed"); n > len(bad) {
				t.Errorf("%d warnings for %d failures", n, len(bad))
			}
		})
	}
	t.Run("rate limited: paused until the reset, not backed off", func(t *testing.T) {
		var mu sync.Mutex
		limited := true
		conn := &fakeConn{discoverErr: func(sdk.Target) error {
			mu.Lock()
			defer mu.Unlock()
			if limited {
				limited = false
				return &sdk.RateLimitedError{RateLimit: sdk.RateLimit{Limit: 10, Remaining: 0, Reset: rateReset}}
			}
			return nil
		}}
		e := start(t, []store.Target{tgt("author", "a")}, func(o *Options) { o.DiscoverRetry, o.DiscoverRetryMax = retry, retryMax }, conn)
		for range 30 {
			e.step(15 * time.Second)
		}
		conn.mu.Lock()
		defer conn.mu.Unlock()
		if len(conn.discovers) != 2 || conn.discovers[1].at.Before(rateReset) {
			t.Errorf("discover calls %v: want the retry at the window's reset %s", conn.discovers, rateReset)
		}
	})
}

// A target of a kind the connector does not declare is never discovered;
// the operator is told once. The others go on.
func TestUnsupportedKindIsNeverDiscovered(t *testing.T) {
	logs := &lockedbuf.Buffer{}
	conn := &fakeConn{targetKinds: []string{sdk.TargetAuthor}, authors: map[string][]string{"alice": {"a1"}}}
	e := start(t, []store.Target{tgt("query", "foo"), tgt("author", "alice"), tgt("post", "p1")}, func(o *Options) {
		o.Logger = hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Warn})
		o.DiscoverInterval = 2 * time.Minute
	}, conn)
	for range 40 {
		e.step(15 * time.Second)
	}
	conn.mu.Lock()
	var asked []string
	for _, d := range conn.discovers {
		asked = append(asked, d.target.Kind+":"+d.target.ID)
	}
	conn.mu.Unlock()
	if slices.Contains(asked, "query:foo") || !slices.Contains(asked, "author:alice") {
		t.Errorf("discovered %v: want alice, never the query", asked)
	}
	if p := conn.polledSince(0); !p["p1"] || !p["a1"] {
		t.Errorf("polled %v", p)
	}
	if n := strings.Count(logs.String(), `target not watched: the connector cannot watch "query" targets (it takes: post, author)`); n != 1 {
		t.Errorf("told the operator %d times, want once:\n%s", n, logs.String())
	}
}

func TestCheckTargetKind(t *testing.T) {
	desc := func(kinds []string, caps ...string) sdk.Description {
		return sdk.Description{Info: sdk.Info{Name: "c", TargetKinds: kinds}, Capabilities: caps}
	}
	tests := []struct {
		name string
		d    sdk.Description
		kind string
		want string // "" for no error
	}{
		{"post, whatever the connector", desc(nil, sdk.CapModerate), "post", ""},
		{"declared kind", desc([]string{"author"}, sdk.CapDiscover, sdk.CapPoll), "author", ""},
		{"undeclared kind", desc([]string{"author"}, sdk.CapDiscover, sdk.CapPoll), "query", `cannot watch "query" targets (it takes: post, author)`},
		{"post among the declared", desc([]string{"post", "publication"}, sdk.CapDiscover), "author", `cannot watch "author" targets (it takes: post, publication)`},
		{"no discovery, no kinds", desc(nil, sdk.CapPoll, sdk.CapModerate), "author", `cannot watch "author" targets (it takes: post)`},
		{"discovers, declares nothing: taken at its word", desc(nil, sdk.CapDiscover, sdk.CapPoll), "query", ""},
		{"streams, declares nothing: taken at its word", desc(nil, sdk.CapStream), "query", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTargetKind(tt.d, tt.kind)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want || !errors.Is(err, sdk.ErrUnsupported)):
				t.Errorf("error %v, want %q wrapping ErrUnsupported", err, tt.want)
			}
		})
	}
}
