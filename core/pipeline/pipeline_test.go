package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/core/config"
	"github.com/moderatorbot/moderator/core/internal/lockedbuf"
	"github.com/moderatorbot/moderator/core/policy"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
)

// wordAnalyzer labels comments containing a word.
type wordAnalyzer struct {
	word, label string
	mu          sync.Mutex
	calls       int
	fail        func(call int) error
	delay       time.Duration
}

func (a *wordAnalyzer) Analyze(ctx context.Context, cs []sdk.Comment) ([]sdk.Result, error) {
	a.mu.Lock()
	a.calls++
	call := a.calls
	a.mu.Unlock()
	if a.fail != nil {
		if err := a.fail(call); err != nil {
			return nil, err
		}
	}
	if a.delay > 0 {
		select {
		case <-time.After(a.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	out := make([]sdk.Result, len(cs))
	for i, c := range cs {
		out[i].CommentID = c.ID
		if j := strings.Index(c.Text, a.word); j >= 0 {
			out[i].Labels = []sdk.Label{{Name: a.label, Score: 0.9, Spans: []sdk.Span{{Start: j, End: j + len(a.word)}}, Reason: "said " + a.word}}
		}
	}
	return out, nil
}

// platform records moderation calls.
type platform struct {
	mu    sync.Mutex
	calls []sdk.ModerateRequest
	err   func(n int) error
}

func (p *platform) Moderate(_ context.Context, r sdk.ModerateRequest) (sdk.ModerateResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, r)
	if p.err != nil {
		if err := p.err(len(p.calls)); err != nil {
			return sdk.ModerateResponse{}, err
		}
	}
	return sdk.ModerateResponse{Changed: true, Detail: "hidden"}, nil
}

func (p *platform) Calls() []sdk.ModerateRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]sdk.ModerateRequest(nil), p.calls...)
}

type fixture struct {
	store *store.Store
	plat  *platform
	opts  Options
}

func newFixture(t *testing.T, dryRun bool, analyzers ...Analyzer) *fixture {
	t.Helper()
	st, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pol, err := policy.New(config.Policy{Rules: []config.Rule{
		{Name: "hide-threats", Action: "hide", When: config.Condition{Labels: []string{"threat"}, MinScore: 0.5}},
		{Name: "review-spam", Action: "review", When: config.Condition{Labels: []string{"spam"}, MinScore: 0.5}},
	}}, dryRun)
	if err != nil {
		t.Fatal(err)
	}
	plat := &platform{}
	return &fixture{store: st, plat: plat, opts: Options{
		Store: st, Policy: pol, Analyzers: analyzers, BatchSize: 10, Workers: 2,
		AnalyzerRetries: 1, ActionRetries: 1, RetryBackoff: time.Millisecond, HoldRetry: time.Hour,
		Connectors: []Connector{{Name: "x", Get: func(context.Context) (sdk.Moderator, error) { return plat, nil }}},
	}}
}

func local(name string, a sdk.Analyzer, onFailure string) Analyzer {
	return Analyzer{Name: name, Get: func(context.Context) (sdk.Analyzer, error) { return a, nil },
		Info: func() (string, string) { return "test", "1.0" }, Timeout: time.Second, OnFailure: onFailure}
}

