package aho

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

type match struct{ p, start, end int }

// naive is the specification: every occurrence of every pattern.
func naive(patterns []string, text string) []match {
	var out []match
	for end := 1; end <= len(text); end++ {
		for p, pat := range patterns {
			if pat != "" && end >= len(pat) && text[end-len(pat):end] == pat {
				out = append(out, match{p, end - len(pat), end})
			}
		}
	}
	return out
}

func find(m *Matcher, text string) []match {
	var out []match
	m.Find(text, func(p, s, e int) { out = append(out, match{p, s, e}) })
	return out
}

func sorted(ms []match) []match {
	slices.SortFunc(ms, func(a, b match) int {
		if a.end != b.end {
			return a.end - b.end
		}
		return a.p - b.p
	})
	return ms
}

func TestFind(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		text     string
	}{
		{"classic", []string{"he", "she", "his", "hers"}, "ushers"},
		{"overlapping and nested", []string{"a", "aa", "aaa"}, "aaaa"},
		{"suffix of another", []string{"ass", "hole", "asshole", "sho"}, "an asshole shows"},
		{"duplicates are reported each", []string{"x", "x"}, "xx"},
		{"empty pattern never matches", []string{"", "b"}, "abc"},
		{"utf-8 bytes", []string{"ж", "жж", "é"}, "жжж café"},
		{"no patterns", nil, "anything"},
		{"bytes outside every pattern", []string{"ab"}, "\x00\xffab\x7f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sorted(find(Build(tt.patterns), tt.text))
			want := sorted(naive(tt.patterns, tt.text))
			if !slices.Equal(got, want) {
				t.Errorf("Find = %v, want %v", got, want)
			}
		})
	}
}

// TestFindRandom checks the automaton against the naive search on random
// patterns and texts over a small alphabet, where failure links matter most.
func TestFindRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(max int) string {
		var b strings.Builder
		for range 1 + rng.IntN(max) {
			b.WriteByte("abc "[rng.IntN(4)])
		}
		return b.String()
	}
	for range 300 {
		patterns := make([]string, 1+rng.IntN(20))
		for i := range patterns {
			patterns[i] = word(5)
		}
		text := word(60)
		m := Build(patterns)
		got := sorted(find(m, text))
		want := sorted(naive(patterns, text))
		if !slices.Equal(got, want) {
			t.Fatalf("patterns %q text %q:\n got %v\nwant %v", patterns, text, got, want)
		}
		var appended []match
		for _, x := range m.AppendMatches(nil, []byte(text)) {
			appended = append(appended, match{int(x.Pattern), int(x.Start), int(x.End)})
		}
		if !slices.Equal(sorted(appended), want) {
			t.Fatalf("AppendMatches: patterns %q text %q:\n got %v\nwant %v", patterns, text, appended, want)
		}
	}
}

func BenchmarkFind(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	patterns := make([]string, 5000)
	for i := range patterns {
		var sb strings.Builder
		for range 4 + rng.IntN(6) {
			sb.WriteByte(byte('a' + rng.IntN(26)))
		}
		patterns[i] = sb.String()
	}
	m := Build(patterns)
	text := strings.Repeat("the quick brown fox jumps over the lazy dog ", 5)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		m.Find(text, func(int, int, int) {})
	}
}
