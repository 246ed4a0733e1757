package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
)

// A comment held because an analyzer failed is decided by a human's
// override: the verdict becomes its decision, applied once through the
// queue, and the held retry never decides it again.
func TestOverrideDecidesAHeldComment(t *testing.T) {
	tests := []struct {
		verdict string
		calls   []string
		state   store.State
	}{
		{"hide", []string{"hide"}, store.StateActed},
		{"delete", []string{"delete"}, store.StateActed},
		{"flag", []string{"flag"}, store.StateActed},
		{"approve", nil, store.StateDecided},
	}
	for _, tt := range tests {
		for _, running := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/pipeline running %v", tt.verdict, running), func(t *testing.T) {
				down := &wordAnalyzer{word: "hurt", label: "threat", fail: func(int) error { return errors.New("model server down") }}
				f := newFixture(t, false, local("model", down, "hold"))
				ids := f.intake(t, "I will hurt you")
				f.run(t, f.idle)
				if r := f.record(t, ids[0]); r.State != store.StateHeld {
					t.Fatalf("not held: %+v", r)
				}
				calls := down.calls

				p, err := New(f.opts)
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				if running {
					rctx, cancel := context.WithCancel(ctx)
					done := make(chan struct{})
					go func() { p.Run(rctx); close(done) }()
					defer func() { cancel(); <-done }()
					for !p.running.Load() {
						time.Sleep(time.Millisecond)
					}
				}
				rec, err := p.Override(ctx, f.store, ids[0], tt.verdict, "", "ops")
				if err != nil {
					t.Fatal(err)
				}
				d := rec.Decision
				if rec.State != tt.state || d == nil || d.Action != tt.verdict || d.By != "ops" || d.Reason != "decided by hand" || d.Rule != "" || len(rec.Overrides) != 0 {
					t.Fatalf("record %s %+v", rec.State, d)
				}
				if !strings.Contains(rec.LastError, "model server down") {
					t.Errorf("the error it was held for is gone: %q", rec.LastError)
				}
				if tt.calls != nil && (d.Platform == nil || d.Platform.Err != "") {
					t.Errorf("platform answer %+v", d.Platform)
				}

				// Its retry was withdrawn: however long the pipeline runs
				// on, nothing more is analyzed or done.
				if n, _ := f.store.Requeue(ctx, time.Now().Add(1000*time.Hour)); n != 0 {
					t.Errorf("%d retries left", n)
				}
				f.run(t, f.idle)
				var got []string
				for _, c := range f.plat.Calls() {
					got = append(got, c.Action)
					if c.IdempotencyKey != ids[0] {
						t.Errorf("idempotency key %q, want the decision's id", c.IdempotencyKey)
					}
				}
				if !slices.Equal(got, tt.calls) {
					t.Errorf("platform calls %q, want %q", got, tt.calls)
				}
				if down.calls != calls {
					t.Errorf("analyzed %d more times after the human decided", down.calls-calls)
				}
				if q, h, _ := f.store.Depth(); q != 0 || h != 0 {
					t.Errorf("depth %d queued, %d held", q, h)
				}
			})
		}
	}
}

// An override that comes while the held comment's retry is under way is
// refused as pending and changes nothing: the retry decides it.
func TestOverrideOfAHeldCommentBeingRetried(t *testing.T) {
	down := &wordAnalyzer{word: "hurt", label: "threat", fail: func(int) error { return errors.New("model server down") }}
	f := newFixture(t, false, local("model", down, "hold"))
	ids := f.intake(t, "I will hurt you")
	f.run(t, f.idle)
	ctx := context.Background()
	if n, _ := f.store.Requeue(ctx, time.Now().Add(2*time.Hour)); n != 1 {
		t.Fatalf("requeued %d", n)
	}
	p, _ := New(f.opts)
	if _, err := p.Override(ctx, f.store, ids[0], "approve", "", "ops"); !errors.Is(err, ErrPending) {
		t.Fatalf("override during the retry: %v", err)
	}
	if r := f.record(t, ids[0]); r.State != store.StateHeld || r.Decision != nil {
		t.Errorf("record changed: %+v", r)
	}
	down.fail = nil
	f.run(t, f.idle)
	if r := f.record(t, ids[0]); r.State != store.StateActed || r.Decision.By != "" || r.Decision.Rule != "hide-threats" {
		t.Errorf("after the retry %s %+v", r.State, r.Decision)
	}
}

