package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
)

// BenchmarkPluginKVListMany is the host's side of a spam batch's lookups:
// 2,000 listings of random buckets, 4 per comment of a batch of 500, in a
// store that holds 240,000 entries (60,000 comments' worth) on disk.
//
//	go test -run '^$' -bench PluginKVListMany -benchtime 20x ./core/store
func BenchmarkPluginKVListMany(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	kv := s.PluginKV("spam").(sdk.KVBatcher)
	r := rand.New(rand.NewPCG(1, 2))
	value := make([]byte, 150)
	for batch := range 120 {
		writes := make([]sdk.KVWrite, 2000)
		for i := range writes {
			writes[i] = sdk.KVWrite{Key: fmt.Sprintf("dup/%d/%016x/%016x", i%4, r.Uint64(), uint64(batch*2000+i)), Value: value}
		}
		if err := kv.SetMany(ctx, writes); err != nil {
			b.Fatal(err)
		}
	}
	queries := make([]sdk.KVQuery, 2000)
	for i := range queries {
		queries[i] = sdk.KVQuery{Prefix: fmt.Sprintf("dup/%d/%016x/", i%4, r.Uint64()), Limit: 200}
	}
	for b.Loop() {
		if _, err := kv.ListMany(ctx, queries); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(queries)), "µs/query")
}