// start runs a pipeline on the fixture until stop is called.
func (f *fixture) start(t *testing.T) (stop func()) {
	t.Helper()
	p, err := New(f.opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	return func() { cancel(); <-done } // twice is harmless
}

// run processes the queue until cond holds.
func (f *fixture) run(t *testing.T, cond func() bool) {
	t.Helper()
	stop := f.start(t)
	defer stop()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fixture) intake(t *testing.T, texts ...string) []string {
	t.Helper()
	var cs []sdk.Comment
	for i, text := range texts {
		cs = append(cs, sdk.Comment{ID: string(rune('a' + i)), PostID: "p", AuthorID: "u", Text: text})
	}
	res, err := f.store.Intake(context.Background(), "x", "webhook", cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.New
}

func (f *fixture) record(t *testing.T, id string) store.Record {
	t.Helper()
	r, err := f.store.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) idle() bool {
	q, _, _ := f.store.Depth()
	return q == 0
}

func TestDecideAndAct(t *testing.T) {
	threats := &wordAnalyzer{word: "hurt", label: "threat"}
	spam := &wordAnalyzer{word: "buy", label: "spam"}
	f := newFixture(t, false, local("threats", threats, "hold"), local("spam", spam, "hold"))
	ids := f.intake(t, "I will hurt you", "buy now", "nice post")
	f.run(t, f.idle)

	calls := f.plat.Calls()
	if len(calls) != 1 || calls[0].Action != "hide" || calls[0].Comment.ID != "a" || calls[0].IdempotencyKey != ids[0] {
		t.Fatalf("platform calls %+v", calls)
	}
	hidden := f.record(t, ids[0])
	if hidden.State != store.StateActed || hidden.Decision.Rule != "hide-threats" || !hidden.Decision.Platform.Changed ||
		len(hidden.Decision.Analyses) != 2 || hidden.Decision.Analyses[0].Labels[0].Spans[0] != (sdk.Span{Start: 7, End: 11}) ||
		hidden.Decision.Analyses[0].Version != "1.0" {
		t.Errorf("hidden record %+v %+v", hidden, hidden.Decision)
	}
	review := f.record(t, ids[1])
	if review.State != store.StateDecided || review.Decision.Action != "review" || !review.InReview {
		t.Errorf("review record %+v", review)
	}
	fine := f.record(t, ids[2])
	if fine.State != store.StateDecided || fine.Decision.Action != "approve" || fine.Decision.Reason != "no rule matched" {
		t.Errorf("approved record %+v", fine)
	}
	queue, _ := f.store.List(context.Background(), store.Filter{Review: true})
	if len(queue) != 1 || queue[0].ID != ids[1] {
		t.Errorf("review queue %+v", queue)
	}
}

// TestModerationLog: the log says what was decided by a rule and why, what
// the platform was asked and answered, and what a human overrode; comments
// no rule matched stay out of it at info.
func TestModerationLog(t *testing.T) {
	var buf lockedbuf.Buffer
	f := newFixture(t, false, local("threats", &wordAnalyzer{word: "hurt", label: "threat"}, "hold"))
	f.opts.Logger = hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Info})
	ids := f.intake(t, "I will hurt you", "nice post")
	p, err := New(f.opts)
	if err != nil {
		t.Fatal(err)
	}
	f.run(t, func() bool { return f.record(t, ids[0]).State == store.StateActed && f.idle() })
	if _, err := p.Override(context.Background(), f.store, ids[0], sdk.ActionApprove, "a quote, not a threat", "ana"); err != nil {
		t.Fatal(err)
	}
	logged := buf.String()
	for _, want := range []string{
		"[INFO]  decided: id=" + ids[0] + " connector=x comment=a author=u action=hide dry_run=false rule=hide-threats reason=",
		"[INFO]  acted: id=" + ids[0] + " connector=x comment=a action=hide changed=true",
		`[INFO]  overridden: id=` + ids[0] + ` connector=x comment=a verdict=approve by=ana reason="a quote, not a threat" platform_action=unhide`,
	} {
		if !strings.Contains(logged, want) {
			t.Errorf("missing %q in:\n%s", want, logged)
		}
	}
	if strings.Contains(logged, "id="+ids[1]) {
		t.Errorf("an approval no rule made is logged at info:\n%s", logged)
	}
}

func TestDryRunActsOnNothing(t *testing.T) {
	f := newFixture(t, true, local("threats", &wordAnalyzer{word: "hurt", label: "threat"}, "hold"))
	ids := f.intake(t, "I will hurt you")
	f.run(t, f.idle)
	if n := len(f.plat.Calls()); n != 0 {
		t.Fatalf("dry run made %d platform calls", n)
	}
	if r := f.record(t, ids[0]); r.State != store.StateDecided || !r.Decision.DryRun || r.Decision.Action != "hide" {
		t.Errorf("record %+v", r.Decision)
	}
}