// A comment an analyzer keeps failing on alone joins the review queue
// after ReviewAfter attempts, where an override decides it; one that the
// analyzer later answers leaves the queue with its decision.
func TestCommentsAnalyzersCannotDecideGoToReview(t *testing.T) {
	var fixed atomic.Bool
	an := &poisonAnalyzer{wordAnalyzer: &wordAnalyzer{word: "hurt", label: "threat"}, err: func(sdk.Comment) error { return errors.New("choked") }}
	words := an.wordAnalyzer
	f := newFixture(t, false, local("flaky", analyzerFunc(func(ctx context.Context, cs []sdk.Comment) ([]sdk.Result, error) {
		if fixed.Load() {
			return words.Analyze(ctx, cs)
		}
		return an.Analyze(ctx, cs)
	}), "hold"))
	ctx := context.Background()
	p, err := New(f.opts)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { p.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	// The analyzer answers others, so the comments it fails on are their
	// own trouble, not its being down.
	fine := f.intake(t, "fine")
	wait("the first decision", func() bool { return f.record(t, fine[0]).State == store.StateDecided })
	res, err := f.store.Intake(ctx, "x", "webhook", []sdk.Comment{{ID: "p1", PostID: "p", Text: "poison"}, {ID: "p2", PostID: "p", Text: "hurt poison"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := res.New
	inReview := func() []string {
		recs, err := f.store.List(ctx, store.Filter{Review: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range recs {
			out = append(out, r.Comment.Text)
		}
		slices.Sort(out)
		return out
	}
	for attempt := 1; attempt <= ReviewAfter; attempt++ {
		wait(fmt.Sprintf("attempt %d", attempt), func() bool {
			for _, id := range ids {
				if r := f.record(t, id); r.State != store.StateHeld || r.Attempts != attempt {
					return false
				}
			}
			return true
		})
		if r := f.record(t, ids[0]); !strings.Contains(r.LastError, "while it answers others") {
			t.Fatalf("held for another reason: %q", r.LastError)
		}
		want := []string(nil)
		if attempt >= ReviewAfter {
			want = []string{"hurt poison", "poison"}
		}
		if got := inReview(); !slices.Equal(got, want) {
			t.Fatalf("after attempt %d the review queue holds %q, want %q", attempt, got, want)
		}
		if attempt < ReviewAfter {
			if n, _ := f.store.Requeue(ctx, time.Now().Add(1000*time.Hour)); n != 2 {
				t.Fatalf("requeued %d", n)
			}
		}
	}

	// A human decides one from the queue.
	rec, err := p.Override(ctx, f.store, ids[0], "hide", "poison is spam here", "ops")
	if err != nil || rec.InReview || rec.State != store.StateActed || rec.Decision.Reason != "poison is spam here" {
		t.Fatalf("override: %v, %s in review %v, %+v", err, rec.State, rec.InReview, rec.Decision)
	}
	if got := inReview(); !slices.Equal(got, []string{"hurt poison"}) {
		t.Errorf("review queue after the override: %q", got)
	}

	// The analyzer is fixed: the other is decided by the policy and leaves
	// the review queue.
	fixed.Store(true)
	if n, _ := f.store.Requeue(ctx, time.Now().Add(1000*time.Hour)); n != 1 {
		t.Fatalf("requeued %d", n)
	}
	wait("the decision after the fix", func() bool { return f.record(t, ids[1]).State == store.StateActed })
	if r := f.record(t, ids[1]); r.Decision.Rule != "hide-threats" || r.InReview {
		t.Errorf("decided after the fix: %+v, in review %v", r.Decision, r.InReview)
	}
	if got := inReview(); len(got) != 0 {
		t.Errorf("review queue after the fix: %q", got)
	}
}
