package main

import (
	"unicode"
	"unicode/utf8"

	"github.com/moderatorbot/moderator/plugins/internal/textnorm"
)

// Masked words: people blank out letters of a word with "*" or "#", or a
// symbol or emoji ("f*ck", "sh*t", "b*tch", "f**k", "f💩ck"), and a reader
// fills them in at once.
// A masked word matches a term of the same length (or, for a wildcard
// term, a word that starts or ends like it) when its first letter is
// written, every written letter is the term's, and no more letters are
// blanked than written: "f**k" is "fuck", "c***" is nothing, "n****r" is
// nothing either (it is as often a quotation as an insult, and which
// word four stars hide is the reader's guess). Like the spelling
// variants, only terms that take variants are filled in, and the match
// counts as a variant: a little below the term's own score, and named in
// the reason ("f*ck" as a variant of "fuck").

// isMask reports whether r blanks out a letter: "*" and "#" anywhere in a
// word ("f*ck", "sh**"), and between two letters also the rarer "%", "^",
// "~" and "?", and symbols and emoji ("f💩ck"); at a word's end those are
// punctuation or decoration ("cool?", "cool😎"). "@", "$" and "!" are
// leetspeak, read by the normaliser, and "." and "-" join or part words.
func isMask(r rune) bool { return isStrongMask(r) || isWeakMask(r) }

func isStrongMask(r rune) bool { return r == '*' || r == '#' }

func isWeakMask(r rune) bool {
	switch r {
	case '%', '^', '~', '?':
		return true
	}
	return r >= utf8.RuneSelf && unicode.Is(unicode.So, r)
}

// maskedTerm is one term a masked word may stand for.
type maskedTerm struct {
	word string
	u    use
}

// maskedIndex holds the terms by length; wildcard terms apart, since they
// match words longer than themselves.
type maskedIndex struct {
	byLen    map[int][]maskedTerm
	wildcard []maskedTerm
}

func (m *maskedIndex) add(word string, u use) {
	if len(word) < 4 || !plainWord(word) {
		return // "a*s": too short to say which word it was
	}
	if u.prefix || u.suffix {
		m.wildcard = append(m.wildcard, maskedTerm{word, u})
		return
	}
	if m.byLen == nil {
		m.byLen = map[int][]maskedTerm{}
	}
	m.byLen[len(word)] = append(m.byLen[len(word)], maskedTerm{word, u})
}

// find adds to k.found every masked word of t that stands for a term,
// leaving out ranges a rule already has a hit for.
func (m *maskedIndex) find(t *textnorm.Text, k *textKey, exact []hit) {
	f := t.Folded
	if !mayHaveMasks(f) {
		return // most comments: no mask character at all
	}
	var tok []byte
	prev := rune(-1)
	for i := 0; i < len(f); {
		r, size := utf8.DecodeRuneInString(f[i:])
		if !isLowerRune(r) || isLowerRune(prev) || isMask(prev) {
			prev = r
			i += size
			continue
		}
		// A word of ASCII letters and masks, one letter for each mask.
		tok = tok[:0]
		masks, j := 0, i
		// weak holds the token's trailing weak masks, as bytes of f.
		weak, weakN := 0, 0
		for j < len(f) {
			r, size := utf8.DecodeRuneInString(f[j:])
			switch {
			case isLowerRune(r):
				tok = append(tok, byte(r))
				weak, weakN = 0, 0
			case isMask(r):
				tok = append(tok, '*')
				masks++
				if isWeakMask(r) {
					weak, weakN = weak+size, weakN+1
				} else {
					weak, weakN = 0, 0
				}
			default:
				goto end
			}
			prev = r
			j += size
		}
	end:
		if weakN > 0 {
			// A weak mask at the end is punctuation: the word ends before it.
			tok, masks, j = tok[:len(tok)-weakN], masks-weakN, j-weak
		}
		if next, _ := utf8.DecodeRuneInString(f[j:]); masks > 0 && (j == len(f) || !unicode.IsLetter(next)) {
			m.match(string(tok), i, j, k, exact)
		}
		i = j
	}
}

// mayHaveMasks reports whether f has an ASCII mask character or any
// non-ASCII byte (a symbol or emoji may be one).
func mayHaveMasks(f string) bool {
	for i := 0; i < len(f); i++ {
		if c := f[i]; c >= utf8.RuneSelf || isMask(rune(c)) {
			return true
		}
	}
	return false
}

// isLowerRune reports whether r is an ASCII lower-case letter.
func isLowerRune(r rune) bool { return r < utf8.RuneSelf && isLower(byte(r)) }

// match looks up the masked word w, written over the folded bytes
// [start, end).
func (m *maskedIndex) match(w string, start, end int, k *textKey, exact []hit) {
	try := func(mt *maskedTerm, from int) {
		// from: where in w the term's letters start (a suffix wildcard's
		// word ends like it).
		part := w[from : from+len(mt.word)]
		if !fills(part, mt.word) {
			return
		}
		if k.covered(exact, mt.u.rule, start, end) {
			return
		}
		k.found = append(k.found, variantHit{u: &mt.u, start: int32(start), end: int32(end)})
	}
	for i := range m.byLen[len(w)] {
		try(&m.byLen[len(w)][i], 0)
	}
	for i := range m.wildcard {
		mt := &m.wildcard[i]
		if len(mt.word) > len(w) {
			continue
		}
		if mt.u.prefix {
			try(mt, 0)
		}
		if mt.u.suffix && len(mt.word) < len(w) {
			try(mt, len(w)-len(mt.word))
		}
	}
}

// fills reports whether masked, of the same length as word, is word with
// some letters blanked out: its first letter written, every written
// letter word's, at least one blank and no more blanks than letters.
func fills(masked, word string) bool {
	if masked[0] == '*' {
		return false
	}
	masks := 0
	for i := 0; i < len(masked); i++ {
		switch {
		case masked[i] == '*':
			masks++
		case masked[i] != word[i]:
			return false
		}
	}
	return masks > 0 && 2*masks <= len(masked)
}
