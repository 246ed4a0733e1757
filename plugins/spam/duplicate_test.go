package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/plugins/spam/model"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

const campaign = "I made so much this month with the program my cousin showed me, ask me how"

func comment(id, author, post, text string) sdk.Comment {
	return sdk.Comment{ID: id, AuthorID: author, PostID: post, Text: text, Platform: "test", Connector: "test"}
}

func label(t *testing.T, r sdk.Result, name string) (sdk.Label, bool) {
	t.Helper()
	return r.Label(name)
}

func TestDuplicates(t *testing.T) {
	ctx := context.Background()
	a := configured(t, map[string]any{"model": false})
	var last sdk.Result
	for i, author := range []string{"u1", "u2", "u3", "u1"} {
		res, err := a.Analyze(ctx, []sdk.Comment{comment(fmt.Sprint("c", i), author, fmt.Sprint("p", i%2), campaign)})
		if err != nil {
			t.Fatal(err)
		}
		last = res[0]
		l, ok := label(t, last, labelDuplicate)
		switch i {
		case 0:
			if ok {
				t.Fatalf("first copy labelled duplicate: %+v", l)
			}
		case 1:
			if !ok || l.Score >= 0.5 || l.Reason != "same text as 1 other comment from 2 authors on 2 posts in 24h" {
				t.Fatalf("second copy: %+v", l)
			}
			if sp, _ := label(t, last, labelSpam); sp.Score >= 0.5 {
				t.Errorf("two copies alone made spam: %+v", sp)
			}
		case 2:
			if !ok || l.Score < 0.5 || l.Reason != "same text as 2 other comments from 3 authors on 2 posts in 24h" {
				t.Fatalf("third copy: %+v", l)
			}
			if sp, _ := label(t, last, labelSpam); sp.Score < 0.5 || !strings.Contains(sp.Reason, "same text as 2 other") {
				t.Errorf("three copies are spam: %+v", sp)
			}
		}
	}
	if l, _ := label(t, last, labelDuplicate); l.Reason != "same text as 3 other comments from 3 authors on 2 posts in 24h" || len(l.Spans) != 1 || l.Spans[0] != (sdk.Span{Start: 0, End: len(campaign)}) {
		t.Errorf("fourth copy: %+v", l)
	}
}

func TestDuplicatesNearlyTheSame(t *testing.T) {
	ctx := context.Background()
	a := configured(t, map[string]any{"model": false, "duplicate_threshold": 2})
	variants := []string{
		campaign,
		strings.ToUpper(campaign) + "!!",
		"I made SO much this month with the program my cousin showed me... ask me how 😀",
		strings.Replace(campaign, "cousin", "sister", 1),
	}
	for i, text := range variants {
		res, err := a.Analyze(ctx, []sdk.Comment{comment(fmt.Sprint("v", i), fmt.Sprint("u", i), "p", text)})
		if err != nil {
			t.Fatal(err)
		}
		l, ok := label(t, res[0], labelDuplicate)
		if i > 0 && (!ok || !strings.HasPrefix(l.Reason, fmt.Sprintf("same text as %d other", i))) {
			t.Errorf("variant %d %q: %+v, %v", i, text, l, ok)
		}
	}
	// A different text on the same subject is not a copy.
	res, _ := a.Analyze(ctx, []sdk.Comment{comment("other", "u9", "p", "My cousin showed me a program this month and I did not make much money with it at all")})
	if l, ok := label(t, res[0], labelDuplicate); ok {
		t.Errorf("a different text matched: %+v", l)
	}
}

