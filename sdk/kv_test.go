package sdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

// kvOp is one KV call for kvAnalyzer to make: the text of a comment.
type kvOp struct {
	Op     string        `json:"op"` // get, set, setnx, delete, list
	Key    string        `json:"key,omitempty"`
	Value  []byte        `json:"value,omitempty"`
	TTL    time.Duration `json:"ttl,omitempty"`
	Prefix string        `json:"prefix,omitempty"`
	After  string        `json:"after,omitempty"`
	Limit  int           `json:"limit,omitempty"`
	// For setmany and listmany.
	Writes  []sdk.KVWrite `json:"writes,omitempty"`
	Queries []sdk.KVQuery `json:"queries,omitempty"`
}

// kvOutcome is what the call returned, sent back as a label's reason.
type kvOutcome struct {
	Found   bool          `json:"found,omitempty"`
	Value   []byte        `json:"value,omitempty"`
	Stored  bool          `json:"stored,omitempty"`
	Entries []sdk.KVEntry `json:"entries,omitempty"`
	More    bool          `json:"more,omitempty"`
	Pages   []sdk.KVPage  `json:"pages,omitempty"`
	Err     string        `json:"err,omitempty"`
	NoHost  bool          `json:"no_host,omitempty"`
}

// kvAnalyzer drives its host KV from the comments it analyzes, so a test can
// make every KV call from the plugin's side of the broker and check the
// host's store directly.
type kvAnalyzer struct {
	mu sync.Mutex
	kv sdk.KV
}

func (a *kvAnalyzer) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.kv = req.KV
	// Configure may use the KV too; without host services this write fails
	// with ErrNoHost, which later calls report.
	_ = req.KV.Set(ctx, "configured/"+req.Instance, req.Config.JSON, 0)
	return nil
}

func (a *kvAnalyzer) Analyze(ctx context.Context, comments []sdk.Comment) ([]sdk.Result, error) {
	a.mu.Lock()
	kv := a.kv
	a.mu.Unlock()
	out := make([]sdk.Result, len(comments))
	for i, c := range comments {
		var op kvOp
		if err := json.Unmarshal([]byte(c.Text), &op); err != nil {
			return nil, fmt.Errorf("comment %s: %w", c.ID, err)
		}
		var o kvOutcome
		var err error
		switch op.Op {
		case "get":
			o.Value, o.Found, err = kv.Get(ctx, op.Key)
		case "set":
			err = kv.Set(ctx, op.Key, op.Value, op.TTL)
		case "setnx":
			o.Stored, err = kv.SetIfAbsent(ctx, op.Key, op.Value, op.TTL)
		case "delete":
			err = kv.Delete(ctx, op.Key)
		case "list":
			o.Entries, o.More, err = kv.List(ctx, op.Prefix, op.After, op.Limit)
		case "setmany":
			err = sdk.SetMany(ctx, kv, op.Writes)
		case "listmany":
			o.Pages, err = sdk.ListMany(ctx, kv, op.Queries)
		}
		if err != nil {
			o.Err, o.NoHost = err.Error(), errors.Is(err, sdk.ErrNoHost)
		}
		reason, _ := json.Marshal(o)
		out[i] = sdk.Result{CommentID: c.ID, Labels: []sdk.Label{{Name: "kv.op", Score: 1, Reason: string(reason)}}}
	}
	return out, nil
}

// clock is a time the test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func kvPlugin() sdk.Plugin {
	return sdk.Plugin{Info: sdk.Info{Name: "kv", Version: "1", Labels: []string{"kv.op"}}, Analyzer: &kvAnalyzer{}}
}

// runOp has the plugin make one KV call and returns what it got.
func runOp(t *testing.T, p *sdk.RemotePlugin, op kvOp) kvOutcome {
	t.Helper()
	text, _ := json.Marshal(op)
	res, err := p.Analyze(t.Context(), []sdk.Comment{{ID: "op", Text: string(text)}})
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	var o kvOutcome
	if err := json.Unmarshal([]byte(res[0].Labels[0].Reason), &o); err != nil {
		t.Fatalf("%s: decode outcome: %v", text, err)
	}
	return o
}

