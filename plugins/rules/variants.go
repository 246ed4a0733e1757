package main

import (
	"slices"
	"strings"
	"unsafe"

	"github.com/moderatorbot/moderator/plugins/internal/textnorm"
	"github.com/moderatorbot/moderator/plugins/rules/internal/aho"
)

// Spelling variants of the built-in lexicons.
//
// The normaliser undoes disguised letters (leetspeak, look-alikes, spacing);
// what it cannot undo is a word spelt differently: the way it sounds
// ("phuck", "fook", "kawk", "coksucka"), or with one letter dropped,
// doubled, swapped or changed ("fcuker", "duche", "fecker"). Word filters
// that moderators trust handle both, and so does this one, in passes
// that run after the exact Aho-Corasick pass and never replace it:
//
//  1. Sound keys. Every lexicon term and every word of the text is folded
//     into a key by a few spelling-to-sound rules (soundKey), so that
//     spellings of one sound meet: "phuck", "fuck" and "fuk" all have the
//     key "fuk". The keys of the terms go into a second automaton, which
//     runs over the keys of the text's words.
//  2. One edit. A word one edit from a term of five letters or more (its
//     stem: a plural "s" does not count), as written, matches it: two
//     neighbouring letters swapped, a vowel changed, dropped or added
//     (oneEdit says which edits and why), and from seven letters on a
//     consonant dropped too. Longer stems and high-severity ones stretch
//     the rule a little either way: a stem of eight letters or more also
//     matches with two vowels changed (twoVowels), and a high-severity
//     stem of four ("fuck", "cunt") with two neighbours swapped, and
//     nothing else (minFuzzy). Candidates come from a
//     symmetric-delete index (as in SymSpell): every term and every term
//     less one letter is hashed once at build time; a word is looked up by
//     its own hash and those of its one-letter deletions, so the cost per
//     word is a few lookups, whatever the size of the lexicon. Shorter
//     terms have too many ordinary neighbours ("cunt": "cant", "cent").
//     Edits apply to spellings, not to keys: a key is already a lossy
//     form, and one more edit on it takes "bloke" for "bollock".
//  3. Compounds. A word no other pass matched that is a term (or its sound
//     key) followed by a tail the lexicons coin abuse with ("dikpounder":
//     "dick" and the "pounder" of "pussypounder"); compound.go.
//
// Guards keep the false positives where they were. A word that is an
// ordinary English word is never a variant ("pitch" is not "bitch",
// "rapper" is not "raper"): every word of Debian's wamerican list
// (english.go) is skipped, which is also what keeps the passes cheap,
// since most words of most comments are English, and so is a word written
// with its "-ing" less the g ("saggin" is not "shaggin"). A word without a vowel is an
// abbreviation ("sqrt", "pls"), not a misspelling. And only terms that are
// plain words take part: phrases, acronyms ("wtf"), terms with digits or
// symbols, mild terms, terms marked "exact" in a lexicon, and every term
// of a user's rules match only as written.
//
// A variant scores a little lower than the term itself (variantDiscount)
// and its reason says what it was taken for: `matched profanity "phuck" as
// a variant of "fuck"`.

// highSeverity is the index of "high" in severities.
const highSeverity = 3

// variantDiscount is taken off a variant's score: less sure than an exact
// match, but on the same side of the 0.5 threshold, since a misspelt insult
// is no milder than a well-spelt one.
const variantDiscount = 0.05

// Limits.
const (
	minSoundKey     = 3       // key letters: a shorter key ("as" for "ass") is an ordinary word
	minWildKey      = 5       // key letters for a wildcard to keep its * in key space ("kok*" would take "cocoa")
	minFuzzyTerm    = 5       // letters of a term's stem, for one-edit matches
	minFuzzyHigh    = 4       // the same for a high-severity term (see variantBuilder.add)
	minDropTerm     = 7       // letters of a term's stem, for a consonant dropped (oneEditOf)
	minTwoVowelTerm = 8       // letters of a term's stem, for two vowels changed (twoVowels)
	minFuzzyWord    = 4       // letters of a word, for one-edit matches (a vowel dropped from five)
	maxFuzzyWord    = 32      // longer words are not looked up
	bloomBits       = 1 << 18 // a Bloom filter in front of the edit index: 32 KB, most lookups stop there
	fuzzyMaxCands   = 16      // candidates remembered per word, to try each once
)

