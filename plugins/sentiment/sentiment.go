package main

import (
	"context"
	"fmt"
	"maps"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/jonreiter/govader"
	"github.com/moderatorbot/moderator/sdk"
)

// labelPositive is this plugin's own label for clearly positive comments.
// Positive sentiment is not in the shared vocabulary (nothing to moderate),
// but a policy may want it, to approve praise without review, say.
const labelPositive = "sentiment.positive"

// defaultThreshold is VADER's standard neutral band: its authors classify a
// sentence with compound >= 0.05 as positive, <= -0.05 as negative, and
// anything between as neutral.
const defaultThreshold = 0.05

// maxReasonWords bounds how many words a reason quotes; the spans have all.
const maxReasonWords = 5

// vader builds the analyzer once per process: it parses the embedded lexicon
// (about 7,500 words and 3,500 emoji), and is read-only afterwards, so every
// instance and every concurrent Analyze call share it.
var vader = sync.OnceValue(func() *govader.SentimentIntensityAnalyzer {
	sia := govader.NewSentimentIntensityAnalyzer()
	maps.Copy(sia.Lexicon, lexiconAdditions)
	return sia
})

// lexiconAdditions are the entries of the reference lexicon (vaderSentiment
// 3.3.2's vader_lexicon.txt, MIT) that govader's copy of it lacks: they were
// added upstream with the translation of heart emoji into words, so without
// them "I *heart* this place" and most heart emoji score 0.
var lexiconAdditions = map[string]float64{"heart": 3.2, "hearts": 3.3}

// config is the [analyzer.config] table.
type config struct {
	// Threshold is the minimum compound magnitude that gets a label; a
	// comment exactly at it scores 0.5.
	Threshold float64 `json:"threshold"`
	// EmitPositive adds the sentiment.positive label.
	EmitPositive bool `json:"emit_positive"`
}

// Sentiment is the analyzer. Its config is swapped atomically, so a
// Configure never races an Analyze in flight.
type Sentiment struct {
	cfg atomic.Pointer[config]
}

func newSentiment() *Sentiment {
	s := &Sentiment{}
	s.cfg.Store(&config{Threshold: defaultThreshold})
	return s
}

// Configure reads the instance's [analyzer.config] table.
func (s *Sentiment) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg := config{Threshold: defaultThreshold}
	if err := req.Config.Decode(&cfg); err != nil {
		return err
	}
	var errs sdk.FieldErrors
	if math.IsNaN(cfg.Threshold) || cfg.Threshold < 0 || cfg.Threshold >= 1 {
		errs.Add("threshold", "must be at least 0 and below 1 (a VADER compound magnitude), got %v", cfg.Threshold)
	}
	if err := errs.Err(); err != nil {
		return err
	}
	s.cfg.Store(&cfg)
	return nil
}

// Analyze scores each comment with VADER and labels it when its compound
// score is beyond the threshold.
func (s *Sentiment) Analyze(ctx context.Context, comments []sdk.Comment) ([]sdk.Result, error) {
	cfg := s.cfg.Load()
	sia := vader()
	results := make([]sdk.Result, len(comments))
	for i := range comments {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("sentiment: batch abandoned after %d of %d comments: %w", i, len(comments), err)
		}
		results[i] = analyzeOne(sia, cfg, &comments[i])
	}
	return results, nil
}

// analyzeOne scores one comment.
func analyzeOne(sia *govader.SentimentIntensityAnalyzer, cfg *config, c *sdk.Comment) sdk.Result {
	r := sdk.Result{CommentID: c.ID}
	toks := tokenize(c.Text)
	sc := polarity(sia, c.Text, toks)
	switch {
	case sc.Compound < 0 && -sc.Compound >= cfg.Threshold:
		r.Labels = []sdk.Label{label(sia, sdk.LabelNegative, -1, c.Text, toks, sc, cfg.Threshold)}
	case cfg.EmitPositive && sc.Compound > 0 && sc.Compound >= cfg.Threshold:
		r.Labels = []sdk.Label{label(sia, labelPositive, +1, c.Text, toks, sc, cfg.Threshold)}
	}
	return r
}

