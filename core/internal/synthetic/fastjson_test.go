package main

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"testing"

	"github.com/moderatorbot/moderator/core/internal/synthetic/platform"
)

// fastItemSeeds are items as the platform writes them and near misses.
var fastItemSeeds = []string{
	`{"id":"1700000000000000001","post_id":"p1","author_id":"u1","author_handle":"a","text":"hi","version":0,"created_at":"2026-01-02T03:04:05Z","url":"http://x/p/p1/c/1700000000000000001"}`,
	`{"id":"5","post_id":"p","author_id":"u","text":"é😀 \u003cb\u003e \"q\" \\ \ud83d\ude00 \ud800 \u0000","version":7}`,
	`{"id":"5","post_id":"p","author_id":"u","text":"` + "\xff\xfe" + `"}`,
	`{"id":"5","post_id":"p","author_id":"u","text":"` + "\x01" + `"}`,
	`{"id":"5","ID":"6","text":"x"}`, `{"id":"5","id":"6"}`, `{"id":5}`, `{"text":null}`, `{"version":-1}`,
	`{"version":1e2}`, `{"version":00}`, `{"version":1234567890}`, `{"version":12}`, `{"likes":3}`,
	`{}`, `{}x`, `{,}`, `{"id":"1",}`, `{"id":"1"} `, ` {"id":"1"}`, `{"id" :"1"}`, `{"id":"1\`, `{"id":"\"}`,
	`"corrupt item"`, `null`, `[]`, ``,
}

// FuzzFastItem: whatever fastItem accepts, json.Unmarshal accepts too and
// decodes to the very same wireComment.
func FuzzFastItem(f *testing.F) {
	for _, s := range fastItemSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var fast, slow wireComment
		if !fastItem(raw, &fast) {
			return
		}
		if err := json.Unmarshal(raw, &slow); err != nil {
			t.Fatalf("fastItem accepted %q, which json.Unmarshal refuses: %v", raw, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fastItem %+v (text %v), json.Unmarshal %+v (text %v)", raw, fast, deref(fast.Text), slow, deref(slow.Text))
		}
	})
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// The pages and items the platform writes take the fast paths (else they
// are code only the fuzz tests run), and a string that needs unescaping is
// unescaped.
func TestFastItemTakesThePlatformsItems(t *testing.T) {
	s := fake(t, platform.Options{})
	s.AddPost("p1", "alice")
	texts := []string{"plain", "é😀", `<b>"quoted" & \ </b>`, "line\nbreak\u2028"}
	for _, text := range texts {
		s.AddComment(platform.Comment{PostID: "p1", AuthorID: "u", Handle: "h", Text: text})
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/v1/comments?posts=p1", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	page, err := decodePage(body)
	if err != nil || len(page.Data) != len(texts) {
		t.Fatalf("page of %d items, %v: %s", len(page.Data), err, body)
	}
	if page.items == nil {
		t.Errorf("the platform's page does not take the fast path: %s", body)
	}
	for i, raw := range page.Data {
		var w wireComment
		if !fastItem(raw, &w) {
			t.Errorf("the platform's item %s does not take the fast path", raw)
			continue
		}
		if want := texts[len(texts)-1-i]; w.Text == nil || *w.Text != want || w.AuthorHandle != "h" || w.Version != 0 {
			t.Errorf("item %s read as %+v, want text %q", raw, w, want)
		}
	}
}

// FuzzFastPage: whatever page fastPage accepts, the general path accepts
// too, with the same items, meta and errors, and each item decoded as
// json.Unmarshal decodes it.
func FuzzFastPage(f *testing.F) {
	item := fastItemSeeds[0]
	for _, s := range []string{
		`{"data":[` + item + `,` + item + `],"meta":{"result_count":2,"next_token":"MQ"}}`,
		`{"data":[],"meta":{"result_count":0},"errors":[{"post_id":"b","title":"Not Found","detail":"x"}]}`,
		`{"data":[` + item + `],"meta":{},"data":[]}`, `{"data":[` + item + `],"Data":null}`, `{"data":[],}`, `{"data":[],"meta":{}} `,
		`{"data":[],"meta":{}}x`, `{"data":[{}],"meta":{"next_token":"a"},"meta":{"result_count":1}}`, `{"data":[` + item + `,]}`,
		`{"data":[` + item + `]`, `{"data":[]}`, `{"data":[{"id":5}]}`, `{"data":["corrupt item"]}`, `{"data":[ ]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := fastPage(body)
		if !ok {
			return
		}
		var slow commentsPage
		if err := decodeWhole(body, &slow); err != nil {
			t.Fatalf("fastPage accepted %q, which the general path refuses: %v", body, err)
		}
		if len(fast.items) != len(fast.Data) {
			t.Fatalf("%d items for %d raw items", len(fast.items), len(fast.Data))
		}
		items := fast.items
		fast.items = nil
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q:\nfastPage %+v\ngeneral  %+v", body, fast, slow)
		}
		for i, raw := range fast.Data {
			var w wireComment
			if err := json.Unmarshal(raw, &w); err != nil || !reflect.DeepEqual(w, items[i]) {
				t.Fatalf("item %q: fastPage %+v, json.Unmarshal %+v (%v)", raw, items[i], w, err)
			}
		}
	})
}
