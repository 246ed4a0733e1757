package store

import (
	"context"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// nsPost holds tracked posts: 'p' <connector> 0 <post id>.
const nsPost byte = 'p'

// Post is a post the scheduler polls, and how its conversation is going.
type Post struct {
	Connector string `json:"connector"`
	ID        string `json:"id"`
	// Target is the target that brought the post in ("author:123").
	Target string `json:"target,omitempty"`
	// CreatedAt is when the platform says the post was made (or when it was
	// first tracked, when the platform does not say).
	CreatedAt time.Time `json:"created_at"`
	// LastActivity is when a poll last found a new comment.
	LastActivity time.Time `json:"last_activity,omitzero"`
	// Interval overrides adaptive polling when set.
	Interval time.Duration `json:"interval,omitempty"`
	// Done: the conversation is old and quiet; it is no longer polled.
	Done bool `json:"done,omitempty"`
}

func postKey(connector, id string) []byte {
	return append(append(append([]byte{nsPost}, connector...), 0), id...)
}

// SavePosts writes post states, creating or replacing them.
func (s *Store) SavePosts(ctx context.Context, posts []Post) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, p := range posts {
		data, err := jsonValue(p)
		if err != nil {
			return err
		}
		if err := wb.Set(postKey(p.Connector, p.ID), data); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return wb.Flush()
}

// Posts calls fn for every tracked post.
func (s *Store) Posts(ctx context.Context, fn func(Post) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{nsPost}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.ValidForPrefix([]byte{nsPost}); it.Next() {
			var p Post
			if err := getJSON(txn, it.Item().KeyCopy(nil), &p); err != nil {
				return err
			}
			if err := fn(p); err != nil {
				return err
			}
		}
		return ctx.Err()
	})
}
