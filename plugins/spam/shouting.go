package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/moderatorbot/moderator/sdk"
)

// Shouting evidence: capitals and !!! are a hint, never enough alone.
const (
	shoutMinLetters = 12
	shoutRatio      = 0.7
	wShouting       = 0.8
	wBangs          = 0.3
	bangRun         = 3
)

// shoutSignal weighs how much of a comment is in capitals and how many runs
// of three or more exclamation marks it has. The spans are the words in
// capitals and the runs.
func shoutSignal(text string) (evidence, bool) {
	letters, upper := 0, 0
	var spans, bangSpans []sdk.Span
	bangs := 0
	wordStart, wordLetters, wordUpper := -1, 0, 0
	endWord := func(end int) {
		if wordStart >= 0 && wordLetters >= 2 && wordUpper == wordLetters {
			if n := len(spans); n > 0 && onlySpaces(text[spans[n-1].End:wordStart]) {
				spans[n-1].End = end // join "FREE MONEY" into one span
			} else {
				spans = append(spans, sdk.Span{Start: wordStart, End: end})
			}
		}
		wordStart, wordLetters, wordUpper = -1, 0, 0
	}
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case unicode.IsLetter(r):
			if wordStart < 0 {
				wordStart = i
			}
			letters++
			wordLetters++
			if unicode.IsUpper(r) {
				upper++
				wordUpper++
			}
		default:
			endWord(i)
			if r == '!' {
				j := i
				for j < len(text) && text[j] == '!' {
					j++
				}
				if j-i >= bangRun {
					bangs++
					bangSpans = append(bangSpans, sdk.Span{Start: i, End: j})
				}
				i = j
				continue
			}
		}
		i += size
	}
	endWord(len(text))
	ev := evidence{label: labelShouting}
	var reasons []string
	if letters >= shoutMinLetters && float64(upper) >= shoutRatio*float64(letters) {
		ev.weight += wShouting
		reasons = append(reasons, fmt.Sprintf("shouting: %d%% capitals", upper*100/letters))
		ev.spans = spans
	}
	if bangs > 0 {
		ev.weight += wBangs
		reasons = append(reasons, plural(bangs, "run")+" of !!!")
		ev.spans = append(ev.spans, bangSpans...)
	}
	if ev.weight == 0 {
		return evidence{}, false
	}
	ev.reason = strings.Join(reasons, "; ")
	return ev, true
}

func onlySpaces(s string) bool { return strings.TrimSpace(s) == "" && len(s) <= 3 }
