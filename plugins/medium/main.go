// Command medium is moderator's connector for Medium.
//
// Medium's official API is frozen: it cannot list a user's stories, read
// responses or send webhooks. So this connector discovers stories from the
// RSS feeds Medium does serve (/feed/@user, /feed/{publication}), reads
// responses from a JSON API in the shape of the Medium tracking guide
// (served by a proxy or a third-party API at api_base_url), takes signed
// webhook deliveries from it, and, since Medium has no way to remove a
// response, can only flag one for the operator's review queue. README.md
// says all of this for operators; package mediumtest is a fake of both
// sides for tests and the sandbox.
package main

import "github.com/moderatorbot/moderator/sdk"

// maxBatch is how many posts one Poll takes: one request each (the API has
// no multi-post call), so a batch is bounded by time and rate limit.
const maxBatch = 20

// newPlugin is what main serves, and what the tests run in-process.
func newPlugin() sdk.Plugin {
	return sdk.Plugin{
		Info: sdk.Info{
			Name:        "medium",
			Version:     "0.1.0",
			Description: "Discovers Medium stories from RSS, reads their responses from a Medium-shaped JSON API or its webhooks, and flags responses for review (Medium cannot remove them).",
			Platform:    platform,
			Actions:     []string{sdk.ActionFlag},
			TargetKinds: []string{sdk.TargetAuthor, sdk.TargetPublication},
			MaxBatch:    maxBatch,
			Config: []sdk.ConfigField{
				{Name: "api_base_url", Type: "string", Required: true, Description: "Base URL of the JSON API that serves /v1/posts/{id}/responses (a proxy or third-party API: Medium's own API cannot)."},
				{Name: "rss_base_url", Type: "string", Default: `"https://medium.com"`, Description: "Where the RSS feeds /feed/@user and /feed/{publication} are served."},
				{Name: "access_token", Type: "string", Required: true, Secret: true, Description: "Bearer token for the JSON API; write it as ${MEDIUM_ACCESS_TOKEN}."},
				{Name: "webhooks", Type: "bool", Default: "false", Description: "Accept webhook deliveries of response events (needs webhook_secret)."},
				{Name: "webhook_secret", Type: "string", Secret: true, Description: "Secret of the X-Medium-Signature HMAC-SHA256 on webhook deliveries; write it as ${MEDIUM_WEBHOOK_SECRET}."},
				{Name: "timeout", Type: "duration", Default: `"10s"`, Description: "Time limit of one HTTP request."},
				{Name: "page_size", Type: "int", Default: "50", Description: "Responses per request, 1 to 100."},
				{Name: "max_pages", Type: "int", Default: "4", Description: "Most pages read per post and poll; a post with more says More and is polled again at once."},
			},
		},
		Connector: &Medium{},
	}
}

func main() { sdk.Serve(newPlugin()) }