// kchar is one letter of a key and the folded bytes [from, to) it stands for.
type kchar struct {
	c        byte
	from, to int32
}

func isVowel(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u', 'y':
		return true
	}
	return false
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }

func hasVowel(s string) bool {
	for i := range len(s) {
		if isVowel(s[i]) {
			return true
		}
	}
	return false
}

func charAt(w []kchar, i int) byte {
	if i < len(w) {
		return w[i].c
	}
	return 0
}

// soundKey appends the key of one word (w: ASCII lower-case letters) to dst.
// start and end say whether w begins and ends a word: rules for word starts
// and endings apply only there, so a wildcard stem ("*whore") keeps its
// open side as written. The rules, each the way English spells one sound
// several ways:
//
//   - "ph" is "f"; "ck", "q" and a hard "c" (not before e, i, y or h) are
//     "k"; "x" is "ks", and "xor" at the end is "ker" (hacker speak: "haxor",
//     "fux0r"; "xx" is one x); "z" at the end is "s" ("boyz");
//   - "wh" is "h" before "o" ("whore", "who"), else "w"; "kn" and "wr" at
//     the start are "n" and "r"; "aw" before a consonant is "o" ("dawg",
//     "kawk"), as in accents that merge "caught" and "cot"; "oa" before
//     the last consonant of a word is "o": it spells the long o that "o"
//     and a silent "e" spell there ("groat" and "grote", "moan" and
//     "mone"; the silent e goes below), and only there, since "goatse"
//     is not "gots";
//   - doubled letters are single, except "oo", which is "u" ("fook");
//   - at the end: "mn" and "mb" are "m" ("damn", "dumb"); "ies" is "ys"
//     ("pussys"); before a plural "s" or without one, "ing" is "in"
//     (g-dropping: "fuckin"), "er" and "ah" are "a" ("sucka", "niggah");
//     a silent "e" after a consonant goes when four letters remain
//     ("masturbat", "scrot").
func soundKey(dst, w []kchar, start, end bool) []kchar {
	base := len(dst)
	for i := 0; i < len(w); {
		c, n1, n2 := w[i].c, charAt(w, i+1), charAt(w, i+2)
		out, span := c, 1
		switch {
		case start && i == 0 && c == 'k' && n1 == 'n':
			out, span = 'n', 2
		case start && i == 0 && c == 'w' && n1 == 'r':
			out, span = 'r', 2
		case c == 'p' && n1 == 'h':
			out, span = 'f', 2
		case c == 'w' && n1 == 'h':
			out, span = 'w', 2
			if n2 == 'o' {
				out = 'h'
			}
		case c == 'c' && n1 == 'k':
			out, span = 'k', 2
		case c == 'c':
			if n1 != 'e' && n1 != 'i' && n1 != 'y' && n1 != 'h' {
				out = 'k'
			}
		case c == 'q':
			out = 'k'
		case c == 'x' && i > 0 && n1 == 'x':
			i++ // "xx" is one x ("haxxor"); the next x covers both
			continue
		case c == 'x' && i > 0:
			if rest := len(w) - i; end && (rest == 3 || rest == 4 && w[i+3].c == 's') && n1 == 'o' && n2 == 'r' {
				// "xor" is "ker": k from the x, e from the o, r and s as they are.
				dst = append(dst, kchar{'k', w[i].from, w[i].to}, kchar{'e', w[i+1].from, w[i+1].to})
				i += 2
				continue
			}
			dst = append(dst, kchar{'k', w[i].from, w[i].to})
			out = 's'
		case c == 'a' && n1 == 'w' && n2 != 0 && !isVowel(n2):
			out, span = 'o', 2
		case end && c == 'o' && n1 == 'a' && n2 != 0 && !isVowel(n2) && lastSyllable(w[i+3:]):
			out, span = 'o', 2
		}
		dst = append(dst, kchar{out, w[i].from, w[i+span-1].to})
		i += span
	}
	// Doubled letters.
	k := dst[base:]
	n := 0
	for i := range k {
		if n > 0 && k[i].c == k[n-1].c {
			k[n-1].to = k[i].to
			if k[i].c == 'o' {
				k[n-1].c = 'u'
			}
			continue
		}
		k[n] = k[i]
		n++
	}
	k = k[:n]
	if end {
		k = keyEnding(k)
	}
	return dst[:base+len(k)]
}

