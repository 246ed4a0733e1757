package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/moderatorbot/moderator/sdk"
)

// State is where a comment version is in its life. Every state is on disk
// before the step that follows it starts, so a crash at any instant resumes
// from the last state written.
type State string

// Comment states.
const (
	// StateSeen: durably queued, not yet analyzed.
	StateSeen State = "seen"
	// StateHeld: analysis failed and the analyzer's on_failure is "hold";
	// retried at RetryAt.
	StateHeld State = "held"
	// StateDecided: the decision is recorded. Final when the action needs
	// nothing on the platform (approve, review, dry run); otherwise the
	// action is pending.
	StateDecided State = "decided"
	// StateActed: the platform applied the action.
	StateActed State = "acted"
	// StateFailed: the platform refused the action for good.
	StateFailed State = "failed"
)

// Record is everything moderator knows about one version of one comment:
// the snapshot, its state, and the decision with its full explanation.
type Record struct {
	ID        string      `json:"id"`
	Comment   sdk.Comment `json:"comment"`
	Source    string      `json:"source"`
	State     State       `json:"state"`
	SeenAt    time.Time   `json:"seen_at"`
	UpdatedAt time.Time   `json:"updated_at"`
	Attempts  int         `json:"attempts,omitempty"`
	RetryAt   time.Time   `json:"retry_at,omitzero"`
	LastError string      `json:"last_error,omitempty"`
	Decision  *Decision   `json:"decision,omitempty"`
	Overrides []Override  `json:"overrides,omitempty"`
	// InReview is true while the comment waits in the review queue.
	InReview bool `json:"in_review,omitempty"`
}

// Decision is what the policy made of a comment, and why.
type Decision struct {
	At       time.Time  `json:"at"`
	Analyses []Analysis `json:"analyses"`
	// Rule is the policy rule that matched; empty when none did.
	Rule   string `json:"rule,omitempty"`
	Action string `json:"action"`
	Reason string `json:"reason"`
	// DryRun: recorded, not applied.
	DryRun   bool            `json:"dry_run,omitempty"`
	Platform *PlatformAnswer `json:"platform,omitempty"`
	// By names the person who decided a comment the analyzers could not
	// (one held because an analyzer failed on it); empty when the policy
	// decided.
	By string `json:"by,omitempty"`
}

// Analysis is one analyzer's verdict on the comment.
type Analysis struct {
	Analyzer string      `json:"analyzer"` // instance name
	Plugin   string      `json:"plugin,omitempty"`
	Version  string      `json:"version,omitempty"`
	Labels   []sdk.Label `json:"labels,omitempty"`
	// Err is set when the analyzer failed and the decision was made without it.
	Err        string  `json:"error,omitempty"`
	DurationMS float64 `json:"duration_ms,omitempty"`
}

// PlatformAnswer is what the connector reported when it applied an action.
type PlatformAnswer struct {
	At      time.Time `json:"at"`
	Changed bool      `json:"changed"`
	Detail  string    `json:"detail,omitempty"`
	Err     string    `json:"error,omitempty"`
}

// Override is a human's correction of a decision.
type Override struct {
	At       time.Time       `json:"at"`
	Action   string          `json:"action"`
	Reason   string          `json:"reason,omitempty"`
	By       string          `json:"by,omitempty"`
	Platform *PlatformAnswer `json:"platform,omitempty"`
}

// RecordID is the stable id of one version of one comment on one connector
// instance: the dedupe key, and the decision id shown to operators.
func RecordID(connector, commentID, version string) string {
	h := sha256.New()
	h.Write([]byte(connector))
	h.Write([]byte{0})
	h.Write([]byte(commentID))
	h.Write([]byte{0})
	h.Write([]byte(version))
	return hex.EncodeToString(h.Sum(nil)[:10])
}

// Key namespaces of the moderation state (see the package comment).
const (
	nsRecord  byte = 'c' // 'c' <id>                  Record as taken in
	nsState   byte = 'd' // 'd' <id>                  Record without its comment, as of its last step
	nsByTime  byte = 'i' // 'i' <seen_at ns BE> <id>  index, newest last
	nsQueue   byte = 'q' // 'q' <seq BE> <id>         work to do, in arrival order
	nsDelayed byte = 'w' // 'w' <retry_at ns BE> <id> held work, due at retry_at
	nsReview  byte = 'r' // 'r' <id>                  the review queue
	nsCursor  byte = 'u' // 'u' <connector> 0 <post>  poll cursors
	nsSeq     byte = 's' // sequences
)

