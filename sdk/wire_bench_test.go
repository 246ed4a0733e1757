package sdk

import (
	"fmt"
	"strings"
	"testing"

	pb "github.com/moderatorbot/moderator/sdk/proto/moderator/v1"
)

// BenchmarkWire measures what crossing the plugin boundary costs per batch of
// 100 comments without the transport: conversion and protobuf encoding of the
// request and the reply, on both sides.
func BenchmarkWire(b *testing.B) {
	comments := make([]Comment, 100)
	results := make([]Result, 100)
	for i := range comments {
		comments[i] = Comment{ID: fmt.Sprintf("c%d", i), PostID: "p1", AuthorID: "u1", AuthorHandle: "someone",
			Text: strings.Repeat("Some reply text, PARTLY LOUD. ", 4), Platform: "twitter"}
		results[i] = Result{CommentID: comments[i].ID, Labels: []Label{{Name: "shouting.caps", Score: 0.4, Spans: []Span{{1, 20}}, Reason: "40 of 100 letters are capitals (40%)"}}}
	}
	b.Run("request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			data, _ := codec{}.Marshal(&pb.AnalyzeRequest{Comments: commentsToPB(comments)})
			var req pb.AnalyzeRequest
			_ = codec{}.Unmarshal(data, &req)
			data.Free()
			_ = commentsFromPB(req.Comments)
		}
	})
	b.Run("reply", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out := &pb.AnalyzeResponse{Results: resultsToPB(results)}
			data, _ := codec{}.Marshal(out)
			var resp pb.AnalyzeResponse
			_ = codec{}.Unmarshal(data, &resp)
			data.Free()
			got := resultsFromPB(resp.Results)
			_ = CheckResults(Info{Name: "shouting", Labels: []string{"shouting.caps"}}, comments, got)
		}
	})
}