// polarity is VADER's polarity_scores for text, as the reference Python
// implementation computes it: words are split on any run of whitespace
// (Python's str.split), where govader splits on single spaces only, so
// "awful\nday" would be one unknown word there and double spaces would add
// empty "neutral" words; and the scores are rounded as the reference rounds
// them (compound to 4 places, the proportions to 3).
func polarity(sia *govader.SentimentIntensityAnalyzer, text string, toks []token) govader.Sentiment {
	var b strings.Builder
	b.Grow(len(text))
	for i, t := range toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(text[t.start:t.end])
	}
	sc := sia.PolarityScores(b.String())
	return govader.Sentiment{
		Compound: round(sc.Compound, 4),
		Negative: round(sc.Negative, 3),
		Neutral:  round(sc.Neutral, 3),
		Positive: round(sc.Positive, 3),
	}
}

func round(x float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(x*p) / p
}

// score maps a compound magnitude m in [t, 1] linearly onto [0.5, 1]: a
// comment exactly at the threshold scores 0.5, moderator's decision
// threshold, and the most extreme comment scores 1. VADER's own threshold
// (0.05) is thus where "negative" starts to apply, as its authors validated
// it, rather than at compound -0.5, which would miss most negative comments
// (see the README's evaluation).
func score(m, t float64) float64 {
	if t >= 1 {
		return 1
	}
	return min(1, max(0.5, 0.5+0.5*(m-t)/(1-t)))
}

// label builds the label named name for a comment whose sentiment has sign
// (-1 negative, +1 positive).
func label(sia *govader.SentimentIntensityAnalyzer, name string, sign float64, text string, toks []token, sc govader.Sentiment, t float64) sdk.Label {
	spans := driverSpans(sia, text, toks, sign)
	reason := fmt.Sprintf("VADER compound %.2f (neg %.2f, neu %.2f, pos %.2f)", sc.Compound, sc.Negative, sc.Neutral, sc.Positive)
	if len(spans) > 0 {
		kind := "negative"
		if sign > 0 {
			kind = "positive"
		}
		quoted := make([]string, 0, min(len(spans), maxReasonWords))
		for _, sp := range spans[:min(len(spans), maxReasonWords)] {
			quoted = append(quoted, fmt.Sprintf("%q", text[sp.Start:sp.End]))
		}
		more := ""
		if len(spans) > maxReasonWords {
			more = fmt.Sprintf(" and %d more", len(spans)-maxReasonWords)
		}
		reason += fmt.Sprintf("; %s words: %s%s", kind, strings.Join(quoted, ", "), more)
	} else {
		// VADER found the sentiment, but not in a word we can point at (a
		// "but" that reweights the sentence, say): the span is the text.
		spans = wholeText(text, toks)
	}
	return sdk.Label{Name: name, Score: score(sign*sc.Compound, t), Spans: spans, Reason: reason}
}

// token is one whitespace-separated word as byte offsets [start, end) into
// the original text.
type token struct{ start, end int }

