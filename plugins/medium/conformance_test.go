package main

import (
	"os"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/plugins/medium/mediumtest"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

// TestMain lets plugintest.BuildOnce keep the plugin binary for every test
// of the package, and removes it at the end.
func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }

const (
	testToken  = "test-access-token-0123456789"
	testSecret = "test-webhook-secret-0123456789"
)

// newFake starts a fake Medium for a test, closed at its end.
func newFake(t testing.TB, opts mediumtest.Options) *mediumtest.Server {
	t.Helper()
	if opts.AccessToken == "" {
		opts.AccessToken = testToken
	}
	f := mediumtest.NewServer(opts)
	t.Cleanup(f.Close)
	return f
}

// baseConfig is a valid config table for fake f.
func baseConfig(f *mediumtest.Server) map[string]any {
	return map[string]any{
		"api_base_url": f.URL, "rss_base_url": f.URL, "access_token": testToken,
		"webhooks": true, "webhook_secret": testSecret, "page_size": 2, "max_pages": 2,
	}
}

// suite publishes stories and responses on f and describes them to the
// conformance suite.
func suite(t testing.TB, f *mediumtest.Server) plugintest.ConnectorSuite {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := f.Publish(mediumtest.Article{Title: "Why Go", Author: "ann", PublishedAt: t0, Categories: []string{"go"}})
	b := f.Publish(mediumtest.Article{Title: "Quiet story", Author: "ann", Publication: "gophers", PublishedAt: t0.Add(time.Hour)})
	var first mediumtest.Response
	for i := range 7 {
		r := f.Respond(mediumtest.Response{PostID: a.ID, Author: "bob", Text: "response " + string(rune('a'+i)), CreatedAt: t0.Add(time.Duration(i) * time.Minute)})
		if i == 0 {
			first = r
		}
	}
	body := []byte(`{"type":"response.created","data":{"id":"abcdef123456","postId":"` + a.ID + `","creatorId":"u1","creator":{"id":"u1","username":"cat"},"content":"hello","createdAt":1767225600000}}`)
	cfg := baseConfig(f)
	return plugintest.ConnectorSuite{
		Config: cfg,
		BadConfigs: []plugintest.BadConfig{
			{Name: "no api_base_url", Config: without(cfg, "api_base_url"), Field: "api_base_url"},
			{Name: "no access_token", Config: without(cfg, "access_token"), Field: "access_token"},
			{Name: "webhooks without secret", Config: without(cfg, "webhook_secret"), Field: "webhook_secret"},
			{Name: "rss_base_url not http", Config: with(cfg, "rss_base_url", "ftp://medium.com"), Field: "rss_base_url"},
			{Name: "page_size too big", Config: with(cfg, "page_size", 1000), Field: "page_size"},
		},
		Moderate:        &sdk.Comment{Platform: platform, ID: first.ID, PostID: a.ID},
		PollPosts:       []string{a.ID, b.ID},
		DiscoverTargets: []sdk.Target{{Kind: sdk.TargetAuthor, ID: "@ann"}, {Kind: sdk.TargetPublication, ID: "gophers"}},
		Deliveries: []sdk.WebhookRequest{{
			Method: "POST", Header: map[string][]string{"X-Medium-Signature": {mediumtest.Sign([]byte(testSecret), body)}, "Content-Type": {"application/json"}},
			Body: body,
		}},
	}
}

func with(cfg map[string]any, key string, v any) map[string]any {
	out := map[string]any{}
	for k, x := range cfg {
		out[k] = x
	}
	out[key] = v
	return out
}

func without(cfg map[string]any, key string) map[string]any {
	out := with(cfg, key, nil)
	delete(out, key)
	return out
}

func TestConformanceInProcess(t *testing.T) {
	f := newFake(t, mediumtest.Options{})
	plugintest.TestConnector(t, plugintest.Start(t, newPlugin()), suite(t, f))
}

func TestConformanceBinary(t *testing.T) {
	// The binary an operator runs, launched as the host launches it.
	f := newFake(t, mediumtest.Options{})
	plugintest.TestConnector(t, plugintest.Launch(t, plugintest.BuildOnce(t, ".")), suite(t, f))
}
