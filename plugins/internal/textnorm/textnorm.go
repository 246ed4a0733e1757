// Package textnorm folds comment text into a canonical form that defeats the
// usual ways of dodging a word filter, and remembers where every folded byte
// came from, so a match found in the folded copy can be reported as a span
// of the original text.
//
// Normalize applies, in one pass over the runes and one over the words:
//
//   - compatibility decomposition (NFKD: fullwidth, ligatures, circled and
//     mathematical letters, superscripts) and lower case;
//   - removal of combining marks (diacritics, Zalgo) and of zero-width and
//     other format characters (U+200B, U+200D, U+2060, U+FEFF, soft hyphen,
//     Hangul fillers...);
//   - TR39 confusables: letters of other scripts that look like a Latin
//     letter (Cyrillic "а", Greek "ο") become that letter, in words made
//     only of Latin letters and such look-alikes ("ѕһіt"); a word with a
//     letter that has no Latin look-alike is genuine text in its own script
//     and keeps it;
//   - every run of white space becomes one space; a hyphen or underscore
//     between two letters or digits joins them ("mo-fo" is "mofo", "ass_hat"
//     is "asshat", with a word boundary kept at the joint), anywhere else it
//     is a space;
//   - letters spaced or dotted apart ("f u c k", "f.u.c.k", "f-u-c-k") are
//     joined when at least three single characters stand in a row, one to
//     three separators apart ("a._ s-_ s"); inside such a run a "!" or "|"
//     also counts as a character ("b ! t c h") and so does a stretched
//     letter ("f uuuuu c k");
//   - leetspeak inside words that have a letter: 0→o 1→i 3→e 4→a 5→s 7→t
//     8→b 9→g @→a $→s +→t, and ! or | between letters, or between a letter
//     and a "+", →i ("sh!+"). A "1" meant as "l" folds to "i" too: matchers
//     that care add an "l"→"i" variant of their terms (see the rules
//     plugin), and read other leet themselves from the original text (the
//     rules plugin reads "8" after a letter as "ate");
//   - a run of three or more identical letters ("fuuuuck") becomes one
//     letter, marked as stretched, so a matcher can accept "asssss" for
//     "ass" without taking the word "as" for it.
//
// Word boundaries are recorded per byte (Text.Boundary): besides the usual
// change between word and non-word characters, a boundary may fall between
// letters that were spaced apart, and between a word and leetspeak at its
// edge ("@ss", "fuck5"), so a filter matching whole words still finds them.
//
// Other plugins (spam) import it; it has no dependency on the rules plugin.
package textnorm

