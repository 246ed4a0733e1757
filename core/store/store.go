// Package store keeps the host's durable state in an embedded Badger
// database under the data directory.
//
// Key layout (every key starts with a one-byte namespace so that new kinds of
// state never collide with old ones, and a prefix scan reads one kind only):
//
//	'k' <instance> 0x00 <key>        plugin KV entries (the host KV service)
//	'c' <id>                         a comment version's Record (protobuf, see codec.go) as taken in
//	'd' <id>                         its Record as of its last step, without the comment: state, decision
//	'i' <seen_at ns BE> <id>         time index of records, for listing newest first
//	'q' <seq BE> <id>                the work queue: present while a record has a step to take
//	'w' <retry_at ns BE> <id>        held work, moved back to 'q' when due
//	'r' <id>                         the review queue
//	'u' <connector> 0x00 <post>      poll cursors
//	'p' <connector> 0x00 <post>      tracked posts and their activity (Post, JSON)
//	't' <connector> 0 <kind> 0 <id>  targets added at run time (Target, JSON)
//	's' <name>                       sequences
//
// A record's id is a hash of (connector instance, comment id, version): it is
// the dedupe key (a version already stored is a duplicate, whichever path it
// came by) and the decision id operators see. Records and their indexes expire
// after the retention period, which must outlast any platform's replay window.
//
// Values start with a format byte so the encoding can change without a
// migration that rewrites everything at once: 1 is JSON (posts, targets, and
// records written by earlier versions), 2 a protobuf Record, 3 the same
// compressed with S2 (codec.go).
//
// Durability: writes are synced to disk before they return (SyncWrites). The
// guarantees moderator makes (a 2xx webhook answer means the delivery is on
// disk) need that; throughput comes from batching many items into one commit,
// not from skipping the sync.
package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/sdk"
)

const (
	nsPluginKV byte = 'k'
	valueV1    byte = 1
)

// Store is the host's database.
type Store struct {
	db        *badger.DB
	log       hclog.Logger
	stop      chan struct{}
	wg        sync.WaitGroup
	queueSeq  *badger.Sequence
	retention time.Duration
	notifyCh  chan struct{}
	closeOnce sync.Once
	closeErr  error

	seqMu     sync.Mutex
	pending   map[uint64]bool // queue sequences whose transaction is still open
	allocated uint64          // the highest sequence handed out

	// fresh holds the records of queue entries just taken in, so that the
	// pipeline's scan hands them out without reading and decoding them again
	// (see Queued). It is only a shortcut: the queue on disk stays the truth,
	// and after a restart everything is read from there.
	freshMu sync.Mutex
	fresh   map[uint64]Record
	// freshOrder is fresh's sequences in order, with some already taken
	// (see tidyFresh).
	freshOrder []uint64
	// unknownBelow: every queue entry at or above it was handed off when it
	// was written, so a scan that starts there can be served from fresh
	// alone (see queuedFresh). Entries below it came from before this start,
	// from Requeue, or were not handed off because fresh was full.
	unknownBelow uint64

	// queued and held are the depth of the work queue and of held work.
	queued, held atomic.Int64
}

// maxFresh bounds the hand-off of fresh records (a few KiB each): beyond
// it, the pipeline is behind and reads them from disk like after a restart.
const maxFresh = 10000

// Options tune the store.
type Options struct {
	Logger hclog.Logger
	// GCInterval is how often value-log garbage collection runs (default 5m).
	GCInterval time.Duration
	// InMemory keeps everything in memory, for tests.
	InMemory bool
	// Retention is how long comment records are kept (default 30 days).
	Retention time.Duration
	// MemTableSize bounds Badger's in-memory table (default 16 MiB), and
	// with it the largest transaction (15% of it).
	MemTableSize int64
}

// Open opens (creating if needed) the database in dir.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.GCInterval <= 0 {
		opts.GCInterval = 5 * time.Minute
	}
	bo := badger.DefaultOptions(dir).
		WithSyncWrites(true).
		WithLogger(badgerLogger{opts.Logger.Named("badger")}).
		// Small tables and caches: the bot runs on small servers.
		WithMemTableSize(cmp.Or(opts.MemTableSize, 16<<20)).
		WithBlockCacheSize(16 << 20).
		WithIndexCacheSize(8 << 20).
		WithNumCompactors(2)
	if opts.InMemory {
		bo = bo.WithInMemory(true).WithDir("").WithValueDir("")
	}
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	if opts.Retention <= 0 {
		opts.Retention = 30 * 24 * time.Hour
	}
	allocated, seq, err := leaseQueueSeq(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	s := &Store{db: db, log: opts.Logger, stop: make(chan struct{}), queueSeq: seq, retention: opts.Retention, notifyCh: make(chan struct{}, 1), pending: map[uint64]bool{}, fresh: map[uint64]Record{}, allocated: allocated}
	s.unknownBelow = s.allocated + 1
	q, h, err := s.countWork()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store in %s: count work: %w", dir, err)
	}
	s.queued.Store(q)
	s.held.Store(h)
	if !opts.InMemory {
		s.wg.Add(1)
		go s.gcLoop(opts.GCInterval)
	}
	return s, nil
}