// lastSyllable reports whether rest, what follows the consonant after
// an "oa", ends the word: nothing, a silent "e", a plural "s" or "es".
func lastSyllable(rest []kchar) bool {
	switch len(rest) {
	case 0:
		return true
	case 1:
		return rest[0].c == 'e' || rest[0].c == 's'
	case 2:
		return rest[0].c == 'e' && rest[1].c == 's'
	}
	return false
}

// keyEnding applies the word-end rules of soundKey to a key.
func keyEnding(k []kchar) []kchar {
	n := len(k)
	drop := func() { // the last letter goes; the one before covers its bytes
		k[n-2].to = k[n-1].to
		n--
		k = k[:n]
	}
	if n >= 3 && k[n-2].c == 'm' && (k[n-1].c == 'n' || k[n-1].c == 'b') {
		drop()
	}
	if n >= 2 && k[n-1].c == 'z' {
		k[n-1].c = 's'
	}
	if n >= 5 && k[n-3].c == 'i' && k[n-2].c == 'e' && k[n-1].c == 's' && !isVowel(k[n-4].c) {
		// "-ies" is "-ys", the plural people write for "-y" ("pussys").
		k[n-3].c, k[n-3].to = 'y', k[n-2].to
		k[n-2] = k[n-1]
		n--
		k = k[:n]
	}
	var s kchar
	plural := n >= 3 && k[n-1].c == 's'
	if plural {
		// Endings before a plural "s" fold the same way ("fuckers", "fuckins").
		s = k[n-1]
		k = k[:n-1]
		n--
	}
	switch {
	case n >= 5 && k[n-3].c == 'i' && k[n-2].c == 'n' && k[n-1].c == 'g':
		drop()
	case n >= 4 && k[n-2].c == 'e' && k[n-1].c == 'r', n >= 4 && k[n-2].c == 'a' && k[n-1].c == 'h':
		k[n-2].c = 'a'
		drop()
	case !plural && n >= 5 && k[n-1].c == 'e' && !isVowel(k[n-2].c):
		drop()
	}
	if plural {
		k = append(k, s)
	}
	return k
}

// keyOf is the key of a whole term or stem; start and end as in soundKey.
func keyOf(s string, start, end bool) string {
	w := make([]kchar, len(s))
	for i := range len(s) {
		w[i] = kchar{s[i], int32(i), int32(i + 1)}
	}
	k := soundKey(nil, w, start, end)
	b := make([]byte, len(k))
	for i, x := range k {
		b[i] = x.c
	}
	return string(b)
}

// plainWord reports whether s is a term that may have variants: ASCII
// letters only, with a vowel (not an acronym such as "wtf" or "bdsm").
func plainWord(s string) bool {
	vowel := false
	for i := range len(s) {
		if !isLower(s[i]) {
			return false
		}
		vowel = vowel || isVowel(s[i])
	}
	return vowel
}

// textKey holds a comment's candidate words (see spellWords) and their
// keys, each key followed by a space, with the map back to folded offsets.
type textKey struct {
	key       []byte
	from, to  []int32
	words     [][2]int32 // key ranges of the words
	in, out   []kchar    // scratch
	runs      [][2]int32 // the runs of ASCII letters of the folded text
	skip      []bool     // per run: not a candidate (see spellWords)
	stretched []bool     // per run: has a stretched letter
	spell     [][2]int32 // the runs that are candidates
	doubled   bool       // the pass reads stretched letters twice
	guard     *wordSet   // the English words, for build
	buf       []byte     // scratch for hasReading
	cbuf      []byte     // scratch for compoundIndex.find
	matches   []aho.Match
	found     []variantHit
}

