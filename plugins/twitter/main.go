// Command twitter is moderator's first-party connector for X (Twitter),
// API v2. It discovers an account's posts, polls their replies with recent
// search (many posts per request) and, when enabled, the filtered stream,
// takes Account Activity webhooks, and
// hides, unhides or deletes replies with OAuth 1.0a user context. See
// README.md for its configuration and what X allows.
package main

import "github.com/moderatorbot/moderator/sdk"

// newPlugin is what main serves, and what the tests run in-process.
func newPlugin() sdk.Plugin {
	return sdk.Plugin{
		Info: sdk.Info{
			Name:        "twitter",
			Version:     "0.1.0",
			Description: "Watches replies to X (Twitter) posts by recent search and Account Activity webhooks, and hides, unhides or deletes them.",
			Platform:    "twitter",
			Actions:     []string{sdk.ActionHide, sdk.ActionUnhide, sdk.ActionDelete},
			TargetKinds: []string{sdk.TargetAuthor},
			MaxBatch:    maxBatch,
			Config: []sdk.ConfigField{
				{Name: "api_base_url", Type: "string", Default: `"https://api.x.com"`, Description: "Base URL of the X API; point it at the sandbox or a twittertest fake in tests."},
				{Name: "bearer_token", Type: "string", Required: true, Secret: true, Description: "App-only bearer token for recent search and user timelines; write it as ${TWITTER_BEARER_TOKEN}."},
				{Name: "consumer_key", Type: "string", Secret: true, Description: "The app's API key (OAuth 1.0a consumer key); required unless read_only."},
				{Name: "consumer_secret", Type: "string", Secret: true, Description: "The app's API secret: signs user-context requests and checks webhook signatures and CRC challenges; required unless read_only."},
				{Name: "access_token", Type: "string", Secret: true, Description: "The account's OAuth 1.0a access token (hide, unhide, delete act as this account); required unless read_only."},
				{Name: "access_token_secret", Type: "string", Secret: true, Description: "The account's OAuth 1.0a access token secret; required unless read_only."},
				{Name: "user_id", Type: "string", Description: "Numeric id of the account whose conversations are moderated (the access token's owner); required unless read_only."},
				{Name: "read_only", Type: "bool", Default: "false", Description: "Poll and take webhooks without user-context credentials; every moderation action then fails as a configuration error."},
				{Name: "timeout", Type: "duration", Default: `"15s"`, Description: "Time limit of one request to X."},
				{Name: "query_max_length", Type: "int", Default: "512", Description: "Longest search query the API plan allows (512 Basic and Pro, 4096 Enterprise); posts are OR-ed into queries up to it."},
				{Name: "max_results", Type: "int", Default: "100", Description: "Tweets per search page, 10 to 100."},
				{Name: "max_pages", Type: "int", Default: "5", Description: "Search pages read per poll and query; when more remain the posts say More and the host polls again at once."},
				{Name: "stream", Type: "bool", Default: "false", Description: "Follow the targets with X's filtered stream (needs a plan that includes it, Pro or above); off, the stream only waits."},
				{Name: "moderate_own_replies", Type: "bool", Default: "false", Description: "Deliver the account's own replies (author user_id) as comments, for the policy to act on; off, they are skipped."},
				{Name: "stream_stall_timeout", Type: "duration", Default: `"30s"`, Description: "Reconnect a stream silent this long (X sends a keep-alive every 20 s)."},
			},
		},
		Connector: &Twitter{},
	}
}

func main() { sdk.Serve(newPlugin()) }
