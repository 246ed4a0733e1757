package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/moderatorbot/moderator/plugins/internal/textnorm"
	"github.com/moderatorbot/moderator/sdk"
)

// phrase is a piece of scam or promotion wording and how much it says.
type phrase struct {
	text   string
	weight float64
}

// phrases is the built-in list, written for comment spam: earnings claims,
// prizes, investment and romance scams, contact-me-elsewhere, follower and
// subscriber trading, the classic pharmacy and casino spam. One phrase alone
// is not enough to call a comment spam (someone may really work from home);
// with a link, a flood or a spammy model score it is.
var phrases = []phrase{
	{"work from home", 1.5}, {"make money online", 2}, {"make money fast", 2}, {"earn money online", 2},
	{"earn extra cash", 2}, {"extra income", 1.5}, {"passive income", 2}, {"financial freedom", 1.5},
	{"be your own boss", 2}, {"get rich", 1.5}, {"no experience needed", 1}, {"free money", 1.5},
	{"claim your prize", 2}, {"claim your reward", 2}, {"you have won", 2}, {"you've won", 2},
	{"congratulations you", 1.5}, {"free iphone", 2}, {"free gift card", 2}, {"gift card", 1},
	{"giveaway", 1}, {"100% free", 1.5}, {"100% guaranteed", 1.5}, {"risk free", 1},
	{"limited time offer", 1.5}, {"act now", 1}, {"order now", 1}, {"buy now", 1},
	{"click here", 1}, {"click the link", 1}, {"click below", 1}, {"promo code", 1}, {"discount code", 1},
	{"double your money", 2}, {"double your bitcoin", 2}, {"guaranteed profit", 2}, {"guaranteed returns", 2},
	{"investment opportunity", 1.5}, {"binary options", 2}, {"forex trading", 2}, {"crypto investment", 2},
	{"bitcoin investment", 2}, {"account manager", 1.5}, {"trading expert", 2},
	{"contact him on", 2}, {"contact her on", 2}, {"contact him via", 2}, {"contact her via", 2},
	{"message me on whatsapp", 2}, {"whatsapp me", 1.5}, {"whatsapp", 1}, {"telegram", 1},
	{"dm me", 1}, {"inbox me", 1}, {"text me on", 1}, {"cash app", 1},
	{"hot singles", 2}, {"sugar daddy", 2}, {"adult dating", 2}, {"sexy girls", 2}, {"nude pics", 2},
	{"free followers", 2}, {"buy followers", 2}, {"cheap followers", 2}, {"get followers", 1.5}, {"free likes", 2},
	{"sub4sub", 2}, {"follow for follow", 2}, {"follow4follow", 2}, {"like4like", 2},
	{"subscribe to my channel", 1.5}, {"check out my channel", 1.5}, {"visit my channel", 1.5},
	{"check my profile", 1.5}, {"check out my profile", 1.5}, {"see my profile", 1.5}, {"visit my profile", 1.5},
	{"link in bio", 1}, {"link in my bio", 1}, {"in my bio", 1},
	{"viagra", 2}, {"cialis", 2}, {"casino", 1}, {"weight loss", 1}, {"lose weight", 1}, {"lose weight fast", 2},
	{"one weird trick", 2}, {"doctors hate", 1.5},
	// Reply scams: recovery "experts", mentors vouched for by fake
	// testimonials, and the invitation to take it to private messages.
	{"recover lost funds", 2}, {"recover your lost funds", 2}, {"recovered my lost funds", 2}, {"lost funds", 0.5},
	{"fund recovery", 2}, {"funds recovery", 2}, {"recovery expert", 2}, {"recovery hacker", 2},
	{"recover your account", 1.5}, {"recover your hacked account", 2}, {"recovered my hacked account", 2},
	{"reach out to him", 1.5}, {"reach out to her", 1.5}, {"ask me how", 1}, {"message me for", 1.5},
	{"dm me for", 1.5}, {"investment tips", 1.5}, {"trading tips", 1}, {"bitcoin mining", 1.5}, {"crypto mining", 1.5},
	{"hello dear", 1.5}, {"hi dear", 1.5}, {"can we be friends", 0.5},
}

