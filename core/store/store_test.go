package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
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
