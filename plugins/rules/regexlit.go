package main

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// Regexes are the slow part of a rule set: Go's RE2 engine scans the whole
// text for each one. Most regexes that moderators write contain a literal
// that every match must include ("bit.ly", "whatsapp", "crypto"), so the
// engine adds those literals to its one Aho-Corasick pass and runs a regex
// only on the comments where one of its literals occurs.

const (
	minLiteral  = 2  // shorter literals occur in nearly every comment
	maxLiterals = 32 // more alternatives than this is not worth it
)

// requiredLiterals returns a set of lower-case strings at least one of which
// occurs in every match of the (already valid) regex expr, or nil when no
// such set is known and the regex must always run.
func requiredLiterals(expr string) []string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	return literals(re.Simplify())
}

func literals(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		s := strings.ToLower(string(re.Rune))
		if !utf8.ValidString(s) || len(s) < minLiteral && !(len(s) == 1 && rare(s[0])) {
			return nil
		}
		return []string{s}
	case syntax.OpCharClass:
		// A small class of rare characters ("[!?]") filters well too.
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if r >= utf8.RuneSelf || !rare(byte(r)) || len(out) == maxLiterals {
					return nil
				}
				out = append(out, string(r))
			}
		}
		return out
	case syntax.OpCapture:
		return literals(re.Sub[0])
	case syntax.OpPlus:
		return literals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return literals(re.Sub[0])
		}
	case syntax.OpConcat:
		// Every part must match: the part with the longest shortest
		// literal filters best. Adjacent literals are joined first, since
		// Simplify leaves "ab" then "c" apart around flags.
		var best []string
		bestLen := 0
		for _, sub := range joinLiterals(re.Sub) {
			lits := literals(sub)
			if l := shortest(lits); l > bestLen || l == bestLen && l > 0 && len(lits) < len(best) {
				best, bestLen = lits, l
			}
		}
		return best
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			lits := literals(sub)
			if lits == nil {
				return nil
			}
			all = append(all, lits...)
		}
		if len(all) > maxLiterals {
			return nil
		}
		return all
	}
	return nil
}

// joinLiterals merges runs of adjacent literal nodes of a concatenation.
func joinLiterals(subs []*syntax.Regexp) []*syntax.Regexp {
	out := make([]*syntax.Regexp, 0, len(subs))
	for _, s := range subs {
		if n := len(out); n > 0 && s.Op == syntax.OpLiteral && out[n-1].Op == syntax.OpLiteral {
			merged := *out[n-1]
			merged.Rune = append(append([]rune(nil), out[n-1].Rune...), s.Rune...)
			out[n-1] = &merged
			continue
		}
		out = append(out, s)
	}
	return out
}

// rare reports ASCII punctuation and symbols: unlike a letter, a single one
// of them is worth looking for.
func rare(c byte) bool {
	return c > ' ' && c < 0x7f && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')
}

func shortest(lits []string) int {
	if len(lits) == 0 {
		return 0
	}
	m := len(lits[0])
	for _, l := range lits[1:] {
		m = min(m, len(l))
	}
	return m
}
