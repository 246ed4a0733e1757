package store

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

func TestPostsKeepTheirTargetsAndCanBeForgotten(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := open(t, dir)
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err := s.SavePosts(ctx, []Post{
		{Connector: "x", ID: "a1", Targets: []string{"author:alice", "post:a1"}, CreatedAt: created},
		{Connector: "x", ID: "a2", Targets: []string{"author:alice"}, CreatedAt: created},
		{Connector: "y", ID: "a2", Targets: []string{"query:q"}, CreatedAt: created},
	})
	if err != nil {
		t.Fatal(err)
	}
	// As written before posts kept all their targets.
	err = s.db.Update(func(txn *badger.Txn) error {
		return putJSON(txn, postKey("x", "old"), map[string]any{"connector": "x", "id": "old", "target": "author:bob", "created_at": created}, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RemovePosts(ctx, "x", []string{"a2", "nosuchpost"}); err != nil {
		t.Fatal(err)
	}
	// What is forgotten stays forgotten across a reopen.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	got := map[string][]string{}
	err = s.Posts(ctx, func(p Post) error {
		got[p.Connector+"/"+p.ID] = p.Targets
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"x/a1":  {"author:alice", "post:a1"},
		"x/old": {"author:bob"},
		"y/a2":  {"query:q"}, // the same id on another connector
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("posts %v, want %v", got, want)
	}
	// The pipeline asks which targets a batch's posts came by, for rules
	// scoped with when.targets: target ids, without their kind.
	ids, err := s.PostTargets(ctx, "x", []string{"a1", "old", "a2", "nosuchpost", "a1"})
	if want := map[string][]string{"a1": {"alice", "a1"}, "old": {"bob"}}; err != nil || !maps.EqualFunc(ids, want, slices.Equal) {
		t.Errorf("post targets %v (%v), want %v", ids, err, want)
	}
}

func TestTargetKey(t *testing.T) {
	if k := (Target{Connector: "x", Kind: "author", ID: "u1"}).Key(); k != "author:u1" || k != TargetKey("author", "u1") {
		t.Errorf("key %q", k)
	}
}
