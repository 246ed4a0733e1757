package main

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/moderatorbot/moderator/sdk"
)

// tag is one @mention or #hashtag: where it is and its name, lower case.
type tag struct {
	Start, End int
	Name       string
}

// findTags returns the @mentions (sigil '@') or #hashtags (sigil '#') of
// text. A sigil counts at the start of a word only, so e-mail addresses and
// "C#" are not tags; a hashtag needs a letter ("#1" is a rank, not a tag).
func findTags(text string, sigil byte) []tag {
	var out []tag
	for i := 0; i < len(text); i++ {
		if text[i] != sigil {
			continue
		}
		if i > 0 {
			if r, _ := utf8.DecodeLastRuneInString(text[:i]); isTagRune(r) || r == rune(sigil) || r == '.' {
				continue
			}
		}
		j, letters := i+1, 0
		for j < len(text) {
			r, size := utf8.DecodeRuneInString(text[j:])
			if !isTagRune(r) && !(sigil == '@' && r == '.' && j+size < len(text) && isTagRuneByte(text[j+size])) {
				break
			}
			if unicode.IsLetter(r) {
				letters++
			}
			j += size
		}
		if j == i+1 || letters == 0 || j-i > 64 {
			continue
		}
		out = append(out, tag{Start: i, End: j, Name: strings.ToLower(text[i+1 : j])})
		i = j - 1
	}
	return out
}

func isTagRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || unicode.Is(unicode.Mn, r)
}

func isTagRuneByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

// Flood evidence: at the threshold, then more for each tag past it.
const (
	wMentionFlood    = 3.0
	wHashtagFlood    = 2.5
	wFloodPerExtra   = 0.5
	wFloodExtraLimit = 4
)

// floodSignal counts distinct @mentions and #hashtags.
func (s *state) floodSignal(text string) (evidence, bool) {
	ev := evidence{label: labelFlood}
	var reasons []string
	for _, f := range []struct {
		sigil     byte
		noun      string
		threshold int
		weight    float64
	}{
		{'@', "mention", s.cfg.MentionFlood, wMentionFlood},
		{'#', "hashtag", s.cfg.HashtagFlood, wHashtagFlood},
	} {
		tags := findTags(text, f.sigil)
		distinct := map[string]bool{}
		for _, t := range tags {
			distinct[t.Name] = true
		}
		if len(distinct) < f.threshold {
			continue
		}
		extra := min(len(distinct)-f.threshold, wFloodExtraLimit)
		ev.weight += f.weight + wFloodPerExtra*float64(extra)
		reasons = append(reasons, fmt.Sprintf("%s (flood threshold %d)", plural(len(distinct), f.noun), f.threshold))
		for _, t := range tags {
			ev.spans = append(ev.spans, sdk.Span{Start: t.Start, End: t.End})
		}
	}
	if len(reasons) == 0 {
		return evidence{}, false
	}
	ev.reason = strings.Join(reasons, "; ")
	return ev, true
}

// phonePattern matches international numbers (+44 20 7946 0958) and the
// North American 3-3-4 shape ((555) 123-4567), anchored: it is tried only
// where a number can start (see findPhones), which keeps a long text full of
// dates and figures from costing a regexp scan of the whole text.
var phonePattern = regexp.MustCompile(`^(?:\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){1,4}|\(?\d{3}\)?[\s.-]\d{3}[.-]\d{4})`)

// maxPhoneBytes is more than the longest number phonePattern can match.
const maxPhoneBytes = 40

// findPhones returns the spans of phone numbers with 10 to 15 digits: the
// contact details of "message me on WhatsApp" scams.
func findPhones(text string) []sdk.Span {
	var out []sdk.Span
	digits := 0
	for i := 0; i < len(text) && digits < 10; i++ {
		if isDigit(text[i]) {
			digits++
		}
	}
	if digits < 10 {
		return nil // no phone number has fewer digits
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '+' || c == '(':
			if i+1 >= len(text) || !isDigit(text[i+1]) {
				continue
			}
		case isDigit(c):
		default:
			continue
		}
		if i > 0 && (isDigit(text[i-1]) || isLetterByte(text[i-1])) {
			continue // inside a word or a longer number
		}
		m := phonePattern.FindStringIndex(text[i:min(len(text), i+maxPhoneBytes)])
		if m == nil {
			continue
		}
		end := i + m[1]
		if end < len(text) && isDigit(text[end]) {
			continue // part of a longer number
		}
		n := 0
		for _, d := range []byte(text[i:end]) {
			if isDigit(d) {
				n++
			}
		}
		if n >= 10 && n <= 15 {
			out = append(out, sdk.Span{Start: i, End: end})
			i = end - 1
		}
	}
	return out
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isLetterByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
