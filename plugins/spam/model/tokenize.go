package model

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Token is one term of a text and where it came from: Start and End are byte
// offsets into the original text, so a reason can point at the words that
// made the score.
type Token struct {
	Term       string
	Start, End int
}

// Special terms stand for classes of strings whose exact spelling carries no
// meaning the model could learn from a 2002 corpus (which number, which URL).
const (
	TermURL   = "<url>"   // http://..., https://..., www....
	TermEmail = "<email>" // someone@example.com
	TermNum   = "<num>"   // a run of digits
	TermMoney = "<money>" // a number right after a currency sign: $500, £20
	TermCaps  = "<caps>"  // a word of three or more letters, all capitals
)

// maxTermBytes drops longer "words": base64 residue, hashes, URLs glued to text.
const maxTermBytes = 32

// Tokenize splits text into the terms the model knows. It is the one
// tokeniser used both by the training program and by the plugin, so the
// model serves on exactly the features it was trained on.
//
// Words are runs of letters, digits and combining marks, with an apostrophe
// allowed between letters ("don't"). They are lower-cased, full-width forms
// folded to ASCII, and zero-width characters inside a word are skipped, so
// "F\u200bREE" and "ＦＲＥＥ" are both "free". URLs, e-mail addresses, numbers
// and amounts of money become the special Term* terms. Words of one
// character are dropped.
func Tokenize(text string) []Token {
	toks := make([]Token, 0, len(text)/6+1)
	var word strings.Builder
	for i := 0; i < len(text); {
		if n := urlAt(text, i); n > 0 {
			toks = append(toks, Token{Term: TermURL, Start: i, End: i + n})
			i += n
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			i += size
			continue
		}
		// A word: scan to its end, building the folded term.
		start, end := i, i
		word.Reset()
		letters, upper, digits := 0, 0, 0
		for j := i; j < len(text); {
			r, size := utf8.DecodeRuneInString(text[j:])
			switch {
			case isWordRune(r):
				f := fold(r)
				switch {
				case unicode.IsLetter(f):
					letters++
					if unicode.IsUpper(r) {
						upper++
					}
				case unicode.IsDigit(f):
					digits++
				}
				word.WriteRune(unicode.ToLower(f))
				j += size
				end = j
				continue
			case isZeroWidth(r) && j+size < len(text):
				if next, _ := utf8.DecodeRuneInString(text[j+size:]); isWordRune(next) {
					j += size
					continue
				}
			case (r == '\'' || r == '’') && letters > 0 && j+size < len(text):
				if next, _ := utf8.DecodeRuneInString(text[j+size:]); unicode.IsLetter(next) {
					word.WriteByte('\'')
					j += size
					continue
				}
			}
			break
		}
		i = end
		if end < len(text) && text[end] == '@' && letters+digits > 0 {
			if n := emailDomainAt(text, end+1); n > 0 {
				toks = append(toks, Token{Term: TermEmail, Start: start, End: end + 1 + n})
				i = end + 1 + n
				continue
			}
		}
		term := word.String()
		switch {
		case letters == 0 && digits > 0:
			term = TermNum
			if start > 0 && isCurrency(text[:start]) {
				_, size := utf8.DecodeLastRuneInString(text[:start])
				toks = append(toks, Token{Term: TermMoney, Start: start - size, End: end})
				continue
			}
		case utf8.RuneCountInString(term) < 2 || len(term) > maxTermBytes:
			continue
		}
		toks = append(toks, Token{Term: term, Start: start, End: end})
		if letters >= 3 && upper == letters {
			toks = append(toks, Token{Term: TermCaps, Start: start, End: end})
		}
	}
	return toks
}

// Terms is Tokenize without the offsets, for training.
func Terms(text string) []string {
	toks := Tokenize(text)
	out := make([]string, 0, len(toks))
	for _, t := range toks {
		out = append(out, t.Term)
	}
	return out
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// isZeroWidth reports the invisible characters spammers put inside words to
// dodge filters.
func isZeroWidth(r rune) bool {
	switch r {
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u180e':
		return true
	}
	return false
}

// fold maps full-width ASCII (U+FF01..U+FF5E) to ASCII.
func fold(r rune) rune {
	if r >= 0xff01 && r <= 0xff5e {
		return r - 0xfee0
	}
	return r
}

func isCurrency(before string) bool {
	r, _ := utf8.DecodeLastRuneInString(before)
	return r == '$' || r == '£' || r == '€' || r == '¥'
}

// urlAt returns the length of the URL starting at text[i:], or 0. A URL
// starts with http://, https:// or www. (any case) at a word boundary and
// runs to the next space, quote or angle bracket, less trailing punctuation.
func urlAt(text string, i int) int {
	if i > 0 {
		if r, _ := utf8.DecodeLastRuneInString(text[:i]); isWordRune(r) {
			return 0
		}
	}
	rest := text[i:]
	ok := false
	for _, p := range []string{"http://", "https://", "www."} {
		if len(rest) > len(p) && strings.EqualFold(rest[:len(p)], p) {
			ok = true
			break
		}
	}
	if !ok {
		return 0
	}
	n := strings.IndexFunc(rest, func(r rune) bool {
		return unicode.IsSpace(r) || r == '"' || r == '<' || r == '>' || r == '\'' || r == '`' || r == utf8.RuneError
	})
	if n < 0 {
		n = len(rest)
	}
	for n > 0 && strings.ContainsRune(".,;:!?)]}*", rune(rest[n-1])) {
		n--
	}
	return n
}

// emailDomainAt returns the length of an e-mail domain ("example.com") at
// text[i:], or 0 when there is none: labels of letters, digits and hyphens
// joined by dots, the last one two letters or more.
func emailDomainAt(text string, i int) int {
	n := 0
	for i+n < len(text) {
		c := text[i+n]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' {
			n++
			continue
		}
		break
	}
	d := strings.TrimRight(text[i:i+n], ".-")
	dot := strings.LastIndexByte(d, '.')
	if dot <= 0 || len(d)-dot-1 < 2 || strings.Contains(d, "..") {
		return 0
	}
	for _, c := range d[dot+1:] {
		if !unicode.IsLetter(c) {
			return 0
		}
	}
	return len(d)
}