var queueSeqKey = []byte{nsSeq, 'q'}

// leaseQueueSeq finds the highest queue entry's sequence and leases the
// queue's sequence above it.
func leaseQueueSeq(db *badger.DB) (uint64, *badger.Sequence, error) {
	var allocated uint64
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{nsQueue}, Reverse: true, PrefetchValues: false})
		defer it.Close()
		if it.Seek([]byte{nsQueue + 1}); it.ValidForPrefix([]byte{nsQueue}) {
			allocated = binary.BigEndian.Uint64(it.Item().Key()[1:9])
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("read queue: %w", err)
	}
	if err := sequenceAbove(db, queueSeqKey, allocated); err != nil {
		return 0, nil, fmt.Errorf("queue sequence: %w", err)
	}
	seq, err := db.GetSequence(queueSeqKey, 1000)
	if err != nil {
		return 0, nil, fmt.Errorf("queue sequence: %w", err)
	}
	return allocated, seq, nil
}

// sequenceAbove makes sure the sequence at key hands out numbers above
// floor. Badger's sequence lives in its own key, which a restore (of a
// backup taken while a lease was out, into a store that leased the same
// amount) or a merge can leave below entries that are already numbered; new
// queue entries must never sort before old ones.
func sequenceAbove(db *badger.DB, key []byte, floor uint64) error {
	return db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
		case err != nil:
			return err
		default:
			var next uint64
			if err := item.Value(func(v []byte) error {
				if len(v) == 8 {
					next = binary.BigEndian.Uint64(v)
				}
				return nil
			}); err != nil {
				return err
			}
			if next >= floor {
				return nil
			}
		}
		if floor == 0 {
			return nil
		}
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], floor) // Next returns floor; nextSeq adds one
		return txn.Set(key, buf[:])
	})
}

// Close stops background work and closes the database. Closing twice is
// harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Store) close() error {
	close(s.stop)
	s.wg.Wait()
	if err := s.queueSeq.Release(); err != nil {
		s.log.Warn("release queue sequence", "error", err)
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

func (s *Store) gcLoop(every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			// RunValueLogGC rewrites at most one file per call; loop until
			// nothing is worth rewriting.
			for s.db.RunValueLogGC(0.5) == nil {
			}
		}
	}
}

// PluginKV returns the KV served to one plugin instance.
func (s *Store) PluginKV(instance string) sdk.KV {
	prefix := append(append([]byte{nsPluginKV}, instance...), 0)
	return &pluginKV{db: s.db, prefix: prefix}
}

type pluginKV struct {
	db     *badger.DB
	prefix []byte
}

func (k *pluginKV) key(key string) []byte {
	return append(append([]byte(nil), k.prefix...), key...)
}

// value reads one format-1 value; ok is false when the key is absent.
func readValue(db *badger.DB, key []byte) (out []byte, ok bool, err error) {
	err = db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		raw, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		out, err = decode(raw)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	return out, err == nil, err
}

func encode(v []byte) []byte { return append([]byte{valueV1}, v...) }

func decode(v []byte) ([]byte, error) {
	if len(v) == 0 || v[0] != valueV1 {
		return nil, fmt.Errorf("stored value has unknown format %v", v[:min(1, len(v))])
	}
	return v[1:], nil
}

func (k *pluginKV) Get(_ context.Context, key string) ([]byte, bool, error) {
	out, ok, err := readValue(k.db, k.key(key))
	if err != nil {
		return nil, false, fmt.Errorf("kv get %q: %w", key, err)
	}
	return out, ok, nil
}

func (k *pluginKV) entry(key string, value []byte, ttl time.Duration) *badger.Entry {
	e := badger.NewEntry(k.key(key), encode(value))
	if ttl > 0 {
		e = e.WithTTL(ttl)
	}
	return e
}

func (k *pluginKV) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	err := k.db.Update(func(txn *badger.Txn) error { return txn.SetEntry(k.entry(key, value, ttl)) })
	if err != nil {
		return fmt.Errorf("kv set %q: %w", key, err)
	}
	return nil
}

