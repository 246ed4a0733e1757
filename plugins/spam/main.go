// Command spam is moderator's spam analyzer plugin. It labels a comment
// "spam" from evidence that adds up: links (blocked domains, URL shorteners,
// bare IP addresses, too many links), @mention and #hashtag floods, the same
// or nearly the same text posted again and again (remembered in the host's
// KV store), scam phrasing, shouting, and a logistic-regression model
// trained on the SpamAssassin public corpus (model/PROVENANCE.md). Each
// signal also has a label of its own ("spam.links", "spam.duplicate", ...).
//
// See README.md for the config keys and how the score is put together.
package main

import (
	"github.com/moderatorbot/moderator/sdk"
)

// version is reported in Describe and recorded with every decision.
const version = "0.1.0"

// newPlugin is what main serves, and what the tests run in-process.
func newPlugin() sdk.Plugin {
	return sdk.Plugin{
		Info: sdk.Info{
			Name:        "spam",
			Version:     version,
			Description: "Spam: links, floods, repeated text, scam phrasing and a trained model, combined into one score.",
			Labels:      allLabels,
			Config:      configFields(),
			MaxBatch:    500,
		},
		Analyzer: newSpam(),
	}
}

func main() { sdk.Serve(newPlugin()) }