// build keys t. text is the original comment, consulted for the leetspeak
// digits that the normaliser had to read one way and the key reads another:
// "8" after a letter is "ate" ("h8", "masterb8"), and "l3", "13" or "|3"
// at the start of a word is "b" ("l3itch"). doubled writes a stretched
// letter twice, since "fooooook" may stand for "fook" as well as "fok".
// Only the words spellWords kept (k.runs not k.skip) are keyed, each
// followed by a space: the key is the candidates, not the whole text.
func (k *textKey) build(text string, t *textnorm.Text, doubled bool) {
	k.key, k.from, k.to, k.words = k.key[:0], k.from[:0], k.to[:0], k.words[:0]
	k.doubled = doubled
	f := t.Folded
	for r, run := range k.runs {
		i, j := int(run[0]), int(run[1])
		if sk := k.skip[r]; sk {
			if !doubled || !k.stretched[r] || !hasVowel(f[i:j]) || k.guard.hasReadingBuf(t, i, j, &k.buf) {
				continue
			}
			// The doubled reading of a stretched word may be no English
			// word: "slooooot" folds to "slot", but reads "sloot".
		}
		k.in = k.in[:0]
		for p := i; p < j; p++ {
			c := f[p]
			switch {
			case p == i && j-i > 2 && (c == 'l' || c == 'i') && f[p+1] == 'e' && origByte(text, t, p+1) == '3' && isOneOf(origByte(text, t, p), "lL1|I"):
				k.in = append(k.in, kchar{'b', int32(p), int32(p + 2)})
				p++
				continue
			case c == 'b' && p > i && origByte(text, t, p) == '8' && writtenAsLetter(origByte(text, t, p-1)):
				k.in = append(k.in, kchar{'a', int32(p), int32(p + 1)}, kchar{'t', int32(p), int32(p + 1)}, kchar{'e', int32(p), int32(p + 1)})
				continue
			}
			k.in = append(k.in, kchar{c, int32(p), int32(p + 1)})
			if doubled && t.Stretched(p) {
				k.in = append(k.in, kchar{c, int32(p), int32(p + 1)})
			}
		}
		k.out = soundKey(k.out[:0], k.in, true, true)
		ks := int32(len(k.key))
		for _, x := range k.out {
			k.key = append(k.key, x.c)
			k.from = append(k.from, x.from)
			k.to = append(k.to, x.to)
		}
		k.words = append(k.words, [2]int32{ks, int32(len(k.key))})
		k.key = append(k.key, ' ')
		k.from = append(k.from, int32(j-1))
		k.to = append(k.to, int32(j))
	}
}

// origByte is the first byte of the original text behind folded byte i:
// the character it was written as, whatever invisible characters or marks
// came with it. It is 0 for an empty range.
func origByte(text string, t *textnorm.Text, i int) byte {
	s, e := t.Original(i, i+1)
	if e <= s {
		return 0
	}
	return text[s]
}

// writtenAsLetter reports whether an original first byte is a letter, in
// any script, rather than a digit or symbol read as one.
func writtenAsLetter(c byte) bool { return isLetterByte(c) || c >= 0x80 }

func isOneOf(c byte, set string) bool {
	for i := range len(set) {
		if set[i] == c {
			return c != 0
		}
	}
	return false
}

func isLetterByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// variantIndex holds the keys of every term that may have variants.
type variantIndex struct {
	matcher *aho.Matcher
	uses    [][]use  // per key pattern
	terms   []string // display form of each term; use.variant-1 indexes it
	// One-edit matching, on spellings as folded ("fecker" for "fucker").
	edits editIndex
	// guard: English words, which are never variants (nil: no guard).
	guard *wordSet
	// compounds: words that start with a term (compound.go).
	compounds compoundIndex
	// masked: the terms a word with blanked-out letters may stand for
	// (masked.go).
	masked maskedIndex
}

// editIndex finds the terms one edit from a word: a symmetric-delete index.
type editIndex struct {
	entries []editEntry
	deletes map[uint64][]int32 // hash of a form, or of it less one letter -> entries
	vowels  map[uint64][]int32 // vowelSkeleton of a long form -> entries (twoVowels)
	bloom   []uint64           // bloomBits bits over the hashes in deletes
}

type editEntry struct {
	form []byte
	u    use
	// Which edits apply (see matches): set from the stem's length.
	swapOnly, dropConsonant, twoVowels bool
}

// matches reports whether w is one edit from the entry: any edit oneEdit
// allows when the stem is long enough for all of them, else (a short
// high-severity stem: see minFuzzy) two neighbouring letters swapped
// only. A vowel changed in a four-letter word makes another word, or a
// name, more often than a disguise ("cant", "cent", "Fick"); a swap
// seldom does ("cutn").
func (e *editEntry) matches(w []byte) bool {
	if e.swapOnly {
		return swapped(w, e.form)
	}
	return oneEditOf(w, e.form, e.dropConsonant) || e.twoVowels && twoVowels(w, e.form)
}