func recordKey(id string) []byte { return append([]byte{nsRecord}, id...) }
func stateKey(id string) []byte  { return append([]byte{nsState}, id...) }

func timeKey(ns byte, t time.Time, id string) []byte {
	k := make([]byte, 9, 9+len(id))
	k[0] = ns
	binary.BigEndian.PutUint64(k[1:], uint64(t.UnixNano()))
	return append(k, id...)
}

func seqKey(seq uint64, id string) []byte {
	k := make([]byte, 9, 9+len(id))
	k[0] = nsQueue
	binary.BigEndian.PutUint64(k[1:], seq)
	return append(k, id...)
}

func cursorKey(connector, post string) []byte {
	return append(append(append([]byte{nsCursor}, connector...), 0), post...)
}

// jsonValue encodes v as a stored value: the format byte, then JSON.
func jsonValue(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return encode(data), nil
}

func putJSON(txn *badger.Txn, key []byte, v any, ttl time.Duration) error {
	data, err := jsonValue(v)
	if err != nil {
		return err
	}
	e := badger.NewEntry(key, data)
	if ttl > 0 {
		e = e.WithTTL(ttl)
	}
	return txn.SetEntry(e)
}

func getJSON(txn *badger.Txn, key []byte, v any) error {
	item, err := txn.Get(key)
	if err != nil {
		return err
	}
	return item.Value(func(raw []byte) error {
		data, err := decode(raw)
		if err != nil {
			return err
		}
		return json.Unmarshal(data, v)
	})
}

// putRecord writes a whole record under 'c': at intake, when the record is
// new.
func putRecord(txn *badger.Txn, rec *Record, ttl time.Duration) error {
	return putValue(txn, recordKey(rec.ID), rec, ttl)
}

// putState writes everything of a record but its comment under 'd': every
// later step. The comment snapshot (with the platform's raw payload, most
// of a record's bytes) never changes after intake, so it is written once;
// rewriting it at each step made Badger's in-memory table fill, and stall
// writes while it is swapped out, almost half as often again (a synthetic
// webhook comment takes 770 bytes of the table in all, against 1,110).
func putState(txn *badger.Txn, rec *Record, ttl time.Duration) error {
	st := *rec
	// What the snapshot holds already is left out, but for SeenAt: it says
	// which snapshot the state belongs to (see getRecord).
	st.ID, st.Source, st.Comment = "", "", sdk.Comment{}
	return putValue(txn, stateKey(rec.ID), &st, ttl)
}

func putValue(txn *badger.Txn, key []byte, rec *Record, ttl time.Duration) error {
	data, err := recordValue(rec)
	if err != nil {
		return err
	}
	e := badger.NewEntry(key, data)
	if ttl > 0 {
		e = e.WithTTL(ttl)
	}
	return txn.SetEntry(e)
}

// getRecord reads a record: the snapshot written at intake, and its latest
// state when a step has saved one since. Records that earlier versions
// rewrote whole at every step have no state entry and are read as they are.
func getRecord(txn *badger.Txn, id string, rec *Record) error {
	item, err := txn.Get(recordKey(id))
	if err != nil {
		return err
	}
	if err := item.Value(func(raw []byte) error { return decodeRecord(raw, rec) }); err != nil {
		return err
	}
	item, err = txn.Get(stateKey(id))
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return nil
	case err != nil:
		return err
	}
	var st Record
	if err := item.Value(func(raw []byte) error { return decodeRecord(raw, &st) }); err != nil {
		return fmt.Errorf("state of %s: %w", id, err)
	}
	if !st.SeenAt.Equal(rec.SeenAt) {
		// The state of an earlier snapshot of the same id: its own expired
		// first (the state's retention counts from its last step), and the
		// comment came back and was taken in anew. It is not this one's.
		return nil
	}
	st.ID, st.Source, st.Comment = rec.ID, rec.Source, rec.Comment
	*rec = st
	return nil
}