func TestKVOverTheBroker(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	host := sdk.NewMemoryKVAt(clk.Now)
	p := plugintest.Start(t, kvPlugin())
	fe, err := p.Configure(t.Context(), sdk.ConfigureOptions{Instance: "kv-1", Config: map[string]any{"x": 1}, KV: host})
	if err != nil || len(fe) > 0 {
		t.Fatalf("Configure: %v %v", fe, err)
	}
	binary := []byte{0, 0xff, 'v', 0xc3}
	entries := func(keys ...string) []sdk.KVEntry {
		var out []sdk.KVEntry
		for _, k := range keys {
			out = append(out, sdk.KVEntry{Key: k, Value: []byte("v" + k)})
		}
		return out
	}
	// Each step runs in order on the same store: the plugin's call, what it
	// must get back, and what the host's store must then hold.
	steps := []struct {
		name    string
		advance time.Duration
		op      kvOp
		want    kvOutcome
		host    map[string][]byte // key -> value, nil value: must be absent
	}{
		{name: "configure wrote through the KV", op: kvOp{Op: "get", Key: "configured/kv-1"},
			want: kvOutcome{Found: true, Value: []byte(`{"x":1}`)}},
		{name: "set binary", op: kvOp{Op: "set", Key: "a", Value: binary}, host: map[string][]byte{"a": binary}},
		{name: "get", op: kvOp{Op: "get", Key: "a"}, want: kvOutcome{Found: true, Value: binary}},
		{name: "get missing", op: kvOp{Op: "get", Key: "missing"}, want: kvOutcome{}},
		{name: "set overwrites", op: kvOp{Op: "set", Key: "a", Value: []byte("2")}, host: map[string][]byte{"a": []byte("2")}},
		{name: "setnx on an existing key", op: kvOp{Op: "setnx", Key: "a", Value: []byte("3")},
			want: kvOutcome{Stored: false}, host: map[string][]byte{"a": []byte("2")}},
		{name: "setnx on a new key with TTL", op: kvOp{Op: "setnx", Key: "claim", Value: []byte("me"), TTL: time.Minute},
			want: kvOutcome{Stored: true}, host: map[string][]byte{"claim": []byte("me")}},
		{name: "TTL not yet passed", advance: 59 * time.Second, op: kvOp{Op: "get", Key: "claim"},
			want: kvOutcome{Found: true, Value: []byte("me")}},
		{name: "TTL passed", advance: time.Second, op: kvOp{Op: "get", Key: "claim"},
			want: kvOutcome{}, host: map[string][]byte{"claim": nil}},
		{name: "setnx after expiry", op: kvOp{Op: "setnx", Key: "claim", Value: []byte("you")},
			want: kvOutcome{Stored: true}, host: map[string][]byte{"claim": []byte("you")}},
		{name: "delete", op: kvOp{Op: "delete", Key: "a"}, host: map[string][]byte{"a": nil}},
		{name: "delete missing is fine", op: kvOp{Op: "delete", Key: "a"}},
		{name: "fill p/", op: kvOp{Op: "set", Key: "p/1", Value: []byte("vp/1")}},
		{op: kvOp{Op: "set", Key: "p/3", Value: []byte("vp/3")}},
		{op: kvOp{Op: "set", Key: "p/2", Value: []byte("vp/2")}},
		{op: kvOp{Op: "set", Key: "p/5", Value: []byte("vp/5")}},
		{op: kvOp{Op: "set", Key: "p/4", Value: []byte("vp/4")}},
		{op: kvOp{Op: "set", Key: "q/1", Value: []byte("vq/1")}},
		{op: kvOp{Op: "set", Key: "p/6", Value: []byte("vp/6"), TTL: time.Minute}},
		{name: "list page 1", op: kvOp{Op: "list", Prefix: "p/", Limit: 2}, want: kvOutcome{Entries: entries("p/1", "p/2"), More: true}},
		{name: "list page 2", op: kvOp{Op: "list", Prefix: "p/", After: "p/2", Limit: 2}, want: kvOutcome{Entries: entries("p/3", "p/4"), More: true}},
		{name: "list last page", op: kvOp{Op: "list", Prefix: "p/", After: "p/4", Limit: 2}, want: kvOutcome{Entries: entries("p/5", "p/6")}},
		{name: "list skips expired keys", advance: time.Hour, op: kvOp{Op: "list", Prefix: "p/", After: "p/4"}, want: kvOutcome{Entries: entries("p/5")}},
		{name: "list another prefix", op: kvOp{Op: "list", Prefix: "q/"}, want: kvOutcome{Entries: entries("q/1")}},
		{name: "list nothing", op: kvOp{Op: "list", Prefix: "zzz"}, want: kvOutcome{}},
	}
	for _, s := range steps {
		if s.name == "" {
			s.name = s.op.Op + " " + s.op.Key
		}
		clk.Advance(s.advance)
		got := runOp(t, p, s.op)
		if !reflect.DeepEqual(got, s.want) {
			t.Errorf("%s: plugin got %+v, want %+v", s.name, got, s.want)
		}
		for key, want := range s.host {
			v, ok, err := host.Get(t.Context(), key)
			switch {
			case err != nil:
				t.Errorf("%s: host Get(%q): %v", s.name, key, err)
			case want == nil && ok:
				t.Errorf("%s: host still has %q = %q", s.name, key, v)
			case want != nil && (!ok || !bytes.Equal(v, want)):
				t.Errorf("%s: host has %q = %q (found %v), want %q", s.name, key, v, ok, want)
			}
		}
	}
}

