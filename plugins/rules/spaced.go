package main

import "github.com/moderatorbot/moderator/plugins/internal/textnorm"

// Letters spaced apart ("f u c k") lose the writer's word breaks, so the
// normaliser puts a boundary between every two of them, and a term can
// match anywhere inside the run. Read that way, "c l a s s" holds "ass"
// and "a s s e m b l y" starts with it. A match inside such a run counts
// only when the run reads as words with the match as one of them: the run
// is not itself an English word, and the letters before and after the
// match split into English words, short words, other matches and (right
// after a match) an inflection. "f u c k y o u", "y o u a b i t c h" and
// "s h i t s" stay matches; "c l a s s", "g r a s s" and
// "t h i s a s s i g n m e n t" do not.

// maxSpelled bounds the run a match is checked against: the check is
// quadratic in the run, and a run that long is a deliberate wall of
// letters, whose matches stand.
const maxSpelled = 96

// shortWords are the words of one or two letters a spaced-out sentence is
// made of; the English list starts at three letters.
var shortWords = map[string]bool{
	"a": true, "i": true, "u": true, "o": true, "y": true, "r": true,
	"ur": true, "ya": true, "yo": true, "me": true, "my": true, "is": true, "it": true, "of": true,
	"to": true, "so": true, "go": true, "no": true, "oh": true, "ok": true, "an": true, "am": true,
	"as": true, "be": true, "he": true, "we": true, "us": true, "in": true, "on": true, "at": true,
	"or": true, "up": true, "do": true, "im": true, "if": true, "by": true,
}

// inflections may follow a match ("s h i t s", "f u c k e r s").
var inflections = map[string]bool{
	"s": true, "es": true, "ed": true, "d": true, "er": true, "ers": true, "ing": true, "in": true,
	"y": true, "ies": true, "z": true, "ez": true, "a": true, "ah": true,
}

// keepSpelled drops the hits from hits[from:] that lie in letters spaced
// apart without being one of the words they spell, reading the run with
// all of hits; buf is scratch.
func keepSpelled(t *textnorm.Text, hits []hit, from int, buf *[]hit) []hit {
	spaced := false
	for _, h := range hits[from:] {
		if s, e := t.SpacedRun(int(h.start)); s < e {
			spaced = true
			break
		}
		if s, e := t.SpacedRun(int(h.end) - 1); s < e {
			spaced = true
			break
		}
	}
	if !spaced {
		return hits
	}
	*buf = append((*buf)[:0], hits...)
	kept := hits[:from]
	for _, h := range (*buf)[from:] {
		if spelledOut(t, *buf, h) {
			kept = append(kept, h)
		}
	}
	return kept
}

// spelledOut reports whether h, if it lies in letters spaced apart, is one
// of the words they spell (see above). hits are all the matches found in
// t, of any rule.
func spelledOut(t *textnorm.Text, hits []hit, h hit) bool {
	start, end := int(h.start), int(h.end)
	rs, re := t.SpacedRun(start)
	if rs == re {
		rs, re = t.SpacedRun(end - 1)
	}
	if rs == re || re-rs > maxSpelled {
		return true
	}
	// A phrase may run past the spaced letters ("f u c k you"): only the
	// part inside is read.
	start, end = max(start, rs), min(end, re)
	if start == rs && end == re {
		return true
	}
	english, _ := englishWords() // on error, no word is English: the match stands unless the rest fails
	if english.hasWord(t.Folded[rs:re]) {
		return false
	}
	return splits(t, hits, english, rs, start, false) && splits(t, hits, english, end, re, true)
}

// splitsIntoWords reports whether the folded bytes [from, to) are a
// sequence of words.
func splitsIntoWords(t *textnorm.Text, from, to int) bool {
	if to-from > maxSpelled {
		return false
	}
	english, _ := englishWords()
	return splits(t, nil, english, from, to, false)
}

// splits reports whether the folded bytes [from, to) are a sequence of
// words, matches and inflections; afterMatch says a match ends at from.
func splits(t *textnorm.Text, hits []hit, english *wordSet, from, to int, afterMatch bool) bool {
	if from == to {
		return true
	}
	var reachBuf, afterBuf [maxSpelled + 1]bool
	reach, after := reachBuf[:to-from+1], afterBuf[:to-from+1]
	reach[0], after[0] = true, afterMatch
	for p := from; p < to; p++ {
		if !reach[p-from] {
			continue
		}
		for q := p + 1; q <= to; q++ {
			piece := t.Folded[p:q]
			// Right after a match, its last letter written twice
			// ("s h i t t") is still the match.
			doubled := len(piece) == 1 && p > 0 && t.Folded[p-1] == piece[0]
			if shortWords[piece] || after[p-from] && (inflections[piece] || doubled) || len(piece) >= 3 && english.hasWord(piece) {
				reach[q-from] = true
			}
		}
		for _, g := range hits {
			if int(g.start) == p && int(g.end) <= to {
				reach[int(g.end)-from], after[int(g.end)-from] = true, true
			}
		}
	}
	return reach[to-from]
}
