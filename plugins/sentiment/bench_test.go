package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
)

// BenchmarkAnalyze measures Analyze on batches of 100 comments drawn from the
// UCI review sentences, each made comment-sized by joining two or three of
// them. Run with -cpu 1 for the per-core figure:
//
//	go test ./plugins/sentiment -run '^$' -bench Analyze -cpu 1
func BenchmarkAnalyze(b *testing.B) {
	data := loadDataset(b)
	comments := make([]sdk.Comment, 100)
	for i := range comments {
		text := data[(7*i)%len(data)].Text + " " + data[(7*i+1)%len(data)].Text
		if i%2 == 0 {
			text += " " + data[(7*i+2)%len(data)].Text
		}
		comments[i] = sdk.Comment{ID: fmt.Sprintf("c%d", i), PostID: "p1", AuthorID: fmt.Sprintf("u%d", i%13), Text: text}
	}
	s := newSentiment()
	s.cfg.Store(&config{Threshold: defaultThreshold, EmitPositive: true})
	ctx := context.Background()
	vader() // the lexicon is parsed once per process, not per call
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Analyze(ctx, comments); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(comments))/b.Elapsed().Seconds(), "comments/s")
}