// CursorUpdate moves a post's poll cursor forward, in the same commit as the
// comments that poll returned: the cursor can never get ahead of what is on disk.
type CursorUpdate struct {
	Connector, PostID string
	Cursor            []byte
}

// IntakeResult says what an intake stored.
type IntakeResult struct {
	// New are the ids of comment versions seen for the first time.
	New []string
	// Duplicates counts comment versions already known.
	Duplicates int
}

// Intake durably queues comments from one source (webhook, poll, stream),
// skipping versions already seen, and moves the given poll cursors forward.
// When it returns nil, every new comment is on disk and queued: the caller
// may acknowledge (answer 2xx, advance the cursor). Safe for concurrent use:
// the same comment arriving by two paths at once is stored once.
func (s *Store) Intake(ctx context.Context, connector, source string, comments []sdk.Comment, cursors []CursorUpdate) (IntakeResult, error) {
	var res IntakeResult
	now := time.Now().UTC()
	seen := map[string]bool{}
	chunk := 1000
	for i := 0; i == 0 || i < len(comments); {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		end := min(i+chunk, len(comments))
		added := make([]string, 0, end-i)
		seqs := make([]uint64, 0, end-i)
		recs := make([]Record, 0, end-i) // some 450 bytes each: sized once, not copied as they grow
		dups := 0
		inChunk := make(map[string]bool, end-i)
		err := s.update(func(txn *badger.Txn) error {
			added, seqs, recs, dups = added[:0], seqs[:0], recs[:0], 0
			clear(inChunk)
			for _, c := range comments[i:end] {
				c.Connector = connector
				id := RecordID(connector, c.ID, c.Version)
				if seen[id] || inChunk[id] {
					dups++
					continue
				}
				_, err := txn.Get(recordKey(id))
				if err == nil {
					dups++
					continue
				}
				if !errors.Is(err, badger.ErrKeyNotFound) {
					return err
				}
				seq, err := s.nextSeq()
				if err != nil {
					return fmt.Errorf("queue sequence: %w", err)
				}
				seqs = append(seqs, seq)
				rec := Record{ID: id, Comment: c, Source: source, State: StateSeen, SeenAt: now, UpdatedAt: now}
				if err := putRecord(txn, &rec, s.retention); err != nil {
					return err
				}
				if err := txn.SetEntry(badger.NewEntry(timeKey(nsByTime, now, id), nil).WithTTL(s.retention)); err != nil {
					return err
				}
				if err := txn.Set(seqKey(seq, id), nil); err != nil {
					return err
				}
				added = append(added, id)
				inChunk[id] = true
				recs = append(recs, rec)
			}
			// The cursors ride with the last comments, never before them.
			if end == len(comments) {
				for _, cu := range cursors {
					if err := txn.Set(cursorKey(cu.Connector, cu.PostID), encode(cu.Cursor)); err != nil {
						return err
					}
				}
			}
			return nil
		}, func() { s.handOff(seqs, recs) }, func() { s.takeBack(seqs) })
		s.seqsDone(seqs)
		switch {
		case errors.Is(err, badger.ErrTxnTooBig) && end-i > 1:
			// Nothing of this transaction was written: try half as many.
			chunk = max((end-i)/2, 1)
			continue
		case errors.Is(err, badger.ErrConflict):
			continue // another intake wrote one of these comments: look again
		case err != nil:
			return res, fmt.Errorf("intake %d comments from %s %s: %w", len(comments), connector, source, err)
		}
		s.queued.Add(int64(len(added)))
		for _, id := range added {
			seen[id] = true
		}
		res.New = append(res.New, added...)
		res.Duplicates += dups
		if end == len(comments) {
			break
		}
		i = end
	}
	if len(res.New) > 0 {
		s.notify()
	}
	return res, nil
}

// update runs fn in a read-write transaction and commits it, like
// badger's Update, calling before just before the commit and, when the
// commit fails, undo after it: what before sets up is in place by the time
// anyone can see the commit.
func (s *Store) update(fn func(txn *badger.Txn) error, before, undo func()) error {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	if err := fn(txn); err != nil {
		return err
	}
	before()
	if err := txn.Commit(); err != nil {
		undo()
		return err
	}
	return nil
}

