package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/sdk"
)

// fakeService is a scoring service on 127.0.0.1 that speaks the moderator
// schema. By default it answers correctly (see score); a test scripts other
// answers per request through respond, and counts what reached it.
type fakeService struct {
	*httptest.Server
	hits atomic.Int64

	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	respond  func(n int64, w http.ResponseWriter, r *http.Request, body []byte) // nil: score
	requests []modRequest
}

func newFake(t testing.TB) *fakeService {
	t.Helper()
	f := &fakeService{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeService) serve(w http.ResponseWriter, r *http.Request) {
	n := f.hits.Add(1)
	body, _ := io.ReadAll(r.Body)
	var req modRequest
	_ = json.Unmarshal(body, &req)
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.headers = append(f.headers, r.Header.Clone())
	f.requests = append(f.requests, req)
	respond := f.respond
	f.mu.Unlock()
	if respond != nil {
		respond(n, w, r, body)
		return
	}
	writeJSON(w, http.StatusOK, score(req))
}

// script sets how the service answers from now on.
func (f *fakeService) script(respond func(n int64, w http.ResponseWriter, r *http.Request, body []byte)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.respond = respond
}

func (f *fakeService) recorded() (bodies [][]byte, headers []http.Header, requests []modRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.bodies...), append([]http.Header(nil), f.headers...), append([]modRequest(nil), f.requests...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fakeWords are what the fake service's "model" reacts to, case-sensitively.
var fakeWords = []struct{ word, label string }{
	{"idiot", sdk.LabelInsult},
	{"kill", sdk.LabelThreat},
	{"damn", sdk.LabelProfanity},
	{"ΚΑΚΟ", sdk.LabelInsult},
}

// score is the fake service's model: a label per word found, scored 0.9,
// with a span on every occurrence and a reason; results in reverse order,
// to check that the plugin matches them by id.
func score(req modRequest) map[string]any {
	results := make([]any, 0, len(req.Comments))
	for i := len(req.Comments) - 1; i >= 0; i-- {
		c := req.Comments[i]
		labels := []any{}
		for _, fw := range fakeWords {
			var spans [][2]int
			for off := 0; ; {
				j := strings.Index(c.Text[off:], fw.word)
				if j < 0 {
					break
				}
				spans = append(spans, [2]int{off + j, off + j + len(fw.word)})
				off += j + len(fw.word)
			}
			if len(spans) > 0 {
				labels = append(labels, map[string]any{"name": fw.label, "score": 0.9, "spans": spans, "reason": "matched " + fw.word})
			}
		}
		results = append(results, map[string]any{"id": c.ID, "labels": labels})
	}
	return map[string]any{"results": results}
}

// configured returns an analyzer configured with cfg (plus the fake's URL
// when cfg has none), logging into log when it is not nil.
func configured(t testing.TB, cfg map[string]any, log io.Writer) *Analyzer {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logger hclog.Logger
	if log != nil {
		logger = hclog.New(&hclog.LoggerOptions{Output: log, Level: hclog.Trace})
	}
	a := newAnalyzer()
	if err := a.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: raw}, Logger: logger}); err != nil {
		t.Fatalf("Configure(%s): %v", raw, err)
	}
	t.Cleanup(func() {
		if inst := a.inst.Load(); inst != nil {
			inst.c.close()
		}
	})
	return a
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func comments(texts ...string) []sdk.Comment {
	out := make([]sdk.Comment, len(texts))
	for i, t := range texts {
		out[i] = sdk.Comment{ID: fmt.Sprintf("c%d", i), Text: t, AuthorID: "a1", PostID: "p1", Lang: "en"}
	}
	return out
}

func labelNames(r sdk.Result) []string {
	var names []string
	for _, l := range r.Labels {
		names = append(names, l.Name)
	}
	return names
}
