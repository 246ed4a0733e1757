package store

import (
	"fmt"
	"io"

	badger "github.com/dgraph-io/badger/v4"
)

// Backup writes a consistent snapshot of the whole database to w, while the
// daemon keeps running.
func (s *Store) Backup(w io.Writer) error {
	if _, err := s.db.Backup(w, 0); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// Restore loads a backup into the store. It is meant for an empty data
// directory with no daemon running.
func (s *Store) Restore(r io.Reader) error {
	if err := s.db.Load(r, 256); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	q, h, err := s.countWork()
	if err != nil {
		return fmt.Errorf("restore: count work: %w", err)
	}
	s.queued.Store(q)
	s.held.Store(h)
	return nil
}

// Empty reports whether the store holds no records or targets.
func (s *Store) Empty() bool {
	empty := true
	_ = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if k := it.Item().Key(); len(k) > 0 && k[0] != nsSeq {
				empty = false
				return nil
			}
		}
		return nil
	})
	return empty
}
