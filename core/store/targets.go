package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// nsTarget holds targets added at run time: 't' <connector> 0 <kind> 0 <id>.
const nsTarget byte = 't'

// Target is something an operator asked moderator to watch.
type Target struct {
	Connector    string        `json:"connector"`
	Kind         string        `json:"kind"`
	ID           string        `json:"id"`
	PollInterval time.Duration `json:"poll_interval,omitempty"`
	AddedAt      time.Time     `json:"added_at"`
	// Source is "config" for targets from moderator.toml, "runtime" for
	// those added with `moderator targets add` or the API.
	Source string `json:"source"`
}

// Key names the target among its connector's: "author:123". Posts record
// the keys of the targets that brought them in.
func (t Target) Key() string { return TargetKey(t.Kind, t.ID) }

// TargetKey is Target.Key of a target of that kind and id.
func TargetKey(kind, id string) string { return kind + ":" + id }

func targetKey(connector, kind, id string) []byte {
	k := append([]byte{nsTarget}, connector...)
	k = append(append(k, 0), kind...)
	return append(append(k, 0), id...)
}

// ErrExists is returned when adding what is already there.
var ErrExists = errors.New("already exists")

// AddTarget persists a runtime target.
func (s *Store) AddTarget(_ context.Context, t Target) error {
	t.Source = "runtime"
	if t.AddedAt.IsZero() {
		t.AddedAt = time.Now().UTC()
	}
	err := s.db.Update(func(txn *badger.Txn) error {
		if _, err := txn.Get(targetKey(t.Connector, t.Kind, t.ID)); err == nil {
			return fmt.Errorf("target %s %s on %s: %w", t.Kind, t.ID, t.Connector, ErrExists)
		}
		return putJSON(txn, targetKey(t.Connector, t.Kind, t.ID), t, 0)
	})
	return err
}

// RemoveTarget deletes a runtime target.
func (s *Store) RemoveTarget(_ context.Context, connector, kind, id string) error {
	return s.db.Update(func(txn *badger.Txn) error {
		if _, err := txn.Get(targetKey(connector, kind, id)); errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("target %s %s on %s: %w", kind, id, connector, ErrNotFound)
		}
		return txn.Delete(targetKey(connector, kind, id))
	})
}

// Targets lists the runtime targets.
func (s *Store) Targets(ctx context.Context) ([]Target, error) {
	var out []Target
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{nsTarget}})
		defer it.Close()
		for it.Rewind(); it.ValidForPrefix([]byte{nsTarget}); it.Next() {
			var t Target
			if err := getJSON(txn, it.Item().KeyCopy(nil), &t); err != nil {
				return err
			}
			out = append(out, t)
		}
		return ctx.Err()
	})
	return out, err
}