func TestDecidedBeforeACrashIsActedOnOnce(t *testing.T) {
	f := newFixture(t, false, local("threats", &wordAnalyzer{word: "hurt", label: "threat"}, "hold"))
	f.intake(t, "I will hurt you")
	// What a crash between recording the decision and acting leaves behind.
	work, _, _ := f.store.Queued(context.Background(), 0, 10, nil)
	rec := work[0].Record
	rec.State = store.StateDecided
	rec.Decision = &store.Decision{Action: "hide", Rule: "hide-threats", Reason: "r"}
	if err := f.store.Save(context.Background(), []store.Step{{Seq: work[0].Seq, Record: rec}}); err != nil {
		t.Fatal(err)
	}
	f.run(t, f.idle)
	if calls := f.plat.Calls(); len(calls) != 1 || calls[0].IdempotencyKey != rec.ID {
		t.Fatalf("calls %+v", calls)
	}
	if r := f.record(t, rec.ID); r.State != store.StateActed || len(r.Decision.Analyses) != 0 {
		t.Errorf("re-analyzed or not acted: %+v", r)
	}
}

func TestAnalyzerFailure(t *testing.T) {
	broken := func(int) error { return errors.New("model server down") }
	t.Run("hold", func(t *testing.T) {
		bad := &wordAnalyzer{word: "x", label: "spam", fail: broken}
		f := newFixture(t, false, local("threats", &wordAnalyzer{word: "hurt", label: "threat"}, "hold"), local("flaky", bad, "hold"))
		ids := f.intake(t, "I will hurt you")
		f.run(t, f.idle)
		r := f.record(t, ids[0])
		if r.State != store.StateHeld || r.Decision != nil || !strings.Contains(r.LastError, "model server down") || r.RetryAt.IsZero() {
			t.Errorf("record %+v", r)
		}
		if bad.calls != 2 {
			t.Errorf("analyzer tried %d times, want 1 + 1 retry", bad.calls)
		}
		if len(f.plat.Calls()) != 0 {
			t.Error("a held comment was acted on")
		}
		if _, held, _ := f.store.Depth(); held != 1 {
			t.Errorf("held %d", held)
		}
	})
	t.Run("skip", func(t *testing.T) {
		f := newFixture(t, false, local("threats", &wordAnalyzer{word: "hurt", label: "threat"}, "hold"),
			local("flaky", &wordAnalyzer{word: "x", label: "spam", fail: broken}, "skip"))
		ids := f.intake(t, "I will hurt you")
		f.run(t, f.idle)
		r := f.record(t, ids[0])
		if r.State != store.StateActed || r.Decision.Rule != "hide-threats" || r.Decision.Analyses[1].Err == "" {
			t.Errorf("record %+v %+v", r, r.Decision)
		}
	})
	t.Run("timeout then recovery", func(t *testing.T) {
		slow := &wordAnalyzer{word: "hurt", label: "threat", delay: time.Hour}
		a := local("slow", slow, "hold")
		a.Timeout = 20 * time.Millisecond
		f := newFixture(t, false, a)
		ids := f.intake(t, "I will hurt you")
		f.run(t, f.idle)
		if r := f.record(t, ids[0]); r.State != store.StateHeld || !strings.Contains(r.LastError, "deadline exceeded") {
			t.Fatalf("record %+v", r)
		}
		// The analyzer recovers and the hold expires: it goes through.
		slow.delay = 0
		if n, _ := f.store.Requeue(context.Background(), time.Now().Add(2*time.Hour)); n != 1 {
			t.Fatalf("requeued %d", n)
		}
		f.run(t, f.idle)
		if r := f.record(t, ids[0]); r.State != store.StateActed || r.Attempts != 2 {
			t.Errorf("after recovery %+v", r)
		}
	})
	t.Run("retry succeeds", func(t *testing.T) {
		a := &wordAnalyzer{word: "hurt", label: "threat", fail: func(call int) error {
			if call == 1 {
				return errors.New("blip")
			}
			return nil
		}}
		f := newFixture(t, false, local("a", a, "hold"))
		ids := f.intake(t, "I will hurt you")
		f.run(t, f.idle)
		if r := f.record(t, ids[0]); r.State != store.StateActed {
			t.Errorf("record %+v", r)
		}
	})
}

