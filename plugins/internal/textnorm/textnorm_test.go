package textnorm

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// boundaries renders t's word boundaries as "|" marks between the folded
// characters, so tests can state them at a glance.
func boundaries(t *Text) string {
	var b strings.Builder
	for i := 0; i <= len(t.Folded); i++ {
		if t.Boundary(i) {
			b.WriteByte('|')
		}
		if i < len(t.Folded) {
			b.WriteByte(t.Folded[i])
		}
	}
	return b.String()
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, folded string
	}{
		{"lower case", "FuCk YoU", "fuck you"},
		{"fullwidth", "ｆｕｃｋ", "fuck"},
		{"ligature", "ﬁne ﬂag", "fine flag"},
		{"mathematical bold and circled", "𝐟𝐮𝐜𝐤 ⓢⓗⓘⓣ", "fuck shit"},
		{"superscript", "ˢʰⁱᵗ", "shit"},
		{"diacritics", "fúçk ñó", "fuck no"},
		{"combining marks (Zalgo)", "f\u0351u\u0300\u0301c\u0303k\u0308", "fuck"},
		{"zero-width space, joiners, word joiner, BOM, soft hyphen", "f\u200bu\u200cc\u200dk \u2060s\ufeffh\u00adit", "fuck shit"},
		{"Hangul filler and variation selector", "fu\u3164ck\ufe0f", "fuck"},
		{"Cyrillic confusables", "ѕһіt сunt", "shit cunt"},
		{"Greek confusables", "ΒΟΟΒ", "boob"},
		{"Cyrillic word with no look-alike for every letter stays Cyrillic", "хуй сука", "хуи cyka"},
		{"dotless i and sharp s", "bıtch straße", "bitch strasse"},
		{"leet digits", "sh1t a55 b00bs 5h17", "shit ass boobs shit"},
		{"leet symbols", "@ss a$$ b!tch bi+ch", "ass ass bitch bitch"},
		{"a ! at the end of a word is punctuation", "wow! fuck!", "wow! fuck!"},
		{"! before a leet +", "sh!+ b!+ch", "shit bitch"},
		{"! before other symbols, alone or before +1 stays punctuation", "hey !+ wow!$ thanks!@bob great!+1", "hey !+ wow!$ thanks!abob great!+1"},
		{"numbers alone stay numbers", "call 555 1234 at 5", "call 555 1234 at 5"},
		{"stretched letters", "fuuuuuck shiiiit", "fuck shit"},
		{"two identical letters stay", "book butt", "book butt"},
		{"letters spaced apart", "f u c k you", "fuck you"},
		{"letters dotted apart", "f.u.c.k", "fuck"},
		{"letters dashed and underscored apart", "f-u-c-k", "fuck"},
		{"a run of spaced letters runs on across words", "f_u_c_k s.h.i.t", "fuckshit"},
		{"letters starred apart", "f*u*c*k", "fuck"},
		{"spaced leet", "s h 1 t", "shit"},
		{"spaced with runs of separators", "a._ s-_ s f._ u-_ c__ k", "assfuck"},
		{"four separators end a run", "a . . . b c d", "a . . . bcd"},
		{"spaced with a ! or | for i", "b.! t-c h, s h | t", "bitch, shit"},
		{"a spaced ! at the end is punctuation", "a b c !", "abc !"},
		{"spaced with a stretched letter", "f uuuuu c k", "fuck"},
		{"two identical letters are a word, not a stretched single", "a ss b", "a ss b"},
		{"spaced leet symbols", "s.h !-+", "shit"},
		{"two single letters are not joined", "i a b", "iab"},
		{"masked word stays masked", "f*ck", "f*ck"},
		{"hyphen inside a word joins", "mo-fo son-of-a-bitch", "mofo sonofabitch"},
		{"hyphen between spaces is a space", "a - b", "a b"},
		{"white space collapses", "kill \t\n  you\u00a0\u3000now", "kill you now"},
		{"control characters vanish", "fu\x00ck\x7f", "fuck"},
		{"invalid UTF-8 becomes ?", "bad\xff\xfebytes", "bad??bytes"},
		{"other scripts stay", "日本語 مرحبا", "日本語 مرحبا"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Normalize(tt.in)
			if got.Folded != tt.folded {
				t.Errorf("Normalize(%q).Folded = %q, want %q", tt.in, got.Folded, tt.folded)
			}
			if Fold(tt.in) != got.Folded {
				t.Errorf("Fold(%q) = %q, differs from Normalize", tt.in, Fold(tt.in))
			}
		})
	}
}