// handOff keeps the records of new queue entries for the pipeline's next
// scan. It runs before their commit, so a scan that finds an entry on disk
// finds its record here too; takeBack drops them when the commit fails.
func (s *Store) handOff(seqs []uint64, recs []Record) {
	s.freshMu.Lock()
	defer s.freshMu.Unlock()
	for i, seq := range seqs {
		if len(s.fresh) >= maxFresh {
			s.unknownBelow = max(s.unknownBelow, seqs[len(seqs)-1]+1)
			return
		}
		s.fresh[seq] = recs[i]
		if n := len(s.freshOrder); n == 0 || s.freshOrder[n-1] < seq {
			s.freshOrder = append(s.freshOrder, seq)
		} else if at, found := slices.BinarySearch(s.freshOrder, seq); !found {
			s.freshOrder = slices.Insert(s.freshOrder, at, seq) // numbered before an intake that handed off first
		}
	}
}

// takeBack forgets the hand-off of a commit that failed. Entries of other
// intakes may have waited for this one's sequence numbers to be settled
// (see Watermark): the pipeline is woken to look again.
func (s *Store) takeBack(seqs []uint64) {
	s.freshMu.Lock()
	for _, seq := range seqs {
		delete(s.fresh, seq)
	}
	s.freshMu.Unlock()
	s.notify()
}

// notHandedOff records that a queue entry is being written without its
// record in fresh: a scan must read the store from there on.
func (s *Store) notHandedOff(seq uint64) {
	s.freshMu.Lock()
	defer s.freshMu.Unlock()
	s.unknownBelow = max(s.unknownBelow, seq+1)
}

// queuedFresh serves Queued from the hand-off alone when every queue entry
// at or above from was handed off, which is the common case of a pipeline
// keeping up with its intake: the scan then costs no read of the store
// (iterating the queue was some 4% of the host's CPU under webhook load).
// Entries at or above water are left for the next scan, as they may still
// be uncommitted: every commit of an intake wakes the pipeline, and so does
// a failed one (takeBack). ok is false when the store must be read.
func (s *Store) queuedFresh(from, water uint64, limit int, skip func(seq uint64) bool) (work []Work, next uint64, ok bool) {
	s.freshMu.Lock()
	defer s.freshMu.Unlock()
	if from < s.unknownBelow {
		return nil, 0, false
	}
	next = water
	i, _ := slices.BinarySearch(s.freshOrder, from)
	for ; i < len(s.freshOrder); i++ {
		seq := s.freshOrder[i]
		if seq >= water {
			break
		}
		rec, ok := s.fresh[seq]
		if !ok || skip != nil && skip(seq) {
			continue
		}
		if len(work) == limit {
			next = seq
			break
		}
		if work == nil {
			work = make([]Work, 0, min(limit, len(s.fresh)))
		}
		work = append(work, Work{Seq: seq, Record: rec})
		delete(s.fresh, seq)
	}
	s.tidyFresh()
	return work, next, true
}

// tidyFresh drops from freshOrder the sequences no longer in fresh: at its
// front, where scans take them, at once; elsewhere (taken by a scan of the
// store, or taken back) once they outnumber the rest. freshMu is held.
func (s *Store) tidyFresh() {
	k := 0
	for k < len(s.freshOrder) {
		if _, ok := s.fresh[s.freshOrder[k]]; ok {
			break
		}
		k++
	}
	s.freshOrder = s.freshOrder[k:]
	if len(s.freshOrder) > 2*len(s.fresh)+64 {
		s.freshOrder = slices.DeleteFunc(slices.Clone(s.freshOrder), func(seq uint64) bool {
			_, ok := s.fresh[seq]
			return !ok
		})
	}
}

// takeFresh returns, and forgets, the handed-off record of a queue entry.
func (s *Store) takeFresh(seq uint64) (Record, bool) {
	s.freshMu.Lock()
	defer s.freshMu.Unlock()
	rec, ok := s.fresh[seq]
	if ok {
		delete(s.fresh, seq)
	}
	return rec, ok
}

// nextSeq numbers queue entries from 1, so that 0 can mean "from the start",
// and records the number as pending until done is called with it: until its
// transaction has committed or failed, it holds the watermark down.
func (s *Store) nextSeq() (uint64, error) {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	n, err := s.queueSeq.Next()
	if err != nil {
		return 0, err
	}
	n++
	s.pending[n] = true
	s.allocated = max(s.allocated, n)
	return n, nil
}

