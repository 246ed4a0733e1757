package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
)

// benchConfig is the benchmark's rule set: the built-in lexicons plus 2,000
// user terms and 50 regexes in 20 rules, the size of a large community's
// AutoModerator config. Terms are pseudo-words (deterministic) so they do
// not collide with the comments' words; regexes are the kinds moderators
// write (links, contact details, money, repeated characters).
func benchConfig() string {
	rng := rand.New(rand.NewPCG(7, 11))
	word := func() string {
		const consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"
		var b strings.Builder
		for range 2 + rng.IntN(3) {
			b.WriteByte(consonants[rng.IntN(len(consonants))])
			b.WriteByte(vowels[rng.IntN(len(vowels))])
		}
		return b.String()
	}
	regexTemplates := []string{
		`bit\.ly/\w+`, `t\.me/\w+`, `whats\s*app\s*\+?\d+`, `\b%s\d{2,}\b`, `(buy|cheap|discount)\s+%s`,
		`%s(coin|token)s?`, `\$\d+\s*(per|a)\s*(day|hour)`, `[!?]{4,}`, `\b%s\s+%s\b`, `dm\s+me\s+%s`,
	}
	var rules []string
	k := 0
	for i := range 20 {
		var words []string
		for range 100 {
			w := word()
			switch rng.IntN(10) {
			case 0:
				w += "*"
			case 1:
				w = "*" + w
			}
			words = append(words, fmt.Sprintf("%q", w))
		}
		var regexes []string
		for range 2 + i%2 {
			tpl := regexTemplates[k%len(regexTemplates)]
			k++
			n := strings.Count(tpl, "%s")
			args := make([]any, n)
			for k := range args {
				args[k] = word()
			}
			regexes = append(regexes, fmt.Sprintf("%q", fmt.Sprintf(tpl, args...)))
		}
		rules = append(rules, fmt.Sprintf(`{"name": "rule%d", "label": "spam", "words": [%s], "regex": [%s]}`,
			i, strings.Join(words, ","), strings.Join(regexes, ",")))
	}
	return `{"defaults": true, "rules": [` + strings.Join(rules, ",") + `]}`
}

// benchComments are 100 realistic comments: the UCI review sentences, with
// every fifth one made abusive and every tenth one obfuscated.
func benchComments(b *testing.B) []sdk.Comment {
	sentences := readLines(&testing.T{}, "testdata/uci_sentences.txt")
	abusive := []string{
		"you are a fucking idiot and this is shit",
		"f u c k off, y0u b1tch",
		"ѕһіt take, go kill yourself",
		"I know where you live, watch your back",
		"shut up you stupid c\u200bunt",
	}
	out := make([]sdk.Comment, 100)
	for i := range out {
		text := sentences[i*29%len(sentences)]
		if i%5 == 0 {
			text += " " + abusive[i/5%len(abusive)]
		}
		out[i] = sdk.Comment{ID: fmt.Sprint(i), AuthorID: fmt.Sprint(i % 13), AuthorHandle: "user", Text: text}
	}
	return out
}

// BenchmarkAnalyze measures comments per second through Analyze, in
// batches of 100, with 2,000 user terms and 50 regexes on top of the
// built-in lexicons. Run with -cpu 1 for the per-core figure.
func BenchmarkAnalyze(b *testing.B) {
	r := configure(b, benchConfig())
	comments := benchComments(b)
	for _, c := range comments[:5] {
		res, _ := r.Analyze(context.Background(), []sdk.Comment{c})
		_ = res
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Analyze(context.Background(), comments); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(comments))/b.Elapsed().Seconds(), "comments/s")
}

// TestBenchConfig keeps the benchmark honest: its config has the 2,000
// terms and 50 regexes it claims, and compiles.
func TestBenchConfig(t *testing.T) {
	cfg := benchConfig()
	r := configure(t, cfg)
	e := r.engine.Load()
	if got := len(e.regexes); got != 50 {
		t.Errorf("%d regexes, want 50", got)
	}
	if got := strings.Count(cfg, `"`) / 2; got < 2000 {
		t.Errorf("about %d strings in the config, want at least 2,000 terms", got)
	}
}