func TestActionFailures(t *testing.T) {
	reset := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	tests := []struct {
		name  string
		err   error
		state store.State
		delay bool
	}{
		{"permanent", sdk.Permanent(errors.New("403 not your conversation")), store.StateFailed, false},
		{"gone", sdk.ErrNotFound, store.StateFailed, false},
		{"rate limited", &sdk.RateLimitedError{RateLimit: sdk.RateLimit{Reset: reset}}, store.StateDecided, true},
		{"transient", errors.New("503"), store.StateDecided, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, false, local("threats", &wordAnalyzer{word: "hurt", label: "threat"}, "hold"))
			f.plat.err = func(int) error { return tt.err }
			ids := f.intake(t, "I will hurt you")
			f.run(t, f.idle)
			r := f.record(t, ids[0])
			if r.State != tt.state || r.LastError == "" {
				t.Errorf("record %+v", r)
			}
			if _, held, _ := f.store.Depth(); (held == 1) != tt.delay {
				t.Errorf("held %d", held)
			}
			if tt.name == "rate limited" && !r.RetryAt.Equal(reset) {
				t.Errorf("retry at %v, want the reset %v", r.RetryAt, reset)
			}
			if tt.name == "rate limited" && len(f.plat.Calls()) != 1 {
				t.Errorf("a rate-limited action was retried at once: %d calls", len(f.plat.Calls()))
			}
		})
	}
}

func TestOverride(t *testing.T) {
	f := newFixture(t, false, local("threats", &wordAnalyzer{word: "hurt", label: "threat"}, "hold"), local("spam", &wordAnalyzer{word: "buy", label: "spam"}, "hold"))
	ids := f.intake(t, "I will hurt you", "buy now", "fine")
	f.run(t, f.idle)
	p, _ := New(f.opts)
	ctx := context.Background()

	// Approving a hidden comment unhides it, and the record says so.
	rec, err := p.Override(ctx, f.store, ids[0], "approve", "it was a joke", "alice")
	if err != nil {
		t.Fatal(err)
	}
	calls := f.plat.Calls()
	if len(calls) != 2 || calls[1].Action != "unhide" || calls[1].Comment.ID != "a" || calls[1].IdempotencyKey != ids[0]+"/override/1" {
		t.Fatalf("platform calls %+v", calls)
	}
	if len(rec.Overrides) != 1 || rec.Overrides[0].By != "alice" || rec.Overrides[0].Platform == nil || rec.Decision.Action != "hide" {
		t.Errorf("record %+v", rec)
	}
	if s := StandingOf(f.record(t, ids[0])); s != (Standing{}) {
		t.Errorf("standing after the unhide: %+v", s)
	}

	// The review queue is resolved by an override; a hide is applied.
	rec, err = p.Override(ctx, f.store, ids[1], "hide", "spam after all", "bob")
	if err != nil || rec.InReview || len(f.plat.Calls()) != 3 || f.plat.Calls()[2].Action != "hide" {
		t.Fatalf("review override: %+v %v %+v", rec, err, f.plat.Calls())
	}
	if q, _ := f.store.List(ctx, store.Filter{Review: true}); len(q) != 0 {
		t.Errorf("review queue not emptied: %d", len(q))
	}

	// Approving what was never acted on changes nothing on the platform.
	if _, err := p.Override(ctx, f.store, ids[2], "approve", "", "carol"); err != nil || len(f.plat.Calls()) != 3 {
		t.Errorf("approve of approved: %v, %d calls", err, len(f.plat.Calls()))
	}
	if _, err := p.Override(ctx, f.store, ids[2], "unhide", "", ""); err == nil {
		t.Error("unhide accepted as a verdict")
	}
	if _, err := p.Override(ctx, f.store, "nope", "approve", "", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	// Deleted is final.
	if _, err := p.Override(ctx, f.store, ids[2], "delete", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Override(ctx, f.store, ids[2], "approve", "", ""); !errors.Is(err, ErrCannotUndo) {
		t.Errorf("undo of a delete: %v", err)
	}
}

// TestOverrideSequences checks that each override makes the one platform
// call that brings the comment to the verdict, given everything applied to
// it before, and none when the platform already shows it.
func TestOverrideSequences(t *testing.T) {
	tests := []struct {
		name     string
		verdicts []string
		calls    []string // platform calls made by the overrides, in order
		standing Standing
		err      error // of the last override
	}{
		{"approve after a flag still unhides", []string{"flag", "approve"}, []string{"flag", "unhide"}, Standing{Flagged: true}, nil},
		{"hide again is nothing", []string{"hide"}, nil, Standing{Hidden: true}, nil},
		{"flag twice flags once", []string{"flag", "flag"}, []string{"flag"}, Standing{Hidden: true, Flagged: true}, nil},
		{"approve, then hide again", []string{"approve", "hide"}, []string{"unhide", "hide"}, Standing{Hidden: true}, nil},
		{"approve twice unhides once", []string{"approve", "approve"}, []string{"unhide"}, Standing{}, nil},
		{"delete twice deletes once", []string{"delete", "delete"}, []string{"delete"}, Standing{Hidden: true, Deleted: true}, nil},
		{"nothing after a delete", []string{"delete", "approve"}, []string{"delete"}, Standing{Hidden: true, Deleted: true}, ErrCannotUndo},
		{"not a verdict", []string{"unhide"}, nil, Standing{Hidden: true}, ErrBadVerdict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, false, local("threats", &wordAnalyzer{word: "hurt", label: "threat"}, "hold"))
			ids := f.intake(t, "I will hurt you")
			f.run(t, f.idle)
			if calls := f.plat.Calls(); len(calls) != 1 || calls[0].Action != "hide" {
				t.Fatalf("policy's calls %+v", calls)
			}
			p, _ := New(f.opts)
			var err error
			for _, v := range tt.verdicts {
				_, err = p.Override(context.Background(), f.store, ids[0], v, "", "ops")
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("last override: %v, want %v", err, tt.err)
			}
			var got []string
			for _, c := range f.plat.Calls()[1:] {
				got = append(got, c.Action)
			}
			if !slices.Equal(got, tt.calls) {
				t.Errorf("platform calls %q, want %q", got, tt.calls)
			}
			if s := StandingOf(f.record(t, ids[0])); s != tt.standing {
				t.Errorf("standing %+v, want %+v", s, tt.standing)
			}
		})
	}
}

