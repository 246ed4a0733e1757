package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/plugins/internal/textnorm"
	"github.com/moderatorbot/moderator/sdk"
)

// lexicons/english.txt.gz is Debian's wamerican word list, as the variant
// passes use it: no English word is a spelling variant. Regenerate it after
// a new wamerican:
//
//	apt-get install wamerican
//	go test ./plugins/rules -run TestEnglishWords -update-english
var updateEnglish = flag.Bool("update-english", false, "rewrite lexicons/english.txt.gz from "+dictPath)

// dictPath is Debian's wamerican word list.
const dictPath = "/usr/share/dict/american-english"

// dictWords reads the word list folded like comment text ("café" is
// "cafe"), letters only (possessives and words with other characters left
// out), three letters or more (no key is shorter), sorted, each once.
func dictWords(t testing.TB) []string {
	f, err := os.Open(dictPath)
	if err != nil {
		t.Fatalf("open word list: %v", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := textnorm.Fold(strings.TrimSpace(sc.Text()))
		if len(w) < minSoundKey || strings.IndexFunc(w, func(r rune) bool { return r < 'a' || r > 'z' }) >= 0 {
			continue
		}
		out = append(out, w)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read word list: %v", err)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestEnglishWords(t *testing.T) {
	if *updateEnglish {
		if _, err := os.Stat(dictPath); err != nil {
			t.Fatalf("%s is missing: apt-get install wamerican", dictPath)
		}
		want := dictWords(t)
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := zw.Write([]byte(strings.Join(want, "\n") + "\n")); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("lexicons/english.txt.gz", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d words to lexicons/english.txt.gz; rebuild to embed them", len(want))
		return
	}
	have, err := readEnglish(englishGz)
	if err != nil {
		t.Fatal(err)
	}
	if len(have) < 50000 || !slices.IsSorted(have) {
		t.Fatalf("english.txt.gz has %d words (sorted: %v), want wamerican's ~73,000, sorted", len(have), slices.IsSorted(have))
	}
	for _, w := range []string{"pitch", "rapper", "count", "cafe", "kokomo"} {
		if _, ok := slices.BinarySearch(have, w); !ok {
			t.Errorf("%q missing from the English word list", w)
		}
	}
	if _, err := os.Stat(dictPath); err != nil {
		t.Skipf("%s is missing (apt-get install wamerican): cannot check english.txt.gz against it", dictPath)
	}
	if want := dictWords(t); !slices.Equal(have, want) {
		t.Errorf("lexicons/english.txt.gz (%d words) differs from %s (%d words): run go test ./plugins/rules -run TestEnglishWords -update-english",
			len(have), dictPath, len(want))
	}
}

// unguardedEngine is the default engine without the English guard.
func unguardedEngine(t testing.TB) *engine {
	b := newBuilder()
	b.variants, b.noGuard = true, true
	if err := b.addDefaults(); err != nil {
		t.Fatal(err)
	}
	return b.build()
}

// variantsOf returns the variant hits the engine finds in text, as
// "rule:term" strings, before allow lists and near conditions.
func variantsOf(e *engine, text string) []string {
	t := textnorm.Normalize(text)
	sc := &scratch{labelIndex: map[string]int{}}
	e.collect(&sdk.Comment{ID: "g", Text: text}, &t, sc)
	var out []string
	for _, h := range sc.hits {
		if h.variant != 0 {
			out = append(out, fmt.Sprintf("%s:%s", e.rules[h.rule].name, e.variants.terms[h.variant-1]))
		}
	}
	return out
}

var updateFlagged = flag.Bool("update-flagged", false, "rewrite testdata/english_flagged.txt from what the default rules flag")

// TestEnglishFlagged runs every word of the embedded English list through
// the default rules, alone in a sentence, and checks that the words flagged
// are exactly those of testdata/english_flagged.txt: words that are abuse
// in their main sense. A new one is a clean word a wildcard or a term
// caught ("cockiness", "poppycock", "snigger" were, before their allow
// entries), or a word that belongs on the list; one that went missing is
// abuse the rules no longer catch.
func TestEnglishFlagged(t *testing.T) {
	words, err := readEnglish(englishGz)
	if err != nil {
		t.Fatal(err)
	}
	r := defaultAnalyzer(t)
	var got []string
	for start := 0; start < len(words); start += 500 {
		batch := make([]sdk.Comment, 0, 500)
		for _, w := range words[start:min(start+500, len(words))] {
			batch = append(batch, sdk.Comment{ID: w, Text: "well " + w + " then"})
		}
		res, err := r.Analyze(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		for i := range res {
			if flagged(res[i]) {
				got = append(got, batch[i].ID)
			}
		}
	}
	const path = "testdata/english_flagged.txt"
	if *updateFlagged {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var head []string
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "#") {
				head = append(head, line)
			}
		}
		if err := os.WriteFile(path, []byte(strings.Join(append(head, got...), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := readLines(t, path)
	wantSet := map[string]bool{}
	for _, w := range want {
		wantSet[w] = true
	}
	gotSet := map[string]bool{}
	for _, w := range got {
		gotSet[w] = true
		if !wantSet[w] {
			t.Errorf("the English word %q is flagged: allow it in lexicons/derive.mjs, or add it to %s if it is abuse", w, path)
		}
	}
	for _, w := range want {
		if !gotSet[w] {
			t.Errorf("%q (in %s) is no longer flagged", w, path)
		}
	}
	t.Logf("%d of %d English words flagged", len(got), len(words))
}
