package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// heldOne takes n comments in and holds each, due at retryAt.
func heldOne(t *testing.T, s *Store, n int, retryAt time.Time) []Record {
	t.Helper()
	ctx := context.Background()
	res, err := s.Intake(ctx, "x", "poll", comments(n, time.Now().Format("150405.000000000")), nil)
	if err != nil || len(res.New) != n {
		t.Fatalf("intake: %+v %v", res, err)
	}
	work, _, err := s.Queued(ctx, 0, MaxLimit*10, nil)
	if err != nil {
		t.Fatal(err)
	}
	mine := map[string]bool{}
	for _, id := range res.New {
		mine[id] = true
	}
	var steps []Step
	var recs []Record
	for _, w := range work {
		if !mine[w.Record.ID] {
			continue
		}
		rec := w.Record
		rec.State, rec.RetryAt, rec.LastError, rec.Attempts = StateHeld, retryAt, "analyzer x: boom", 1
		steps = append(steps, Step{Seq: w.Seq, Record: rec, Delay: true})
		recs = append(recs, rec)
	}
	if err := s.Save(ctx, steps); err != nil {
		t.Fatal(err)
	}
	return recs
}

// byHand is a human's decision.
func byHand(action string) Decision {
	return Decision{At: time.Now(), Action: action, Reason: "seen it", By: "ops"}
}