func TestKVInstancesAreSeparate(t *testing.T) {
	// Each Configure serves its own store: two instances of one plugin never
	// see each other's keys.
	stores := []sdk.KV{sdk.NewMemoryKV(), sdk.NewMemoryKV()}
	for i, kv := range stores {
		p := plugintest.Start(t, kvPlugin())
		if _, err := p.Configure(t.Context(), sdk.ConfigureOptions{Instance: fmt.Sprint("i", i), KV: kv}); err != nil {
			t.Fatal(err)
		}
		runOp(t, p, kvOp{Op: "set", Key: "k", Value: []byte(fmt.Sprint(i))})
	}
	for i, kv := range stores {
		v, _, _ := kv.Get(t.Context(), "k")
		if string(v) != fmt.Sprint(i) {
			t.Errorf("store %d has k=%q, want %q", i, v, fmt.Sprint(i))
		}
		entries, _, _ := kv.List(t.Context(), "configured/", "", 0)
		if len(entries) != 1 || entries[0].Key != fmt.Sprint("configured/i", i) {
			t.Errorf("store %d has %v, want only its own configured/i%d", i, entries, i)
		}
	}
}

func TestKVWithoutHost(t *testing.T) {
	p := plugintest.Start(t, kvPlugin())
	if _, err := p.Configure(t.Context(), sdk.ConfigureOptions{Instance: "bare"}); err != nil {
		t.Fatal(err)
	}
	for _, op := range []kvOp{{Op: "get", Key: "a"}, {Op: "set", Key: "a"}, {Op: "setnx", Key: "a"}, {Op: "delete", Key: "a"}, {Op: "list"},
		{Op: "setmany", Writes: []sdk.KVWrite{{Key: "a"}}}, {Op: "listmany", Queries: []sdk.KVQuery{{Prefix: "a"}}}} {
		if got := runOp(t, p, op); !got.NoHost {
			t.Errorf("%s without host services: %+v, want ErrNoHost", op.Op, got)
		}
	}
}

func TestMemoryKVListLimits(t *testing.T) {
	kv := sdk.NewMemoryKV()
	ctx := context.Background()
	for i := range 1001 {
		if err := kv.Set(ctx, fmt.Sprintf("k%04d", i), nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		limit, want int
		more        bool
	}{
		{limit: 0, want: 100, more: true}, // the default page
		{limit: -1, want: 100, more: true},
		{limit: 7, want: 7, more: true},
		{limit: 5000, want: 1000, more: true}, // capped
	}
	for _, tt := range tests {
		entries, more, err := kv.List(ctx, "k", "", tt.limit)
		if err != nil || len(entries) != tt.want || more != tt.more {
			t.Errorf("List(limit %d) = %d entries, more %v, %v; want %d, more %v", tt.limit, len(entries), more, err, tt.want, tt.more)
		}
	}
}

// countingKV is a host KV that counts the calls it gets; batch says whether
// it takes SetMany and ListMany itself.
type countingKV struct {
	sdk.KV
	mu                               sync.Mutex
	sets, lists, setManys, listManys int
	written, queried                 int
}

func (k *countingKV) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	k.mu.Lock()
	k.sets++
	k.mu.Unlock()
	return k.KV.Set(ctx, key, value, ttl)
}

func (k *countingKV) List(ctx context.Context, prefix, after string, limit int) ([]sdk.KVEntry, bool, error) {
	k.mu.Lock()
	k.lists++
	k.mu.Unlock()
	return k.KV.List(ctx, prefix, after, limit)
}

// batchingKV is a countingKV that takes batches.
type batchingKV struct{ *countingKV }

func (k batchingKV) SetMany(ctx context.Context, writes []sdk.KVWrite) error {
	k.mu.Lock()
	k.setManys++
	k.written += len(writes)
	k.mu.Unlock()
	return sdk.SetMany(ctx, k.KV, writes)
}

func (k batchingKV) ListMany(ctx context.Context, queries []sdk.KVQuery) ([]sdk.KVPage, error) {
	k.mu.Lock()
	k.listManys++
	k.queried += len(queries)
	k.mu.Unlock()
	return sdk.ListMany(ctx, k.KV, queries)
}