import (
	"slices"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Text is the folded form of a string and the way back to the original.
type Text struct {
	// Folded is the normalised text: valid UTF-8, lower case.
	Folded string
	// src holds, for each byte of Folded, the byte range of the original
	// string it came from; always rune-aligned in the original.
	src []span
	// flags holds, for each byte of Folded and one past the end, the
	// flagBoundary and flagStretched bits.
	flags []uint8
}

type span struct{ start, end int32 }

const (
	flagBoundary  uint8 = 1 << iota // a word may start or end before this byte
	flagStretched                   // this letter stood for a run of 3 or more
	flagSpaced                      // this character was spaced apart from its neighbours
)

// Original maps the folded byte range [i, j) to the byte range of the
// original string it came from. It returns (0, 0) for an empty or invalid
// range.
func (t *Text) Original(i, j int) (start, end int) {
	if i < 0 || j > len(t.Folded) || i >= j {
		return 0, 0
	}
	return int(t.src[i].start), int(t.src[j-1].end)
}

// Boundary reports whether a word may start or end at folded byte i
// (0 <= i <= len(Folded)).
func (t *Text) Boundary(i int) bool {
	return i >= 0 && i < len(t.flags) && t.flags[i]&flagBoundary != 0
}

// Stretched reports whether the letter at folded byte i stood for a run of
// three or more identical letters in the original.
func (t *Text) Stretched(i int) bool {
	return i >= 0 && i < len(t.Folded) && t.flags[i]&flagStretched != 0
}

// SpacedRun returns the folded byte range of the characters spaced apart
// that byte i was joined with ("f u c k" folds to one run, "fuck"), or
// (i, i) when byte i was not spaced apart. A boundary falls between every
// two characters of a run, since the writer's word breaks are lost; a
// matcher that cares which words the run spells can read it whole.
func (t *Text) SpacedRun(i int) (start, end int) {
	if i < 0 || i >= len(t.Folded) || t.flags[i]&flagSpaced == 0 {
		return i, i
	}
	start, end = i, i+1
	for start > 0 && t.flags[start-1]&flagSpaced != 0 {
		start--
	}
	for end < len(t.Folded) && t.flags[end]&flagSpaced != 0 {
		end++
	}
	return start, end
}

// Fold returns the folded form of s alone; matchers fold their terms with it
// so that terms and text meet in the same form.
func Fold(s string) string { return Normalize(s).Folded }

// unit is one folded rune on its way to the output, with the original byte
// range it came from.
type unit struct {
	r          rune
	alt        rune  // before confusable folding, when that changed r
	cls        uint8 // classOf(r), kept up to date with r
	start, end int32
	joint      bool // a word boundary may fall before this unit
	stretched  bool
	spaced     bool // joined from characters spaced apart
}

var unitPool = sync.Pool{New: func() any { s := make([]unit, 0, 256); return &s }}

// Normalize folds s. It never fails: bytes that are not valid UTF-8 fold to
// "?" and keep their place.
func Normalize(s string) Text {
	up := unitPool.Get().(*[]unit)
	units := foldRunes(s, (*up)[:0])
	units = words(units)
	t := emit(units, len(s))
	*up = units[:0]
	unitPool.Put(up)
	return t
}

// foldRunes does the per-rune work: decomposition, marks, format
// characters, case, confusables and white space.
func foldRunes(s string, units []unit) []unit {
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		start, end := int32(i), int32(i+size)
		i += size
		switch {
		case r < utf8.RuneSelf:
			switch {
			case r == ' ' || r >= '\t' && r <= '\r':
				units = space(units, start, end)
			case r == '-' || r == '_':
				// Between two word characters a hyphen joins ("mo-fo" is
				// "mofo", with a boundary kept at the joint); elsewhere it
				// separates like a space.
				if i < len(s) && isWord(rune(s[i])) && len(units) > 0 && units[len(units)-1].word() {
					units = append(units, unit{r: hyphen, cls: clsSep, start: start, end: end})
				} else {
					units = space(units, start, end)
				}
			case r < ' ' || r == 0x7f:
				// Control characters: nothing to see.
				units = attach(units, end)
			case r >= 'A' && r <= 'Z':
				units = append(units, unit{r: r + 'a' - 'A', cls: clsLetter, start: start, end: end})
			default:
				units = append(units, unit{r: r, cls: asciiClass[r], start: start, end: end})
			}
		case r == utf8.RuneError && size == 1:
			units = append(units, unit{r: '?', cls: clsOther, start: start, end: end})
		case unicode.IsSpace(r):
			units = space(units, start, end)
		default:
			f := foldRune(r)
			if len(f) == 0 {
				units = attach(units, end)
			}
			for _, f := range f {
				if f.r == ' ' {
					units = space(units, start, end)
				} else {
					units = append(units, unit{r: f.r, alt: f.alt, cls: classOf(f.r), start: start, end: end})
				}
			}
		}
	}
	return units
}

// hyphen marks a joining hyphen or underscore until words() removes it.
const hyphen = rune(-1)

// attach widens the last unit over a character that folds to nothing (a
// combining mark, a zero-width space), so a match that ends on a letter
// covers the marks that belong to it.
func attach(units []unit, end int32) []unit {
	if n := len(units); n > 0 {
		units[n-1].end = end
	}
	return units
}