func TestReplayReportsAndActsOnNothing(t *testing.T) {
	f := newFixture(t, false, local("threats", &wordAnalyzer{word: "hurt", label: "threat"}, "hold"))
	ids := f.intake(t, "I will hurt you", "you hurt my feelings", "fine")
	f.run(t, f.idle)
	before := len(f.plat.Calls())

	// The operator narrows the rule: only "will hurt" is a threat now.
	f.opts.Analyzers = []Analyzer{local("threats", &wordAnalyzer{word: "will hurt", label: "threat"}, "hold")}
	p, _ := New(f.opts)
	rep, err := p.Replay(context.Background(), f.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Replayed != 3 || rep.Changed != 1 || rep.Changes[0].ID != ids[1] ||
		rep.Changes[0].OldAction != "hide" || rep.Changes[0].NewAction != "approve" {
		t.Fatalf("report %+v", rep)
	}
	if len(f.plat.Calls()) != before {
		t.Error("replay acted on the platform")
	}
	if r := f.record(t, ids[1]); r.Decision.Action != "hide" || len(r.Overrides) != 0 {
		t.Errorf("replay changed the record: %+v", r.Decision)
	}
}

// lateStore hides some queue entries, as an intake transaction that has
// taken its sequence numbers but not yet committed does.
type lateStore struct {
	*store.Store
	mu     sync.Mutex
	hidden map[uint64]bool
}

func (s *lateStore) Queued(ctx context.Context, from uint64, limit int, skip func(uint64) bool) ([]store.Work, uint64, error) {
	work, next, err := s.Store.Queued(ctx, from, limit, func(seq uint64) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.hidden[seq] || (skip != nil && skip(seq))
	})
	// As the real store does, an entry still being written holds the
	// watermark down.
	s.mu.Lock()
	for seq := range s.hidden {
		next = min(next, seq)
	}
	s.mu.Unlock()
	return work, next, err
}

