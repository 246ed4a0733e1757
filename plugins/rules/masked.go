package main

import "github.com/moderatorbot/moderator/plugins/internal/textnorm"

// Masked words: people blank out letters of a word with "*" or "#"
// ("f*ck", "sh*t", "b*tch", "f**k"), and a reader fills them in at once.
// A masked word matches a term of the same length (or, for a wildcard
// term, a word that starts or ends like it) when its first letter is
// written, every written letter is the term's, and no more letters are
// blanked than written: "f**k" is "fuck", "c***" is nothing, "n****r" is
// nothing either (it is as often a quotation as an insult, and which
// word four stars hide is the reader's guess). Like the spelling
// variants, only terms that take variants are filled in, and the match
// counts as a variant: a little below the term's own score, and named in
// the reason ("f*ck" as a variant of "fuck").

// isMask reports whether c blanks out a letter.
func isMask(c byte) bool { return c == '*' || c == '#' }

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
	for i := 0; i < len(f); {
		if !isLower(f[i]) || i > 0 && (isLower(f[i-1]) || isMask(f[i-1])) {
			i++
			continue
		}
		j, masks := i, 0
		for j < len(f) && (isLower(f[j]) || isMask(f[j])) {
			if isMask(f[j]) {
				masks++
			}
			j++
		}
		if masks > 0 && j < len(f) && f[j] >= 0x80 {
			masks = 0 // a word of another script follows: not a masked Latin word
		}
		if masks > 0 {
			m.match(f[i:j], i, k, exact)
		}
		i = j
	}
}

// match looks up the masked word w, which starts at folded byte at.
func (m *maskedIndex) match(w string, at int, k *textKey, exact []hit) {
	try := func(mt *maskedTerm, from int) {
		// from: where in w the term's letters start (a suffix wildcard's
		// word ends like it).
		part := w[from : from+len(mt.word)]
		if !fills(part, mt.word) {
			return
		}
		start, end := at, at+len(w)
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
	if isMask(masked[0]) {
		return false
	}
	masks := 0
	for i := 0; i < len(masked); i++ {
		switch {
		case isMask(masked[i]):
			masks++
		case masked[i] != word[i]:
			return false
		}
	}
	return masks > 0 && 2*masks <= len(masked)
}