// moneyPatterns are earnings claims ("$500 a day", "earn $3,000"), matched
// in the folded text.
var moneyPatterns = []*regexp.Regexp{
	regexp.MustCompile(`[$£€]\s?\d[\d,.]*\s?k?\s*(?:a|per|/|each|every)\s*(?:day|week|hour|month|daily|weekly)`),
	regexp.MustCompile(`(?:earn|earned|earning|make|made|making)\s+(?:up\s+to\s+|over\s+|around\s+|about\s+)?[$£€]\s?\d[\d,.]*\d(?:\s?k\b)?`),
}

// thousandsClaim is an earnings claim in thousands without a currency,
// over a period ("made 5k this week"; "made 5k steps" is no claim). It is
// matched in the original text, lower-cased: folding reads "5k" as the
// leetspeak "sk".
var thousandsClaim = regexp.MustCompile(`(?:earn|earned|earning|make|made|making)\s+\d[\d,.]*\s?k\s+(?:a|per|every|each|this|last|in\s+a|in\s+one)\s+(?:day|week|month|hour|days|weeks|months)\b`)

// Phrase evidence: each match adds its weight, the sum is capped.
const (
	wMoneyClaim = 2.0
	wPhone      = 1.0
	wPhrasesMax = 5.0
)

// phraseMatcher finds phrases as runs of whole words of the folded text.
// Matching words, not a regular expression over the text, keeps it linear
// and fast (one map lookup per word) however many phrases there are.
type phraseMatcher struct {
	// byFirst lists the phrases by their first word, longest first.
	byFirst map[string][]phraseWords
	// byCompact finds phrases of several words written as one
	// ("workfromhome", or "work-from-home" once the normaliser has joined it).
	byCompact map[string]phrase
}

type phraseWords struct {
	words  []string
	phrase phrase
}

// word is one word of the folded text, with its folded byte range.
type word struct {
	text       string
	start, end int
}

// splitWords cuts folded text into runs of letters, digits and '%' (so
// "100%" is a word), the same way for the phrases and for comments.
func splitWords(s string) []word {
	var out []word
	start := -1
	for i, r := range s {
		in := unicode.IsLetter(r) || unicode.IsDigit(r) || r == '%'
		switch {
		case in && start < 0:
			start = i
		case !in && start >= 0:
			out = append(out, word{s[start:i], start, i})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, word{s[start:], start, len(s)})
	}
	return out
}

func newPhraseMatcher(list []phrase) *phraseMatcher {
	m := &phraseMatcher{byFirst: map[string][]phraseWords{}, byCompact: map[string]phrase{}}
	for _, p := range list {
		ws := splitWords(textnorm.Fold(p.text))
		if len(ws) == 0 {
			continue
		}
		pw := phraseWords{phrase: p}
		for _, w := range ws {
			pw.words = append(pw.words, w.text)
		}
		m.byFirst[pw.words[0]] = append(m.byFirst[pw.words[0]], pw)
		if compact := strings.Join(pw.words, ""); len(pw.words) > 1 && len(compact) >= minCompact {
			m.byCompact[compact] = p
		}
	}
	for _, l := range m.byFirst {
		slices.SortStableFunc(l, func(a, b phraseWords) int { return len(b.words) - len(a.words) })
	}
	return m
}

// minCompact is the shortest phrase matched written as one word: "dmme" or
// "actnow" could be parts of names, "workfromhome" cannot.
const minCompact = 8

// normalizeForPhrases folds text for phrase matching. Runs of two or more
// '!' become spaces first (the same number of bytes, so offsets still map to
// the original): the normaliser reads "!" between letters as leetspeak for
// "i", which would turn "click here!!" into "click herei".
func normalizeForPhrases(text string) textnorm.Text {
	if !strings.Contains(text, "!!") {
		return textnorm.Normalize(text)
	}
	b := []byte(text)
	for i := 0; i < len(b); i++ {
		if b[i] != '!' {
			continue
		}
		j := i
		for j < len(b) && b[j] == '!' {
			j++
		}
		if j-i >= 2 {
			for k := i; k < j; k++ {
				b[k] = ' '
			}
		}
		i = j
	}
	return textnorm.Normalize(string(b))
}

