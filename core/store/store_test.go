package store

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/sdk"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPluginKVIsDurableAndScoped(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := open(t, dir)
	a, b := s.PluginKV("a"), s.PluginKV("b")
	if err := a.Set(ctx, "k", []byte("from a"), 0); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.Get(ctx, "k"); ok {
		t.Error("instance b sees instance a's key")
	}
	// A prefix of another instance's name must not leak either.
	if err := s.PluginKV("ab").Set(ctx, "x", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := a.List(ctx, "", "", 0); len(got) != 1 {
		t.Errorf("instance a lists %v", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir)
	defer s.Close()
	v, ok, err := s.PluginKV("a").Get(ctx, "k")
	if err != nil || !ok || string(v) != "from a" {
		t.Errorf("after reopen: %q %v %v", v, ok, err)
	}
}

func TestPluginKVOperations(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	kv := s.PluginKV("spam")
	for i := range 5 {
		kv.Set(ctx, fmt.Sprintf("seen/%d", i), []byte{byte(i)}, 0)
	}
	kv.Set(ctx, "other", []byte("x"), 0)

	page, more, err := kv.List(ctx, "seen/", "", 2)
	if err != nil || len(page) != 2 || !more || page[0].Key != "seen/0" || page[1].Key != "seen/1" {
		t.Fatalf("first page %v more=%v err=%v", page, more, err)
	}
	page, more, _ = kv.List(ctx, "seen/", page[1].Key, 10)
	if len(page) != 3 || more || page[0].Key != "seen/2" || page[2].Value[0] != 4 {
		t.Fatalf("second page %v more=%v", page, more)
	}

	if err := kv.Delete(ctx, "seen/0"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := kv.Get(ctx, "seen/0"); ok {
		t.Error("deleted key still there")
	}

	kv.Set(ctx, "short", []byte("x"), time.Second)
	time.Sleep(1100 * time.Millisecond)
	if _, ok, _ := kv.Get(ctx, "short"); ok {
		t.Error("key outlived its TTL")
	}
}

func TestSetIfAbsentHasOneWinner(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	kv := s.PluginKV("x")
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners := 0
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := kv.SetIfAbsent(context.Background(), "claim", []byte{byte(i)}, 0)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				winners++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if winners != 1 {
		t.Errorf("%d winners, want 1", winners)
	}
}

func TestBadgerLogsGoThroughHclog(t *testing.T) {
	var buf strings.Builder
	l := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Trace})
	b := badgerLogger{l.Named("badger")}
	b.Errorf("disk %s\n", "full")
	b.Warningf("slow")
	b.Infof("compaction done")
	b.Debugf("detail")
	out := buf.String()
	for _, want := range []string{"[ERROR] badger: disk full", "[WARN]  badger: slow", "[DEBUG] badger: compaction done", "[TRACE] badger: detail"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// SetMany and ListMany do what Set and List do, key by key, for one
// instance only; SetMany past the size of one transaction writes it all.
func TestPluginKVBatches(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	kv := s.PluginKV("spam").(sdk.KVBatcher)
	other := s.PluginKV("spamx") // its prefix starts like spam's
	if err := other.Set(ctx, "dup/1/x", []byte("theirs"), 0); err != nil {
		t.Fatal(err)
	}
	writes := []sdk.KVWrite{{Key: "dup/1/b", Value: []byte("2")}, {Key: "dup/1/a", Value: []byte("1")}, {Key: "dup/2/a", Value: []byte("3"), TTL: time.Hour},
		{Key: "dup/1/c", Value: nil}, {Key: "seen", Value: []byte{0, 0xff}}}
	if err := kv.SetMany(ctx, writes); err != nil {
		t.Fatal(err)
	}
	queries := []sdk.KVQuery{{Prefix: "dup/1/", Limit: 2}, {Prefix: "dup/1/", StartAfter: "dup/1/b"}, {Prefix: "dup/"}, {Prefix: "none"}, {Prefix: ""}, {Prefix: "dup/1/x"}}
	pages, err := kv.ListMany(ctx, queries)
	if err != nil || len(pages) != len(queries) {
		t.Fatalf("ListMany: %d pages, %v", len(pages), err)
	}
	for i, q := range queries {
		entries, more, err := s.PluginKV("spam").List(ctx, q.Prefix, q.StartAfter, q.Limit)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(pages[i].Entries) != fmt.Sprint(entries) || pages[i].More != more {
			t.Errorf("query %+v: ListMany %v (more %v), List %v (more %v)", q, pages[i].Entries, pages[i].More, entries, more)
		}
	}
	if got := fmt.Sprint(pages[0].Entries, pages[0].More, pages[1].Entries, len(pages[4].Entries), pages[5].Entries); got != "[{dup/1/a [49]} {dup/1/b [50]}] true [{dup/1/c []}] 5 []" {
		t.Errorf("pages: %s", got)
	}

	// Past one transaction's size (a few MB here): several commits, every
	// write stored.
	big := make([]sdk.KVWrite, 40000)
	value := bytes.Repeat([]byte("v"), 200)
	for i := range big {
		big[i] = sdk.KVWrite{Key: fmt.Sprintf("big/%05d", i), Value: value}
	}
	if err := kv.SetMany(ctx, big); err != nil {
		t.Fatal(err)
	}
	n, after := 0, ""
	for {
		page, more, err := s.PluginKV("spam").List(ctx, "big/", after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page)
		if !more {
			break
		}
		after = page[len(page)-1].Key
	}
	if n != len(big) {
		t.Errorf("%d of %d writes stored", n, len(big))
	}
}

// Open hands Badger the store's logger: its lines reach the host's log
// under "badger", not Badger's own stderr logger.
func TestOpenRoutesBadgerLogsToHclog(t *testing.T) {
	var buf strings.Builder
	l := hclog.New(&hclog.LoggerOptions{Name: "store", Output: &buf, Level: hclog.Debug})
	s, err := Open(t.TempDir(), Options{Logger: l})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if out := buf.String(); !strings.Contains(out, "[DEBUG] store.badger: ") {
		t.Errorf("no Badger line in the store's log:\n%s", out)
	}
}
