package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

// benchTexts are realistic comments: mostly ordinary, some spam, a few long.
var benchTexts = []string{
	"Great article, thanks for sharing!",
	"I disagree with the second point, the data says otherwise. Look at the 2019 figures again.",
	"Does anyone know if this works on Windows too? I tried it on my laptop and it crashed twice.",
	"Earn $500 a day working from home, click here http://bit.ly/3xYz",
	"This is exactly what I needed today. Bookmarked, and shared with my team @sam @jo",
	"Here is the paper they mention: https://arxiv.org/abs/2101.00001 (section 4 is the interesting part)",
	"Thanks to Mrs. Linda, my account manager, I now earn passive income every week. Contact her on WhatsApp +1 555 012 3456",
	"We had the same bug in production last week; the fix was to pin the version and restart the workers one by one. " +
		"It took us two days to find because the logs were rotated before anyone looked, so keep more history than you think you need.",
	"lol this made my day 😂😂",
	"#follow #like #f4f #followback #instagood #likeforlike",
}

// BenchmarkAnalyze calls Analyze directly on batches of 100 comments; run
// with -cpu 1 for the per-core figure in comments/s. "all" has every signal
// on, with the duplicate store in a KV that finds a prefix the way the
// host's Badger store does (by seeking, not by scanning every key, as
// sdk.NewMemoryKV does); "no-duplicates" is the CPU cost of the other
// signals and the model alone.
func BenchmarkAnalyze(b *testing.B) {
	for _, bc := range []struct {
		name string
		req  sdk.ConfigureRequest
	}{
		{"all", sdk.ConfigureRequest{KV: newDirKV()}},
		{"no-duplicates", sdk.ConfigureRequest{Config: sdk.Config{JSON: []byte(`{"duplicates": false}`)}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			a := newSpam()
			if err := a.Configure(context.Background(), bc.req); err != nil {
				b.Fatal(err)
			}
			benchAnalyze(b, a)
		})
	}
}

func benchAnalyze(b *testing.B, a *Spam) {
	batch := make([]sdk.Comment, 100)
	rng := rand.New(rand.NewPCG(1, 2))
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for i := range batch {
			n++
			// Distinct ids and authors, as a live stream has, and the KV
			// grows as it would over a busy day. One comment in five is one
			// of benchTexts, repeated as spam runs and common replies are;
			// the rest are distinct texts made of two of them and a few
			// words of their own.
			text := benchTexts[rng.IntN(len(benchTexts))]
			if n%5 != 0 {
				text = fmt.Sprintf("%s w%d w%d %s w%d", text, rng.IntN(1e6), rng.IntN(1e6), benchTexts[rng.IntN(len(benchTexts))], rng.IntN(1e6))
			}
			batch[i] = sdk.Comment{ID: fmt.Sprint("c", n), AuthorID: fmt.Sprint("u", n%500), PostID: fmt.Sprint("p", n%20), Text: text}
		}
		if _, err := a.Analyze(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "comments/s")
}

// dirKV is a KV for the benchmark whose List costs what a sorted store's
// seek does (proportional to what it returns, not to what is stored): keys
// are kept sorted per "directory" (up to the last '/'). TTLs are ignored.
type dirKV struct {
	mu   sync.Mutex
	dirs map[string]*dir
}

type dir struct {
	names  []string // sorted
	values map[string][]byte
}

func newDirKV() *dirKV { return &dirKV{dirs: map[string]*dir{}} }

func split(key string) (string, string) {
	i := strings.LastIndexByte(key, '/') + 1
	return key[:i], key[i:]
}

func (k *dirKV) Get(_ context.Context, key string) ([]byte, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	d, n := split(key)
	if k.dirs[d] == nil {
		return nil, false, nil
	}
	v, ok := k.dirs[d].values[n]
	return v, ok, nil
}

func (k *dirKV) Set(_ context.Context, key string, value []byte, _ time.Duration) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	d, n := split(key)
	e := k.dirs[d]
	if e == nil {
		e = &dir{values: map[string][]byte{}}
		k.dirs[d] = e
	}
	if _, ok := e.values[n]; !ok {
		i, _ := slices.BinarySearch(e.names, n)
		e.names = slices.Insert(e.names, i, n)
	}
	e.values[n] = value
	return nil
}

func (k *dirKV) SetIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if _, ok, _ := k.Get(ctx, key); ok {
		return false, nil
	}
	return true, k.Set(ctx, key, value, ttl)
}

func (k *dirKV) Delete(_ context.Context, key string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	d, n := split(key)
	if e := k.dirs[d]; e != nil {
		if i, ok := slices.BinarySearch(e.names, n); ok {
			e.names = slices.Delete(e.names, i, i+1)
			delete(e.values, n)
		}
	}
	return nil
}

// List supports what the plugin asks: a prefix ending in '/'.
func (k *dirKV) List(_ context.Context, prefix, startAfter string, limit int) ([]sdk.KVEntry, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	d, _ := split(prefix)
	e := k.dirs[d]
	if e == nil {
		return nil, false, nil
	}
	i := 0
	if startAfter > d {
		i, _ = slices.BinarySearch(e.names, strings.TrimPrefix(startAfter, d)+"\x00")
	}
	var out []sdk.KVEntry
	for ; i < len(e.names) && len(out) < limit; i++ {
		out = append(out, sdk.KVEntry{Key: d + e.names[i], Value: e.values[e.names[i]]})
	}
	return out, i < len(e.names), nil
}
