package main

import (
	"slices"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
)

// FuzzDecode feeds arbitrary answers to every mapping's decoder and checks
// that it never panics and that whatever it accepts becomes valid results:
// one per comment, labels from the vocabulary, each once, scores in [0,1],
// spans inside the text on character boundaries.
//
//	go test ./plugins/http -run '^$' -fuzz FuzzDecode -fuzztime 1m
func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"results":[{"id":"c0","labels":[{"name":"insult","score":0.9,"spans":[[0,5]],"reason":"r"}]},{"id":"c1","labels":[]}]}`,
		`{"results":[{"id":"c1"},{"id":"c0","labels":[{"name":"threat","score":1,"spans":[[7,9],[0,0]]}]}]}`,
		`{"results":[{"id":"c0","error":"x"},{"id":"c1","labels":[{"name":"spam","score":0.5,"spans":[[1e300,2]]}]}]}`,
		perspectiveAnswerExample, openAIAnswerExample, huggingFaceAnswerExample,
		`[{"label":"insult","score":0.8},{"label":"toxic","score":0.6}]`,
		`<html>`, ``, `null`, `{"results":null}`, `[[null]]`, `{"attributeScores":{"INSULT":{"summaryScore":{"value":2}}}}`,
	}
	for _, s := range seeds {
		for m := range 4 {
			f.Add([]byte(s), uint8(m))
		}
	}
	names := []string{mappingModerator, mappingPerspective, mappingOpenAI, mappingHuggingFace}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		cfg := defaultConfig()
		cfg.URL = "http://127.0.0.1:9/"
		cfg.Mapping = names[int(which)%len(names)]
		s, err := cfg.check()
		if err != nil {
			t.Fatal(err)
		}
		batch := comments("idiot ünïcode text", "kill")
		if s.mapping.maxBatch() == 1 {
			batch = batch[:1]
		}
		remote, err := s.mapping.decode(s, batch, body)
		if err != nil {
			return
		}
		if len(remote) != len(batch) {
			t.Fatalf("%d results for %d comments", len(remote), len(batch))
		}
		for i := range batch {
			r := translate(s, s.mapping, &batch[i], remote[i])
			if r.CommentID != batch[i].ID {
				t.Fatalf("result for %q, want %q", r.CommentID, batch[i].ID)
			}
			if r.Err != "" && len(r.Labels) > 0 {
				t.Fatalf("a failed comment has labels")
			}
			bounds := runeBoundaries(batch[i].Text)
			seen := map[string]bool{}
			for _, l := range r.Labels {
				if !slices.Contains(sdk.Labels, l.Name) || seen[l.Name] {
					t.Fatalf("label %q unknown or twice", l.Name)
				}
				seen[l.Name] = true
				if !(l.Score >= s.MinScore && l.Score <= 1) || l.Reason == "" {
					t.Fatalf("label %+v: bad score or no reason", l)
				}
				for _, sp := range l.Spans {
					if sp.Start < 0 || sp.End < sp.Start || sp.End > len(batch[i].Text) || !bounds[sp.Start] || !bounds[sp.End] {
						t.Fatalf("span %v invalid for %q", sp, batch[i].Text)
					}
				}
			}
		}
	})
}
