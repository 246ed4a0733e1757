package main

import (
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeEvent: whatever a delivery's body holds, decoding never panics
// and accepts only JSON that yields well-formed comments.
func FuzzDecodeEvent(f *testing.F) {
	for _, seed := range []string{
		goodEvent,
		`{"type":"response.updated","data":{"id":"a","postId":"p","creatorId":"u","content":"é😀\u0000","createdAt":"2026-01-01T00:00:00Z","updatedAt":"1767225700000"}}`,
		`{"type":"response.deleted","data":{"id":"a"}}`,
		`{"type":"response.created","data":{"id":"a","postId":"p","creator":{"id":"u"},"createdAt":1.5}}`,
		`{"type":"response.created","data":{"id":"a b","postId":"p","creatorId":"u","createdAt":1}}`,
		`{"type":"response.created","data":null}`, `{"type":null}`, `{"type":1}`, `{}`, `[]`, `null`, ``, `{"type":"response.created","data":`,
		"{\"type\":\"x\"}\n{}", "\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		comments, err := decodeEvent(body)
		if err != nil {
			if comments != nil {
				t.Fatalf("error %v with %d comments", err, len(comments))
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted a body that is not JSON: %q", body)
		}
		for _, c := range comments {
			if !validID(c.ID) || !validID(c.PostID) || !validID(c.AuthorID) || c.CreatedAt.IsZero() || c.Platform != platform || !json.Valid(c.Raw) || !utf8.ValidString(c.Text) {
				t.Fatalf("accepted a malformed comment %+v", c)
			}
			again, err := decodeResponse(c.Raw)
			if err != nil || again.ID != c.ID || again.Text != c.Text || again.Version != c.Version {
				t.Fatalf("Raw of %s does not decode to the same comment: %v", c.ID, err)
			}
		}
	})
}

// FuzzParseFeed: whatever a feed holds, parsing never panics, and what it
// accepts are posts with Medium story ids, each once.
func FuzzParseFeed(f *testing.F) {
	for _, seed := range []string{
		`<?xml version="1.0" encoding="UTF-8"?><rss xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel><item><title><![CDATA[T]]></title><link>https://medium.com/@a/t-0a1b2c3d4e5f?source=rss</link><guid isPermaLink="false">https://medium.com/p/0a1b2c3d4e5f</guid><dc:creator>A</dc:creator><pubDate>Tue, 03 Feb 2026 04:05:06 GMT</pubDate></item></channel></rss>`,
		`<rss><channel></channel></rss>`,
		`<rss><channel><item><guid>https://medium.com/p/zz</guid></item></channel></rss>`,
		`<rss><channel><item><link>https://medium.com/x-abcdef12</link><pubDate>Mon, 2 Jan 2006 15:04:05 -0700</pubDate></item></channel></rss>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><rss><channel/></rss>`,
		`<html></html>`, `<rss>`, ``, `<rss><channel><item><guid>&bogus;</guid></item></channel></rss>`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		posts, err := parseFeed(data)
		if err != nil {
			if posts != nil {
				t.Fatalf("error %v with %d posts", err, len(posts))
			}
			return
		}
		var seen []string
		for _, p := range posts {
			if !articleID.MatchString(p.ID) || slices.Contains(seen, p.ID) {
				t.Fatalf("accepted post %+v (seen %q)", p, seen)
			}
			seen = append(seen, p.ID)
		}
	})
}

// FuzzPollCursor: a cursor is refused or survives a round trip, and an
// accepted one never has a walk's top below its since.
func FuzzPollCursor(f *testing.F) {
	for _, seed := range []string{``, `{"v":1}`, `{"v":1,"since":5,"seen":["a"]}`, `{"v":1,"since":5,"page":"x","top":9,"top_ids":["b"]}`, `{"v":2}`, `{"v":1,"top":3}`, `{"v":1,"since":9,"page":"x","top":3}`, `null`, `[]`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := decodePollCursor(raw)
		if err != nil || len(raw) == 0 {
			return
		}
		if c.Page != "" && c.Top < c.Since || c.Page == "" && c.Top != 0 {
			t.Fatalf("accepted an inconsistent cursor %+v from %q", c, raw)
		}
		back, err := decodePollCursor(c.encode())
		if err != nil || back.Since != c.Since || back.Page != c.Page || back.Top != c.Top || !slices.Equal(back.SeenAt, c.SeenAt) || !slices.Equal(back.TopIDs, c.TopIDs) {
			t.Fatalf("%+v -> %s -> %+v, %v", c, c.encode(), back, err)
		}
	})
}
