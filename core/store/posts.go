package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// nsPost holds tracked posts: 'p' <connector> 0 <post id>.
const nsPost byte = 'p'

// Post is a post the scheduler polls, and how its conversation is going.
type Post struct {
	Connector string `json:"connector"`
	ID        string `json:"id"`
	// Targets are the keys (Target.Key) of the targets that brought the
	// post in: the post target itself, and every author, publication or
	// query target whose discovery found it. A post is polled while one of
	// them is watched.
	Targets []string `json:"targets,omitempty"`
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

// UnmarshalJSON reads a post, also as written before a post kept all its
// targets: with the one that brought it in under "target".
func (p *Post) UnmarshalJSON(data []byte) error {
	type plain Post
	var v struct {
		plain
		Target string `json:"target"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*p = Post(v.plain)
	if v.Target != "" && !slices.Contains(p.Targets, v.Target) {
		p.Targets = append(p.Targets, v.Target)
	}
	return nil
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

// RemovePosts forgets posts of a connector: they are no longer tracked, and a
// restart does not poll them again. Their cursors stay, so that a target
// added again later resumes where polling stopped instead of reading the
// whole conversation again.
func (s *Store) RemovePosts(ctx context.Context, connector string, ids []string) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, id := range ids {
		if err := wb.Delete(postKey(connector, id)); err != nil {
			return fmt.Errorf("remove post %s of %s: %w", id, connector, err)
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

// PostTargets returns, for each of a connector's posts that is tracked, the
// ids of the targets that brought it in (a post target's id is the post's
// own). Untracked posts (a webhook's comment on a post nobody watches) are
// left out.
func (s *Store) PostTargets(ctx context.Context, connector string, postIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	err := s.db.View(func(txn *badger.Txn) error {
		for _, id := range postIDs {
			if _, done := out[id]; done {
				continue
			}
			var p Post
			err := getJSON(txn, postKey(connector, id), &p)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			ids := make([]string, 0, len(p.Targets))
			for _, key := range p.Targets {
				_, tid, _ := strings.Cut(key, ":")
				ids = append(ids, tid)
			}
			out[id] = ids
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("targets of %s's posts: %w", connector, err)
	}
	return out, nil
}
