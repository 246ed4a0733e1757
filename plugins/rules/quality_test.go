package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/moderatorbot/moderator/sdk"
)

// The quality figures of the default lexicons, measured on public data the
// lexicons were not built from (see lexicons/SOURCE.md):
//
//   - recall on the held-out list badwords-list (testdata/heldout_badwords.tsv),
//     plain and under six programmatic obfuscations;
//   - false positives on the UCI Sentiment Labelled Sentences
//     (testdata/uci_sentences.txt), 3,000 clean review sentences;
//   - precision, recall and F1 per label on eval/*.jsonl, the dataset
//     `moderator eval` reads.
const (
	minRecall     = 0.94  // plain held-out recall (measured 0.941; 0.918 before compounds and the longer and shorter edits, 0.838 before spelling variants)
	maxRecallDrop = 0.01  // an obfuscation may lose at most this much recall
	maxFPRate     = 0.005 // on clean sentences
)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	header := true // the "#" lines at the top say where the data comes from
	for sc.Scan() {
		line := sc.Text()
		if header && strings.HasPrefix(line, "#") {
			continue
		}
		header = false
		if line != "" {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return out
}

// heldOut returns the held-out terms counted in the recall figure.
func heldOut(t *testing.T) []string {
	var terms []string
	for _, line := range readLines(t, "testdata/heldout_badwords.tsv") {
		term, class, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("heldout_badwords.tsv: bad line %q", line)
		}
		if class == "eval" {
			terms = append(terms, term)
		}
	}
	if len(terms) < 350 {
		t.Fatalf("only %d held-out terms", len(terms))
	}
	return terms
}