// seqsDone releases sequence numbers whose transaction has finished.
func (s *Store) seqsDone(seqs []uint64) {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	for _, n := range seqs {
		delete(s.pending, n)
	}
}

// Watermark is a queue sequence below which every entry is committed (or
// never will be): a scan that has looked at everything below it need not
// look there again. Intakes commit concurrently, so an entry can appear
// after one with a higher sequence was read; the watermark stays at the
// lowest sequence still being written.
func (s *Store) Watermark() uint64 {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	low := s.allocated + 1
	for n := range s.pending {
		low = min(low, n)
	}
	return low
}

// Cursor returns a post's stored poll cursor.
func (s *Store) Cursor(connector, post string) ([]byte, error) {
	out, _, err := readValue(s.db, cursorKey(connector, post))
	return out, err
}

// Work is a queued comment version waiting for its next step.
type Work struct {
	Seq    uint64
	Record Record
}

// Notify returns a channel that receives (without blocking the sender) when
// new work is queued.
func (s *Store) Notify() <-chan struct{} { return s.notifyCh }

// Nudge wakes whoever waits on Notify, as new work does.
func (s *Store) Nudge() { s.notify() }

func (s *Store) notify() {
	select {
	case s.notifyCh <- struct{}{}:
	default:
	}
}

// Queued returns up to limit queued items with a sequence of at least from,
// in arrival order, leaving out those skip says to (work already under way)
// without reading their records. next is where a following scan may start
// without missing an entry that was committed when this one began (see
// Watermark): the caller keeps it and passes it back. The work returned is
// the caller's until it saves its steps: a later scan from next does not
// return it again (it is served from memory while the intake's hand-off
// covers the queue, see queuedFresh), so work the caller drops must be found
// by scanning again from 0, as after a failed batch.
func (s *Store) Queued(ctx context.Context, from uint64, limit int, skip func(seq uint64) bool) (work []Work, next uint64, err error) {
	water := s.Watermark()
	if err := ctx.Err(); err != nil {
		return nil, from, err
	}
	if work, next, ok := s.queuedFresh(from, water, limit, skip); ok {
		return work, next, nil
	}
	next = water
	// Sized for what is queued, so that a batch's records (some 450 bytes
	// each) are not copied over as the slice grows.
	add := func(w Work) {
		if work == nil {
			work = make([]Work, 0, min(limit, max(int(s.queued.Load()), 16)))
		}
		work = append(work, w)
	}
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{nsQueue}}) // entries have no value
		defer it.Close()
		start := make([]byte, 9)
		start[0] = nsQueue
		binary.BigEndian.PutUint64(start[1:], from)
		for it.Seek(start); it.ValidForPrefix([]byte{nsQueue}); it.Next() {
			k := it.Item().Key()
			seq := binary.BigEndian.Uint64(k[1:9])
			if len(work) == limit {
				next = min(water, seq) // not looked at yet
				return nil
			}
			if skip != nil && skip(seq) {
				continue
			}
			if rec, ok := s.takeFresh(seq); ok {
				add(Work{Seq: seq, Record: rec})
				continue
			}
			id := string(k[9:])
			var rec Record
			if err := getRecord(txn, id, &rec); err != nil {
				if errors.Is(err, badger.ErrKeyNotFound) {
					continue // expired by retention; nothing left to do
				}
				return fmt.Errorf("queued record %s: %w", id, err)
			}
			add(Work{Seq: seq, Record: rec})
		}
		return ctx.Err()
	})
	if next < from {
		next = from
	}
	return work, next, err
}

// Step is one record's new state after a pipeline step.
type Step struct {
	Seq    uint64 // its queue entry
	Record Record
	// Done removes the queue entry: nothing is left to do.
	Done bool
	// Delay removes the queue entry and schedules it again at Record.RetryAt.
	Delay bool
	// LeftReview: the record was in the review queue and is no longer.
	LeftReview bool
}

