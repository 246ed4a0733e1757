// Command http is moderator's bridge to a model the operator runs elsewhere:
// it POSTs batches of comments as JSON to a configured URL and turns the
// answer into labels. The default request and response shapes are
// moderator's own, documented in this directory's README; mapping adapters
// speak the shapes of Google's Perspective API, OpenAI's moderation endpoint
// and Hugging Face text-classification endpoints instead.
//
// The remote service is treated as unreliable: every request has a deadline,
// connection errors, 5xx answers and 429s are retried with backoff (honouring
// Retry-After), 4xx answers are not, a circuit breaker stops calling a
// service that keeps failing, and an answer that does not fit the schema is
// a clear error naming what was wrong, never an empty result that would
// approve the comment.
package main

import (
	"slices"

	"github.com/moderatorbot/moderator/sdk"
)

// version is reported in Describe and sent as the User-Agent.
const version = "0.1.0"

// newPlugin is what main serves, and what the tests run in-process.
func newPlugin() sdk.Plugin {
	return sdk.Plugin{
		Info: sdk.Info{
			Name:        "http",
			Version:     version,
			Description: "Scores comments with a remote model over HTTP (moderator's JSON schema, Perspective, OpenAI moderation or Hugging Face).",
			// Describe is answered before the config is read, so the plugin
			// declares the whole shared vocabulary; `labels` maps the remote
			// service's names onto it.
			Labels: slices.Clone(sdk.Labels),
			Config: configFields(),
		},
		Analyzer: newAnalyzer(),
	}
}

func main() { sdk.Serve(newPlugin()) }