func TestWorkCommittedLateIsNotSkipped(t *testing.T) {
	f := newFixture(t, false, local("threats", &wordAnalyzer{word: "hurt", label: "threat"}, "hold"))
	ids := f.intake(t, "I will hurt you", "I will hurt you too")
	// The queue's sequence numbers, read without taking the entries (a
	// skipped entry is left where it is).
	var seqs []uint64
	f.store.Queued(context.Background(), 0, 10, func(seq uint64) bool { seqs = append(seqs, seq); return true })
	late := &lateStore{Store: f.store, hidden: map[uint64]bool{seqs[0]: true}}
	f.opts.Store = late
	p, _ := New(f.opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	decided := func(id string) bool {
		r, _ := f.store.Get(context.Background(), id)
		return r.State == store.StateActed
	}
	deadline := time.Now().Add(10 * time.Second)
	for !decided(ids[1]) {
		if time.Now().After(deadline) {
			t.Fatal("the visible comment was not processed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The earlier entry commits now, after a later one was processed.
	late.mu.Lock()
	late.hidden = nil
	late.mu.Unlock()
	f.store.Nudge()
	for !decided(ids[0]) {
		if time.Now().After(deadline) {
			t.Fatal("work committed after later work was processed is never picked up")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// slowScan makes each scan take a while, as on a loaded machine, so that
// workers commit while a scan is under way.
type slowScan struct{ *store.Store }

func (s *slowScan) Queued(ctx context.Context, from uint64, limit int, skip func(uint64) bool) ([]store.Work, uint64, error) {
	return s.Store.Queued(ctx, from, limit, func(seq uint64) bool {
		time.Sleep(50 * time.Microsecond)
		return skip != nil && skip(seq)
	})
}

// countingAnalyzer counts how often each comment is analyzed.
type countingAnalyzer struct {
	mu   sync.Mutex
	seen map[string]int
}

func (a *countingAnalyzer) Analyze(_ context.Context, cs []sdk.Comment) ([]sdk.Result, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]sdk.Result, len(cs))
	for i, c := range cs {
		a.seen[c.ID]++
		out[i].CommentID = c.ID
	}
	return out, nil
}

// Scans run while workers commit: a scan whose snapshot predates a commit
// must not hand that work out a second time.
func TestEachCommentIsAnalyzedOnce(t *testing.T) {
	a := &countingAnalyzer{seen: map[string]int{}}
	f := newFixture(t, false, local("count", a, "hold"))
	// On disk, so commits take long enough for scans to overlap them.
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f.store, f.opts.Store = st, &slowScan{st}
	f.opts.BatchSize, f.opts.Workers = 7, 4
	const n = 3000
	var cs []sdk.Comment
	for i := range n {
		cs = append(cs, sdk.Comment{ID: fmt.Sprint(i), PostID: "p", Text: "x"})
	}
	stop := f.start(t)
	defer stop()
	// Intakes keep arriving, from several sources at once, while batches are
	// processed: scans then start low (at the watermark) and pass over work
	// in the workers' hands.
	var feeders sync.WaitGroup
	for src := range 4 {
		feeders.Add(1)
		go func() {
			defer feeders.Done()
			for i := src; i < n; i += 4 {
				if _, err := f.store.Intake(context.Background(), "x", "webhook", cs[i:i+1], nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	feeders.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for !f.idle() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	a.mu.Lock()
	defer a.mu.Unlock()
	twice := 0
	for _, c := range a.seen {
		if c > 1 {
			twice++
		}
	}
	if len(a.seen) != n || twice > 0 {
		t.Errorf("%d of %d comments analyzed, %d more than once", len(a.seen), n, twice)
	}
}

// sizeAnalyzer records the size of every batch it is given.
type sizeAnalyzer struct {
	mu    sync.Mutex
	sizes []int
}

func (a *sizeAnalyzer) Analyze(_ context.Context, cs []sdk.Comment) ([]sdk.Result, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sizes = append(a.sizes, len(cs))
	return make([]sdk.Result, len(cs)), nil
}

func (a *sizeAnalyzer) batches() []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]int(nil), a.sizes...)
}

// A batch that is not full waits for more work (here, forever: the linger
// is an hour) and goes the moment it is full, as one batch.
func TestPartialBatchLingersUntilFull(t *testing.T) {
	an := &sizeAnalyzer{}
	f := newFixture(t, false, local("sizes", an, "hold"))
	f.opts.Linger = time.Hour
	defer f.start(t)()
	intake := func(from, n int) {
		var cs []sdk.Comment
		for i := range n {
			cs = append(cs, sdk.Comment{ID: fmt.Sprint(from + i), PostID: "p", AuthorID: "u", Text: "hi"})
		}
		if _, err := f.store.Intake(context.Background(), "x", "webhook", cs, nil); err != nil {
			t.Fatal(err)
		}
	}
	intake(0, 3)
	for round := range 3 { // three trickles, none filling the batch of 10
		time.Sleep(20 * time.Millisecond)
		if b := an.batches(); len(b) > 0 {
			t.Fatalf("a partial batch went before its linger was over: %v", b)
		}
		intake(100*(round+1), 2)
	}
	intake(500, 1) // 3 + 2·3 + 1 = 10
	for deadline := time.Now().Add(10 * time.Second); len(an.batches()) == 0; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the full batch did not go")
		}
	}
	if b := an.batches(); len(b) != 1 || b[0] != 10 {
		t.Errorf("batches %v, want one of 10", b)
	}
}

// A short linger lets a lone comment go on its own once it is over.
func TestLoneCommentGoesAfterTheLinger(t *testing.T) {
	an := &sizeAnalyzer{}
	f := newFixture(t, false, local("sizes", an, "hold"))
	f.opts.Linger = 10 * time.Millisecond
	ids := f.intake(t, "just one")
	f.run(t, func() bool { return f.record(t, ids[0]).State == store.StateDecided })
	if b := an.batches(); len(b) != 1 || b[0] != 1 {
		t.Errorf("batches %v, want one of 1", b)
	}
}

// TestRulesScopedToATargetSeeItsPosts: a rule whose when.targets names an
// author target fires on comments on the posts that target brought in, as
// the store records them; where the lookup fails the batch waits rather
// than being decided without its scope.
func TestRulesScopedToATargetSeeItsPosts(t *testing.T) {
	f := newFixture(t, false, local("spam", &wordAnalyzer{word: "buy", label: "spam"}, "hold"))
	pol, err := policy.New(config.Policy{Rules: []config.Rule{
		{Name: "strict-on-alice", Action: "hide", When: config.Condition{Labels: []string{"spam"}, MinScore: 0.5, Targets: []string{"alice"}}},
		{Name: "review-spam", Action: "review", When: config.Condition{Labels: []string{"spam"}, MinScore: 0.5}},
	}}, false)
	if err != nil {
		t.Fatal(err)
	}
	f.opts.Policy = pol
	if err := f.store.SavePosts(context.Background(), []store.Post{{Connector: "x", ID: "p", Targets: []string{"author:alice"}}}); err != nil {
		t.Fatal(err)
	}
	fail := true
	f.opts.PostTargets = func(ctx context.Context, connector string, posts []string) (map[string][]string, error) {
		if fail {
			fail = false
			return nil, errors.New("disk on fire")
		}
		return f.store.PostTargets(ctx, connector, posts)
	}
	ids := f.intake(t, "buy now")
	f.run(t, func() bool { return f.record(t, ids[0]).State == store.StateActed })
	if r := f.record(t, ids[0]); r.Decision.Rule != "strict-on-alice" || r.Decision.Action != "hide" {
		t.Errorf("decided by %q (%s), want strict-on-alice's hide", r.Decision.Rule, r.Decision.Action)
	}
	if fail {
		t.Error("the failed lookup was not retried")
	}
}