// Save writes the records of a pipeline step and updates the queue, all in
// one commit per batch, so a record's state and its place in the queue never
// disagree.
func (s *Store) Save(ctx context.Context, steps []Step) error {
	now := time.Now().UTC()
	chunk := 1000
	for len(steps) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(chunk, len(steps))
		var left, delayed int64
		err := s.db.Update(func(txn *badger.Txn) error {
			left, delayed = 0, 0
			for i := range steps[:n] {
				st := &steps[i]
				st.Record.UpdatedAt = now
				removed, err := s.saveOne(txn, st)
				if err != nil {
					return err
				}
				if removed {
					left++
					if st.Delay {
						delayed++
					}
				}
			}
			return nil
		})
		if err == nil {
			s.queued.Add(-left)
			s.held.Add(delayed)
		}
		if errors.Is(err, badger.ErrTxnTooBig) && n > 1 {
			chunk = n / 2 // nothing was written: try half as many
			continue
		}
		if err != nil {
			return fmt.Errorf("save %d records: %w", len(steps), err)
		}
		steps = steps[n:]
	}
	return nil
}

// saveOne writes one step and says whether it took its entry off the queue.
// A step's Seq is an entry its caller read from the queue, which nothing
// else removes, so it is there to take off without looking.
func (s *Store) saveOne(txn *badger.Txn, st *Step) (removed bool, err error) {
	rec := &st.Record
	if err := putState(txn, rec, s.retention); err != nil {
		return false, err
	}
	if err := s.saveReview(txn, rec, st.LeftReview); err != nil {
		return false, err
	}
	if !st.Done && !st.Delay {
		return false, nil
	}
	if err := txn.Delete(seqKey(st.Seq, rec.ID)); err != nil {
		return false, err
	}
	if st.Delay {
		return true, txn.Set(timeKey(nsDelayed, rec.RetryAt, rec.ID), nil)
	}
	return true, nil
}

// saveReview keeps the review queue's entry for rec in step with
// rec.InReview; wasInReview says the record was in the queue before.
func (s *Store) saveReview(txn *badger.Txn, rec *Record, wasInReview bool) error {
	if rec.InReview {
		return txn.SetEntry(badger.NewEntry(append([]byte{nsReview}, rec.ID...), nil).WithTTL(s.retention))
	}
	if wasInReview {
		return txn.Delete(append([]byte{nsReview}, rec.ID...))
	}
	return nil
}

// Requeue moves held work whose retry time has come back into the queue and
// returns how many it moved.
func (s *Store) Requeue(ctx context.Context, now time.Time) (int, error) {
	moved := 0
	var seqs []uint64
	defer func() { s.seqsDone(seqs) }()
	err := s.db.Update(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{nsDelayed}})
		var due [][]byte
		for it.Rewind(); it.ValidForPrefix([]byte{nsDelayed}) && len(due) < 1000; it.Next() {
			k := it.Item().KeyCopy(nil)
			if int64(binary.BigEndian.Uint64(k[1:9])) > now.UnixNano() {
				break
			}
			due = append(due, k)
		}
		it.Close()
		for _, k := range due {
			seq, err := s.nextSeq()
			if err != nil {
				return err
			}
			seqs = append(seqs, seq)
			s.notHandedOff(seq)
			if err := txn.Delete(k); err != nil {
				return err
			}
			if err := txn.Set(seqKey(seq, string(k[9:])), nil); err != nil {
				return err
			}
			moved++
		}
		return ctx.Err()
	})
	if err != nil {
		return 0, err
	}
	s.held.Add(-int64(moved))
	s.queued.Add(int64(moved))
	if moved > 0 {
		s.notify()
	}
	return moved, nil
}

// ErrBusy is returned by DecideHeld for a held comment whose retry is under
// way: it is back in the queue, perhaps in a worker's hands.
var ErrBusy = errors.New("the comment is being tried again right now")

