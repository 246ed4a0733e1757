package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/moderatorbot/moderator/sdk"
)

func memStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func comments(n int, version string) []sdk.Comment {
	out := make([]sdk.Comment, n)
	for i := range out {
		out[i] = sdk.Comment{ID: fmt.Sprint(i), PostID: "p", Text: fmt.Sprintf("comment %d", i), Version: version}
	}
	return out
}

func TestIntakeDedupesAcrossPathsAndKeepsEdits(t *testing.T) {
	s := memStore(t)
	ctx := context.Background()
	res, err := s.Intake(ctx, "x", "webhook", comments(3, ""), nil)
	if err != nil || len(res.New) != 3 || res.Duplicates != 0 {
		t.Fatalf("first intake %+v %v", res, err)
	}
	// The same comments by poll, one of them twice in the same batch, plus one edit.
	batch := append(comments(3, ""), comments(1, "")...)
	batch = append(batch, sdk.Comment{ID: "1", PostID: "p", Text: "edited", Version: "2"})
	res, err = s.Intake(ctx, "x", "poll", batch, nil)
	if err != nil || len(res.New) != 1 || res.Duplicates != 4 {
		t.Fatalf("second intake %+v %v", res, err)
	}
	// Another connector instance with the same comment ids is not a duplicate.
	res, _ = s.Intake(ctx, "y", "poll", comments(3, ""), nil)
	if len(res.New) != 3 {
		t.Fatalf("other connector %+v", res)
	}
	work, _, err := s.Queued(ctx, 0, 100, nil)
	if err != nil || len(work) != 7 {
		t.Fatalf("queued %d %v", len(work), err)
	}
	if work[3].Record.Comment.Text != "edited" || work[3].Record.State != StateSeen || work[3].Record.Source != "poll" {
		t.Errorf("edit record %+v", work[3].Record)
	}
	for i := 1; i < len(work); i++ {
		if work[i].Seq <= work[i-1].Seq {
			t.Errorf("queue out of order at %d", i)
		}
	}
}

func TestConcurrentIntakeStoresOnce(t *testing.T) {
	s := memStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Intake(ctx, "x", "webhook", comments(200, ""), nil)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += len(res.New)
			mu.Unlock()
		}()
	}
	wg.Wait()
	work, _, _ := s.Queued(ctx, 0, 10000, nil)
	if total != 200 || len(work) != 200 {
		t.Errorf("stored %d new, %d queued; want 200 each", total, len(work))
	}
}