func (k *pluginKV) SetIfAbsent(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	for {
		stored := false
		err := k.db.Update(func(txn *badger.Txn) error {
			_, err := txn.Get(k.key(key))
			if err == nil {
				return nil
			}
			if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
			stored = true
			return txn.SetEntry(k.entry(key, value, ttl))
		})
		// A concurrent writer to the same key makes Badger refuse the commit;
		// run again to see what it wrote.
		if errors.Is(err, badger.ErrConflict) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("kv set-if-absent %q: %w", key, err)
		}
		return stored, nil
	}
}

func (k *pluginKV) Delete(_ context.Context, key string) error {
	if err := k.db.Update(func(txn *badger.Txn) error { return txn.Delete(k.key(key)) }); err != nil {
		return fmt.Errorf("kv delete %q: %w", key, err)
	}
	return nil
}

func (k *pluginKV) List(_ context.Context, prefix, startAfter string, limit int) (out []sdk.KVEntry, more bool, err error) {
	if limit <= 0 {
		limit = 100
	}
	err = k.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: k.key(prefix), PrefetchValues: true, PrefetchSize: min(limit, 100)})
		defer it.Close()
		out, more, err = k.list(it, prefix, startAfter, limit)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("kv list %q: %w", prefix, err)
	}
	return out, more, nil
}

// list reads one page of List through it, an iterator over (at least) the
// keys under prefix.
func (k *pluginKV) list(it *badger.Iterator, prefix, startAfter string, limit int) ([]sdk.KVEntry, bool, error) {
	if limit <= 0 {
		limit = 100
	}
	full := k.key(prefix)
	start := full
	if startAfter > prefix {
		start = append(k.key(startAfter), 0)
	}
	var out []sdk.KVEntry
	for it.Seek(start); it.ValidForPrefix(full); it.Next() {
		if len(out) == limit {
			return out, true, nil
		}
		item := it.Item()
		raw, err := item.ValueCopy(nil)
		if err != nil {
			return nil, false, err
		}
		v, err := decode(raw)
		if err != nil {
			return nil, false, err
		}
		out = append(out, sdk.KVEntry{Key: string(bytes.TrimPrefix(item.Key(), k.prefix)), Value: v})
	}
	return out, false, nil
}

// ListMany answers every query from one snapshot, through one iterator over
// the instance's keys: opening an iterator costs more than a seek. Queries
// are taken in key order, so the seeks move forward through the tables'
// blocks (20% less time per query than in the order asked, in
// BenchmarkPluginKVListMany).
func (k *pluginKV) ListMany(_ context.Context, queries []sdk.KVQuery) ([]sdk.KVPage, error) {
	out := make([]sdk.KVPage, len(queries))
	err := k.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: k.prefix})
		defer it.Close()
		order := make([]int, len(queries))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return strings.Compare(queries[a].Prefix, queries[b].Prefix) })
		for _, i := range order {
			q := queries[i]
			entries, more, err := k.list(it, q.Prefix, q.StartAfter, q.Limit)
			if err != nil {
				return fmt.Errorf("query %d (%q): %w", i, q.Prefix, err)
			}
			out[i] = sdk.KVPage{Entries: entries, More: more}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kv list many: %w", err)
	}
	return out, nil
}

// SetMany writes in one synced commit, or in as few as Badger's limit on a
// transaction's size allows: one sync for a plugin's whole batch instead of
// one per key. A write-only transaction cannot conflict.
func (k *pluginKV) SetMany(_ context.Context, writes []sdk.KVWrite) error {
	txn := k.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	for _, w := range writes {
		e := k.entry(w.Key, w.Value, w.TTL)
		err := txn.SetEntry(e)
		if errors.Is(err, badger.ErrTxnTooBig) {
			if err := txn.Commit(); err != nil {
				return fmt.Errorf("kv set many: %w", err)
			}
			txn = k.db.NewTransaction(true)
			err = txn.SetEntry(e)
		}
		if err != nil {
			return fmt.Errorf("kv set many, %q: %w", w.Key, err)
		}
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("kv set many: %w", err)
	}
	return nil
}

// badgerLogger routes Badger's log into hclog. Badger's info lines are about
// its internals (compactions, replay), so they go to debug.
type badgerLogger struct{ l hclog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error(trim(fmt.Sprintf(f, a...))) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn(trim(fmt.Sprintf(f, a...))) }
func (b badgerLogger) Infof(f string, a ...any)    { b.l.Debug(trim(fmt.Sprintf(f, a...))) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.l.Trace(trim(fmt.Sprintf(f, a...))) }

func trim(s string) string { return string(bytes.TrimRight([]byte(s), "\n")) }