// DecideHeld makes d the decision of the comment id, which waits, held,
// for its retry, and returns the record as it now stands. The retry is
// withdrawn in the same commit, so the pipeline never decides the comment
// as well. When queue is true the record goes back into the queue, where
// the pipeline applies the decision like one of its own, crash or no
// crash; DecideHeld then returns the queue entry's sequence too. A comment
// no longer held, or whose retry has begun, is refused with ErrBusy and
// left as it is.
func (s *Store) DecideHeld(ctx context.Context, id string, d Decision, queue bool) (rec Record, seq uint64, err error) {
	if err := ctx.Err(); err != nil {
		return rec, 0, err
	}
	var seqs []uint64
	defer func() { s.seqsDone(seqs) }()
	err = s.db.Update(func(txn *badger.Txn) error {
		rec = Record{}
		if err := getRecord(txn, id, &rec); err != nil {
			return err
		}
		if rec.State != StateHeld {
			return ErrBusy
		}
		// The retry's entry is read in this transaction, so a Requeue that
		// takes it first makes this commit conflict, and one that comes
		// later finds it gone.
		retry := timeKey(nsDelayed, rec.RetryAt, id)
		if _, err := txn.Get(retry); errors.Is(err, badger.ErrKeyNotFound) {
			return ErrBusy
		} else if err != nil {
			return err
		}
		if err := txn.Delete(retry); err != nil {
			return err
		}
		// The record keeps the error it was held for.
		wasInReview := rec.InReview
		rec.State, rec.Decision, rec.InReview = StateDecided, &d, false
		rec.UpdatedAt, rec.RetryAt = time.Now().UTC(), time.Time{}
		if err := s.saveReview(txn, &rec, wasInReview); err != nil {
			return err
		}
		if err := putState(txn, &rec, s.retention); err != nil {
			return err
		}
		if !queue {
			return nil
		}
		n, err := s.nextSeq()
		if err != nil {
			return err
		}
		seq = n
		seqs = append(seqs, n)
		s.notHandedOff(n)
		return txn.Set(seqKey(n, rec.ID), nil)
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return Record{}, 0, fmt.Errorf("no decision with id %q: %w", id, ErrNotFound)
	case errors.Is(err, badger.ErrConflict):
		return Record{}, 0, ErrBusy
	case err != nil:
		return Record{}, 0, fmt.Errorf("decide held comment %s: %w", id, err)
	}
	s.held.Add(-1)
	if queue {
		s.queued.Add(1)
		s.notify()
	}
	return rec, seq, nil
}

// Get returns one record by id.
func (s *Store) Get(ctx context.Context, id string) (Record, error) {
	var rec Record
	err := s.db.View(func(txn *badger.Txn) error { return getRecord(txn, id, &rec) })
	if errors.Is(err, badger.ErrKeyNotFound) {
		return rec, fmt.Errorf("no decision with id %q (an id from the first column of decisions list, not the platform's comment id): %w", id, ErrNotFound)
	}
	return rec, err
}

// ErrNotFound is returned for an id the store does not have.
var ErrNotFound = errors.New("not found")

// Filter narrows a listing of records.
type Filter struct {
	States    []State
	Connector string
	Action    string
	Rule      string
	Review    bool // only those in the review queue
	// Before and BeforeID page through a listing: only records that come
	// after the one seen at Before with id BeforeID, newest first (by seen
	// time, then id). The comments of one intake share their seen time, so
	// a page that ends inside them goes on from its last id, where a time
	// alone would skip the rest. Zero Before: from the newest.
	Before   time.Time
	BeforeID string
	Limit    int // default DefaultLimit
}

// DefaultLimit is how many records a listing returns when Filter.Limit is 0.
const DefaultLimit = 50

// MaxLimit is the largest page a listing returns: larger ones would hold a
// read transaction and the reply in memory for too long.
const MaxLimit = 1000

// States lists every comment state, in the order a comment goes through them.
var States = []State{StateSeen, StateHeld, StateDecided, StateActed, StateFailed}

// Validate says what is wrong with a filter that can match nothing by
// construction (a state or action that does not exist) or asks for a page
// out of bounds, so that a typo is an error rather than an empty listing.
func (f Filter) Validate() error {
	for _, st := range f.States {
		if !slices.Contains(States, st) {
			return fmt.Errorf("state %q: choose from %s", st, joinNames(States))
		}
	}
	if f.Action != "" && !slices.Contains(sdk.Actions, f.Action) {
		return fmt.Errorf("action %q: choose from %s", f.Action, joinNames(sdk.Actions))
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		return fmt.Errorf("limit must be 1..%d, got %d", MaxLimit, f.Limit)
	}
	return nil
}

func joinNames[T ~string](vs []T) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = string(v)
	}
	return strings.Join(q, ", ")
}

