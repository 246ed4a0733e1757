package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/moderatorbot/moderator/plugins/twitter/twittertest"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

// suite is the SDK's conformance suite pointed at a fresh fake with two
// posts of the account, replies on them, and a reply of the account's own
// to moderate (hide needs a reply in its conversation, delete its own tweet).
func suite(t *testing.T) plugintest.ConnectorSuite {
	srv := newFake(t, twittertest.Options{})
	fan := srv.AddUser("2", "fan")
	owner := srv.Owner()
	a := srv.Post(owner.ID, "first post")
	b := srv.Post(owner.ID, "second post")
	r := srv.Reply(fan.ID, a.ID, "a reply")
	srv.Reply(fan.ID, r.ID, "a reply to the reply")
	srv.Reply(fan.ID, b.ID, "another reply")
	mine := srv.Reply(owner.ID, a.ID, "the account's own reply")
	cfg := configFor(srv)
	payload := srv.WebhookPayload(owner.ID, r)
	secret := srv.Options().ConsumerSecret
	return plugintest.ConnectorSuite{
		Config: cfg,
		BadConfigs: []plugintest.BadConfig{
			{Name: "no_bearer_token", Config: with(cfg, "bearer_token", nil), Field: "bearer_token"},
			{Name: "no_consumer_key", Config: with(cfg, "consumer_key", nil), Field: "consumer_key"},
			{Name: "user_id_not_numeric", Config: with(cfg, "user_id", "owner"), Field: "user_id"},
			{Name: "max_results_over_100", Config: with(cfg, "max_results", 500), Field: "max_results"},
			{Name: "api_base_url_relative", Config: with(cfg, "api_base_url", "/2"), Field: "api_base_url"},
		},
		Moderate:        &sdk.Comment{Platform: "twitter", ID: mine.ID, PostID: a.ID, AuthorID: owner.ID, Text: mine.Text},
		PollPosts:       []string{a.ID, b.ID},
		DiscoverTargets: []sdk.Target{{Kind: sdk.TargetAuthor, ID: owner.ID}},
		Deliveries: []sdk.WebhookRequest{
			{Method: http.MethodGet, RawQuery: "crc_token=plugintest"},
			{Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}, "X-Twitter-Webhooks-Signature": {twittertest.Sign(secret, payload)}}, Body: payload},
		},
	}
}

func TestConformanceInProcess(t *testing.T) {
	plugintest.TestConnector(t, plugintest.Start(t, newPlugin()), suite(t))
}

func TestConformanceBinary(t *testing.T) {
	// The binary an operator runs, launched as the host launches it.
	plugintest.TestConnector(t, plugintest.Launch(t, plugintest.BuildOnce(t, ".")), suite(t))
}

// Errors keep their meaning across the wire: a usage cap arrives at the
// host as a RateLimitedError with UsageCapExceeded.
func TestRateLimitAcrossTheWire(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	p := plugintest.Start(t, newPlugin())
	cfg := map[string]any{"api_base_url": srv.URL, "bearer_token": twittertest.DefaultBearerToken, "read_only": true}
	if _, err := p.Configure(context.Background(), sdk.ConfigureOptions{Instance: "t", Config: cfg, KV: sdk.NewMemoryKV()}); err != nil {
		t.Fatal(err)
	}
	srv.SetUsageCapped(true)
	_, err := p.Poll(context.Background(), []sdk.PostCursor{{PostID: "1"}})
	var rle *sdk.RateLimitedError
	if !errorsAs(err, &rle) {
		t.Fatalf("err %T %v, want a *sdk.RateLimitedError", err, err)
	}
	if !rle.RateLimit.UsageCapExceeded {
		t.Errorf("UsageCapExceeded lost on the wire: %+v", rle.RateLimit)
	}
}
