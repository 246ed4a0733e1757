package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite corpus/comments.jsonl from its sources")

// corpusSources are the repository's labelled datasets the corpus is made
// of, and how many of each line to keep (every Nth).
var corpusSources = []struct {
	prefix, path string
	every        int
}{
	{"spam", "../../plugins/spam/eval/comments.jsonl", 1},
	{"abuse", "../../plugins/rules/eval/abuse.jsonl", 1},
	{"uci", "../../plugins/rules/eval/uci_clean.jsonl", 15},
}

// TestCorpusIsDerived checks that the embedded corpus is exactly what its
// sources give (go test ./examples/sandbox -run TestCorpusIsDerived
// -update-corpus rewrites it).
func TestCorpusIsDerived(t *testing.T) {
	var want bytes.Buffer
	for _, src := range corpusSources {
		data, err := os.ReadFile(src.path)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range bytes.Split(data, []byte("\n")) {
			var s sample
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			if err := json.Unmarshal(line, &s); err != nil {
				t.Fatalf("%s: %v", src.path, err)
			}
			if n++; s.Text == "" || (n-1)%src.every != 0 {
				continue // one UCI sentence is empty
			}
			s.ID = src.prefix + "/" + s.ID
			if s.Labels == nil {
				s.Labels = []string{}
			}
			line, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			want.Write(append(line, '\n'))
		}
	}
	path := filepath.Join("corpus", "comments.jsonl")
	if *updateCorpus {
		if err := os.WriteFile(path, want.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(corpusJSONL, want.Bytes()) {
		t.Fatalf("%s is not what its sources give: run go test ./examples/sandbox -run TestCorpusIsDerived -update-corpus", path)
	}
	got, err := parseCorpus(corpusJSONL)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[bool]int{}
	for _, s := range got {
		kinds[s.clean()]++
	}
	if kinds[true] < 100 || kinds[false] < 80 {
		t.Errorf("corpus has %d clean and %d labelled comments; want a realistic mix of both", kinds[true], kinds[false])
	}
}