// space appends one space, or widens the space before it.
func space(units []unit, start, end int32) []unit {
	if n := len(units); n > 0 && units[n-1].r == ' ' {
		units[n-1].end = end
		return units
	}
	return append(units, unit{r: ' ', cls: clsSep, start: start, end: end})
}

var foldCache sync.Map // rune -> []folded

// folded is one rune of a folded rune, and what it was before confusable
// folding if that changed it.
type folded struct{ r, alt rune }

// foldRune folds one non-ASCII rune to zero or more runes; results are
// cached, since a comment in another script repeats the same few runes.
func foldRune(r rune) []folded {
	if v, ok := foldCache.Load(r); ok {
		return v.([]folded)
	}
	var out []folded
	if !invisible(r) {
		for _, x := range norm.NFKD.String(string(unicode.ToLower(r))) {
			if unicode.In(x, unicode.Mn, unicode.Me, unicode.Cf) || invisible(x) {
				continue
			}
			x = unicode.ToLower(x)
			if x < utf8.RuneSelf {
				out = append(out, folded{r: x})
				continue
			}
			if unicode.IsSpace(x) {
				out = append(out, folded{r: ' '})
				continue
			}
			if i, ok := slices.BinarySearch(confusableFrom[:], x); ok {
				out = append(out, folded{r: rune(confusableTo[i]), alt: x})
				continue
			}
			for _, l := range latin(x) {
				out = append(out, folded{r: l})
			}
		}
	}
	foldCache.Store(r, out)
	return out
}

// invisible reports characters that render as nothing (or as blank) but
// are not in category Cf, the fillers spammers and evaders favour.
func invisible(r rune) bool {
	switch r {
	case 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x034F, 0x180B, 0x180C, 0x180D, 0x180E, 0x17B4, 0x17B5:
		return true
	}
	return unicode.In(r, unicode.Cf, unicode.Variation_Selector)
}

// latin folds a lower-case non-ASCII rune that NFKD and the confusables
// left alone: letters with strokes and ligatures that no decomposition
// reaches.
func latin(x rune) []rune {
	switch x {
	case 'ß':
		return []rune{'s', 's'}
	case 'æ':
		return []rune{'a', 'e'}
	case 'œ':
		return []rune{'o', 'e'}
	case 'ø':
		return []rune{'o'}
	case 'đ', 'ð':
		return []rune{'d'}
	case 'ł':
		return []rune{'l'}
	case 'ħ':
		return []rune{'h'}
	case 'ŧ':
		return []rune{'t'}
	case 'ƀ':
		return []rune{'b'}
	case 'ɨ':
		return []rune{'i'}
	case 'ƒ':
		return []rune{'f'}
	}
	return []rune{x}
}

// Character classes of folded runes, computed once per unit.
const (
	clsOther  uint8 = iota // punctuation, symbols, emoji
	clsLetter              // any script
	clsDigit
	clsLeet // "@", "$", "+": part of a word, standing for a letter
	clsBang // "!", "|": part of a word only with a letter or digit after
	clsSep  // may separate letters spaced apart: space . * ~ / \ · • and joining hyphens
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range t {
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			t[c] = clsLetter
		case c >= '0' && c <= '9':
			t[c] = clsDigit
		}
	}
	t['@'], t['$'], t['+'] = clsLeet, clsLeet, clsLeet
	t['!'], t['|'] = clsBang, clsBang
	for _, c := range " .*~/\\" {
		t[c] = clsSep
	}
	return t
}()

func classOf(r rune) uint8 {
	switch {
	case r >= 0 && r < utf8.RuneSelf:
		return asciiClass[r]
	case r == '·' || r == '•':
		return clsSep
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsDigit(r):
		return clsDigit
	}
	return clsOther
}

func (u *unit) letter() bool { return u.cls == clsLetter }
func (u *unit) word() bool   { return u.cls == clsLetter || u.cls == clsDigit }

func isWord(r rune) bool {
	c := classOf(r)
	return c == clsLetter || c == clsDigit
}

