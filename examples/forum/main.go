// Command forum is a minimal third-party connector for moderator: it polls
// the comments of posts on a small web forum and hides the ones the policy
// says to hide. It is written against the moderator SDK alone, as any
// outside plugin would be; copy this directory to start a connector for your
// own platform (see README.md for what to change).
//
// The forum's API, which a real platform's replaces:
//
//	GET /api/posts/{post}/comments?after={id}&limit={n}
//	    200 {"comments": [{"id", "author_id", "author", "text", "created_at", "edited_at"}], "has_more": bool}
//	    comments in the order they were written, ids growing; 404 for a post that does not exist
//	PUT /api/comments/{id}/hidden  {"hidden": true}
//	    200 {"changed": bool}; 404 for a comment that does not exist
//
// Every request carries "Authorization: Bearer {token}" when a token is
// configured; every answer carries X-RateLimit-Limit, X-RateLimit-Remaining
// and X-RateLimit-Reset (Unix seconds); a 429 means the limit is spent.
package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

// Forum is the connector. It implements sdk.Poller and sdk.Moderator, which
// is what makes its capabilities "poll" and "moderate". Poll and Moderate may
// run concurrently with each other and with a new Configure, so the settings
// sit behind an atomic pointer.
type Forum struct {
	settings atomic.Pointer[settings]
}

// config is the instance's [connector.config] table in moderator.toml.
type config struct {
	BaseURL  string       `json:"base_url"`
	Token    string       `json:"token"`
	Timeout  sdk.Duration `json:"timeout"`
	PageSize int          `json:"page_size"`
}

// settings is a checked config, ready to use.
type settings struct {
	base     string // no trailing slash
	token    string
	pageSize int
	client   *http.Client
}

// Configure checks the table and keeps it for the calls that follow. It
// reaches nothing outside the process, so it does the same under
// `moderator config check` (ValidateOnly) as under `moderator run`.
func (f *Forum) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg := config{Timeout: sdk.Duration(10 * time.Second), PageSize: 50}
	if err := req.Config.Decode(&cfg); err != nil {
		return err // unknown keys and wrong types, as field errors
	}
	var errs sdk.FieldErrors
	if u, err := url.Parse(cfg.BaseURL); cfg.BaseURL == "" {
		errs.Add("base_url", `is required: the forum's address, such as "https://forum.example.com"`)
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs.Add("base_url", "must be an absolute http or https URL, got %q", cfg.BaseURL)
	}
	if cfg.Timeout <= 0 {
		errs.Add("timeout", "must be positive, got %s", time.Duration(cfg.Timeout))
	}
	if cfg.PageSize < 1 || cfg.PageSize > 100 {
		errs.Add("page_size", "must be between 1 and 100, got %d", cfg.PageSize)
	}
	if err := errs.Err(); err != nil {
		return err
	}
	f.settings.Store(&settings{
		base: trimSlash(cfg.BaseURL), token: cfg.Token, pageSize: cfg.PageSize,
		client: &http.Client{Timeout: time.Duration(cfg.Timeout)},
	})
	return nil
}

// current is the settings of the last Configure.
func (f *Forum) current() (*settings, error) {
	s := f.settings.Load()
	if s == nil {
		return nil, sdk.Permanent(errors.New("the connector was not configured"))
	}
	return s, nil
}

// newPlugin is what main serves, and what the tests run in-process.
func newPlugin() sdk.Plugin {
	return sdk.Plugin{
		Info: sdk.Info{
			Name:        "forum",
			Version:     "0.1.0",
			Description: "Polls a forum's posts for comments and hides the ones the policy says to hide.",
			Platform:    "forum",
			// The actions Moderate can apply. The SDK refuses any other
			// before Moderate is called, and `moderator config check`
			// refuses a policy rule that asks this connector for another.
			Actions: []string{sdk.ActionHide},
			// Posts per Poll call: the host splits bigger batches.
			MaxBatch: 20,
			Config: []sdk.ConfigField{
				{Name: "base_url", Type: "string", Required: true, Description: "The forum's address, such as \"https://forum.example.com\"."},
				{Name: "token", Type: "string", Secret: true, Description: "API token, sent as a bearer token; write it as ${FORUM_TOKEN} in moderator.toml."},
				{Name: "timeout", Type: "duration", Default: `"10s"`, Description: "Time limit of one request to the forum."},
				{Name: "page_size", Type: "int", Default: "50", Description: "Comments per request, 1 to 100; a post with more is polled again at once."},
			},
		},
		Connector: &Forum{},
	}
}

func main() { sdk.Serve(newPlugin()) }
