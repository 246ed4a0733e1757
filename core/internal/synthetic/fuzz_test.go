package main

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeDelivery: whatever a delivery body holds, decoding never panics,
// and what it accepts is only well-formed comments of the platform.
func FuzzDecodeDelivery(f *testing.F) {
	for _, seed := range []string{
		`{"events":[{"type":"comment.created","comment":{"id":"1700000000000000001","post_id":"p1","author_id":"u1","author_handle":"a","text":"hi","version":0,"created_at":"2026-01-02T03:04:05Z","url":"http://x"}}]}`,
		`{"events":[{"type":"comment.updated","comment":{"id":"5","post_id":"p","author_id":"u","text":"é😀\u0000","version":7}}]}`,
		`{"events":[{"type":"post.created","post":{}}]}`,
		`{"events":[]}`,
		`{"events":null}`,
		`{"events":[{"type":"comment.created","comment":{"id":5}}]}`,
		`{"events":[{"type":"comment.created","comment":"x"}]}`,
		`{"events":[{"type":"comment.created"}]}`,
		`{}`, `[]`, `null`, ``, `{"events":[`, "{\"events\":[]}\n{}", "\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		comments, err := decodeDelivery(body)
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
			if !validID(c.ID) || c.PostID == "" || c.AuthorID == "" || c.Platform != platformName || !json.Valid(c.Raw) {
				t.Fatalf("accepted a malformed comment %+v", c)
			}
			if c.Version == "0" || !utf8.ValidString(c.Text) {
				t.Fatalf("comment %s: version %q, text valid UTF-8 %v", c.ID, c.Version, utf8.ValidString(c.Text))
			}
			again, err := decodeComment(c.Raw)
			if err != nil || again.ID != c.ID || again.Text != c.Text || again.Version != c.Version {
				t.Fatalf("Raw of %s does not decode to the same comment: %v", c.ID, err)
			}
		}
	})
}

// FuzzDecodeCursor: a cursor either is refused or survives a round trip,
// and never has until at or below since, nor newest below since or
// without until.
func FuzzDecodeCursor(f *testing.F) {
	for _, seed := range []string{``, `{}`, `{"since":"17"}`, `{"since":"5","until":"9","newest":"12"}`, `{"since":"0"}`, `{"since":17}`, `null`, `{"until":"3"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := decodeCursor(raw)
		if err != nil {
			return
		}
		if c.Until != 0 && c.Until <= c.Since || c.Newest != 0 && (c.Newest < c.Since || c.Until == 0) {
			t.Fatalf("accepted an inconsistent cursor %+v from %q", c, raw)
		}
		back, err := decodeCursor(c.encode())
		if err != nil || back != c {
			t.Fatalf("%+v -> %s -> %+v, %v", c, c.encode(), back, err)
		}
	})
}

// FuzzDecodePage: a page either is refused as a whole or yields items that
// each decode to a comment or are reported malformed, without panics.
func FuzzDecodePage(f *testing.F) {
	for _, seed := range []string{
		`{"data":[{"id":"1","post_id":"a","author_id":"u","text":"x"}],"meta":{"result_count":1,"next_token":"MQ"}}`,
		`{"data":[{"id":1,"post_id":"a"},"corrupt item",null,{}],"meta":{},"errors":[{"post_id":"b","title":"Not Found"}]}`,
		`{"data":[{"id":"1","post_id":"a"`, `{"data":{}}`, `[]`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodePage(body)
		if err != nil {
			return
		}
		for _, raw := range p.Data {
			if c, err := decodeComment(raw); err == nil && !validID(c.ID) {
				t.Fatalf("item %s decoded with id %q", raw, c.ID)
			}
			_ = postIDOf(raw)
		}
	})
}
