// Command sentiment is moderator's sentiment analyzer: it scores each comment
// with VADER (Hutto & Gilbert, 2014), a rule-based model tuned for short
// social-media text, through github.com/jonreiter/govader, a Go port of the
// reference Python implementation that is tested against its outputs.
//
// A comment whose VADER compound score is at or below -threshold gets the
// shared label "negative"; with emit_positive, a comment at or above
// +threshold gets "sentiment.positive". The compound is kept in the reason,
// and the score is calibrated so that the moderator-wide decision threshold
// of 0.5 falls exactly on the configured threshold (see Sentiment.score).
// The README in this directory documents the mapping, the spans and the
// evaluation on the UCI Sentiment Labelled Sentences.
package main

import "github.com/moderatorbot/moderator/sdk"

// version is reported in Describe and recorded with every decision.
const version = "0.1.0"

// newPlugin is what main serves, and what the tests run in-process.
func newPlugin() sdk.Plugin {
	return sdk.Plugin{
		Info: sdk.Info{
			Name:        "sentiment",
			Version:     version,
			Description: "Labels negative comments with the VADER sentiment model (and positive ones, on request).",
			// Both are declared even when emit_positive is off: Describe is
			// answered before the config is known.
			Labels: []string{sdk.LabelNegative, labelPositive},
			Config: []sdk.ConfigField{
				{
					Name: "threshold", Type: "float", Default: "0.05",
					Description: "Minimum VADER compound magnitude for a label; a comment exactly at it scores 0.5. " +
						"0.05 is VADER's standard neutral band; raise it (say to 0.5) to label only clearly negative comments.",
				},
				{
					Name: "emit_positive", Type: "bool", Default: "false",
					Description: "Also label comments at or above +threshold as \"sentiment.positive\".",
				},
			},
		},
		Analyzer: newSentiment(),
	}
}

func main() { sdk.Serve(newPlugin()) }