// swapped reports whether w is key with two neighbouring letters after
// the first swapped.
func swapped(w, key []byte) bool {
	if len(w) != len(key) || len(w) < 3 || w[0] != key[0] {
		return false
	}
	i := 1
	for i < len(w) && w[i] == key[i] {
		i++
	}
	return i+1 < len(w) && w[i] == key[i+1] && w[i+1] == key[i] && string(w[i+2:]) == string(key[i+2:])
}

// variantBuilder collects keys while the engine is built.
type variantBuilder struct {
	patternSet
	terms     []string
	termIDs   map[string]int32
	edits     editBuilder
	compounds compoundBuilder
	masked    maskedIndex
	guard     *wordSet
}

type editBuilder struct {
	entries []editEntry
	ids     map[editID]int
}

type editID struct {
	form string
	rule int32
}

// add keeps, per form and rule, the strongest term.
func (eb *editBuilder) add(form string, u use) {
	if eb.ids == nil {
		eb.ids = map[editID]int{}
	}
	id := editID{form, u.rule}
	if i, ok := eb.ids[id]; ok {
		if u.severity > eb.entries[i].u.severity {
			eb.entries[i].u = u
		}
		return
	}
	eb.ids[id] = len(eb.entries)
	n := len(stem(form))
	eb.entries = append(eb.entries, editEntry{form: []byte(form), u: u, swapOnly: n < minFuzzyTerm, dropConsonant: n >= minDropTerm, twoVowels: n >= minTwoVowelTerm})
}

func (eb *editBuilder) build() editIndex {
	x := editIndex{entries: eb.entries, deletes: map[uint64][]int32{}, vowels: map[uint64][]int32{}, bloom: make([]uint64, bloomBits/64)}
	var hashes [maxFuzzyWord + 2]uint64
	for i, e := range eb.entries {
		if len(e.form) > maxFuzzyWord {
			continue
		}
		for _, h := range hashes[:deletionHashes(e.form, &hashes)] {
			if l := x.deletes[h]; len(l) == 0 || l[len(l)-1] != int32(i) {
				x.deletes[h] = append(l, int32(i))
			}
			x.bloom[h%bloomBits/64] |= 1 << (h % 64)
		}
		if e.twoVowels {
			h := vowelSkeleton(e.form)
			x.vowels[h] = append(x.vowels[h], int32(i))
			x.bloom[h%bloomBits/64] |= 1 << (h % 64)
		}
	}
	return x
}

// vowelSkeleton hashes w with every vowel after the first letter written
// as one placeholder: words two vowels apart (twoVowels) share it.
func vowelSkeleton(w []byte) uint64 {
	h := uint64(14695981039346656037)
	for i, c := range w {
		if i > 0 && isVowel(c) {
			c = '*'
		}
		h = (h ^ uint64(c)) * 1099511628211
	}
	return mix(h ^ 0x5bd1e995) // apart from the deletion hashes
}

// twoVowels reports whether word is key with two of its vowels after the
// first letter changed to other vowels ("mastarbete" for "masturbate"):
// for stems of minTwoVowelTerm letters or
// more, which have few neighbours, two vowels written as they are said
// are as plain a misspelling as one in a shorter word.
func twoVowels(word, key []byte) bool {
	if len(word) != len(key) || len(word) == 0 || word[0] != key[0] {
		return false
	}
	n := 0
	for i := 1; i < len(word); i++ {
		if word[i] != key[i] {
			if !isVowel(word[i]) || !isVowel(key[i]) {
				return false
			}
			n++
		}
	}
	return n == 2
}

func (vb *variantBuilder) term(display string) int32 {
	if vb.termIDs == nil {
		vb.termIDs = map[string]int32{}
	}
	id, ok := vb.termIDs[display]
	if !ok {
		id = int32(len(vb.terms)) + 1
		vb.termIDs[display] = id
		vb.terms = append(vb.terms, display)
	}
	return id
}

