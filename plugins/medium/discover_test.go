package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/plugins/medium/mediumtest"
	"github.com/moderatorbot/moderator/sdk"
)

func TestDiscover(t *testing.T) {
	f := newFake(t, mediumtest.Options{})
	m := configured(t, f, nil)
	ctx := context.Background()
	t0 := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	var stories []mediumtest.Article
	for i := range 3 {
		stories = append(stories, f.Publish(mediumtest.Article{Title: fmt.Sprintf("Story %d", i), Author: "ann", Publication: "gophers", PublishedAt: t0.Add(time.Duration(i) * time.Hour)}))
	}
	author := sdk.Target{Kind: sdk.TargetAuthor, ID: "@ann"}

	resp, err := m.Discover(ctx, sdk.DiscoverRequest{Target: author})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Posts) != 3 || len(resp.Cursor) != 0 {
		t.Fatalf("first discover: %d posts, cursor %q (a feed is one page)", len(resp.Posts), resp.Cursor)
	}
	for i, p := range resp.Posts {
		s := stories[2-i] // newest first
		want := sdk.Post{ID: s.ID, URL: "https://medium.com/gophers/story-" + fmt.Sprint(2-i) + "-" + s.ID, AuthorID: "@ann", Title: s.Title, CreatedAt: s.PublishedAt}
		if p != want {
			t.Errorf("post %d: %+v, want %+v", i, p, want)
		}
	}

	// Two new stories come first, before the ones the host knows.
	n1 := f.Publish(mediumtest.Article{Title: "New one", Author: "ann", PublishedAt: t0.Add(10 * time.Hour)})
	n2 := f.Publish(mediumtest.Article{Title: "New two", Author: "ann", PublishedAt: t0.Add(11 * time.Hour)})
	next, err := m.Discover(ctx, sdk.DiscoverRequest{Target: author})
	if err != nil || len(next.Posts) != 5 || next.Posts[0].ID != n2.ID || next.Posts[1].ID != n1.ID || len(next.Cursor) != 0 {
		t.Fatalf("discover after two new stories: %+v %v", next, err)
	}

	// The publication's feed, without "@", and no author id.
	pub, err := m.Discover(ctx, sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetPublication, ID: "gophers"}})
	if err != nil || len(pub.Posts) != 3 || pub.Posts[0].AuthorID != "" {
		t.Errorf("publication: %+v %v", pub.Posts, err)
	}
	// An author written without "@" reads the same feed.
	if plain, err := m.Discover(ctx, sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetAuthor, ID: "ann"}}); err != nil || len(plain.Posts) != 5 {
		t.Errorf("author without @: %d posts, %v", len(plain.Posts), err)
	}
	// Only feeds were read, and the API's token was not sent to them.
	for _, r := range f.Requests() {
		if !strings.HasPrefix(r.Path, "/feed/") || r.Authorized {
			t.Errorf("discover requested %s (with the token: %v)", r.Path, r.Authorized)
		}
	}
}

// TestDiscoverOnlyTheNewestTen: Medium's feeds hold ten stories; a story
// that falls off is not reported again, and the eleventh never was.
func TestDiscoverOnlyTheNewestTen(t *testing.T) {
	f := newFake(t, mediumtest.Options{})
	m := configured(t, f, nil)
	for i := range 12 {
		f.Publish(mediumtest.Article{Title: fmt.Sprint(i), Author: "ann", PublishedAt: time.Unix(int64(1e9+i*60), 0)})
	}
	resp, err := m.Discover(context.Background(), sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetAuthor, ID: "@ann"}})
	if err != nil || len(resp.Posts) != 10 || resp.Posts[0].Title != "11" || resp.Posts[9].Title != "2" {
		t.Errorf("%d posts (%v), want the newest 10", len(resp.Posts), err)
	}
}