func TestSingleLettersNeedThreeInARow(t *testing.T) {
	// "i a b" above shows three join; two must not.
	if got := Fold("a b"); got != "a b" {
		t.Errorf("Fold(a b) = %q, want %q", got, "a b")
	}
}

func TestBoundaries(t *testing.T) {
	tests := []struct{ in, want string }{
		{"fuck you", "|fuck| |you|"},
		{"fuck, you!", "|fuck|, |you|!|"},
		// Spaced letters keep a boundary before each one, so a word glued
		// to a single letter ("a" + "bitch") is still found.
		{"a b i t c h", "|a|b|i|t|c|h|"},
		// Decoded leetspeak at a word's edge is optional: "@ss" is "ass"
		// and "ss".
		{"@ss", "|a|ss|"},
		{"fuck5", "|fuck|s|"},
		{"a55", "|a|ss|"},
		{"sh1t", "|shit|"},
		{"mo-fo", "|mo|fo|"},
	}
	for _, tt := range tests {
		n := Normalize(tt.in)
		if got := boundaries(&n); got != tt.want {
			t.Errorf("boundaries of %q = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSpacedRun(t *testing.T) {
	tests := []struct {
		in   string
		at   string // a folded substring; SpacedRun is asked about its first byte
		want string // the run it is in, "" for none
	}{
		{"honestly f u c k lol", "u", "fuck"},
		{"honestly f u c k lol", "lol", ""},
		{"c l a s s act", "ass", "class"},
		{"f uuuuu c k", "c", "fuck"},
		{"s.h.1.t head", "i", "shit"},
		{"you a b i t c h", "a", "abitch"},
		{"f u c k  ,  y o u", "y", "you"},
		{"fuck you", "fuck", ""},
		{"a b", "b", ""}, // two singles are not a run
	}
	for _, tt := range tests {
		n := Normalize(tt.in)
		i := strings.Index(n.Folded, tt.at)
		if i < 0 {
			t.Fatalf("%q folds to %q, without %q", tt.in, n.Folded, tt.at)
		}
		start, end := n.SpacedRun(i)
		if got := n.Folded[start:end]; got != tt.want {
			t.Errorf("SpacedRun of %q in %q (folded %q) = %q, want %q", tt.at, tt.in, n.Folded, got, tt.want)
		}
	}
	n := Normalize("f u c k")
	for _, i := range []int{-1, len(n.Folded), 99} {
		if start, end := n.SpacedRun(i); start != i || end != i {
			t.Errorf("SpacedRun(%d) = (%d, %d), want an empty range at %d", i, start, end, i)
		}
	}
}

func TestStretched(t *testing.T) {
	n := Normalize("asssss as")
	if n.Folded != "as as" {
		t.Fatalf("folded %q", n.Folded)
	}
	want := []bool{false, true, false, false, false}
	for i, w := range want {
		if n.Stretched(i) != w {
			t.Errorf("Stretched(%d) = %v, want %v", i, n.Stretched(i), w)
		}
	}
	if n.Stretched(-1) || n.Stretched(99) {
		t.Error("Stretched out of range must be false")
	}
}

// TestOriginal checks that a match in the folded text maps back to exactly
// the original characters that made it, for every kind of evasion.
func TestOriginal(t *testing.T) {
	tests := []struct{ in, find, want string }{
		{"well FUCK this", "fuck", "FUCK"},
		{"well ｆｕｃｋ this", "fuck", "ｆｕｃｋ"},
		{"go f u c k yourself", "fuck", "f u c k"},
		{"go f.u.c.k. yourself", "fuck", "f.u.c.k"},
		{"what a fuuuuuuck", "fuck", "fuuuuuuck"},
		{"oh fu\u200bck\u200b!", "fuck", "fu\u200bck\u200b"}, // marks and format characters belong to the letter before them
		{"you sh1t", "shit", "sh1t"},
		{"Zalgo f\u0351u\u0300c\u0303k\u0308 here", "fuck", "f\u0351u\u0300c\u0303k\u0308"},
		{"ѕһіt happens", "shit", "ѕһіt"},
		{"ﬁne", "f", "ﬁ"}, // half a ligature is the whole ligature
		{"kill    you", "kill you", "kill    you"},
		{"café", "cafe", "café"},
	}
	for _, tt := range tests {
		n := Normalize(tt.in)
		i := strings.Index(n.Folded, tt.find)
		if i < 0 {
			t.Errorf("%q folds to %q, which lacks %q", tt.in, n.Folded, tt.find)
			continue
		}
		s, e := n.Original(i, i+len(tt.find))
		if got := tt.in[s:e]; got != tt.want {
			t.Errorf("%q: folded %q maps to %q, want %q", tt.in, tt.find, got, tt.want)
		}
	}
	n := Normalize("abc")
	for _, r := range [][2]int{{-1, 2}, {2, 2}, {0, 4}, {2, 1}} {
		if s, e := n.Original(r[0], r[1]); s != 0 || e != 0 {
			t.Errorf("Original(%d, %d) = %d, %d; want 0, 0 for a bad range", r[0], r[1], s, e)
		}
	}
}

// checkInvariants is what every Text must satisfy, whatever the input.
func checkInvariants(t *testing.T, s string) {
	t.Helper()
	n := Normalize(s)
	if !utf8.ValidString(n.Folded) {
		t.Fatalf("Normalize(%q).Folded = %q is not valid UTF-8", s, n.Folded)
	}
	if len(n.src) != len(n.Folded) || len(n.flags) != len(n.Folded)+1 {
		t.Fatalf("maps of %q have the wrong length", s)
	}
	validIn := utf8.ValidString(s)
	onBoundary := func(off int) bool {
		return off == 0 || off == len(s) || !validIn || utf8.RuneStart(s[off])
	}
	for i := range len(n.Folded) {
		if start, end := n.SpacedRun(i); start > i || end < i || end > len(n.Folded) || start < end && !(start <= i && i < end) {
			t.Fatalf("%q: SpacedRun(%d) = (%d, %d), not a range around it", s, i, start, end)
		}
	}
	prev := 0
	for i, sp := range n.src {
		start, end := int(sp.start), int(sp.end)
		if start < 0 || end > len(s) || start >= end {
			t.Fatalf("%q: folded byte %d maps to [%d,%d), outside the original (len %d)", s, i, start, end, len(s))
		}
		if !onBoundary(start) || !onBoundary(end) {
			t.Fatalf("%q: folded byte %d maps to [%d,%d), not on rune boundaries", s, i, start, end)
		}
		if start < prev {
			t.Fatalf("%q: folded byte %d maps back to %d, before %d: the map must be monotonic", s, i, start, prev)
		}
		prev = start
	}
	for i := 0; i < len(n.Folded); i++ {
		for j := i + 1; j <= len(n.Folded) && j <= i+8; j++ {
			a, b := n.Original(i, j)
			if a < 0 || b > len(s) || a >= b || !onBoundary(a) || !onBoundary(b) {
				t.Fatalf("%q: Original(%d,%d) = [%d,%d), not a non-empty range of whole runes", s, i, j, a, b)
			}
		}
	}
	if !n.Boundary(0) || !n.Boundary(len(n.Folded)) {
		t.Fatalf("%q: the ends of the text must be boundaries", s)
	}
}

func TestInvariants(t *testing.T) {
	for _, s := range fuzzSeeds {
		checkInvariants(t, s)
	}
}

var fuzzSeeds = []string{
	"", "a", "fuck you", "F U C K", "f.u.c.k", "sh1t a55 @ss", "fuuuuuck", "ｆｕｃｋ", "ѕһіt",
	"f\u200bu\u200dc\ufeffk", "Z\u0351a\u0300l\u0301g\u0303o", "ﬁ ß æ", "bad \xff\xfe bytes \xc3\x28 \xe2\x82",
	"mo-fo -- a_b_c", "\u202Eevil override\u202C", "👨‍👩‍👧‍👦 🇫🇷", "日本語のテキスト", "!!!@@@$$$",
	"a b c d e f g", "1 2 3 4 5", "x\u0301\u0301\u0301\u0301", "\t\n\r \u00a0\u3000",
}

// FuzzNormalize: Normalize never panics, its output is valid UTF-8, and
// every folded byte maps inside the original on rune boundaries.
func FuzzNormalize(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkInvariants(t, s)
	})
}

func BenchmarkNormalize(b *testing.B) {
	for _, c := range []struct{ name, text string }{
		{"ascii", "Honestly this is the best phone I have owned, battery lasts two days and the camera is great!"},
		{"evasive", "y0u are a f u c k i n g 1d10t, ѕһіt for brains, fuuuuuck off and d\u200bie"},
		{"other-script", "これは日本語のコメントです。中文评论很好。Ça va? TRÈS BIEN! مرحبا"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.text)))
			for b.Loop() {
				Normalize(c.text)
			}
		})
	}
}