func (vb *variantBuilder) addKey(key string, u use) {
	id := vb.id(key)
	for i, x := range vb.uses[id] {
		if x.rule == u.rule && x.prefix == u.prefix && x.suffix == u.suffix {
			if u.severity > x.severity {
				vb.uses[id][i] = u
			}
			return // one use per rule and key: the strongest term
		}
	}
	vb.uses[id] = append(vb.uses[id], u)
}

// Which variants a term has.
const (
	noVariants    = iota
	soundVariants // sound keys only
	allVariants   // sound keys and one-edit matches
)

// add registers the variants of one term: folded is the term as the text
// would be folded, u its use with the wildcard flags, mode soundVariants or
// allVariants. A term also matches its plural ("ejaculatings" for
// "ejaculating"), which the sources list for some terms and not others.
// The "l"/"i" spellings the exact pass adds for leetspeak ("s1ut", "dlck")
// are left out: keyed, they make "pls" a "piss".
func (vb *variantBuilder) add(folded string, u use, mode int) {
	display := folded
	u.variant = vb.term(display)
	u.doubled = nil
	whole := u
	whole.prefix, whole.suffix = false, false
	if k := keyOf(folded, true, true); len(k) >= minSoundKey {
		vb.addKey(k, whole)
		if !strings.HasSuffix(folded, "s") {
			vb.addKey(keyOf(folded+"s", true, true), whole)
		}
	}
	if u.prefix || u.suffix {
		if k := keyOf(folded, !u.suffix, !u.prefix); len(k) >= minWildKey {
			vb.addKey(k, u)
		}
	}
	vb.masked.add(folded, u)
	// One-edit matching: the spelling, whole words only, for stems of five
	// letters or more; a plural's "s" does not count ("tards" is the stem
	// "tard", and "tardis" is not a variant of it).
	if mode != allVariants {
		return
	}
	vb.compounds.add(folded, u)
	if len(stem(folded)) < minFuzzy(u.severity) {
		return
	}
	vb.edits.add(folded, whole)
}

// minFuzzy is the shortest stem that gets one-edit variants, for a term
// of severity sev. A high-severity term ("fuck", "cunt") is the one people
// disguise most, and the one a missed variant costs most for, so its
// four-letter stem takes one edit too, of one kind (editEntry.matches):
// two neighbours swapped ("cutn"). Milder four-letter stems ("shit",
// "tits") take none: "shti", "tist" and "sith" are closer to typing
// slips and names than to abuse.
func minFuzzy(sev uint8) int {
	if sev >= highSeverity {
		return minFuzzyHigh
	}
	return minFuzzyTerm
}

// stem is w without a plural ending: "es" after s, x, z, ch or sh, "s"
// after another letter but s.
func stem(w string) string {
	n := len(w)
	switch {
	case n > 3 && strings.HasSuffix(w, "es") && (strings.HasSuffix(w[:n-2], "s") || strings.HasSuffix(w[:n-2], "x") ||
		strings.HasSuffix(w[:n-2], "z") || strings.HasSuffix(w[:n-2], "ch") || strings.HasSuffix(w[:n-2], "sh")):
		return w[:n-2]
	case n > 2 && w[n-1] == 's' && w[n-2] != 's':
		return w[:n-1]
	}
	return w
}

func (vb *variantBuilder) build() *variantIndex {
	if len(vb.patterns) == 0 {
		return nil
	}
	return &variantIndex{
		matcher:   aho.Build(vb.patterns),
		uses:      vb.uses,
		terms:     vb.terms,
		edits:     vb.edits.build(),
		compounds: vb.compounds.build(vb.guard),
		masked:    vb.masked,
		guard:     vb.guard,
	}
}

// deletionHashes fills out with the hash of w (out[0]) and of w less each
// of its letters after the first (out[i] without w[i], i >= 1), in O(len(w))
// with a polynomial hash: H(w less i) = H(w[:i])*B^(n-1-i) + H'(w[i+1:]),
// where H' weighs each letter by its place in w. The first letter is never
// edited (oneEdit), so deleting it finds nothing.
func deletionHashes(w []byte, out *[maxFuzzyWord + 2]uint64) int {
	const base = 0x100000001b3
	n := len(w)
	var pre, suf, pow [maxFuzzyWord + 2]uint64
	pow[0] = 1
	for i := range n {
		pre[i+1] = pre[i]*base + uint64(w[i])
		pow[i+1] = pow[i] * base
	}
	for i := n - 1; i >= 0; i-- {
		suf[i] = uint64(w[i])*pow[n-1-i] + suf[i+1]
	}
	out[0] = mix(pre[n])
	for i := 1; i < n; i++ {
		out[i] = mix(pre[i]*pow[n-1-i] + suf[i+1])
	}
	return n
}