// phraseHit is one match, as a span of the original text.
type phraseHit struct {
	phrase phrase
	span   sdk.Span
}

// find returns the phrases of nt, each as the span of the original text it
// came from; at each word the longest phrase wins.
func (m *phraseMatcher) find(nt *textnorm.Text) []phraseHit {
	var out []phraseHit
	words := splitWords(nt.Folded)
	for i := 0; i < len(words); i++ {
		if p, ok := m.byCompact[words[i].text]; ok {
			s, e := nt.Original(words[i].start, words[i].end)
			out = append(out, phraseHit{phrase: p, span: sdk.Span{Start: s, End: e}})
			continue
		}
		for _, pw := range m.byFirst[words[i].text] {
			n := len(pw.words)
			if i+n > len(words) || !wordsEqual(words[i:i+n], pw.words) {
				continue
			}
			s, e := nt.Original(words[i].start, words[i+n-1].end)
			out = append(out, phraseHit{phrase: pw.phrase, span: sdk.Span{Start: s, End: e}})
			i += n - 1
			break
		}
	}
	return out
}

func wordsEqual(ws []word, want []string) bool {
	for i, w := range want {
		if ws[i].text != w {
			return false
		}
	}
	return true
}

var defaultPhrases = newPhraseMatcher(phrases)

// phraseSignal finds scam phrasing, earnings claims and phone numbers.
func phraseSignal(text string, nt *textnorm.Text) (evidence, bool) {
	ev := evidence{label: labelPhrases}
	var quoted []string
	seen := map[string]bool{}
	for _, h := range defaultPhrases.find(nt) {
		ev.spans = append(ev.spans, h.span)
		if !seen[h.phrase.text] {
			seen[h.phrase.text] = true
			ev.weight += h.phrase.weight
			quoted = append(quoted, fmt.Sprintf("%q", text[h.span.Start:h.span.End]))
		}
	}
	for _, re := range moneyPatterns {
		if !strings.ContainsAny(nt.Folded, "$£€") {
			break
		}
		for _, loc := range re.FindAllStringIndex(nt.Folded, -1) {
			s, e := nt.Original(loc[0], loc[1])
			ev.spans = append(ev.spans, sdk.Span{Start: s, End: e})
			if !seen["money"] {
				seen["money"] = true
				ev.weight += wMoneyClaim
				quoted = append(quoted, fmt.Sprintf("%q", text[s:e]))
			}
		}
	}
	if !seen["money"] {
		if loc := thousandsClaim.FindStringIndex(asciiLower(text)); loc != nil {
			ev.spans = append(ev.spans, sdk.Span{Start: loc[0], End: loc[1]})
			ev.weight += wMoneyClaim
			quoted = append(quoted, fmt.Sprintf("%q", text[loc[0]:loc[1]]))
		}
	}
	if phones := findPhones(text); len(phones) > 0 {
		ev.weight += wPhone
		ev.spans = append(ev.spans, phones...)
		quoted = append(quoted, "phone number "+fmt.Sprintf("%q", text[phones[0].Start:phones[0].End]))
	}
	if len(quoted) == 0 {
		return evidence{}, false
	}
	slices.SortFunc(ev.spans, func(a, b sdk.Span) int { return a.Start - b.Start })
	ev.weight = min(ev.weight, wPhrasesMax)
	if len(quoted) > 4 {
		quoted = append(quoted[:4], fmt.Sprintf("and %d more", len(quoted)-4))
	}
	ev.reason = "scam phrasing: " + strings.Join(quoted, ", ")
	return ev, true
}

// asciiLower lower-cases the ASCII letters of s and leaves every other byte
// as it is, so offsets into it are offsets into s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
