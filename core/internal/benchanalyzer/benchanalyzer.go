// Package benchanalyzer holds two small analyzers for the host's end-to-end
// benchmarks, importable so the same code can run in-process or, through
// cmd/benchanalyzer, as a plugin process: the difference between the two runs
// is the plugin boundary and nothing else.
package benchanalyzer

import (
	"context"
	"strings"
	"unicode"

	"github.com/moderatorbot/moderator/sdk"
)

// Caps labels comments written mostly in capitals ("bench.caps").
type Caps struct{}

// Analyze implements sdk.Analyzer.
func (Caps) Analyze(_ context.Context, cs []sdk.Comment) ([]sdk.Result, error) {
	out := make([]sdk.Result, len(cs))
	for i, c := range cs {
		out[i].CommentID = c.ID
		letters, upper := 0, 0
		for _, r := range c.Text {
			if unicode.IsLetter(r) {
				letters++
				if unicode.IsUpper(r) {
					upper++
				}
			}
		}
		if letters >= 4 && upper*2 > letters {
			out[i].Labels = []sdk.Label{{Name: "bench.caps", Score: float64(upper) / float64(letters), Spans: []sdk.Span{{Start: 0, End: len(c.Text)}}, Reason: "mostly capitals"}}
		}
	}
	return out, nil
}

// Words labels comments containing "spam" (the shared "spam" label).
type Words struct{}

// Analyze implements sdk.Analyzer.
func (Words) Analyze(_ context.Context, cs []sdk.Comment) ([]sdk.Result, error) {
	out := make([]sdk.Result, len(cs))
	for i, c := range cs {
		out[i].CommentID = c.ID
		if j := strings.Index(c.Text, "spam"); j >= 0 {
			out[i].Labels = []sdk.Label{{Name: sdk.LabelSpam, Score: 0.9, Spans: []sdk.Span{{Start: j, End: j + 4}}, Reason: `said "spam"`}}
		}
	}
	return out, nil
}