// wordAt reports whether units[k] belongs to a word: letters, digits and
// leetspeak symbols; a "!" or "|" only when a letter or digit follows
// ("b!tch", not "shit!"), or when it stands between a letter or digit and
// a "+" that is not a "+1" ("sh!+", "b!+ch"): "i" and "t" are the letters
// most often written both as symbols. Other symbols after a "!" ("wow!$",
// "thanks!@bob") leave it punctuation.
func wordAt(units []unit, k int) bool {
	switch units[k].cls {
	case clsLetter, clsDigit, clsLeet:
		return true
	case clsBang:
		if k+1 >= len(units) {
			return false
		}
		if units[k+1].word() {
			return true
		}
		return units[k+1].r == '+' && k > 0 && units[k-1].word() && (k+2 >= len(units) || units[k+2].cls != clsDigit)
	}
	return false
}

// leetChar is what a character means inside a word, or 0.
func leetChar(r rune) rune {
	switch r {
	case '0':
		return 'o'
	case '1', '!', '|':
		return 'i'
	case '3':
		return 'e'
	case '4', '@':
		return 'a'
	case '5', '$':
		return 's'
	case '7', '+':
		return 't'
	case '8':
		return 'b'
	case '9':
		return 'g'
	}
	return 0
}

// words does the per-word work on the folded runes, in place: joining
// spaced-out letters, leetspeak, and collapsing stretched letters.
func words(units []unit) []unit {
	units = joinSpaced(units)
	for i := 0; i < len(units); {
		if !wordAt(units, i) {
			i++
			continue
		}
		j := i + 1
		for j < len(units) && wordAt(units, j) {
			j++
		}
		unconfuse(units[i:j])
		deleet(units[i:j])
		i = j
	}
	// Joining hyphens go, leaving a boundary where they were.
	out := units[:0]
	joint := false
	for _, u := range units {
		if u.r == hyphen {
			joint = true
			continue
		}
		u.joint = u.joint || joint
		joint = false
		out = append(out, u)
	}
	return collapse(out)
}

// joinSpaced removes the separators of every run of at least three single
// characters, each separated from the next by one to three separators, with
// at least one letter among them ("f u c k", "s.h.1.t", "a._ s-_ s"), and
// marks a boundary before each joined character. A single is a word
// character standing alone; inside a run it may also be a "!" or "|" ("b
// ! t c h", read as "i" by deleet) or a letter stretched to three or more
// ("f uuuuu c k", collapsed later).
func joinSpaced(units []unit) []unit {
	// singleAt returns the end of the single that starts at k, or -1.
	singleAt := func(k int, inside bool) int {
		if k >= len(units) || k > 0 && wordAt(units, k-1) {
			return -1
		}
		u := &units[k]
		j := k + 1
		switch {
		case u.cls == clsBang:
			if !inside {
				return -1
			}
		case u.letter():
			for j < len(units) && units[j].r == u.r {
				j++
			}
			if j-k == 2 {
				return -1 // "oo", "ss": too short to be stretched, a word of its own
			}
		case !wordAt(units, k):
			return -1
		}
		if j < len(units) && wordAt(units, j) {
			return -1
		}
		return j
	}
	out := units[:0]
	var pieces [][2]int
	for i := 0; i < len(units); {
		// Fast path: inside a word, or a word of two different letters
		// or more, nothing is single.
		if i > 0 && units[i-1].word() || i+1 < len(units) && units[i+1].word() && units[i+1].r != units[i].r {
			out = append(out, units[i])
			i++
			continue
		}
		e := singleAt(i, false)
		if e < 0 {
			out = append(out, units[i])
			i++
			continue
		}
		// Collect the run of singles, each after one to three separators.
		pieces = append(pieces[:0], [2]int{i, e})
		for k := e; ; {
			j := k
			for j < len(units) && j-k < 3 && units[j].cls == clsSep {
				j++
			}
			next := -1
			if j > k {
				next = singleAt(j, true)
			}
			if next < 0 {
				break
			}
			pieces = append(pieces, [2]int{j, next})
			k = next
		}
		for len(pieces) > 1 && units[pieces[len(pieces)-1][0]].cls == clsBang {
			pieces = pieces[:len(pieces)-1] // a "!" ends a sentence, not a word
		}
		letters := 0
		for _, p := range pieces {
			if units[p[0]].letter() {
				letters++
			}
		}
		if len(pieces) < 3 || letters == 0 {
			out = append(out, units[i:e]...)
			i = e
			continue
		}
		for _, p := range pieces {
			for k := p[0]; k < p[1]; k++ {
				u := units[k]
				u.joint = k == p[0]
				u.spaced = true
				if u.cls == clsBang {
					u.cls = clsLeet // a word character from now on, so deleet reads it
				}
				out = append(out, u)
			}
		}
		i = pieces[len(pieces)-1][1]
	}
	return out
}

