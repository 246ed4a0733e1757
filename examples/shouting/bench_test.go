package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

// BenchmarkAnalyze compares a direct in-process call with the same analyzer
// behind the plugin boundary (a real process over gRPC with mTLS), at batch
// sizes 1 and 100. The boundary's cost per comment is
// (plugin ns/comment - direct ns/comment).
func BenchmarkAnalyze(b *testing.B) {
	binary := func() string { return plugintest.BuildOnce(b, ".") }
	for _, batch := range []int{1, 100} {
		comments := make([]sdk.Comment, batch)
		for i := range comments {
			comments[i] = sdk.Comment{
				ID: fmt.Sprintf("c%d", i), PostID: "p1", AuthorID: fmt.Sprintf("u%d", i%7), AuthorHandle: "someone",
				Text: strings.Repeat("Some reply text, PARTLY LOUD. ", 4), Platform: "twitter",
			}
		}
		direct := &Shouting{MinLetters: 8}
		b.Run(fmt.Sprintf("direct/batch=%d", batch), func(b *testing.B) {
			run(b, direct, comments)
		})
		b.Run(fmt.Sprintf("plugin/batch=%d", batch), func(b *testing.B) {
			p := plugintest.Launch(b, binary())
			if _, err := p.Configure(context.Background(), sdk.ConfigureOptions{Instance: "bench"}); err != nil {
				b.Fatal(err)
			}
			run(b, p, comments)
		})
	}
}

func run(b *testing.B, a sdk.Analyzer, comments []sdk.Comment) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Analyze(ctx, comments); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(comments)), "ns/comment")
}