// after says whether r comes after the paging position in a listing.
func (f Filter) after(r *Record) bool {
	if f.Before.IsZero() {
		return true
	}
	if c := nanos(r.SeenAt) - nanos(f.Before); c != 0 {
		return c < 0
	}
	return r.ID < f.BeforeID
}

func (f Filter) match(r *Record) bool {
	if len(f.States) > 0 {
		ok := false
		for _, st := range f.States {
			ok = ok || r.State == st
		}
		if !ok {
			return false
		}
	}
	switch {
	case f.Connector != "" && r.Comment.Connector != f.Connector:
		return false
	case f.Action != "" && (r.Decision == nil || r.Decision.Action != f.Action):
		return false
	case f.Rule != "" && (r.Decision == nil || r.Decision.Rule != f.Rule):
		return false
	case f.Review && !r.InReview:
		return false
	}
	return true
}

// List returns records, newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Record, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.Review {
		return s.listReview(ctx, f)
	}
	start := []byte{nsByTime + 1}
	if !f.Before.IsZero() {
		start = timeKey(nsByTime, f.Before, f.BeforeID)
	}
	var out []Record
	err := s.byTime(ctx, true, start, func(rec Record) (bool, error) {
		if f.after(&rec) && f.match(&rec) {
			out = append(out, rec)
		}
		return len(out) < f.Limit, nil
	})
	return out, err
}

// listReview lists the review queue from its own index, so that the few
// comments waiting for a human are found without reading every record of
// the retention period. The index is by id: the matches are ordered here,
// newest first as the time index would give them, keeping no more than a
// few pages of them in memory however long the queue.
func (s *Store) listReview(ctx context.Context, f Filter) ([]Record, error) {
	var out []Record
	newestFirst := func() {
		slices.SortFunc(out, func(a, b Record) int {
			if c := b.SeenAt.Compare(a.SeenAt); c != 0 {
				return c
			}
			return strings.Compare(b.ID, a.ID)
		})
		out = out[:min(len(out), f.Limit)]
	}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{nsReview}, PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.ValidForPrefix([]byte{nsReview}); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			id := string(it.Item().Key()[1:])
			var rec Record
			if err := getRecord(txn, id, &rec); err != nil {
				if errors.Is(err, badger.ErrKeyNotFound) {
					continue // expired under its index entry
				}
				return fmt.Errorf("review queue record %s: %w", id, err)
			}
			if !f.after(&rec) || !f.match(&rec) {
				continue
			}
			if out = append(out, rec); len(out) >= 4*f.Limit {
				newestFirst()
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	newestFirst()
	return out, nil
}

// Each calls fn for every stored record, oldest first, until fn returns an
// error (for replay and export).
func (s *Store) Each(ctx context.Context, fn func(Record) error) error {
	return s.byTime(ctx, false, []byte{nsByTime}, func(rec Record) (bool, error) { return true, fn(rec) })
}

// byTime walks the time index from start, newest first when reverse, and
// calls fn with each record until it says to stop or fails. Records that
// expired under their index entry are passed over.
func (s *Store) byTime(ctx context.Context, reverse bool, start []byte, fn func(Record) (more bool, err error)) error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{nsByTime}, Reverse: reverse})
		defer it.Close()
		for it.Seek(start); it.ValidForPrefix([]byte{nsByTime}); it.Next() {
			id := string(it.Item().Key()[9:])
			var rec Record
			if err := getRecord(txn, id, &rec); err != nil {
				if errors.Is(err, badger.ErrKeyNotFound) {
					continue
				}
				return err
			}
			more, err := fn(rec)
			if err != nil || !more {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return nil
	})
}

// Depth says how much work is queued and held. It is kept as work comes
// and goes (counted from disk at open), so that a metrics scrape costs
// nothing however long the backlog.
func (s *Store) Depth() (queued, held int, err error) {
	return int(s.queued.Load()), int(s.held.Load()), nil
}

// countWork counts the queue and the held work on disk.
func (s *Store) countWork() (queued, held int64, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		for _, ns := range []byte{nsQueue, nsDelayed} {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{ns}, PrefetchValues: false})
			var n int64
			for it.Rewind(); it.ValidForPrefix([]byte{ns}); it.Next() {
				n++
			}
			it.Close()
			if ns == nsQueue {
				queued = n
			} else {
				held = n
			}
		}
		return nil
	})
	return queued, held, err
}
