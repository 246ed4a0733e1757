package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

// rssFeed is the part of an RSS 2.0 feed the connector reads.
type rssFeed struct {
	XMLName xml.Name `xml:"rss"`
	Channel *struct {
		Title string    `xml:"title"`
		Items []rssItem `xml:"item"`
	} `xml:"channel"`
}

type rssItem struct {
	Title   string `xml:"title"`
	Link    string `xml:"link"`
	GUID    string `xml:"guid"`
	Creator string `xml:"http://purl.org/dc/elements/1.1/ creator"`
	PubDate string `xml:"pubDate"`
}

// articleID matches Medium's story ids: hex, at the end of a story's URL
// ("…/my-title-1a2b3c4d5e6f") and of its guid ("https://medium.com/p/1a2b3c4d5e6f").
var articleID = regexp.MustCompile(`^[0-9a-f]{8,16}$`)

// maxFeedItems bounds what one feed may hold; Medium's hold ten.
const maxFeedItems = 1000

// parseFeed reads an RSS feed into posts, newest first as the feed has
// them. A document that is not an RSS feed, or an item without a story id,
// is an error: the feed is refused as a whole, so a cursor never moves
// past a story that could not be read.
func parseFeed(data []byte) ([]sdk.Post, error) {
	var f rssFeed
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		if strings.EqualFold(charset, "utf-8") || strings.EqualFold(charset, "us-ascii") {
			return input, nil
		}
		return nil, fmt.Errorf("unsupported charset %q", charset)
	}
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("not an RSS feed: %w", err)
	}
	if f.Channel == nil {
		return nil, errors.New("not an RSS feed: no <channel>")
	}
	if len(f.Channel.Items) > maxFeedItems {
		return nil, fmt.Errorf("the feed has %d items, more than %d", len(f.Channel.Items), maxFeedItems)
	}
	posts := make([]sdk.Post, 0, len(f.Channel.Items))
	seen := map[string]bool{}
	for i, it := range f.Channel.Items {
		id := storyID(it.GUID)
		if id == "" {
			id = storyID(it.Link)
		}
		if id == "" {
			return nil, fmt.Errorf("item %d (%.80q) has no Medium story id in its guid %.120q or link %.120q", i+1, it.Title, it.GUID, it.Link)
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		p := sdk.Post{ID: id, Title: strings.TrimSpace(it.Title), URL: cleanLink(it.Link)}
		if d := strings.TrimSpace(it.PubDate); d != "" {
			t, err := parseRSSDate(d)
			if err != nil {
				return nil, fmt.Errorf("item %d (%s): pubDate %.60q: %w", i+1, id, d, err)
			}
			p.CreatedAt = t
		}
		posts = append(posts, p)
	}
	return posts, nil
}

// parseRSSDate reads an RFC 822/1123 date, as feeds write them.
func parseRSSDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 MST", "Mon, 2 Jan 2006 15:04:05 -0700", time.RFC822, time.RFC822Z} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not an RFC 1123 date")
}

// storyID is the story id at the end of a Medium story URL or guid, or "".
func storyID(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Path == "" {
		return ""
	}
	last := u.Path[strings.LastIndexByte(u.Path, '/')+1:]
	last = last[strings.LastIndexByte(last, '-')+1:]
	if !articleID.MatchString(last) {
		return ""
	}
	return last
}

// cleanLink drops the "?source=rss-…" tracking query Medium adds to links.
func cleanLink(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme != "https" && u.Scheme != "http" {
		return ""
	}
	q := u.Query()
	q.Del("source")
	u.RawQuery = q.Encode()
	return u.String()
}

// feedName checks a target's id and returns the feed path for it.
func feedName(t sdk.Target) (string, error) {
	id := strings.TrimSpace(t.ID)
	valid := func(s string) bool {
		return s != "" && !strings.ContainsAny(s, "/?#% \t") && s != "." && s != ".."
	}
	switch t.Kind {
	case sdk.TargetAuthor:
		name := strings.TrimPrefix(id, "@")
		if !valid(name) || strings.HasPrefix(name, "@") {
			return "", fmt.Errorf("author %q is not a Medium username (write it as \"@name\")", t.ID)
		}
		return "/feed/@" + name, nil
	case sdk.TargetPublication:
		if !valid(id) || strings.HasPrefix(id, "@") {
			return "", fmt.Errorf("publication %q is not a Medium publication slug (the name in medium.com/{slug})", t.ID)
		}
		return "/feed/" + id, nil
	}
	return "", fmt.Errorf("target kind %q: %w", t.Kind, sdk.ErrUnsupported)
}

// Discover reads the RSS feed of an author ("@name") or a publication
// ("slug") and reports its stories, newest first. Medium's feeds hold the
// newest ten stories and cannot be paged, so there is one page and no
// cursor: the host knows which stories it has seen, and stops there.
func (m *Medium) Discover(ctx context.Context, req sdk.DiscoverRequest) (sdk.DiscoverResponse, error) {
	s, err := m.current()
	if err != nil {
		return sdk.DiscoverResponse{}, err
	}
	path, err := feedName(req.Target)
	if err != nil {
		return sdk.DiscoverResponse{}, sdk.Permanent(err)
	}
	what := "GET " + path
	a, err := s.get(ctx, s.rss+path, what, false)
	if err != nil {
		if errors.Is(err, sdk.ErrNotFound) {
			return sdk.DiscoverResponse{}, sdk.Permanent(fmt.Errorf("%s %q has no feed on %s: %w", req.Target.Kind, req.Target.ID, s.rss, err))
		}
		return sdk.DiscoverResponse{}, err
	}
	posts, err := parseFeed(a.body)
	if err != nil {
		return sdk.DiscoverResponse{}, fmt.Errorf("%s: %w", what, err)
	}
	var out sdk.DiscoverResponse
	author := ""
	if req.Target.Kind == sdk.TargetAuthor {
		author = "@" + strings.TrimPrefix(strings.TrimSpace(req.Target.ID), "@")
	}
	for _, p := range posts {
		p.AuthorID = author
		out.Posts = append(out.Posts, p)
	}
	return out, nil
}