// unconfuse undoes confusable folding in a word that has a letter with no
// Latin look-alike: such a word is written in its own script ("مرحبا",
// "хуй"), not disguised, and stays as it is. A word made only of Latin
// letters and look-alikes ("ѕһіt") keeps its Latin form.
func unconfuse(w []unit) {
	for _, u := range w {
		if u.alt == 0 && u.r >= utf8.RuneSelf && u.letter() {
			// A letter of another script with no look-alike.
			for k := range w {
				if w[k].alt != 0 {
					w[k].r, w[k].alt = w[k].alt, 0
				}
			}
			return
		}
	}
}

// deleet decodes leetspeak in one word (units all wordAt), when the word has
// a letter. "!" and "|" count only between other word characters (a "!" at
// the end is punctuation). Decoded characters before the first or after the
// last real letter get a boundary on their inner side, so "@ss", "5hit" and
// "fuck5" still match whole words.
func deleet(w []unit) {
	first, last := -1, -1
	for k := range w {
		if w[k].letter() {
			if first < 0 {
				first = k
			}
			last = k
		}
	}
	if first < 0 {
		return
	}
	for k := range w {
		r := w[k].r
		if (r == '!' || r == '|') && (k == 0 || k == len(w)-1) {
			continue
		}
		if l := leetChar(r); l != 0 {
			w[k].r, w[k].cls = l, clsLetter
		}
	}
	if first > 0 && w[first-1].letter() {
		w[first].joint = true
	}
	if last < len(w)-1 && w[last+1].letter() {
		w[last+1].joint = true
	}
}

// collapse folds every run of three or more identical letters into its
// first letter, marked stretched and widened to cover the run.
func collapse(units []unit) []unit {
	out := units[:0]
	for i := 0; i < len(units); {
		u := units[i]
		j := i + 1
		for j < len(units) && units[j].r == u.r {
			j++
		}
		if j-i >= 3 && u.letter() {
			u.end = units[j-1].end
			u.stretched = true
			out = append(out, u)
		} else {
			out = append(out, units[i:j]...)
		}
		i = j
	}
	return out
}

// emit writes the folded string and its maps.
func emit(units []unit, hint int) Text {
	buf := make([]byte, 0, hint)
	for _, u := range units {
		buf = utf8.AppendRune(buf, u.r)
	}
	t := Text{src: make([]span, len(buf)), flags: make([]uint8, len(buf)+1)}
	pos := 0
	prevWord := false
	for _, u := range units {
		n := utf8.RuneLen(u.r)
		w := u.word()
		if pos == 0 || u.joint || w != prevWord {
			t.flags[pos] |= flagBoundary
		}
		if u.stretched {
			t.flags[pos] |= flagStretched
		}
		for k := pos; k < pos+n; k++ {
			t.src[k] = span{u.start, u.end}
			if u.spaced {
				t.flags[k] |= flagSpaced
			}
		}
		prevWord = w
		pos += n
	}
	t.flags[len(buf)] |= flagBoundary
	t.Folded = string(buf)
	return t
}