// A plugin's SetMany and ListMany cross the broker as one call each (in
// chunks past the per-call bounds) and reach a host KV that batches as one
// call each; a host KV that does not batch gets one call per key. Either
// way the host ends up with every write, and the plugin with every page.
func TestKVBatchesOverTheBroker(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	writes := []sdk.KVWrite{{Key: "d/1/a", Value: []byte("1")}, {Key: "d/1/b", Value: []byte("2"), TTL: time.Minute},
		{Key: "d/2/a", Value: []byte("3")}, {Key: "e/1", Value: []byte{0, 0xff}}, {Key: "d/1/c", Value: nil}}
	queries := []sdk.KVQuery{{Prefix: "d/1/", Limit: 2}, {Prefix: "d/1/", StartAfter: "d/1/b"}, {Prefix: "d/2/"}, {Prefix: "none/"}, {Prefix: "e/"}}
	want := []sdk.KVPage{
		{Entries: []sdk.KVEntry{{Key: "d/1/a", Value: []byte("1")}, {Key: "d/1/b", Value: []byte("2")}}, More: true},
		{Entries: []sdk.KVEntry{{Key: "d/1/c", Value: []byte{}}}},
		{Entries: []sdk.KVEntry{{Key: "d/2/a", Value: []byte("3")}}},
		{},
		{Entries: []sdk.KVEntry{{Key: "e/1", Value: []byte{0, 0xff}}}},
	}
	for _, batching := range []bool{true, false} {
		t.Run(fmt.Sprintf("host batches: %v", batching), func(t *testing.T) {
			counts := &countingKV{KV: sdk.NewMemoryKVAt(clk.Now)}
			var host sdk.KV = counts
			if batching {
				host = batchingKV{counts}
			}
			p := plugintest.Start(t, kvPlugin())
			if _, err := p.Configure(t.Context(), sdk.ConfigureOptions{Instance: "b", KV: host}); err != nil {
				t.Fatal(err)
			}
			counts.sets = 0 // Configure's own write
			if o := runOp(t, p, kvOp{Op: "setmany", Writes: writes}); o.Err != "" {
				t.Fatal(o.Err)
			}
			o := runOp(t, p, kvOp{Op: "listmany", Queries: queries})
			if o.Err != "" {
				t.Fatal(o.Err)
			}
			// Empty and nil slices cross the wire as the same thing.
			normalize := func(pages []sdk.KVPage) string {
				var sb strings.Builder
				for _, p := range pages {
					for _, e := range p.Entries {
						fmt.Fprintf(&sb, "%s=%q ", e.Key, e.Value)
					}
					fmt.Fprintf(&sb, "more=%v | ", p.More)
				}
				return sb.String()
			}
			if normalize(o.Pages) != normalize(want) {
				t.Errorf("pages %s, want %s", normalize(o.Pages), normalize(want))
			}
			if batching && (counts.setManys != 1 || counts.written != len(writes) || counts.sets != 0 ||
				counts.listManys != 1 || counts.queried != len(queries) || counts.lists != 0) {
				t.Errorf("host got %d SetMany (%d writes), %d Set, %d ListMany (%d queries), %d List; want one batch call each",
					counts.setManys, counts.written, counts.sets, counts.listManys, counts.queried, counts.lists)
			}
			if !batching && (counts.sets != len(writes) || counts.lists != len(queries)) {
				t.Errorf("host got %d Set and %d List, want %d and %d", counts.sets, counts.lists, len(writes), len(queries))
			}
			clk.Advance(time.Minute)
			if v, ok, _ := host.Get(t.Context(), "d/1/b"); ok {
				t.Errorf("d/1/b = %q after its TTL", v)
			}
			clk.Advance(-time.Minute)
		})
	}
	t.Run("past the per-call bounds", func(t *testing.T) {
		counts := &countingKV{KV: sdk.NewMemoryKV()}
		p := plugintest.Start(t, kvPlugin())
		if _, err := p.Configure(t.Context(), sdk.ConfigureOptions{Instance: "big", KV: batchingKV{counts}}); err != nil {
			t.Fatal(err)
		}
		many := make([]sdk.KVWrite, 10001)
		for i := range many {
			many[i] = sdk.KVWrite{Key: fmt.Sprintf("k/%05d", i)}
		}
		qs := make([]sdk.KVQuery, 1001)
		for i := range qs {
			qs[i] = sdk.KVQuery{Prefix: fmt.Sprintf("k/%05d", i)}
		}
		if o := runOp(t, p, kvOp{Op: "setmany", Writes: many}); o.Err != "" {
			t.Fatal(o.Err)
		}
		o := runOp(t, p, kvOp{Op: "listmany", Queries: qs})
		if o.Err != "" || len(o.Pages) != len(qs) || len(o.Pages[1000].Entries) != 1 || o.Pages[1000].Entries[0].Key != "k/01000" {
			t.Fatalf("listmany of %d: %d pages, %s", len(qs), len(o.Pages), o.Err)
		}
		if counts.setManys != 2 || counts.written != len(many) || counts.listManys != 2 || counts.queried != len(qs) {
			t.Errorf("host got %d SetMany (%d writes), %d ListMany (%d queries); want 2 calls each", counts.setManys, counts.written, counts.listManys, counts.queried)
		}
	})
}