func TestDecideHeld(t *testing.T) {
	ctx := context.Background()
	t.Run("queued for its action, retry withdrawn", func(t *testing.T) {
		s := memStore(t)
		rec := heldOne(t, s, 1, time.Now().Add(time.Hour))[0]
		_, seq, err := s.DecideHeld(ctx, rec.ID, byHand("hide"), true)
		if err != nil {
			t.Fatal(err)
		}
		work, _, _ := s.Queued(ctx, 0, 10, nil)
		if len(work) != 1 || work[0].Seq != seq || work[0].Record.State != StateDecided || work[0].Record.Decision.By != "ops" || !work[0].Record.RetryAt.IsZero() {
			t.Fatalf("queue %+v", work)
		}
		if work[0].Record.LastError != "analyzer x: boom" {
			t.Errorf("the error it was held for is gone: %q", work[0].Record.LastError)
		}
		if n, _ := s.Requeue(ctx, time.Now().Add(2*time.Hour)); n != 0 {
			t.Errorf("the withdrawn retry came back: %d requeued", n)
		}
		if q, h, _ := s.Depth(); q != 1 || h != 0 {
			t.Errorf("depth %d queued, %d held", q, h)
		}
	})
	t.Run("nothing to apply: not queued", func(t *testing.T) {
		s := memStore(t)
		rec := heldOne(t, s, 1, time.Now().Add(time.Hour))[0]
		rec.InReview = true // it was waiting for a human
		if err := s.Save(ctx, []Step{{Record: rec}}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.DecideHeld(ctx, rec.ID, byHand("approve"), false); err != nil {
			t.Fatal(err)
		}
		if work, _, _ := s.Queued(ctx, 0, 10, nil); len(work) != 0 {
			t.Errorf("queued %+v", work)
		}
		if rev, _ := s.List(ctx, Filter{Review: true}); len(rev) != 0 {
			t.Errorf("still in review: %+v", rev)
		}
		got, _ := s.Get(ctx, rec.ID)
		if got.State != StateDecided || got.Decision.Action != "approve" {
			t.Errorf("record %+v", got)
		}
		if q, h, _ := s.Depth(); q != 0 || h != 0 {
			t.Errorf("depth %d queued, %d held", q, h)
		}
	})
	t.Run("retry under way: busy, nothing changed", func(t *testing.T) {
		s := memStore(t)
		rec := heldOne(t, s, 1, time.Now().Add(-time.Second))[0]
		if n, _ := s.Requeue(ctx, time.Now()); n != 1 {
			t.Fatalf("requeued %d", n)
		}
		if _, _, err := s.DecideHeld(ctx, rec.ID, byHand("hide"), true); !errors.Is(err, ErrBusy) {
			t.Fatalf("decide while queued: %v", err)
		}
		got, _ := s.Get(ctx, rec.ID)
		if got.State != StateHeld || got.Decision != nil {
			t.Errorf("record changed: %+v", got)
		}
		if work, _, _ := s.Queued(ctx, 0, 10, nil); len(work) != 1 || work[0].Record.State != StateHeld {
			t.Errorf("queue %+v", work)
		}
	})
	t.Run("retried since it was read: the latest record is decided", func(t *testing.T) {
		s := memStore(t)
		rec := heldOne(t, s, 1, time.Now().Add(-time.Second))[0]
		// Its retry comes round and fails again, after an operator read it.
		if n, _ := s.Requeue(ctx, time.Now()); n != 1 {
			t.Fatalf("requeued %d", n)
		}
		work, _, _ := s.Queued(ctx, 0, 10, nil)
		again := work[0].Record
		again.Attempts, again.LastError, again.RetryAt = 2, "analyzer x: boom again", time.Now().Add(time.Hour)
		if err := s.Save(ctx, []Step{{Seq: work[0].Seq, Record: again, Delay: true}}); err != nil {
			t.Fatal(err)
		}
		got, _, err := s.DecideHeld(ctx, rec.ID, byHand("hide"), true)
		if err != nil {
			t.Fatal(err)
		}
		if stored, _ := s.Get(ctx, rec.ID); got.Attempts != 2 || stored.Attempts != 2 || stored.LastError != "analyzer x: boom again" || stored.Decision.By != "ops" {
			t.Errorf("returned attempts %d; stored %d %q %+v", got.Attempts, stored.Attempts, stored.LastError, stored.Decision)
		}
	})
	t.Run("not held", func(t *testing.T) {
		s := memStore(t)
		rec := heldOne(t, s, 1, time.Now().Add(time.Hour))[0]
		if _, _, err := s.DecideHeld(ctx, rec.ID, byHand("hide"), true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.DecideHeld(ctx, rec.ID, byHand("delete"), true); !errors.Is(err, ErrBusy) {
			t.Errorf("second decision: %v", err)
		}
		rec.ID = "nope"
		if _, _, err := s.DecideHeld(ctx, rec.ID, byHand("hide"), true); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown id: %v", err)
		}
	})
}

// TestDecideHeldRacesRequeue runs a human's decision against the retry
// that comes due at the same moment, many times: each time exactly one
// wins, and the comment is in the queue once, as the winner left it.
func TestDecideHeldRacesRequeue(t *testing.T) {
	ctx := context.Background()
	s := memStore(t)
	const rounds = 200
	var recs []Record
	decided := 0
	for range rounds {
		rec := heldOne(t, s, 1, time.Now().Add(-time.Second))[0]
		recs = append(recs, rec)
		var wg sync.WaitGroup
		var derr error
		wg.Add(2)
		go func() { defer wg.Done(); _, _, derr = s.DecideHeld(ctx, rec.ID, byHand("hide"), true) }()
		go func() {
			defer wg.Done()
			for {
				// A conflicting commit is Requeue's to retry, like the
				// pipeline's ticker does.
				if _, err := s.Requeue(ctx, time.Now()); err == nil {
					return
				}
			}
		}()
		wg.Wait()
		switch {
		case derr == nil:
			decided++
		case !errors.Is(derr, ErrBusy):
			t.Fatalf("decide: %v", derr)
		}
	}
	t.Logf("decided by hand %d of %d times", decided, rounds)
	work, _, err := s.Queued(ctx, 0, 10*rounds, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, w := range work {
		seen[w.Record.ID]++
		if w.Record.State == StateDecided {
			decided--
		}
	}
	for _, rec := range recs {
		if seen[rec.ID] != 1 {
			t.Errorf("%s is in the queue %d times", rec.ID, seen[rec.ID])
		}
	}
	if decided != 0 {
		t.Errorf("%d decisions by hand are not in the queue as decided", decided)
	}
	if n, _ := s.Requeue(ctx, time.Now().Add(time.Hour)); n != 0 {
		t.Errorf("%d retries left behind", n)
	}
	if q, h, _ := s.Depth(); q != rounds || h != 0 {
		t.Errorf("depth %d queued, %d held; want %d, 0", q, h, rounds)
	}
}
