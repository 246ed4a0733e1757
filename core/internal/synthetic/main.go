// Command synthetic is the connector plugin for the synthetic platform
// (package platform beside it): a fake social platform that the host's tests
// and benchmarks run against, to prove the moderation pipeline's exactly-once
// effect by counting the platform's own record of moderation calls.
//
// It is written against the SDK alone, as any outside connector would be, and
// exercises every connector capability the way a real platform demands:
//
//   - poll: one GET /v1/comments serves up to MaxBatch posts, each resumed
//     from its own cursor; pages are walked newest first, and a cursor never
//     moves past a comment that was not delivered intact (see Poll);
//   - webhook: HMAC-SHA256-signed deliveries, verified over the raw body;
//   - discover: an author's posts;
//   - moderate: hide, unhide, delete and flag, idempotent, with the host's
//     idempotency key passed to the platform.
//
// Config: base_url (required), token and webhook_secret (secrets), timeout
// (per HTTP request, default 10s) and max_pages (pages per Poll, default 10).
package main

import (
	"github.com/moderatorbot/moderator/sdk"
)

// Version of the plugin.
const Version = "0.1.0"

// newPlugin is what main serves, and what the tests run in-process.
func newPlugin() sdk.Plugin {
	return sdk.Plugin{
		Info: sdk.Info{
			Name:        "synthetic",
			Version:     Version,
			Description: "Connector for the synthetic test platform: polls many posts per call, verifies webhooks, discovers an author's posts and moderates.",
			Platform:    platformName,
			Actions:     []string{sdk.ActionFlag, sdk.ActionUnhide, sdk.ActionHide, sdk.ActionDelete},
			TargetKinds: []string{sdk.TargetAuthor},
			MaxBatch:    maxBatch,
			Config: []sdk.ConfigField{
				{Name: "base_url", Type: "string", Required: true, Description: "Base URL of the synthetic platform's API, e.g. \"http://127.0.0.1:8080\"."},
				{Name: "token", Type: "string", Secret: true, Description: "Bearer token sent with every API request, when the platform wants one."},
				{Name: "webhook_secret", Type: "string", Secret: true, Description: "HMAC key of webhook deliveries; without it every delivery is refused."},
				{Name: "timeout", Type: "duration", Default: `"10s"`, Description: "Time limit of one HTTP request to the platform."},
				{Name: "max_pages", Type: "int", Default: "10", Description: "Most pages one Poll reads; a longer backlog is resumed on the next Poll."},
			},
		},
		Connector: &Synthetic{},
	}
}

func main() { sdk.Serve(newPlugin()) }