// mix is a 64-bit finaliser (from SplitMix64): the polynomial hash's low
// bits, which the Bloom filter uses, are otherwise weak.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// oneEdit reports whether word is a misspelling of key by one edit of the
// kinds people make when they write a word the way they say it, or slip:
// two neighbouring letters swapped ("fcuker"), a vowel changed ("fecker"),
// a vowel dropped ("duche") or added ("bolleocks"). The first letter must be
// the same: it is the one readers go by, and changing it ("pitch",
// "kitchy", "Rickman") makes another word far more often than a variant.
// Changed or dropped consonants are left out for the same reason ("raver"
// is not "raper", "crocs" not "cocks"), except a consonant dropped from a
// stem of minDropTerm letters or more (oneEditOf).
func oneEdit(word, key []byte) bool {
	return oneEditOf(word, key, len(stem(unsafeString(key))) >= minDropTerm)
}

// oneEditOf is oneEdit; dropConsonant also allows a consonant dropped
// after the first letter ("mastubate", "chocoate"), which oneEdit allows for stems of minDropTerm letters or more: a long
// word has few neighbours one letter shorter, and a letter dropped in
// fast typing is the commonest slip there is.
func oneEditOf(word, key []byte, dropConsonant bool) bool {
	lw, lk := len(word), len(key)
	if lw == 0 || lk == 0 || word[0] != key[0] {
		return false
	}
	i := 0
	for i < lw && i < lk && word[i] == key[i] {
		i++
	}
	switch lw - lk {
	case 0:
		if i == lw {
			return false
		}
		if isVowel(word[i]) && isVowel(key[i]) && string(word[i+1:]) == string(key[i+1:]) {
			return true
		}
		return i+1 < lw && word[i] == key[i+1] && word[i+1] == key[i] && string(word[i+2:]) == string(key[i+2:])
	case 1:
		return isVowel(word[i]) && string(word[i+1:]) == string(key[i:])
	case -1:
		return (dropConsonant || isVowel(key[i])) && string(key[i+1:]) == string(word[i:])
	}
	return false
}

// variantHit is one variant found: the use of the term it stands for and
// its folded range.
type variantHit struct {
	u          *use
	start, end int32
}

// find returns the variants in t (in k.found), leaving out ranges that a
// rule already has an exact hit (in exact) or an earlier variant for.
func (v *variantIndex) find(text string, t *textnorm.Text, k *textKey, exact []hit) []variantHit {
	k.found = k.found[:0]
	stretched := v.spellWords(t, k)
	k.guard = v.guard
	// Sound keys first: a word that sounds like a term is a surer variant
	// of it than one an edit away, and names it in the reason.
	for pass := range 1 + btoi(stretched) {
		k.build(text, t, pass == 1)
		v.findSound(t, k, exact)
	}
	k.doubled = false
	v.edits.find(v, t, k.spell, k, exact)
	v.compounds.find(v, t, k, exact)
	v.masked.find(t, k, exact)
	return k.found
}

