package main

import (
	"github.com/moderatorbot/moderator/plugins/internal/textnorm"
)

// Compounds.
//
// Abuse is coined by compounding, and the lexicons show which second
// parts abuse is coined with: "buttmuncher" and "assmuncher" make
// "muncher" one, "dicklicker" makes "licker" one. A word that no other
// pass matched is split in two, and is taken for a variant of its first
// part when
//
//   - the second part is such a tail: what follows a term of
//     minTailHead letters or more in a listed compound, minCompoundTail
//     letters or more, starting with a consonant (a split inside a
//     syllable, such as "cunn" + "ilingus", is no tail) and not an English
//     word ("face", "head", "hard" follow terms too, and names: "Prichard"
//     is "pric" + "hard"); and
//   - the first part is a term, as written or by its sound key ("kok"
//     for "cock"), of three key letters or more, and is not an English
//     word as written ("boot" has the key of "butt").
//
// The whole word must not be English either (the guard of every variant
// pass), and slurs lead no compound (they get sound keys only). So a
// three-letter key, too short to keep a wildcard in key space on its own
// ("kok*" would take "cocoa"), extends to a compound when the rest of the
// word is a tail the lexicons coined.

const (
	minCompoundTail = 5  // letters of a tail
	minTailHead     = 4  // letters of the term before a tail in a listed compound
	maxCompoundWord = 24 // longer words are not split
)

// compoundIndex holds what compounds are made of.
type compoundIndex struct {
	heads map[string][]use // whole-word key of a term -> its uses, one per rule
	tails *wordSet         // the tails of listed compounds
}

// compoundBuilder collects heads as the terms are added.
type compoundBuilder struct {
	heads map[string][]use
	forms []string // every term that leads or may follow
}

// add registers a term (folded, a plain word) that may lead a compound.
func (cb *compoundBuilder) add(folded string, u use) {
	u.prefix, u.suffix, u.doubled = false, false, nil
	cb.forms = append(cb.forms, folded)
	k := keyOf(folded, true, true)
	if len(k) < minSoundKey {
		return
	}
	if cb.heads == nil {
		cb.heads = map[string][]use{}
	}
	for i, x := range cb.heads[k] {
		if x.rule == u.rule {
			if u.severity > x.severity {
				cb.heads[k][i] = u
			}
			return
		}
	}
	cb.heads[k] = append(cb.heads[k], u)
}

// build finds the tails (see Compounds above); guard is the English
// word list.
func (cb *compoundBuilder) build(guard *wordSet) compoundIndex {
	if len(cb.heads) == 0 {
		return compoundIndex{}
	}
	terms := make(map[string]bool, len(cb.forms))
	for _, f := range cb.forms {
		terms[f] = true
	}
	var tails []string
	for _, f := range cb.forms {
		for i := minTailHead; i+minCompoundTail <= len(f); i++ {
			if terms[f[:i]] && !isVowel(f[i]) && !guard.hasWord(f[i:]) {
				tails = append(tails, f[i:])
			}
		}
	}
	return compoundIndex{heads: cb.heads, tails: newWordSet(tails)}
}

// find splits the candidate words that no hit covers yet, adding the
// compounds it finds to k.found.
func (c *compoundIndex) find(v *variantIndex, t *textnorm.Text, k *textKey, exact []hit) {
	if len(c.heads) == 0 {
		return
	}
	for _, wr := range k.spell {
		start, end := int(wr[0]), int(wr[1])
		n := end - start
		if n < minSoundKey+minCompoundTail || n > maxCompoundWord || !t.Boundary(start) || !t.Boundary(end) || k.coveredAny(exact, start, end) {
			continue
		}
		w := t.Folded[start:end]
		for i := minSoundKey; i+minCompoundTail <= n; i++ {
			if !c.tails.has(w[i:]) || v.guard.hasWord(w[:i]) {
				continue
			}
			k.cbuf = appendKey(k.cbuf[:0], &k.in, &k.out, w[:i])
			uses := c.heads[unsafeString(k.cbuf)]
			for j := range uses {
				k.found = append(k.found, variantHit{u: &uses[j], start: int32(start), end: int32(end)})
			}
			if len(uses) > 0 {
				break
			}
		}
	}
}

// coveredAny reports whether any hit, exact or found, overlaps the folded
// range [start, end).
func (k *textKey) coveredAny(exact []hit, start, end int) bool {
	for _, h := range exact {
		if int(h.start) < end && start < int(h.end) {
			return true
		}
	}
	for _, h := range k.found {
		if int(h.start) < end && start < int(h.end) {
			return true
		}
	}
	return false
}

// appendKey appends the whole-word key of w (ASCII lower-case letters) to
// dst, using *in and *out as scratch.
func appendKey(dst []byte, in, out *[]kchar, w string) []byte {
	*in = (*in)[:0]
	for i := range len(w) {
		*in = append(*in, kchar{w[i], int32(i), int32(i + 1)})
	}
	*out = soundKey((*out)[:0], *in, true, true)
	for _, x := range *out {
		dst = append(dst, x.c)
	}
	return dst
}
