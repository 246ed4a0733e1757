// Command shouting is a minimal third-party analyzer for moderator: it scores
// how much of a comment is written in capital letters. It is written against
// the moderator SDK alone, as any outside plugin would be; copy it to start
// your own.
package main

import (
	"context"
	"fmt"
	"unicode"

	"github.com/moderatorbot/moderator/sdk"
)

// Shouting scores the share of capital letters among a comment's letters.
type Shouting struct {
	// MinLetters: comments with fewer letters are too short to judge ("OK!").
	MinLetters int `json:"min_letters"`
}

// Configure reads the instance's [analyzer.config] table.
func (s *Shouting) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg := Shouting{MinLetters: 8}
	if err := req.Config.Decode(&cfg); err != nil {
		return err
	}
	if cfg.MinLetters < 1 {
		return &sdk.FieldError{Field: "min_letters", Message: fmt.Sprintf("must be at least 1, got %d", cfg.MinLetters)}
	}
	*s = cfg
	return nil
}

// Analyze labels each comment "shouting.caps" with the share of capitals.
func (s *Shouting) Analyze(_ context.Context, comments []sdk.Comment) ([]sdk.Result, error) {
	results := make([]sdk.Result, len(comments))
	for i, c := range comments {
		results[i].CommentID = c.ID
		letters, upper, first, last := 0, 0, -1, 0
		for off, r := range c.Text {
			if !unicode.IsLetter(r) {
				continue
			}
			letters++
			if unicode.IsUpper(r) {
				upper++
				if first < 0 {
					first = off
				}
				last = off + len(string(r))
			}
		}
		if letters < s.MinLetters || upper == 0 {
			continue
		}
		score := float64(upper) / float64(letters)
		results[i].Labels = []sdk.Label{{
			Name:   "shouting.caps",
			Score:  score,
			Spans:  []sdk.Span{{Start: first, End: last}},
			Reason: fmt.Sprintf("%d of %d letters are capitals (%.0f%%)", upper, letters, score*100),
		}}
	}
	return results, nil
}

// newPlugin is what main serves, and what the tests run in-process.
func newPlugin() sdk.Plugin {
	return sdk.Plugin{
		Info: sdk.Info{
			Name:        "shouting",
			Version:     "0.1.0",
			Description: "Scores the share of capital letters in a comment.",
			Labels:      []string{"shouting.caps"},
			Config: []sdk.ConfigField{{
				Name: "min_letters", Type: "int", Default: "8",
				Description: "Comments with fewer letters than this are not scored.",
			}},
		},
		Analyzer: &Shouting{MinLetters: 8},
	}
}

func main() { sdk.Serve(newPlugin()) }
