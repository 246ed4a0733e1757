package main

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/moderatorbot/moderator/plugins/internal/textnorm"
)

// englishGz is every word of Debian's wamerican word list (SCOWL; see
// lexicons/SOURCE.md and lexicons/LICENSE-wamerican), lower-cased, letters
// only, three letters or more, one a line, gzipped. english_test.go writes
// it.
//
//go:embed lexicons/english.txt.gz
var englishGz []byte

// englishWords is the word list as a set, read once: a word in it is never
// a spelling variant ("pitch" is not "bitch"), and the variant passes skip
// it without further work, which is most of the words of most comments.
var englishWords = sync.OnceValues(func() (*wordSet, error) {
	words, err := readEnglish(englishGz)
	if err != nil {
		return nil, err
	}
	return newWordSet(words), nil
})

// wordSet is a set of words kept as 32-bit fingerprints in an open-addressing
// table of 2^17 slots (512 KB, which stays in cache better than a Go map of
// strings; the lookup hashes the word and reads one or two slots). A word
// outside the list takes a listed word's fingerprint with odds of about
// 1 in 60,000 (73,000 of 2^32): the cost is that such a word is skipped
// as if it were English.
type wordSet struct {
	slots []uint32 // 0: empty
	mask  uint64
}

func newWordSet(words []string) *wordSet {
	n := uint64(1)
	for n < uint64(len(words))*2 {
		n <<= 1
	}
	s := &wordSet{slots: make([]uint32, n), mask: n - 1}
	for _, w := range words {
		slot, fp := hashWord(w)
		i := slot & s.mask
		for s.slots[i] != 0 && s.slots[i] != fp {
			i = (i + 1) & s.mask
		}
		s.slots[i] = fp
	}
	return s
}

// has reports whether w is in the set.
func (s *wordSet) has(w string) bool {
	slot, fp := hashWord(w)
	for i := slot & s.mask; ; i = (i + 1) & s.mask {
		switch s.slots[i] {
		case fp:
			return true
		case 0:
			return false
		}
	}
}

// hashWord is FNV-1a of w, mixed, split into a slot (high bits) and a
// fingerprint (low bits, never 0).
func hashWord(w string) (slot uint64, fp uint32) {
	h := uint64(14695981039346656037)
	for i := 0; i < len(w); i++ {
		h = (h ^ uint64(w[i])) * 1099511628211
	}
	h = mix(h)
	return h >> 32, uint32(h) | 1
}

// readEnglish unpacks the embedded list.
func readEnglish(gz []byte) ([]string, error) {
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("english word list: %w", err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("english word list: %w", err)
	}
	return strings.Fields(string(b)), nil
}

// hasWord is has on a set that may be nil (no guard): then nothing is in
// it.
func (s *wordSet) hasWord(w string) bool { return s != nil && s.has(w) }

// hasDroppedG reports whether w is a word of the set written with its
// "g" dropped, as people write "-ing" ("saggin", "ridins"): such a word is
// as English as its "-ing" form, and is no more a variant of a term than
// that form is ("saggin" is not "shaggin" less its h). It builds the
// "-ing" form in *buf.
func (s *wordSet) hasDroppedG(w string, buf *[]byte) bool {
	n := len(w)
	var plural bool
	switch {
	case s == nil || n < 5:
		return false
	case w[n-2:] == "in":
	case w[n-3:] == "ins":
		plural, n = true, n-1
	default:
		return false
	}
	b := append(append((*buf)[:0], w[:n]...), 'g')
	if plural {
		b = append(b, 's')
	}
	*buf = b
	return s.has(unsafeString(b))
}

// hasReadingBuf reports whether the folded range [start, end) of t, read
// with every stretched letter written twice ("sloot" for a folded "slot"
// that was "slooooot"), is in the set. It builds the reading in *buf.
func (s *wordSet) hasReadingBuf(t *textnorm.Text, start, end int, buf *[]byte) bool {
	if s == nil {
		return false
	}
	b := (*buf)[:0]
	for i := start; i < end; i++ {
		b = append(b, t.Folded[i])
		if t.Stretched(i) {
			b = append(b, t.Folded[i])
		}
	}
	*buf = b
	return s.has(unsafeString(b))
}