func TestDiscoverErrors(t *testing.T) {
	f := newFake(t, mediumtest.Options{})
	f.Publish(mediumtest.Article{Title: "A", Author: "ann"})
	ctx := context.Background()
	tests := []struct {
		name      string
		target    sdk.Target
		feed      string // served instead of the fake, when set
		fault     *mediumtest.Fault
		want      string
		permanent bool
	}{
		{name: "unknown author", target: sdk.Target{Kind: sdk.TargetAuthor, ID: "@nobody"}, want: "HTTP 404", permanent: true},
		{name: "unknown publication", target: sdk.Target{Kind: sdk.TargetPublication, ID: "nothing"}, want: "has no feed", permanent: true},
		{name: "author with a slash", target: sdk.Target{Kind: sdk.TargetAuthor, ID: "@ann/../x"}, want: "not a Medium username", permanent: true},
		{name: "publication with @", target: sdk.Target{Kind: sdk.TargetPublication, ID: "@ann"}, want: "not a Medium publication", permanent: true},
		{name: "truncated feed", target: sdk.Target{Kind: sdk.TargetAuthor, ID: "@ann"}, fault: &mediumtest.Fault{Path: "/feed/", Truncate: true}, want: "GET /feed/@ann: not an RSS feed"},
		{name: "5xx", target: sdk.Target{Kind: sdk.TargetAuthor, ID: "@ann"}, fault: &mediumtest.Fault{Path: "/feed/", Status: 502}, want: "HTTP 502"},
		{name: "an HTML page", target: sdk.Target{Kind: sdk.TargetAuthor, ID: "@ann"}, feed: "<html><body>Medium</body></html>", want: "not an RSS feed"},
		{name: "an item without an id", target: sdk.Target{Kind: sdk.TargetAuthor, ID: "@ann"},
			feed: `<rss version="2.0"><channel><item><title>x</title><link>https://example.com/</link><guid>nope</guid></item></channel></rss>`, want: "has no Medium story id"},
		{name: "a bad pubDate", target: sdk.Target{Kind: sdk.TargetAuthor, ID: "@ann"},
			feed: `<rss version="2.0"><channel><item><guid>https://medium.com/p/abcdef123456</guid><pubDate>yesterday</pubDate></item></channel></rss>`, want: "pubDate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m *Medium
			if tc.feed != "" {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(tc.feed)) }))
				defer srv.Close()
				m = configured(t, f, map[string]any{"rss_base_url": srv.URL})
			} else {
				m = configured(t, f, nil)
			}
			if tc.fault != nil {
				f.InjectFault(*tc.fault)
				defer f.ClearFaults()
			}
			resp, err := m.Discover(ctx, sdk.DiscoverRequest{Target: tc.target})
			if err == nil || !strings.Contains(err.Error(), tc.want) || len(resp.Posts) != 0 {
				t.Fatalf("got %+v, %v; want an error with %q", resp, err, tc.want)
			}
			if sdk.IsPermanent(err) != tc.permanent {
				t.Errorf("permanent %v, want %v: %v", sdk.IsPermanent(err), tc.permanent, err)
			}
		})
	}
	// Serve refuses kinds not declared (post, query) before Discover.
	m := configured(t, f, nil)
	if _, err := m.Discover(ctx, sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetQuery, ID: "go"}}); !errors.Is(err, sdk.ErrUnsupported) {
		t.Errorf("query target: %v", err)
	}
}

func TestParseFeedMediumShapes(t *testing.T) {
	feed := `<?xml version="1.0" encoding="UTF-8"?><rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0"><channel><title><![CDATA[Stories by Ann on Medium]]></title>
<item><title><![CDATA[Hello & <world>]]></title><link>https://medium.com/@ann/hello-world-0a1b2c3d4e5f?source=rss-1234------2</link><guid isPermaLink="false">https://medium.com/p/0a1b2c3d4e5f</guid><dc:creator><![CDATA[Ann]]></dc:creator><pubDate>Tue, 03 Feb 2026 04:05:06 GMT</pubDate></item>
<item><title>No guid</title><link>https://ann.example.com/a-custom-domain-story-ffeeddccbbaa?source=rss</link><pubDate>Tue, 3 Feb 2026 04:05:06 +0100</pubDate></item>
<item><title>Duplicate</title><guid>https://medium.com/p/0a1b2c3d4e5f</guid></item>
</channel></rss>`
	posts, err := parseFeed([]byte(feed))
	if err != nil {
		t.Fatal(err)
	}
	want := []sdk.Post{
		{ID: "0a1b2c3d4e5f", Title: "Hello & <world>", URL: "https://medium.com/@ann/hello-world-0a1b2c3d4e5f", CreatedAt: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)},
		{ID: "ffeeddccbbaa", Title: "No guid", URL: "https://ann.example.com/a-custom-domain-story-ffeeddccbbaa", CreatedAt: time.Date(2026, 2, 3, 3, 5, 6, 0, time.UTC)},
	}
	if len(posts) != len(want) {
		t.Fatalf("posts %+v", posts)
	}
	for i := range want {
		if posts[i] != want[i] {
			t.Errorf("post %d: %+v, want %+v", i, posts[i], want[i])
		}
	}
}