// TestDuplicatesHotBucket: past one listing's worth of copies the count is
// a lower bound, and says so.
func TestDuplicatesHotBucket(t *testing.T) {
	a := configured(t, map[string]any{"model": false})
	batch := make([]sdk.Comment, maxBucket+2)
	for i := range batch {
		batch[i] = comment(fmt.Sprint("h", i), fmt.Sprint("u", i%3), "p", campaign)
	}
	res, err := a.Analyze(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := res[len(res)-1].Label(labelDuplicate); !strings.HasPrefix(l.Reason, fmt.Sprintf("same text as at least %d other comments from 3 authors", maxBucket)) {
		t.Errorf("hot bucket: %q", l.Reason)
	}
}

func TestDuplicatesIgnored(t *testing.T) {
	ctx := context.Background()
	t.Run("short texts", func(t *testing.T) {
		a := configured(t, map[string]any{"model": false})
		for i := range 5 {
			res, _ := a.Analyze(ctx, []sdk.Comment{comment(fmt.Sprint("t", i), fmt.Sprint("u", i), "p", "Thanks, great post!")})
			if _, ok := label(t, res[0], labelDuplicate); ok {
				t.Fatalf("a short text counted as a duplicate")
			}
		}
	})
	t.Run("the same comment analyzed again", func(t *testing.T) {
		a := configured(t, map[string]any{"model": false})
		for range 4 {
			res, _ := a.Analyze(ctx, []sdk.Comment{comment("same", "u1", "p", campaign)})
			if _, ok := label(t, res[0], labelDuplicate); ok {
				t.Fatalf("a re-analysis counted the comment against itself")
			}
		}
	})
	t.Run("outside the window", func(t *testing.T) {
		a := configured(t, map[string]any{"model": false, "duplicate_window": "1h"})
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		c1 := comment("old", "u1", "p", campaign)
		c1.CreatedAt = t0
		c2 := comment("new", "u2", "p", campaign)
		c2.CreatedAt = t0.Add(2 * time.Hour)
		res, _ := a.Analyze(ctx, []sdk.Comment{c1, c2})
		if _, ok := label(t, res[1], labelDuplicate); ok {
			t.Errorf("a copy from two hours before counted in a 1h window")
		}
	})
	t.Run("duplicates off", func(t *testing.T) {
		a := configured(t, map[string]any{"model": false, "duplicates": false})
		res, _ := a.Analyze(ctx, []sdk.Comment{comment("a", "u1", "p", campaign), comment("b", "u2", "p", campaign), comment("c", "u3", "p", campaign)})
		if _, ok := label(t, res[2], labelDuplicate); ok {
			t.Errorf("duplicates = false still counted copies")
		}
	})
	for name, kv := range map[string]sdk.KV{"no KV": nil, "no host services": noHostKV{}} {
		t.Run(name, func(t *testing.T) {
			a := newSpam()
			if err := a.Configure(ctx, sdk.ConfigureRequest{KV: kv}); err != nil {
				t.Fatal(err)
			}
			res, err := a.Analyze(ctx, []sdk.Comment{comment("a", "u1", "p", campaign), comment("b", "u2", "p", campaign)})
			if err != nil || len(res) != 2 {
				t.Fatalf("Analyze: %v", err)
			}
			if _, ok := res[1].Label(labelModel); !ok {
				t.Errorf("the other signals stopped too: %+v", res[1])
			}
		})
	}
}

// noHostKV answers as the SDK does when the host serves no KV.
type noHostKV struct{ sdk.KV }

func (noHostKV) List(context.Context, string, string, int) ([]sdk.KVEntry, bool, error) {
	return nil, false, sdk.ErrNoHost
}

func (noHostKV) Set(context.Context, string, []byte, time.Duration) error { return sdk.ErrNoHost }

// failingKV stores, and fails every lookup, as a broken host store could.
type failingKV struct{ sdk.KV }

func (failingKV) List(context.Context, string, string, int) ([]sdk.KVEntry, bool, error) {
	return nil, false, errors.New("disk on fire")
}

func TestDuplicatesKVErrorFailsTheBatch(t *testing.T) {
	a := newSpam()
	if err := a.Configure(context.Background(), sdk.ConfigureRequest{KV: failingKV{sdk.NewMemoryKV()}}); err != nil {
		t.Fatal(err)
	}
	_, err := a.Analyze(context.Background(), []sdk.Comment{comment("a", "u1", "p", campaign)})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.Contains(err.Error(), "duplicate lookup") {
		t.Errorf("Analyze = %v, want the KV error and what it was doing", err)
	}
	// With validate_only the KV is never touched.
	if err := a.Configure(context.Background(), sdk.ConfigureRequest{KV: failingKV{}, ValidateOnly: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Analyze(context.Background(), []sdk.Comment{comment("a", "u1", "p", campaign)}); err != nil {
		t.Errorf("after a validate-only Configure: %v", err)
	}
}

// TestDuplicatesConcurrent: copies posted in concurrent batches are all
// recorded (one key per comment, no read-modify-write to lose).
func TestDuplicatesConcurrent(t *testing.T) {
	a := configured(t, map[string]any{"model": false})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			if _, err := a.Analyze(context.Background(), []sdk.Comment{comment(fmt.Sprint("g", g), fmt.Sprint("u", g), "p", campaign)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	res, _ := a.Analyze(context.Background(), []sdk.Comment{comment("last", "u9", "p", campaign)})
	if l, _ := label(t, res[0], labelDuplicate); !strings.HasPrefix(l.Reason, "same text as 8 other comments from 9 authors") {
		t.Errorf("after 8 concurrent copies: %+v", l)
	}
}

// TestDuplicatesThroughTheHostKV runs the plugin over gRPC with the host's
// KV served through the go-plugin broker, as in production.
func TestDuplicatesThroughTheHostKV(t *testing.T) {
	p := plugintest.Start(t, newPlugin())
	kv := sdk.NewMemoryKV()
	if fe, err := p.Configure(context.Background(), sdk.ConfigureOptions{Instance: "spam", Config: map[string]any{"model": false}, KV: kv}); err != nil || len(fe) > 0 {
		t.Fatal(fe, err)
	}
	var res []sdk.Result
	for i := range 3 {
		var err error
		res, err = p.Analyze(context.Background(), []sdk.Comment{comment(fmt.Sprint("k", i), fmt.Sprint("u", i), "p", campaign)})
		if err != nil {
			t.Fatal(err)
		}
	}
	if l, ok := res[0].Label(labelSpam); !ok || l.Score < 0.5 {
		t.Errorf("third copy through the host KV: %+v", res[0])
	}
	entries, _, err := kv.List(context.Background(), dupPrefix, "", 100)
	if err != nil || len(entries) != 3*numBands {
		t.Errorf("host KV holds %d entries (%v), want %d", len(entries), err, 3*numBands)
	}
}

func TestSignatureSimilarity(t *testing.T) {
	sig := func(s string) signature {
		sh, _ := shingles(model.Tokenize(s))
		return minhash(sh)
	}
	a, b, c := sig(campaign), sig(strings.Replace(campaign, "cousin", "sister", 1)), sig("Completely unrelated words about gardening and tomatoes in the summer heat")
	if s := a.similarity(&a); s != 1 {
		t.Errorf("self similarity %v", s)
	}
	if s := a.similarity(&b); s < minSimilarity {
		t.Errorf("one word changed: similarity %v", s)
	}
	if s := a.similarity(&c); s > 0.2 {
		t.Errorf("unrelated texts: similarity %v", s)
	}
}

func TestEntryEncoding(t *testing.T) {
	e := dupEntry{Author: "ünïcode author", Post: "p/1", At: 1767225600, Sig: signature{1, 2, 3}}
	e.Sig[numHashes-1] = 0xffffffff
	got, ok := decodeEntry(e.encode())
	if !ok || got != e {
		t.Fatalf("round trip: %+v %v, want %+v", got, ok, e)
	}
	enc := e.encode()
	for name, b := range map[string][]byte{
		"empty": nil, "other version": append([]byte{9}, enc[1:]...), "cut": enc[:len(enc)-1],
		"trailing": append(enc[:len(enc):len(enc)], 0), "json": []byte(`{"a":"x"}`),
	} {
		if _, ok := decodeEntry(b); ok {
			t.Errorf("%s: decoded", name)
		}
	}
}

// FuzzDecodeEntry: whatever is in the KV, decoding never panics, and what
// decodes encodes back to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(dupEntry{Author: "a", Post: "p", At: 5}.encode())
	f.Add([]byte{entryVersion})
	f.Add([]byte(`{"a":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, ok := decodeEntry(b); ok && string(e.encode()) != string(b) {
			t.Errorf("%x decodes to %+v, which encodes to %x", b, e, e.encode())
		}
	})
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{24 * time.Hour: "24h", 90 * time.Minute: "1h30m", 5 * time.Minute: "5m", 36*time.Hour + 30*time.Second: "36h0m30s"} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// batchCountingKV is a batching KV that counts its calls.
type batchCountingKV struct {
	sdk.KV
	calls map[string]int
}

func (k *batchCountingKV) count(op string) { k.calls[op]++ }
func (k *batchCountingKV) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	k.count("Set")
	return k.KV.Set(ctx, key, v, ttl)
}
func (k *batchCountingKV) List(ctx context.Context, p, after string, n int) ([]sdk.KVEntry, bool, error) {
	k.count("List")
	return k.KV.List(ctx, p, after, n)
}
func (k *batchCountingKV) SetMany(ctx context.Context, w []sdk.KVWrite) error {
	k.count("SetMany")
	return sdk.SetMany(ctx, k.KV, w)
}
func (k *batchCountingKV) ListMany(ctx context.Context, q []sdk.KVQuery) ([]sdk.KVPage, error) {
	k.count("ListMany")
	return sdk.ListMany(ctx, k.KV, q)
}

// A batch is looked up and recorded in one call each, and says exactly what
// the same comments analyzed one at a time say: copies earlier in the batch
// count as copies stored before it, within the window, never the comment
// itself.
func TestDuplicatesOfABatchAreThoseOfItsComments(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(c sdk.Comment, d time.Duration) sdk.Comment { c.CreatedAt = t0.Add(d); return c }
	batch := []sdk.Comment{
		at(comment("a", "u1", "p1", campaign), 0),
		at(comment("b", "u2", "p1", "An entirely different remark about the article and its many charts"), time.Minute),
		at(comment("c", "u2", "p2", strings.ToUpper(campaign)+"!!"), 2*time.Minute),
		at(comment("a", "u1", "p1", campaign), 3*time.Minute), // the same comment again
		at(comment("d", "u3", "p2", "too short"), 4*time.Minute),
		at(comment("e", "u4", "p3", campaign), 3*time.Hour), // outside a 1h window of the others
		at(comment("f", "u5", "p3", strings.Replace(campaign, "cousin", "sister", 1)), 3*time.Hour+time.Minute),
		at(comment("g", "u6", "p1", campaign), 4*time.Minute),
		at(comment("h", "u7", "p2", "An entirely different remark about the article and its many charts!"), 5*time.Minute),
	}
	cfg := map[string]any{"model": false, "duplicate_window": "1h", "duplicate_threshold": 2}
	reasons := func(res []sdk.Result) []string {
		var out []string
		for _, r := range res {
			l, _ := r.Label(labelDuplicate)
			out = append(out, r.CommentID+": "+l.Reason)
		}
		return out
	}
	oneByOne := configured(t, cfg)
	var want []sdk.Result
	for _, c := range batch {
		res, err := oneByOne.Analyze(context.Background(), []sdk.Comment{c})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, res...)
	}

	kv := &batchCountingKV{KV: sdk.NewMemoryKV(), calls: map[string]int{}}
	together := newSpam()
	data, _ := json.Marshal(cfg)
	if err := together.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: data}, KV: kv}); err != nil {
		t.Fatal(err)
	}
	got, err := together.Analyze(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := reasons(got), reasons(want); !slices.Equal(g, w) {
		t.Errorf("as one batch:\n%s\none at a time:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("comment %s: batch %+v, alone %+v", batch[i].ID, got[i], want[i])
		}
	}
	if fmt.Sprint(kv.calls) != "map[ListMany:1 SetMany:1]" {
		t.Errorf("KV calls for one batch: %v, want one ListMany and one SetMany", kv.calls)
	}
}

// recordFailsKV lists fine and cannot write.
type recordFailsKV struct{ sdk.KV }

func (recordFailsKV) Set(context.Context, string, []byte, time.Duration) error {
	return errors.New("read-only file system")
}

func TestDuplicatesRecordErrorFailsTheBatch(t *testing.T) {
	a := newSpam()
	if err := a.Configure(context.Background(), sdk.ConfigureRequest{KV: recordFailsKV{sdk.NewMemoryKV()}}); err != nil {
		t.Fatal(err)
	}
	_, err := a.Analyze(context.Background(), []sdk.Comment{comment("a", "u1", "p", campaign)})
	if err == nil || !strings.Contains(err.Error(), "duplicate record: read-only file system") {
		t.Errorf("Analyze = %v, want the write's error", err)
	}
}

// barrierKV holds every SetMany until n of them have stored their writes,
// so that n batches record before any of them looks up.
type barrierKV struct {
	sdk.KV
	wg *sync.WaitGroup
}

func (k barrierKV) SetMany(ctx context.Context, w []sdk.KVWrite) error {
	err := sdk.SetMany(ctx, k.KV, w)
	k.wg.Done()
	k.wg.Wait()
	return err
}

func (k barrierKV) ListMany(ctx context.Context, q []sdk.KVQuery) ([]sdk.KVPage, error) {
	return sdk.ListMany(ctx, k.KV, q)
}

// Two batches analyzed at once, each with a copy of the same text: each
// batch records before it looks up, so the copies see each other (looking
// up first, both would look before either recorded, and neither would).
func TestDuplicatesInConcurrentBatchesSeeEachOther(t *testing.T) {
	var wg sync.WaitGroup
	wg.Add(2)
	a := newSpam()
	if err := a.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: []byte(`{"model": false}`)}, KV: barrierKV{sdk.NewMemoryKV(), &wg}}); err != nil {
		t.Fatal(err)
	}
	results := make([]sdk.Result, 2)
	var done sync.WaitGroup
	for i := range 2 {
		done.Go(func() {
			res, err := a.Analyze(context.Background(), []sdk.Comment{comment(fmt.Sprint("c", i), fmt.Sprint("u", i), "p", campaign)})
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = res[0]
		})
	}
	done.Wait()
	for i, r := range results {
		if l, _ := r.Label(labelDuplicate); !strings.HasPrefix(l.Reason, "same text as 1 other comment") {
			t.Errorf("batch %d: %q, want the other batch's copy counted", i, l.Reason)
		}
	}
}
