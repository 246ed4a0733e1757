package model

import (
	"slices"
	"testing"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string // terms, in order
	}{
		{"words lower-cased, one-letter words dropped", "Hello, World! I am here", []string{"hello", "world", "am", "here"}},
		{"apostrophe inside a word", "don't can’t 'quoted'", []string{"don't", "can't", "quoted"}},
		{"capitals mark", "FREE money NOW", []string{"free", TermCaps, "money", "now", TermCaps}},
		{"two capitals are not shouting", "OK go", []string{"ok", "go"}},
		{"URLs", "see http://Example.com/x?y=1, then www.foo.org.", []string{"see", TermURL, "then", TermURL}},
		{"e-mail", "mail john.doe@example.co.uk now", []string{"mail", "john", TermEmail, "now"}},
		{"not an e-mail", "at @home and a@b", []string{"at", "home", "and"}},
		{"numbers and money", "pay $500 or 20 £3", []string{"pay", TermMoney, "or", TermNum, TermMoney}},
		{"zero-width inside a word", "fr\u200bee cl\u200dick", []string{"free", "click"}},
		{"full-width letters", "ＦＲＥＥ offer", []string{"free", TermCaps, "offer"}},
		{"too long", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ok", []string{"ok"}},
		{"other scripts", "Ça va très bien, 日本語", []string{"ça", "va", "très", "bien", "日本語"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Terms(tt.text)
			if len(got) == 0 {
				got = nil
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Terms(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestTokenizeSpans(t *testing.T) {
	text := "Win ＦＲＥＥ cash at https://x.io/a!"
	want := map[string]string{"win": "Win", "free": "ＦＲＥＥ", "cash": "cash", "at": "at", TermURL: "https://x.io/a"}
	for _, tok := range Tokenize(text) {
		if tok.Term == TermCaps {
			continue
		}
		if got := text[tok.Start:tok.End]; got != want[tok.Term] {
			t.Errorf("token %q spans %q, want %q", tok.Term, got, want[tok.Term])
		}
	}
}

// FuzzTokenize: any input tokenises without panicking, into spans that are
// in order, inside the text and on rune boundaries.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"", "Hello world", "http://a.b/c", "x@y.zz", "$5", "fr\u200bee", "ＦＲＥＥ", "\xff\xfe bad", "don't", "www.", "a\u200b", "$"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// The offsets a range loop stops at, and len(s): where a span may
		// start or end (an invalid byte is a character of its own).
		bound := make([]bool, len(s)+1)
		for i := range s {
			bound[i] = true
		}
		bound[len(s)] = true
		last := 0
		for _, tok := range Tokenize(s) {
			if tok.Start < 0 || tok.End > len(s) || tok.Start >= tok.End {
				t.Fatalf("token %+v outside %q", tok, s)
			}
			if tok.Start < last && tok.Term != TermCaps {
				t.Fatalf("token %+v before the previous one in %q", tok, s)
			}
			last = tok.Start
			if !bound[tok.Start] || !bound[tok.End] {
				t.Fatalf("token %+v splits a character of %q", tok, s)
			}
			if tok.Term == "" {
				t.Fatalf("empty term in %q", s)
			}
		}
	})
}