// Obfuscations, each deterministic. They apply to letters; anything else
// in a term is kept.
var (
	leetOf = map[rune]rune{'a': '4', 'e': '3', 'i': '1', 'o': '0', 's': '5', 't': '7'}
	// Cyrillic and Greek look-alikes of Latin letters (TR39 confusables).
	confusableOf = map[rune]rune{
		'a': 'а', 'c': 'с', 'e': 'е', 'i': 'і', 'j': 'ј', 'o': 'о', 'p': 'р', 's': 'ѕ',
		'x': 'х', 'y': 'у', 'h': 'һ', 'k': 'κ', 'v': 'ν', 'b': 'Ь', 'g': 'ɡ', 'w': 'ԝ', 'd': 'ԁ', 'q': 'ԛ',
	}
	zeroWidth = []string{"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}
)

func mapLetters(s string, m map[rune]rune) string {
	return strings.Map(func(r rune) rune {
		if x, ok := m[r]; ok {
			return x
		}
		return r
	}, s)
}

// leet writes the letters that have one as digits, except that a word
// left with no letter at all keeps its first one: "455" is a number to any
// reader, "a55" is not.
func leet(s string) string {
	out := mapLetters(s, leetOf)
	if strings.IndexFunc(out, func(r rune) bool { return r >= 'a' && r <= 'z' }) < 0 {
		_, size := utf8.DecodeRuneInString(s)
		out = s[:size] + out[size:]
	}
	return out
}

// stretch repeats the term's first vowel (or, without one, its last
// letter) five times over: "fuck" becomes "fuuuuuck".
func stretch(s string) string {
	i := strings.IndexAny(s, "aeiouy")
	if i < 0 {
		i = len(s) - 1
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	return s[:i] + strings.Repeat(string(r), 5) + s[i+size:]
}

// between puts sep between every two characters, cycling through seps.
func between(s string, seps []string) string {
	var b strings.Builder
	for i, r := range []rune(s) {
		if i > 0 {
			b.WriteString(seps[i%len(seps)])
		}
		b.WriteRune(r)
	}
	return b.String()
}

var obfuscations = []struct {
	name string
	fn   func(string) string
}{
	{"plain", func(s string) string { return s }},
	{"leet", leet},
	{"confusables", func(s string) string { return mapLetters(s, confusableOf) }},
	{"zero-width", func(s string) string { return between(s, zeroWidth) }},
	{"spacing", func(s string) string {
		return between(strings.ReplaceAll(s, " ", ""), []string{" ", ".", " ", "-", " ", "_"})
	}},
	{"stretching", stretch},
	{"combined", func(s string) string {
		// Stretch, then leet, then confusables for the letters leet left,
		// then letters spaced apart with a zero-width character in each gap.
		s = mapLetters(leet(stretch(s)), confusableOf)
		return between(strings.ReplaceAll(s, " ", ""), []string{" \u200b", "\u200d ", ".\u2060"})
	}},
}

// flagged reports whether any label scores at or above the decision threshold.
func flagged(res sdk.Result) bool {
	for _, l := range res.Labels {
		if l.Score >= 0.5 {
			return true
		}
	}
	return false
}

func TestHeldOutRecall(t *testing.T) {
	r := defaultAnalyzer(t)
	terms := heldOut(t)
	// How many held-out terms the independent sources happen to list as
	// they are: the rest are reached through normalisation, wildcards and
	// inflections, or missed.
	listed := map[string]bool{}
	for _, f := range []string{"profanity.txt", "insult.txt", "sexual.txt", "identity_attack.txt", "threat.txt"} {
		entries, err := readLexicon(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			listed[e.term] = true
		}
	}
	same := 0
	for _, term := range terms {
		if listed[term] {
			same++
		}
	}
	t.Logf("held-out terms also listed verbatim by a lexicon source: %d of %d", same, len(terms))
	var plain float64
	for _, ob := range obfuscations {
		comments := make([]sdk.Comment, len(terms))
		for i, term := range terms {
			comments[i] = sdk.Comment{ID: term, Text: "honestly " + ob.fn(term) + " lol"}
		}
		res, err := r.Analyze(context.Background(), comments)
		if err != nil {
			t.Fatal(err)
		}
		hits := 0
		var missed []string
		for i := range res {
			if flagged(res[i]) {
				hits++
			} else {
				missed = append(missed, comments[i].Text)
			}
		}
		recall := float64(hits) / float64(len(terms))
		t.Logf("held-out recall %-12s %.3f (%d of %d)", ob.name, recall, hits, len(terms))
		if ob.name == "plain" {
			unlisted, unlistedHits := 0, 0
			for i, term := range terms {
				if !listed[term] {
					unlisted++
					if flagged(res[i]) {
						unlistedHits++
					}
				}
			}
			t.Logf("  of the %d not listed verbatim: %d found (%.3f)", unlisted, unlistedHits, float64(unlistedHits)/float64(max(1, unlisted)))
		}
		if testing.Verbose() && ob.name != "plain" && len(missed) > 0 {
			t.Logf("  missed under %s: %q", ob.name, missed[:min(len(missed), 12)])
		}
		if ob.name == "plain" {
			plain = recall
			if recall < minRecall {
				t.Errorf("plain recall %.3f < %.2f; missed: %q", recall, minRecall, missed)
			}
		} else if recall < plain-maxRecallDrop {
			t.Errorf("recall under %s %.3f, more than %.2f below plain %.3f; missed: %q", ob.name, recall, maxRecallDrop, plain, missed)
		}
	}
}

func TestCleanFalsePositives(t *testing.T) {
	r := defaultAnalyzer(t)
	sentences := readLines(t, "testdata/uci_sentences.txt")
	if len(sentences) < 3000 {
		t.Fatalf("%d UCI sentences, want the 3,000 of the data set", len(sentences))
	}
	comments := make([]sdk.Comment, len(sentences))
	for i, s := range sentences {
		comments[i] = sdk.Comment{ID: fmt.Sprint(i), Text: s}
	}
	res, err := r.Analyze(context.Background(), comments)
	if err != nil {
		t.Fatal(err)
	}
	var fps []string
	for i := range res {
		if flagged(res[i]) {
			fps = append(fps, fmt.Sprintf("%q: %s", sentences[i], res[i].Labels[0].Reason))
		}
	}
	rate := float64(len(fps)) / float64(len(sentences))
	t.Logf("false positives on UCI clean sentences: %d of %d (%.2f%%)", len(fps), len(sentences), rate*100)
	for _, fp := range fps {
		t.Logf("  %s", fp)
	}
	if rate > maxFPRate {
		t.Errorf("false-positive rate %.4f > %.4f", rate, maxFPRate)
	}
}

// TestEvalDataset computes what `moderator eval` reports for eval/*.jsonl
// and holds each label to a floor: it proves the dataset and the analyzer
// agree without the moderator binary.
func TestEvalDataset(t *testing.T) {
	type row struct {
		ID     string   `json:"id"`
		Text   string   `json:"text"`
		Labels []string `json:"labels"`
	}
	var rows []row
	for _, file := range []string{"eval/abuse.jsonl", "eval/uci_clean.jsonl"} {
		for _, line := range readLines(t, file) {
			var r row
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%s: %v in %s", file, err, line)
			}
			rows = append(rows, r)
		}
	}
	comments := make([]sdk.Comment, len(rows))
	for i, r := range rows {
		comments[i] = sdk.Comment{ID: r.ID, Text: r.Text}
	}
	res, err := defaultAnalyzer(t).Analyze(context.Background(), comments)
	if err != nil {
		t.Fatal(err)
	}
	type counts struct{ tp, fp, fn int }
	per := map[string]*counts{}
	for _, l := range []string{"profanity", "insult", "threat", "identity_attack", "sexual"} {
		per[l] = &counts{}
	}
	for i, r := range rows {
		for name, c := range per {
			want := contains(r.Labels, name)
			l, ok := res[i].Label(name)
			got := ok && l.Score >= 0.5
			switch {
			case got && want:
				c.tp++
			case got:
				c.fp++
				t.Logf("fp %s: %s %q", name, r.ID, r.Text)
			case want:
				c.fn++
				t.Logf("fn %s: %s %q", name, r.ID, r.Text)
			}
		}
	}
	for _, name := range []string{"profanity", "insult", "threat", "identity_attack", "sexual"} {
		c := per[name]
		p := float64(c.tp) / float64(max(1, c.tp+c.fp))
		rc := float64(c.tp) / float64(max(1, c.tp+c.fn))
		f1 := 2 * p * rc / max(1e-9, p+rc)
		t.Logf("%-16s tp %3d fp %3d fn %3d  precision %.3f recall %.3f f1 %.3f", name, c.tp, c.fp, c.fn, p, rc, f1)
		// The false positives are mostly UCI sentences that do swear
		// ("portions are fucking small"); precision is held lower than
		// recall for that reason.
		if rc < 0.9 || p < 0.7 {
			t.Errorf("%s: precision %.3f, recall %.3f on eval/; want at least 0.7 and 0.9", name, p, rc)
		}
	}
}

// fortunesDir is where Debian's fortunes package puts its quotations.
const fortunesDir = "/usr/share/games/fortunes"

// TestFortunes runs the default rules over Debian's fortunes (15,218
// quotations and jokes, some of them coarse), when the package is
// installed, as a check on everyday text beyond the UCI reviews; it is not
// shipped. It fails if more than 2% are flagged (234 were, 1.5%, when it
// was written), and -v lists them by label:
//
//	apt-get install fortunes && go test ./plugins/rules -count=1 -v -run TestFortunes
func TestFortunes(t *testing.T) {
	entries, err := os.ReadDir(fortunesDir)
	if err != nil {
		t.Skipf("Debian's fortunes package is not installed (%v)", err)
	}
	var texts []string
	for _, e := range entries {
		if e.IsDir() || strings.Contains(e.Name(), ".") {
			continue // the .dat indexes and .u8 links
		}
		b, err := os.ReadFile(fortunesDir + "/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range strings.Split(string(b), "\n%\n") {
			if f = strings.TrimSpace(f); f != "" {
				texts = append(texts, f)
			}
		}
	}
	r := defaultAnalyzer(t)
	flaggedN, byLabel := 0, map[string]int{}
	for _, text := range texts {
		res, err := r.Analyze(context.Background(), []sdk.Comment{{ID: "f", Text: text}})
		if err != nil {
			t.Fatal(err)
		}
		if !flagged(res[0]) {
			continue
		}
		flaggedN++
		for _, l := range res[0].Labels {
			if l.Score >= 0.5 {
				byLabel[l.Name]++
				if testing.Verbose() {
					t.Logf("%s: %s", l.Name, l.Reason)
				}
			}
		}
	}
	t.Logf("fortunes flagged: %d of %d (%.1f%%), by label %v", flaggedN, len(texts), 100*float64(flaggedN)/float64(len(texts)), byLabel)
	if flaggedN*50 > len(texts) {
		t.Errorf("%d of %d fortunes flagged, more than 2%%", flaggedN, len(texts))
	}
}

// TestHamMails runs the default rules over the 1,400 ham mails of the spam
// plugin's held-out SpamAssassin set: long technical mail with many names,
// a check on text the lexicons were not built from (README: 110 flagged
// before the spelling variants, 114 when this test was written; some of
// them really swear or insult). It fails above 130, and -v lists them:
//
//	go test ./plugins/rules -count=1 -v -run TestHamMails
func TestHamMails(t *testing.T) {
	var ham []sdk.Comment
	for _, line := range readLines(t, "../spam/eval/spamassassin-heldout.jsonl") {
		var row struct {
			ID     string   `json:"id"`
			Text   string   `json:"text"`
			Labels []string `json:"labels"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		if len(row.Labels) == 0 {
			ham = append(ham, sdk.Comment{ID: row.ID, Text: row.Text})
		}
	}
	if len(ham) != 1400 {
		t.Fatalf("%d ham mails, want 1400", len(ham))
	}
	res, err := defaultAnalyzer(t).Analyze(context.Background(), ham)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range res {
		if flagged(res[i]) {
			n++
			if testing.Verbose() {
				for _, l := range res[i].Labels {
					if l.Score >= 0.5 {
						t.Logf("%s: %s", ham[i].ID, l.Reason)
					}
				}
			}
		}
	}
	t.Logf("ham mails flagged: %d of %d", n, len(ham))
	if n > 130 {
		t.Errorf("%d of %d ham mails flagged, more than 130", n, len(ham))
	}
}
