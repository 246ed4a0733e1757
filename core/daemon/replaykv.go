package daemon

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

// overlayKV is a plugin's KV during a replay: it reads what the plugin's
// real store holds, and keeps the plugin's writes in memory, where they are
// seen by its later reads and then dropped. A replay must change nothing,
// and an analyzer with state (the spam analyzer records every comment it
// sees) would otherwise record the past again.
type overlayKV struct {
	base sdk.KV
	mu   sync.Mutex
	mem  map[string]overlayEntry
}

type overlayEntry struct {
	value   []byte
	deleted bool
}

func newOverlayKV(base sdk.KV) *overlayKV {
	return &overlayKV{base: base, mem: map[string]overlayEntry{}}
}

func (o *overlayKV) Get(ctx context.Context, key string) ([]byte, bool, error) {
	o.mu.Lock()
	e, ok := o.mem[key]
	o.mu.Unlock()
	if ok {
		if e.deleted {
			return nil, false, nil
		}
		return slices.Clone(e.value), true, nil
	}
	return o.base.Get(ctx, key)
}

func (o *overlayKV) Set(_ context.Context, key string, value []byte, _ time.Duration) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mem[key] = overlayEntry{value: slices.Clone(value)}
	return nil
}

func (o *overlayKV) SetIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	// Replay analyzes one batch at a time per analyzer; the check and the
	// write need not be one step against another writer.
	if _, ok, err := o.Get(ctx, key); err != nil || ok {
		return false, err
	}
	return true, o.Set(ctx, key, value, ttl)
}

func (o *overlayKV) Delete(_ context.Context, key string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mem[key] = overlayEntry{deleted: true}
	return nil
}

// List merges the store's entries with the replay's writes, in key order.
func (o *overlayKV) List(ctx context.Context, prefix, startAfter string, limit int) ([]sdk.KVEntry, bool, error) {
	if limit <= 0 {
		limit = 1000
	}
	o.mu.Lock()
	var memKeys []string
	for k := range o.mem {
		if strings.HasPrefix(k, prefix) && k > startAfter {
			memKeys = append(memKeys, k)
		}
	}
	mem := make(map[string]overlayEntry, len(memKeys))
	for _, k := range memKeys {
		mem[k] = o.mem[k]
	}
	o.mu.Unlock()
	slices.Sort(memKeys)

	var out []sdk.KVEntry
	var page []sdk.KVEntry
	cursor, baseDone := startAfter, false
	for len(out) <= limit {
		if len(page) == 0 && !baseDone {
			entries, more, err := o.base.List(ctx, prefix, cursor, limit+1)
			if err != nil {
				return nil, false, err
			}
			page, baseDone = entries, !more
			if len(entries) > 0 {
				cursor = entries[len(entries)-1].Key
			} else {
				baseDone = true
			}
		}
		switch {
		case len(page) == 0 && len(memKeys) == 0:
			return out, false, nil
		case len(memKeys) > 0 && (len(page) == 0 || memKeys[0] <= page[0].Key):
			k := memKeys[0]
			memKeys = memKeys[1:]
			if len(page) > 0 && page[0].Key == k {
				page = page[1:] // the replay's write wins
			}
			if e := mem[k]; !e.deleted {
				out = append(out, sdk.KVEntry{Key: k, Value: slices.Clone(e.value)})
			}
		default:
			out = append(out, page[0])
			page = page[1:]
		}
	}
	return out[:limit], true, nil
}
