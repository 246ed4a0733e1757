package store

import (
	"context"
	"errors"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/moderatorbot/moderator/sdk"
)

// Records, their indexes and with them the dedupe key expire after the
// retention period, counted from their last step: the store does not grow
// for ever, and a platform's redelivery inside the period is still a
// duplicate.
func TestRecordsExpireAfterRetention(t *testing.T) {
	const retention = 2 * time.Second
	s, err := Open(t.TempDir(), Options{Retention: retention})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	c := sdk.Comment{ID: "42", PostID: "p", Text: "buy now"}
	if res, err := s.Intake(ctx, "x", "webhook", []sdk.Comment{c}, nil); err != nil || len(res.New) != 1 {
		t.Fatalf("intake %+v %v", res, err)
	}
	work, _, err := s.Queued(ctx, 0, 10, nil)
	if err != nil || len(work) != 1 {
		t.Fatalf("queued %+v %v", work, err)
	}
	rec := work[0].Record
	rec.State, rec.InReview = StateDecided, true
	rec.Decision = &Decision{Action: "review", Rule: "spam"}
	if err := s.Save(ctx, []Step{{Seq: work[0].Seq, Record: rec, Done: true}}); err != nil {
		t.Fatal(err)
	}

	// Every key of the record carries the retention as its TTL.
	deadline := uint64(time.Now().Add(retention).Unix()) + 1
	kinds := map[byte]bool{}
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			ns := item.Key()[0]
			switch ns {
			case nsRecord, nsState, nsByTime, nsReview:
				kinds[ns] = true
				if exp := item.ExpiresAt(); exp == 0 || exp > deadline {
					t.Errorf("key %q expires at %d, want by %d", item.Key(), exp, deadline)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(kinds) != 4 {
		t.Errorf("record keys found: %v, want c, d, i and r", kinds)
	}
	if res, err := s.Intake(ctx, "x", "webhook", []sdk.Comment{c}, nil); err != nil || res.Duplicates != 1 {
		t.Fatalf("redelivery inside the retention: %+v %v, want a duplicate", res, err)
	}

	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		if _, err := s.Get(ctx, rec.ID); errors.Is(err, ErrNotFound) {
			break
		}
		if time.Since(start) > retention+3*time.Second {
			t.Fatalf("record %s still there %s after it was written", rec.ID, time.Since(start))
		}
	}
	for _, f := range []Filter{{}, {Review: true}} {
		if recs, err := s.List(ctx, f); err != nil || len(recs) != 0 {
			t.Errorf("List(%+v) after the retention: %d records, %v", f, len(recs), err)
		}
	}
	if res, err := s.Intake(ctx, "x", "webhook", []sdk.Comment{c}, nil); err != nil || len(res.New) != 1 {
		t.Errorf("the comment after the retention: %+v %v, want it taken in anew", res, err)
	}
}
