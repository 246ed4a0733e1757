package daemon

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
)

// TestOverlayKVReadsLikeTheStoreWithTheWritesApplied: after any mix of
// writes and deletes, the overlay answers Get and every List page as a store
// holding the base's entries with those writes applied would, and the base
// is left as it was.
func TestOverlayKVReadsLikeTheStoreWithTheWritesApplied(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	key := func() string { return fmt.Sprintf("%c/%02d", "ab"[rng.IntN(2)], rng.IntN(40)) }
	for round := range 50 {
		base, model := sdk.NewMemoryKV(), sdk.NewMemoryKV()
		for range 30 {
			k, v := key(), []byte(fmt.Sprint(rng.IntN(1000)))
			base.Set(ctx, k, v, 0)
			model.Set(ctx, k, v, 0)
		}
		before := dump(t, base)
		o := newOverlayKV(base)
		for range 40 {
			k := key()
			switch rng.IntN(3) {
			case 0:
				o.Delete(ctx, k)
				model.Delete(ctx, k)
			default:
				v := []byte(fmt.Sprint(rng.IntN(1000)))
				o.Set(ctx, k, v, 0)
				model.Set(ctx, k, v, 0)
			}
		}
		for _, prefix := range []string{"", "a/", "b/", "a/1"} {
			for _, limit := range []int{1, 3, 7, 100} {
				after := ""
				for page := 0; ; page++ {
					got, gotMore, err := o.List(ctx, prefix, after, limit)
					want, wantMore, _ := model.List(ctx, prefix, after, limit)
					if err != nil || !reflect.DeepEqual(nonEmpty(got), nonEmpty(want)) || gotMore != wantMore {
						t.Fatalf("round %d, List(%q, %q, %d): %v %v, want %v %v (%v)", round, prefix, after, limit, got, gotMore, want, wantMore, err)
					}
					if !gotMore {
						break
					}
					after = got[len(got)-1].Key
				}
			}
		}
		for i := range 40 {
			k := fmt.Sprintf("a/%02d", i)
			gv, gok, _ := o.Get(ctx, k)
			wv, wok, _ := model.Get(ctx, k)
			if gok != wok || string(gv) != string(wv) {
				t.Fatalf("round %d, Get(%s): %q %v, want %q %v", round, k, gv, gok, wv, wok)
			}
		}
		if ok, _ := o.SetIfAbsent(ctx, "a/00", []byte("x"), 0); ok == (func() bool { _, had, _ := model.Get(ctx, "a/00"); return had })() {
			t.Fatalf("round %d: SetIfAbsent on a key that is %v", round, !ok)
		}
		if !reflect.DeepEqual(dump(t, base), before) {
			t.Fatalf("round %d: the overlay wrote to the store", round)
		}
	}
}

func nonEmpty(es []sdk.KVEntry) []sdk.KVEntry {
	if len(es) == 0 {
		return nil
	}
	return es
}

func dump(t *testing.T, kv sdk.KV) []sdk.KVEntry {
	t.Helper()
	es, _, err := kv.List(context.Background(), "", "", 10000)
	if err != nil {
		t.Fatal(err)
	}
	return es
}
