package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
)

var benchTexts = []string{
	"Great article, thanks for writing it up so clearly.",
	"You are an idiot if you believe any of this.",
	"I disagree with the second point: the numbers from 2019 say otherwise, see the appendix.",
	"damn, that ending caught me off guard 😂",
	"Buy cheap followers now at example dot com!!!",
	"Ça m'a beaucoup plu, merci pour cet article.",
	"Where can I read more about the method you used?",
	"This is the worst take I have read all week, honestly.",
	"I will kill this workout tomorrow, thanks for the tips",
	"ΑΥΤΟ ΕΙΝΑΙ ΠΟΛΥ ΚΑΚΟ",
}

func benchComments() []sdk.Comment {
	out := make([]sdk.Comment, 100)
	for i := range out {
		out[i] = sdk.Comment{
			ID: fmt.Sprintf("c%d", i), PostID: "p1", AuthorID: fmt.Sprintf("u%d", i%13), Lang: "en",
			Text: benchTexts[i%len(benchTexts)] + " " + benchTexts[(i*7+3)%len(benchTexts)],
		}
	}
	return out
}

// BenchmarkAnalyze measures Analyze on batches of 100 comments against the
// fake service over loopback, in the same process (so with -cpu 1 the
// service's JSON work shares the core), one request of 100 and the default
// four requests of at most 32; "no-network" is the plugin's own share:
// encoding the request, decoding the answer and checking the results.
//
//	go test ./plugins/http -run '^$' -bench Analyze -cpu 1
func BenchmarkAnalyze(b *testing.B) {
	in := benchComments()
	ctx := context.Background()
	f := newFake(b)
	for _, size := range []int{100, 32} {
		b.Run(fmt.Sprintf("loopback/batch_size=%d", size), func(b *testing.B) {
			a := configured(b, map[string]any{"url": f.URL, "batch_size": size}, nil)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Analyze(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(in))/b.Elapsed().Seconds(), "comments/s")
		})
	}
	b.Run("no-network", func(b *testing.B) {
		cfg := defaultConfig()
		cfg.URL = f.URL
		s, err := cfg.check()
		if err != nil {
			b.Fatal(err)
		}
		req, _ := s.mapping.encode(s, in)
		var mr modRequest
		if err := json.Unmarshal(req, &mr); err != nil {
			b.Fatal(err)
		}
		answer, err := json.Marshal(score(mr))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.mapping.encode(s, in); err != nil {
				b.Fatal(err)
			}
			remote, err := s.mapping.decode(s, in, answer)
			if err != nil {
				b.Fatal(err)
			}
			for i := range in {
				translate(s, s.mapping, &in[i], remote[i])
			}
		}
		b.ReportMetric(float64(b.N*len(in))/b.Elapsed().Seconds(), "comments/s")
	})
}