// covered reports whether rule has a hit, exact or found, overlapping the
// folded range [start, end).
func (k *textKey) covered(exact []hit, rule int32, start, end int) bool {
	for _, h := range exact {
		if h.rule == rule && int(h.start) < end && start < int(h.end) {
			return true
		}
	}
	for _, h := range k.found {
		if h.u.rule == rule && int(h.start) < end && start < int(h.end) {
			return true
		}
	}
	return false
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// spellWords finds the runs of ASCII letters of the folded text (k.runs),
// and the candidates among them (k.spell): the words that are not English
// and have a vowel (a word without one is an abbreviation: "sqrt", "pls").
// It reports whether any run has a stretched letter.
func (v *variantIndex) spellWords(t *textnorm.Text, k *textKey) bool {
	k.runs, k.skip, k.stretched, k.spell = k.runs[:0], k.skip[:0], k.stretched[:0], k.spell[:0]
	anyStretched := false
	f := t.Folded
	for i := 0; i < len(f); {
		if !isLower(f[i]) {
			i++
			continue
		}
		j, vowel, stretched := i, false, false
		for ; j < len(f) && isLower(f[j]); j++ {
			vowel = vowel || isVowel(f[j])
			stretched = stretched || t.Stretched(j)
		}
		// The English list has no words under three letters.
		sk := !vowel || v.guard != nil && j-i >= minSoundKey && (v.guard.has(f[i:j]) || v.guard.hasDroppedG(f[i:j], &k.buf))
		k.runs = append(k.runs, [2]int32{int32(i), int32(j)})
		k.skip = append(k.skip, sk)
		k.stretched = append(k.stretched, stretched)
		if !sk {
			k.spell = append(k.spell, [2]int32{int32(i), int32(j)})
		}
		anyStretched = anyStretched || stretched
		i = j
	}
	return anyStretched
}

// guarded reports whether the folded range [start, end) is an English
// word, as the pass reads it (k.doubled: stretched letters twice).
func (v *variantIndex) guarded(t *textnorm.Text, k *textKey, start, end int) bool {
	if v.guard == nil {
		return false
	}
	if !k.doubled {
		return v.guard.has(t.Folded[start:end])
	}
	return v.guard.hasReadingBuf(t, start, end, &k.buf)
}

func (v *variantIndex) findSound(t *textnorm.Text, k *textKey, exact []hit) {
	k.matches = v.matcher.AppendMatches(k.matches[:0], k.key)
	for _, m := range k.matches {
		start, end := int(k.from[m.Start]), int(k.to[m.End-1])
		for i := range v.uses[m.Pattern] {
			u := &v.uses[m.Pattern][i]
			if !u.suffix && !t.Boundary(start) || !u.prefix && !t.Boundary(end) {
				continue
			}
			s, e := start, end
			if u.prefix || u.suffix {
				s, e = wholeWord(t, s, e, u.suffix, u.prefix)
			}
			if k.covered(exact, u.rule, s, e) || v.guarded(t, k, s, e) {
				continue
			}
			k.found = append(k.found, variantHit{u: u, start: int32(s), end: int32(e)})
		}
	}
}

// find looks up every word (folded ranges) in the index, adding what it
// finds to out.found.
func (x *editIndex) find(v *variantIndex, t *textnorm.Text, words [][2]int32, out *textKey, exact []hit) {
	if len(x.entries) == 0 {
		return
	}
	var seen [fuzzyMaxCands]int32
	var hashes [maxFuzzyWord + 2]uint64
words:
	for _, wr := range words {
		if n := wr[1] - wr[0]; n < minFuzzyWord || n > maxFuzzyWord {
			continue
		}
		w := unsafeBytes(t.Folded[wr[0]:wr[1]])
		start, end := int(wr[0]), int(wr[1])
		if !t.Boundary(start) || !t.Boundary(end) {
			continue
		}
		nseen := 0
		checked := false
		nh := deletionHashes(w, &hashes)
		if len(w) >= minTwoVowelTerm {
			// Last, so that it is tried with the others: its hash is
			// not a deletion's.
			hashes[nh] = vowelSkeleton(w)
			nh++
		}
		for hi, h := range hashes[:nh] {
			if x.bloom[h%bloomBits/64]&(1<<(h%64)) == 0 {
				continue
			}
			cands := x.deletes[h]
			if hi == len(w) {
				cands = x.vowels[h]
			}
			for _, ei := range cands {
				if slices.Contains(seen[:nseen], ei) {
					continue
				}
				if nseen < len(seen) {
					seen[nseen] = ei
					nseen++
				}
				e := &x.entries[ei]
				if !e.matches(w) {
					continue
				}
				if !checked {
					if v.guarded(t, out, start, end) {
						continue words
					}
					checked = true
				}
				if !out.covered(exact, e.u.rule, start, end) {
					out.found = append(out.found, variantHit{u: &e.u, start: int32(start), end: int32(end)})
				}
			}
		}
	}
}

// unsafeBytes views s as bytes without copying; the bytes must not be
// written.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// unsafeString views b as a string without copying; b must not change
// while the string is in use.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