// The pipeline's scan gets new records from memory, not from disk; what it
// gets must be exactly what is on disk, and a later scan (a batch that
// failed sends the pipeline back to the start) must read the state saved
// since, not the record as it was taken in.
func TestQueuedHandsOffFreshRecordsOnce(t *testing.T) {
	s := memStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 8 { // the same comments at once: most commits conflict and retry
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Intake(ctx, "x", "webhook", comments(100, ""), nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(s.fresh) != 100 {
		t.Fatalf("%d records handed off, want the 100 committed (none from failed commits)", len(s.fresh))
	}
	work, _, err := s.Queued(ctx, 0, 1000, nil)
	if err != nil || len(work) != 100 {
		t.Fatalf("queued %d, %v", len(work), err)
	}
	if len(s.fresh) != 0 {
		t.Fatalf("%d handed-off records left after the scan took them", len(s.fresh))
	}
	for _, w := range work {
		disk, err := s.Get(ctx, w.Record.ID)
		if err != nil || !reflect.DeepEqual(disk, w.Record) {
			t.Fatalf("handed off %+v, disk has %+v (%v)", w.Record, disk, err)
		}
	}
	rec := work[0].Record
	rec.State = StateDecided
	rec.Decision = &Decision{Action: "hide"}
	if err := s.Save(ctx, []Step{{Seq: work[0].Seq, Record: rec}}); err != nil {
		t.Fatal(err)
	}
	again, _, err := s.Queued(ctx, 0, 1, nil)
	if err != nil || len(again) != 1 || again[0].Record.State != StateDecided {
		t.Fatalf("rescan read %+v, %v; want the decided record from disk", again, err)
	}
}

func TestCursorMovesWithItsComments(t *testing.T) {
	s := memStore(t)
	ctx := context.Background()
	if _, err := s.Intake(ctx, "x", "poll", comments(2, ""), []CursorUpdate{{Connector: "x", PostID: "p", Cursor: []byte("c2")}}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Cursor("x", "p"); string(c) != "c2" {
		t.Errorf("cursor %q", c)
	}
	// A poll with nothing new still moves the cursor.
	if _, err := s.Intake(ctx, "x", "poll", nil, []CursorUpdate{{Connector: "x", PostID: "p", Cursor: []byte("c3")}}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Cursor("x", "p"); string(c) != "c3" {
		t.Errorf("cursor %q", c)
	}
	// A failed intake (cancelled) leaves it where it was.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Intake(cctx, "x", "poll", comments(1, "9"), []CursorUpdate{{Connector: "x", PostID: "p", Cursor: []byte("c4")}}); err == nil {
		t.Fatal("cancelled intake succeeded")
	}
	if c, _ := s.Cursor("x", "p"); string(c) != "c3" {
		t.Errorf("cursor moved without its comments: %q", c)
	}
}

func TestSaveDelayRequeue(t *testing.T) {
	s := memStore(t)
	ctx := context.Background()
	s.Intake(ctx, "x", "poll", comments(3, ""), nil)
	work, _, _ := s.Queued(ctx, 0, 10, nil)

	decided := work[0].Record
	decided.State = StateDecided
	decided.Decision = &Decision{Action: "review", Reason: "r", Rule: "rule1"}
	decided.InReview = true
	held := work[1].Record
	held.State, held.RetryAt = StateHeld, time.Now().Add(time.Hour)
	if err := s.Save(ctx, []Step{{Seq: work[0].Seq, Record: decided, Done: true}, {Seq: work[1].Seq, Record: held, Delay: true}}); err != nil {
		t.Fatal(err)
	}
	left, _, _ := s.Queued(ctx, 0, 10, nil)
	if len(left) != 1 || left[0].Record.ID != work[2].Record.ID {
		t.Fatalf("queue after save: %+v", left)
	}
	if q, h, _ := s.Depth(); q != 1 || h != 1 {
		t.Errorf("depth %d queued %d held", q, h)
	}
	if n, _ := s.Requeue(ctx, time.Now()); n != 0 {
		t.Errorf("requeued %d before due", n)
	}
	if n, _ := s.Requeue(ctx, time.Now().Add(2*time.Hour)); n != 1 {
		t.Errorf("requeued %d when due", n)
	}
	left, _, _ = s.Queued(ctx, 0, 10, func(seq uint64) bool { return seq <= work[2].Seq })
	if len(left) != 1 || left[0].Record.State != StateHeld {
		t.Errorf("requeued work %+v", left)
	}

	rev, _ := s.List(ctx, Filter{Review: true})
	if len(rev) != 1 || rev[0].ID != decided.ID {
		t.Errorf("review queue %+v", rev)
	}
	got, err := s.Get(ctx, decided.ID)
	if err != nil || got.Decision.Rule != "rule1" {
		t.Errorf("get %+v %v", got, err)
	}
	if _, err := s.Get(ctx, "nope"); err == nil {
		t.Error("get of unknown id succeeded")
	}
	all, _ := s.List(ctx, Filter{})
	if len(all) != 3 {
		t.Errorf("list %d", len(all))
	}
	byRule, _ := s.List(ctx, Filter{Rule: "rule1", States: []State{StateDecided}})
	if len(byRule) != 1 {
		t.Errorf("by rule %d", len(byRule))
	}
}

func TestIntakeSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Intake(ctx, "x", "webhook", comments(5, ""), nil)
	work, _, _ := s.Queued(ctx, 0, 10, nil)
	s.Close()
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	again, _, _ := s.Queued(ctx, 0, 10, nil)
	if len(again) != 5 {
		t.Fatalf("%d queued after reopen", len(again))
	}
	res, _ := s.Intake(ctx, "x", "poll", comments(6, ""), nil)
	if len(res.New) != 1 || res.Duplicates != 5 {
		t.Errorf("after reopen %+v", res)
	}
	more, _, _ := s.Queued(ctx, 0, 10, func(seq uint64) bool { return seq <= work[4].Seq })
	if len(more) != 1 || more[0].Seq <= work[4].Seq {
		t.Errorf("sequence went backwards after reopen: %+v", more)
	}
}

func TestTargets(t *testing.T) {
	s := memStore(t)
	ctx := context.Background()
	if err := s.AddTarget(ctx, Target{Connector: "x", Kind: "post", ID: "1", PollInterval: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTarget(ctx, Target{Connector: "x", Kind: "post", ID: "1"}); !errors.Is(err, ErrExists) {
		t.Errorf("second add: %v", err)
	}
	s.AddTarget(ctx, Target{Connector: "x", Kind: "author", ID: "1"})
	ts, _ := s.Targets(ctx)
	if len(ts) != 2 || ts[1].PollInterval != time.Minute || ts[0].Source != "runtime" {
		t.Errorf("targets %+v", ts)
	}
	if err := s.RemoveTarget(ctx, "x", "post", "1"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveTarget(ctx, "x", "post", "1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove: %v", err)
	}
	if ts, _ := s.Targets(ctx); len(ts) != 1 {
		t.Errorf("after remove %+v", ts)
	}
}

func TestIntakeOfAHugeBatchLosesNothing(t *testing.T) {
	// A small table, so that a batch needs many transactions.
	s, err := Open(t.TempDir(), Options{MemTableSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	// Far more than one Badger transaction holds, with raw payloads of many
	// sizes, so that the transaction fills up at every possible point of
	// writing one comment (its record, its index entry, its queue entry).
	total := 0
	for round := range 3 {
		conn := fmt.Sprint("c", round)
		big := make([]sdk.Comment, 5000)
		for i := range big {
			big[i] = sdk.Comment{ID: fmt.Sprint(i), PostID: "p", Text: fmt.Sprintf("comment %d", i), Raw: make([]byte, (i*7+round*13)%301)}
		}
		res, err := s.Intake(ctx, conn, "poll", big, []CursorUpdate{{Connector: conn, PostID: "p", Cursor: []byte("end")}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.New) != len(big) || res.Duplicates != 0 {
			t.Errorf("round %d: %d new, %d duplicates; want %d new", round, len(res.New), res.Duplicates, len(big))
		}
		if c, _ := s.Cursor(conn, "p"); string(c) != "end" {
			t.Errorf("cursor %q", c)
		}
		total += len(big)
	}
	if w, _, _ := s.Queued(ctx, 0, 1000000, nil); len(w) != total {
		t.Errorf("%d queued, want %d", len(w), total)
	}
}

func TestWatermarkWaitsForOpenIntakes(t *testing.T) {
	s := memStore(t)
	ctx := context.Background()
	s.Intake(ctx, "x", "webhook", comments(2, ""), nil)
	work, next, _ := s.Queued(ctx, 0, 10, nil)
	if len(work) != 2 || next != work[1].Seq+1 {
		t.Fatalf("work %d, next %d", len(work), next)
	}
	// A sequence taken by a transaction that has not committed holds the
	// watermark, and so the next scan's start, down.
	seq, _ := s.nextSeq()
	if w := s.Watermark(); w != seq {
		t.Errorf("watermark %d with %d open, want %d", w, seq, seq)
	}
	_, next, _ = s.Queued(ctx, next, 10, nil)
	if next > seq {
		t.Errorf("a scan moved past the open sequence %d to %d", seq, next)
	}
	s.seqsDone([]uint64{seq})
	if w := s.Watermark(); w != seq+1 {
		t.Errorf("watermark %d after it closed, want %d", w, seq+1)
	}
	// A limit stops the scan where it stopped looking.
	s.Intake(ctx, "y", "webhook", comments(5, ""), nil)
	page, next, _ := s.Queued(ctx, 0, 3, nil)
	rest, _, _ := s.Queued(ctx, next, 10, nil)
	if len(page) != 3 || len(rest) != 4 || rest[0].Seq <= page[2].Seq {
		t.Errorf("paging: %d then %d (next %d)", len(page), len(rest), next)
	}
}

func TestWatermarkAfterReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, _ := Open(dir, Options{})
	s.Intake(ctx, "x", "webhook", comments(3, ""), nil)
	work, _, _ := s.Queued(ctx, 0, 10, nil)
	s.Close()
	s, _ = Open(dir, Options{})
	defer s.Close()
	if w := s.Watermark(); w != work[2].Seq+1 {
		t.Errorf("watermark %d after reopen, want %d", w, work[2].Seq+1)
	}
}

func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	src, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	res, _ := src.Intake(ctx, "x", "webhook", comments(3, ""), []CursorUpdate{{Connector: "x", PostID: "p", Cursor: []byte("c")}})
	src.AddTarget(ctx, Target{Connector: "x", Kind: "post", ID: "1"})
	src.PluginKV("spam").Set(ctx, "k", []byte("v"), 0)
	var buf bytes.Buffer
	if err := src.Backup(&buf); err != nil {
		t.Fatal(err)
	}

	dst, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if !dst.Empty() {
		t.Fatal("a new store is not empty")
	}
	if err := dst.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if dst.Empty() {
		t.Error("restored store is empty")
	}
	for _, id := range res.New {
		if _, err := dst.Get(ctx, id); err != nil {
			t.Errorf("record %s: %v", id, err)
		}
	}
	if w, _, _ := dst.Queued(ctx, 0, 10, nil); len(w) != 3 {
		t.Errorf("%d queued after restore", len(w))
	}
	if c, _ := dst.Cursor("x", "p"); string(c) != "c" {
		t.Errorf("cursor %q", c)
	}
	if ts, _ := dst.Targets(ctx); len(ts) != 1 {
		t.Errorf("targets %+v", ts)
	}
	if v, ok, _ := dst.PluginKV("spam").Get(ctx, "k"); !ok || string(v) != "v" {
		t.Errorf("plugin KV %q %v", v, ok)
	}
	// Restored comments are still duplicates.
	if again, _ := dst.Intake(ctx, "x", "poll", comments(3, ""), nil); len(again.New) != 0 {
		t.Errorf("restored comments taken in again: %+v", again)
	}
}

// The depth gauges are kept as work comes and goes; they must agree with a
// count of the queue on disk, also after a reopen.
func TestDepthAgreesWithTheQueueOnDisk(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	check := func(when string) {
		t.Helper()
		q, h, _ := s.Depth()
		cq, ch, err := s.countWork()
		if err != nil || int64(q) != cq || int64(h) != ch {
			t.Fatalf("%s: depth %d queued %d held, disk has %d and %d (%v)", when, q, h, cq, ch, err)
		}
	}
	if _, err := s.Intake(ctx, "x", "poll", comments(50, ""), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Intake(ctx, "x", "webhook", comments(60, ""), nil); err != nil { // 50 duplicates
		t.Fatal(err)
	}
	check("after intake")
	work, _, _ := s.Queued(ctx, 0, 100, nil)
	var steps []Step
	for i, w := range work[:30] {
		st := Step{Seq: w.Seq, Record: w.Record}
		switch i % 3 {
		case 0:
			st.Done = true
		case 1:
			st.Delay, st.Record.RetryAt = true, time.Now().Add(-time.Second)
		}
		steps = append(steps, st)
	}
	if err := s.Save(ctx, steps); err != nil {
		t.Fatal(err)
	}
	check("after save")
	if n, err := s.Requeue(ctx, time.Now()); err != nil || n != 10 {
		t.Fatalf("requeued %d, %v", n, err)
	}
	check("after requeue")
	if q, h, _ := s.Depth(); q != 50 || h != 0 {
		t.Errorf("depth %d queued %d held, want 50 and 0", q, h)
	}
	s.Close()
	if s, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check("after reopen")
	if q, _, _ := s.Depth(); q != 50 {
		t.Errorf("%d queued after reopen, want 50", q)
	}
}

// rawValue is what the store holds under key, nil when nothing.
func rawValue(t *testing.T, s *Store, key []byte) []byte {
	t.Helper()
	var out []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStepsRewriteTheStateNotTheComment(t *testing.T) {
	s := memStore(t)
	ctx := context.Background()
	c := sdk.Comment{ID: "1", PostID: "p", Text: "first words", Raw: bytes.Repeat([]byte(`{"text":"first words","padding":"x"}`), 40)}
	if _, err := s.Intake(ctx, "x", "webhook", []sdk.Comment{c}, nil); err != nil {
		t.Fatal(err)
	}
	work, _, _ := s.Queued(ctx, 0, 10, nil)
	id := work[0].Record.ID
	taken := rawValue(t, s, recordKey(id))
	if rawValue(t, s, stateKey(id)) != nil {
		t.Fatal("intake wrote a state entry; a new record's state is in its snapshot")
	}

	rec := work[0].Record
	rec.State = StateActed
	rec.Decision = &Decision{Action: "hide", Rule: "r1", Reason: "because", Platform: &PlatformAnswer{Changed: true}}
	if err := s.Save(ctx, []Step{{Seq: work[0].Seq, Record: rec, Done: true}}); err != nil {
		t.Fatal(err)
	}
	rec.Overrides = []Override{{Action: "unhide", By: "ops"}}
	if err := s.Save(ctx, []Step{{Record: rec}}); err != nil {
		t.Fatal(err)
	}

	if after := rawValue(t, s, recordKey(id)); !bytes.Equal(after, taken) {
		t.Error("saving a step rewrote the comment snapshot")
	}
	state := rawValue(t, s, stateKey(id))
	if state == nil || len(state) >= len(taken) {
		t.Errorf("state entry is %d bytes, the snapshot %d: want a smaller one without the comment", len(state), len(taken))
	}
	var st Record
	if err := decodeRecord(state, &st); err != nil || st.Comment.Text != "" || st.Comment.Raw != nil {
		t.Errorf("state entry holds comment %+v (%v)", st.Comment, err)
	}

	got, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Comment.Text != "first words" || !bytes.Equal(got.Comment.Raw, c.Raw) || got.Comment.Connector != "x" {
		t.Errorf("comment read back %+v", got.Comment)
	}
	if got.State != StateActed || got.Decision == nil || got.Decision.Rule != "r1" || len(got.Overrides) != 1 || got.Source != "webhook" {
		t.Errorf("state read back %+v", got)
	}
	listed, err := s.List(ctx, Filter{States: []State{StateActed}})
	if err != nil || len(listed) != 1 || listed[0].Comment.Text != "first words" || len(listed[0].Overrides) != 1 {
		t.Errorf("listed %+v %v", listed, err)
	}
}

// Earlier versions rewrote the whole record at every step; those records
// have no state entry and read as they were written.
func TestReadsRecordsWrittenWhole(t *testing.T) {
	s := memStore(t)
	ctx := context.Background()
	now := time.Now().UTC()
	old := Record{ID: RecordID("x", "7", ""), Comment: sdk.Comment{ID: "7", PostID: "p", Text: "old", Connector: "x"}, Source: "poll",
		State: StateDecided, SeenAt: now, UpdatedAt: now, Decision: &Decision{Action: "review", Rule: "old-rule"}}
	err := s.db.Update(func(txn *badger.Txn) error {
		if err := putRecord(txn, &old, 0); err != nil {
			return err
		}
		return txn.Set(timeKey(nsByTime, now, old.ID), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, old.ID)
	if err != nil || got.State != StateDecided || got.Decision == nil || got.Decision.Rule != "old-rule" || got.Comment.Text != "old" {
		t.Fatalf("old record read back %+v %v", got, err)
	}
	// Its next step goes to a state entry, over the state it was written with.
	got.Overrides = []Override{{Action: "approve"}}
	got.State = StateActed
	if err := s.Save(ctx, []Step{{Record: got}}); err != nil {
		t.Fatal(err)
	}
	again, _ := s.Get(ctx, old.ID)
	if again.State != StateActed || len(again.Overrides) != 1 || again.Decision.Rule != "old-rule" || again.Comment.Text != "old" {
		t.Errorf("after a step %+v", again)
	}
}

// A state entry can outlive its snapshot (its retention counts from the
// last step); when the comment comes back and is taken in anew, the old
// state must not pass for the new record's.
func TestStaleStateIsNotTheNewSnapshots(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := open(t, dir)
	c := sdk.Comment{ID: "9", PostID: "p", Text: "hello"}
	if _, err := s.Intake(ctx, "x", "poll", []sdk.Comment{c}, nil); err != nil {
		t.Fatal(err)
	}
	work, _, _ := s.Queued(ctx, 0, 10, nil)
	rec := work[0].Record
	rec.State, rec.Decision = StateActed, &Decision{Action: "hide", Rule: "old"}
	if err := s.Save(ctx, []Step{{Seq: work[0].Seq, Record: rec, Done: true}}); err != nil {
		t.Fatal(err)
	}
	// The snapshot expires; the state does not yet.
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(recordKey(rec.ID)) }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond) // a later SeenAt, as a real return would have
	if res, err := s.Intake(ctx, "x", "poll", []sdk.Comment{c}, nil); err != nil || len(res.New) != 1 {
		t.Fatalf("second intake %+v %v", res, err)
	}
	got, err := s.Get(ctx, rec.ID)
	if err != nil || got.State != StateSeen || got.Decision != nil {
		t.Errorf("the new record reads as %s with decision %+v (%v); want seen and undecided", got.State, got.Decision, err)
	}
	// After a restart the queue is read from disk, not from the hand-off.
	s.Close()
	s = open(t, dir)
	defer s.Close()
	work, _, err = s.Queued(ctx, 0, 10, nil)
	if err != nil || len(work) != 1 || work[0].Record.State != StateSeen || work[0].Record.Decision != nil {
		t.Fatalf("queued after restart: %+v %v", work, err)
	}
}

// The review queue is listed from its own index; it must give what a walk
// over every record would: the same records, newest first, paged the same.
func TestReviewQueueListsLikeTheTimeIndex(t *testing.T) {
	s := memStore(t)
	ctx := context.Background()
	for i := range 40 {
		// One intake each: every record has its own SeenAt.
		if _, err := s.Intake(ctx, "x", "poll", []sdk.Comment{{ID: fmt.Sprint(i), PostID: "p", Text: "t"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	work, _, _ := s.Queued(ctx, 0, 100, nil)
	var steps []Step
	for i, w := range work {
		rec := w.Record
		rec.State = StateDecided
		rec.Decision = &Decision{Action: "approve"}
		if i%3 == 0 {
			rec.Decision.Action, rec.InReview = "review", true
		}
		steps = append(steps, Step{Seq: w.Seq, Record: rec, Done: true})
	}
	if err := s.Save(ctx, steps); err != nil {
		t.Fatal(err)
	}
	// One leaves the queue the way an override takes it out.
	left, _ := s.Get(ctx, work[3].Record.ID)
	left.InReview = false
	left.Overrides = []Override{{Action: "approve", By: "ops"}}
	if err := s.Save(ctx, []Step{{Record: left, LeftReview: true}}); err != nil {
		t.Fatal(err)
	}

	everything, err := s.List(ctx, Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range everything {
		if r.InReview {
			want = append(want, r.ID)
		}
	}
	if len(want) != 13 {
		t.Fatalf("%d records in review by the time index; want 13", len(want))
	}
	ids := func(recs []Record) []string {
		var out []string
		for _, r := range recs {
			out = append(out, r.ID)
		}
		return out
	}
	// Pages of two, so that the listing keeps only a few pages at a time.
	var got []string
	var before time.Time
	for range 20 {
		page, err := s.List(ctx, Filter{Review: true, Limit: 2, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, ids(page)...)
		before = page[len(page)-1].SeenAt
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paged review queue %v; want %v", got, want)
	}
	all, err := s.List(ctx, Filter{Review: true, Limit: 100})
	if err != nil || !reflect.DeepEqual(ids(all), want) {
		t.Errorf("review queue in one page %v (%v); want %v", ids(all), err, want)
	}
	other, _ := s.List(ctx, Filter{Review: true, Connector: "y"})
	if len(other) != 0 {
		t.Errorf("review queue of another connector: %v", ids(other))
	}
	// The listing skips a record that left, so only the index itself shows
	// that leaving took its entry out (else it would be read on every
	// listing until its TTL, 30 days by default).
	var indexed []string
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{nsReview}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			indexed = append(indexed, string(it.Item().Key()[1:]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(indexed)
	sorted := slices.Sorted(slices.Values(want))
	if !slices.Equal(indexed, sorted) {
		t.Errorf("review index holds %v; want %v (%s left the queue)", indexed, sorted, left.ID)
	}
}

// BenchmarkListReview lists a review queue of 10 among 20,000 records.
func BenchmarkListReview(b *testing.B) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Intake(ctx, "x", "poll", comments(20000, ""), nil); err != nil {
		b.Fatal(err)
	}
	work, _, _ := s.Queued(ctx, 0, 20000, nil)
	steps := make([]Step, len(work))
	for i, w := range work {
		rec := w.Record
		rec.State, rec.Decision, rec.InReview = StateDecided, &Decision{Action: "approve"}, i%2000 == 0
		steps[i] = Step{Seq: w.Seq, Record: rec, Done: true}
	}
	if err := s.Save(ctx, steps); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		recs, err := s.List(ctx, Filter{Review: true})
		if err != nil || len(recs) != 10 {
			b.Fatalf("%d records in review (%v)", len(recs), err)
		}
	}
}

// The comments of one intake share their seen time: paging must go on from
// the last id of a page, where paging by time alone would skip the rest.
func TestPagingThroughOneIntake(t *testing.T) {
	s := memStore(t)
	ctx := context.Background()
	if _, err := s.Intake(ctx, "x", "poll", comments(7, ""), nil); err != nil {
		t.Fatal(err)
	}
	work, _, _ := s.Queued(ctx, 0, 100, nil)
	var steps []Step
	for i, w := range work {
		rec := w.Record
		rec.State, rec.Decision, rec.InReview = StateDecided, &Decision{Action: "approve"}, i%2 == 0
		steps = append(steps, Step{Seq: w.Seq, Record: rec, Done: true})
	}
	if err := s.Save(ctx, steps); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		review bool
		want   int
	}{{"decisions", false, 7}, {"review queue", true, 4}} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]int{}
			var last *Record
			var order []string
			for range 10 {
				f := Filter{Review: tc.review, Limit: 2}
				if last != nil {
					f.Before, f.BeforeID = last.SeenAt, last.ID
				}
				page, err := s.List(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				for _, r := range page {
					seen[r.ID]++
					order = append(order, r.ID)
				}
				last = &page[len(page)-1]
			}
			if len(seen) != tc.want || len(order) != tc.want {
				t.Errorf("paged through %d records (%d distinct); want each of %d once", len(order), len(seen), tc.want)
			}
			if !slices.IsSortedFunc(order, func(a, b string) int { return strings.Compare(b, a) }) {
				t.Errorf("order %v: want newest first, then by id", order)
			}
		})
	}
}

// The pipeline's scans take handed-off records without reading the store
// while every entry they could meet was handed off, and read it otherwise.
// Deleting the records behind the store's back tells the two apart: a scan
// that reads the store finds no record for those entries and skips them.
func TestQueuedReadsTheStoreOnlyWhenItMust(t *testing.T) {
	ctx := context.Background()
	// caughtUp returns a store whose pipeline has taken everything so far,
	// and where its next scan starts.
	caughtUp := func(t *testing.T, s *Store) uint64 {
		t.Helper()
		if _, err := s.Intake(ctx, "warm", "poll", comments(1, ""), nil); err != nil {
			t.Fatal(err)
		}
		work, next, err := s.Queued(ctx, 0, 10, nil)
		if err != nil || len(work) == 0 {
			t.Fatalf("first scan: %d, %v", len(work), err)
		}
		return next
	}
	forgetRecords := func(t *testing.T, s *Store, ids []string) {
		t.Helper()
		err := s.db.Update(func(txn *badger.Txn) error {
			for _, id := range ids {
				if err := txn.Delete(recordKey(id)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Run("handed off: served from memory", func(t *testing.T) {
		s := memStore(t)
		from := caughtUp(t, s)
		res, _ := s.Intake(ctx, "x", "webhook", comments(5, ""), nil)
		forgetRecords(t, s, res.New)
		work, next, err := s.Queued(ctx, from, 10, nil)
		if err != nil || len(work) != 5 {
			t.Fatalf("scan from %d: %d entries, %v; want the 5 handed off", from, len(work), err)
		}
		if next != s.Watermark() {
			t.Errorf("next %d, want the watermark %d", next, s.Watermark())
		}
		if again, _, _ := s.Queued(ctx, next, 10, nil); len(again) != 0 {
			t.Errorf("a second scan took %d again", len(again))
		}
	})
	t.Run("requeued: read from the store", func(t *testing.T) {
		s := memStore(t)
		from := caughtUp(t, s)
		s.Intake(ctx, "x", "webhook", comments(1, ""), nil)
		work, from, _ := s.Queued(ctx, from, 10, nil)
		rec := work[0].Record
		rec.RetryAt = time.Now().Add(-time.Second)
		if err := s.Save(ctx, []Step{{Seq: work[0].Seq, Record: rec, Delay: true}}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Requeue(ctx, time.Now()); n != 1 || err != nil {
			t.Fatalf("requeued %d, %v", n, err)
		}
		back, _, err := s.Queued(ctx, from, 10, nil)
		if err != nil || len(back) != 1 || back[0].Record.ID != rec.ID {
			t.Fatalf("scan from %d after the requeue: %+v, %v; want %s back", from, back, err, rec.ID)
		}
	})
	t.Run("more than the hand-off holds: read from the store", func(t *testing.T) {
		s := memStore(t)
		from := caughtUp(t, s)
		s.Intake(ctx, "x", "webhook", comments(maxFresh+5, ""), nil)
		work, _, err := s.Queued(ctx, from, 2*maxFresh, nil)
		if err != nil || len(work) != maxFresh+5 {
			t.Fatalf("scan from %d: %d entries, %v; want %d", from, len(work), err, maxFresh+5)
		}
	})
	t.Run("queued before a restart: read from the store", func(t *testing.T) {
		dir := t.TempDir()
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.Intake(ctx, "x", "webhook", comments(3, ""), nil)
		s.Close()
		s, err = Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		work, _, err := s.Queued(ctx, 1, 10, nil)
		if err != nil || len(work) != 3 {
			t.Fatalf("scan from 1 after reopening: %d entries, %v; want the 3 queued before", len(work), err)
		}
	})
	t.Run("committed out of order: only below the watermark", func(t *testing.T) {
		s := memStore(t)
		from := caughtUp(t, s)
		// An intake that has handed its entry off and not committed yet.
		open, _ := s.nextSeq()
		s.handOff([]uint64{open}, []Record{{ID: "x/pending", Comment: sdk.Comment{ID: "pending"}}})
		s.Intake(ctx, "x", "webhook", comments(2, ""), nil)
		work, next, _ := s.Queued(ctx, from, 10, nil)
		if len(work) != 0 || next != open {
			t.Fatalf("scan with %d open: %d entries, next %d; want none, next %d", open, len(work), next, open)
		}
		// Its commit fails: the pipeline is woken to take the others.
		for len(s.Notify()) > 0 {
			<-s.Notify()
		}
		s.takeBack([]uint64{open})
		s.seqsDone([]uint64{open})
		select {
		case <-s.Notify():
		default:
			t.Fatal("a failed commit did not wake the pipeline")
		}
		work, _, _ = s.Queued(ctx, next, 10, nil)
		if len(work) != 2 {
			t.Fatalf("after the open sequence closed: %d entries, want the 2 committed", len(work))
		}
	})
}

// A scanner that works as the pipeline does (a cursor; a batch in hand,
// skipped by the next scan, saved after it; a rescan from 0 now and then),
// against intakes that run concurrently on overlapping comments (so commits
// conflict and are taken back) and a requeue of held work: every comment
// version is handed out exactly once per time it was queued, whether the
// scan was served from the hand-off or read from the store.
func TestScansHandOutEveryEntryOnce(t *testing.T) {
	for _, limit := range []int{1, 7, 100} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			s := memStore(t)
			ctx := context.Background()
			const writers, perWriter, distinct = 6, 300, 1000
			id := func(w, i int) string { return fmt.Sprint((w*131 + i*7) % distinct) } // writers overlap
			taken := map[string]bool{}
			for w := range writers {
				for i := range perWriter {
					taken[id(w, i)] = true
				}
			}
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := 0; i < perWriter; i += 10 {
						cs := make([]sdk.Comment, 10)
						for j := range cs {
							cs[j] = sdk.Comment{ID: id(w, i+j), PostID: "p", Text: "t"}
						}
						if _, err := s.Intake(ctx, "x", "webhook", cs, nil); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			intakesDone := make(chan struct{})
			go func() { wg.Wait(); close(intakesDone) }()

			handed := map[string]int{}
			held := map[string]bool{} // held once, back through Requeue
			var from uint64
			var inHand []Work
			scans := 0
			scan := func() int {
				scans++
				if scans%50 == 0 {
					from = 0 // as after a failed batch
				}
				busy := map[uint64]bool{}
				for _, w := range inHand {
					busy[w.Seq] = true
				}
				work, next, err := s.Queued(ctx, from, limit, func(seq uint64) bool { return busy[seq] })
				if err != nil {
					t.Fatal(err)
				}
				from = next
				for _, w := range work {
					if busy[w.Seq] {
						t.Fatalf("entry %d handed out while in hand", w.Seq)
					}
					handed[w.Record.Comment.ID]++
				}
				// The batch in hand is done now: every comment ending in 3
				// is held the first time, the rest decided.
				steps := make([]Step, 0, len(inHand))
				for _, w := range inHand {
					rec := w.Record
					if c := rec.Comment.ID; strings.HasSuffix(c, "3") && !held[c] {
						held[c] = true
						rec.State, rec.RetryAt = StateHeld, time.Now().Add(-time.Second)
						steps = append(steps, Step{Seq: w.Seq, Record: rec, Delay: true})
						continue
					}
					rec.State, rec.Decision = StateDecided, &Decision{Action: "approve"}
					steps = append(steps, Step{Seq: w.Seq, Record: rec, Done: true})
				}
				if err := s.Save(ctx, steps); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Requeue(ctx, time.Now()); err != nil {
					t.Fatal(err)
				}
				inHand = work
				return len(work) + len(steps)
			}
			for running := true; running; {
				select {
				case <-intakesDone:
					running = false
				default:
					scan()
				}
			}
			for quiet := 0; quiet < 3; {
				if scan() == 0 {
					quiet++
				} else {
					quiet = 0
				}
			}
			if len(handed) != len(taken) {
				t.Errorf("%d comments handed out, want the %d taken in", len(handed), len(taken))
			}
			for c, n := range handed {
				if want := map[bool]int{false: 1, true: 2}[held[c]]; n != want {
					t.Errorf("comment %s handed out %d times, want %d", c, n, want)
				}
			}
			if q, h, _ := s.Depth(); q != 0 || h != 0 {
				t.Errorf("left %d queued, %d held", q, h)
			}
		})
	}
}

// TestRestoreRefusesWhatIsNotAWholeBackup: every way a file can fail to be a
// whole backup is found by VerifyBackup, and Restore into an empty store
// loads none of it once a caller drops what a failed load left.
func TestRestoreRefusesWhatIsNotAWholeBackup(t *testing.T) {
	ctx := context.Background()
	src, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	// Enough to take several chunks.
	for i := range 30 {
		if _, err := src.Intake(ctx, "x", "poll", comments(100, fmt.Sprintf("batch %d ", i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := src.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	whole := buf.Bytes()
	if err := VerifyBackup(bytes.NewReader(whole)); err != nil {
		t.Fatalf("a whole backup: %v", err)
	}
	firstChunk := len(backupMagic) + 4 + int(binary.BigEndian.Uint32(whole[len(backupMagic):]))
	flipped := bytes.Clone(whole)
	flipped[len(whole)/2] ^= 0x40
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "the file is empty"},
		{"another file", []byte("[moderator]\ndata_dir = \"x\"\n"), "does not start as a backup"},
		{"Badger's bare stream", whole[len(backupMagic):], "does not start as a backup"},
		{"only the magic", whole[:len(backupMagic)], "ends after 0 bytes"},
		{"cut at a chunk boundary", whole[:firstChunk], "before its end"},
		{"cut inside a chunk", whole[:firstChunk-7], "before its end"},
		{"cut in the checksum", whole[:len(whole)-5], "before its end"},
		{"a flipped bit", flipped, ""}, // a bad length, a bad chunk or a bad sum, depending on where
		{"bytes after the end", append(bytes.Clone(whole), 0), "bytes follow the end"},
		{"a huge chunk", append([]byte(backupMagic), 0xff, 0xff, 0xff, 0xff), "corrupt after 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyBackup(bytes.NewReader(tt.data))
			if !errors.Is(err, ErrBadBackup) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("verify: %v, want ErrBadBackup saying %q", err, tt.want)
			}
			dst, err := Open(t.TempDir(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer dst.Close()
			if err := dst.Restore(bytes.NewReader(tt.data)); !errors.Is(err, ErrBadBackup) {
				t.Errorf("restore: %v, want ErrBadBackup", err)
			}
			if err := dst.DropAll(); err != nil {
				t.Fatal(err)
			}
			if !dst.Empty() {
				t.Error("the store holds state after DropAll")
			}
		})
	}
}

// TestRestoredQueueKeepsItsOrder: a backup taken while the queue's
// sequence lease was out, restored into a store that leased the same
// amount, must not number new entries below the restored ones, in the
// restoring process or after a reopen.
func TestRestoredQueueKeepsItsOrder(t *testing.T) {
	ctx := context.Background()
	src, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.Intake(ctx, "x", "poll", comments(5, "old "), nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := src.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	maxSeq := func(s *Store) (old, new uint64) {
		t.Helper()
		work, _, err := s.Queued(ctx, 0, 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range work {
			if w.Record.Comment.Version == "old " {
				old = max(old, w.Seq)
			} else if new == 0 || w.Seq < new {
				new = w.Seq
			}
		}
		return old, new
	}
	for _, reopen := range []bool{false, true} {
		t.Run(fmt.Sprintf("reopen=%v", reopen), func(t *testing.T) {
			dir := t.TempDir()
			dst, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := dst.Restore(bytes.NewReader(buf.Bytes())); err != nil {
				t.Fatal(err)
			}
			if reopen {
				dst.Close()
				if dst, err = Open(dir, Options{}); err != nil {
					t.Fatal(err)
				}
			}
			defer dst.Close()
			if _, err := dst.Intake(ctx, "x", "poll", comments(3, "new "), nil); err != nil {
				t.Fatal(err)
			}
			if old, new := maxSeq(dst); old == 0 || new <= old {
				t.Errorf("new entries from %d, restored ones up to %d", new, old)
			}
		})
	}
}