// tokenize splits text at runs of Unicode whitespace, as Python's str.split
// does, keeping offsets into text.
func tokenize(text string) []token {
	var toks []token
	start := -1
	for i, r := range text {
		if unicode.IsSpace(r) {
			if start >= 0 {
				toks = append(toks, token{start, i})
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		toks = append(toks, token{start, len(text)})
	}
	return toks
}

// punctuation is Python's string.punctuation, which VADER strips from the
// ends of a word.
const punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// isPunct is punctuation as a lookup table: strings.Trim builds one from its
// cutset on every call, which was a tenth of Analyze's time.
var isPunct = func() (set [utf8.RuneSelf]bool) {
	for _, c := range punctuation {
		set[c] = true
	}
	return set
}()

func punct(r rune) bool { return r < utf8.RuneSelf && isPunct[r] }

// word is a token as VADER looks it up: lower case, its surrounding
// punctuation stripped unless that leaves fewer than 3 bytes (so ":(" and
// ":-)" stay emoticons); start and end locate it in the original text.
type word struct {
	lower      string
	start, end int
}

func vaderWord(text string, t token) word {
	raw := text[t.start:t.end]
	stripped := strings.TrimFunc(raw, punct)
	if len(stripped) < 3 {
		return word{lower: strings.ToLower(raw), start: t.start, end: t.end}
	}
	off := t.start + len(raw) - len(strings.TrimLeftFunc(raw, punct))
	return word{lower: strings.ToLower(stripped), start: off, end: off + len(stripped)}
}

// driverSpans finds the words that drove the sentiment of the given sign:
// lexicon words of that valence, and words of the opposite valence negated by
// one of the three words before them (VADER's negation window; "not good" is
// negative, and its span covers "not good"), and emoji whose description
// carries that valence. VADER's other rules (boosters, "but", "least",
// idioms) change how much a word counts, not which words count, so they are
// left out: the spans say where to look, the compound says how much.
func driverSpans(sia *govader.SentimentIntensityAnalyzer, text string, toks []token, sign float64) []sdk.Span {
	words := make([]word, len(toks))
	for i, t := range toks {
		words[i] = vaderWord(text, t)
	}
	var spans []sdk.Span
	for i, w := range words {
		if emoji := emojiSpans(sia, text, toks[i], sign); len(emoji) > 0 {
			spans = append(spans, emoji...)
			continue
		}
		v, ok := sia.Lexicon[w.lower]
		if !ok || v == 0 {
			continue
		}
		// "no" before another lexicon word is a negator, not a sentiment
		// ("no problem"), as in VADER.
		if w.lower == "no" && i+1 < len(words) {
			if _, next := sia.Lexicon[words[i+1].lower]; next {
				continue
			}
		}
		start := w.start
		for j := i - 1; j >= 0 && j >= i-3; j-- {
			if isNegator(words[j].lower) || negatingNo(words, j, i) {
				v = -v
				start = words[j].start
			}
		}
		if v*sign > 0 {
			spans = append(spans, sdk.Span{Start: start, End: w.end})
		}
	}
	return mergeSpans(spans)
}

// negators is VADER's list of negation words, as a set.
var negators = sync.OnceValue(func() map[string]bool {
	set := map[string]bool{}
	for _, n := range vader().Constants.NegateList {
		set[n] = true
	}
	return set
})

// isNegator is VADER's negated() test for one word.
func isNegator(lower string) bool {
	return negators()[lower] || strings.Contains(lower, "n't")
}

// emojiSpans are the emoji in the token whose description ("angry face")
// has lexicon words of the given sign, as VADER reads emoji.
func emojiSpans(sia *govader.SentimentIntensityAnalyzer, text string, t token, sign float64) []sdk.Span {
	var spans []sdk.Span
	for off := t.start; off < t.end; {
		r, size := utf8.DecodeRuneInString(text[off:t.end])
		if r >= utf8.RuneSelf {
			if desc, ok := sia.EmojiDict[string(r)]; ok {
				v := 0.0
				for _, w := range strings.Fields(desc) {
					v += sia.Lexicon[strings.ToLower(w)]
				}
				if v*sign > 0 {
					spans = append(spans, sdk.Span{Start: off, End: off + size})
				}
			}
		}
		off += size
	}
	return spans
}

// mergeSpans joins overlapping spans; they come in order of their ends.
func mergeSpans(spans []sdk.Span) []sdk.Span {
	var out []sdk.Span
	for _, sp := range spans {
		// A negated word's span may start before the previous span's end
		// ("not bad, not awful" never overlaps, "not very bad bad" does).
		for len(out) > 0 && sp.Start <= out[len(out)-1].End {
			sp.Start = min(sp.Start, out[len(out)-1].Start)
			sp.End = max(sp.End, out[len(out)-1].End)
			out = out[:len(out)-1]
		}
		out = append(out, sp)
	}
	return out
}

// wholeText is one span from the first to the last non-space byte.
func wholeText(text string, toks []token) []sdk.Span {
	if len(toks) == 0 {
		return nil
	}
	return []sdk.Span{{Start: toks[0].start, End: toks[len(toks)-1].end}}
}

// negatingNo is VADER's rule for "no" as a negator of the word at i: "no"
// one or two words before it, or three before it with "or"/"nor" between
// ("no fun or joy").
func negatingNo(words []word, j, i int) bool {
	if words[j].lower != "no" {
		return false
	}
	return i-j <= 2 || words[i-1].lower == "or" || words[i-1].lower == "nor"
}
