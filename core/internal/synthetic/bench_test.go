package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/moderatorbot/moderator/core/internal/synthetic/platform"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

// BenchmarkPoll reads 1000 comments on 100 posts (10 pages of 100) from the
// start, per iteration: the cost of polling, platform included, direct and
// through the plugin boundary in-process.
func BenchmarkPoll(b *testing.B) {
	s := platform.Start(platform.Options{Token: testToken})
	defer s.Close()
	posts := postIDs(100)
	for _, id := range posts {
		s.AddPost(id, "alice")
	}
	addComments(s, 1000, posts...)
	req := make([]sdk.PostCursor, len(posts))
	for i, id := range posts {
		req[i] = sdk.PostCursor{PostID: id}
	}
	cfg := baseConfig(s)
	direct := &Synthetic{}
	data, _ := json.Marshal(cfg)
	if err := direct.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: data}}); err != nil {
		b.Fatal(err)
	}
	remote := plugintest.Start(b, newPlugin())
	if fe, err := remote.Configure(context.Background(), sdk.ConfigureOptions{Instance: "bench", Config: cfg}); err != nil || len(fe) > 0 {
		b.Fatal(fe, err)
	}
	for _, p := range []struct {
		name string
		p    sdk.Poller
	}{{"direct", direct}, {"plugin", remote}} {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				resp, err := p.p.Poll(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				for _, pc := range resp.Posts {
					n += len(pc.Comments)
				}
			}
			if n != 1000*b.N {
				b.Fatalf("%d comments in %d polls, want 1000 each", n, b.N)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "comments/s")
		})
	}
}

// BenchmarkWebhook verifies and decodes a delivery of 100 comments, as the
// platform sends it.
func BenchmarkWebhook(b *testing.B) {
	s := platform.Start(platform.Options{Secret: testSecret})
	defer s.Close()
	s.AddPost("p1", "alice")
	var cs []platform.Comment
	for i := range 100 {
		cs = append(cs, s.AddComment(platform.Comment{PostID: "p1", AuthorID: "u", Handle: "h",
			Text: fmt.Sprintf("a realistic reply of some length, number %d, with an emoji 😀", i)}))
	}
	var req sdk.WebhookRequest
	capture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req = sdk.WebhookRequest{Method: r.Method, Header: r.Header, Body: body}
	}))
	defer capture.Close()
	if _, err := s.Deliver(context.Background(), capture.URL, cs...); err != nil {
		b.Fatal(err)
	}
	c := &Synthetic{}
	data, _ := json.Marshal(map[string]any{"base_url": "http://127.0.0.1:9", "webhook_secret": testSecret})
	if err := c.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: data}}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Webhook(context.Background(), req)
		if err != nil || len(resp.Comments) != 100 {
			b.Fatal(resp.Status, string(resp.Body), err)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "comments/s")
}
