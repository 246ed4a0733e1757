package main

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/jonreiter/govader"
	"github.com/moderatorbot/moderator/sdk"
)

// TestReferenceScores compares the plugin's VADER with the reference Python
// implementation (vaderSentiment 3.3.2). The first block is VADER's own demo,
// whose expected scores the npm package vader-sentiment 1.1.3 ships in
// tests/SentimentIntensityAnalyzer_tests.js; the rest were scored with the
// reference for this test, to pin what this plugin adds to govader.
func TestReferenceScores(t *testing.T) {
	tests := []struct {
		text     string
		compound float64
		rawDiffs bool // govader alone scores it otherwise
	}{
		// VADER's demo sentences.
		{text: "VADER is smart, handsome, and funny.", compound: 0.8316},
		{text: "VADER is not smart, handsome, nor funny.", compound: -0.7424},
		{text: "VADER is smart, handsome, and funny!", compound: 0.8439},
		{text: "VADER is very smart, handsome, and funny.", compound: 0.8545},
		{text: "VADER is VERY SMART, handsome, and FUNNY.", compound: 0.9227},
		{text: "VADER is VERY SMART, handsome, and FUNNY!!!", compound: 0.9342},
		{text: "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!", compound: 0.9469},
		{text: "The book was good.", compound: 0.4404},
		{text: "The book was kind of good.", compound: 0.3832},
		{text: "The plot was good, but the characters are uncompelling and the dialog is not great.", compound: -0.7042},
		{text: "At least it isn't a horrible book.", compound: 0.431},
		{text: "Make sure you :) or :D today!", compound: 0.8633},
		{text: "Today SUX!", compound: -0.5461},
		// vader-sentiment 1.1.3 expects 0.2228 here: its port predates
		// the reference's current rules; 0.5249 is vaderSentiment 3.3.2.
		{text: "Today only kinda sux! But I'll get by, lol", compound: 0.5249},
		// Negation, which vader-sentiment 1.1.3 gets wrong (it scores
		// this +0.5719).
		{text: "Not a good bargain.", compound: -0.4585},
		{text: "no problem at all", compound: 0.3089},
		{text: "This is awful 😠", compound: -0.743},
		// Whitespace other than one space separates words, as in the
		// reference; govader alone reads "sad\tday" as one unknown word.
		{text: "what a sad\tday", compound: -0.4767, rawDiffs: true},
		{text: "awful\nday  really   bad", compound: -0.7778, rawDiffs: true},
		{text: "Great phone.  Terrible battery.\n\nWould not buy again.", compound: 0.25},
		// The reference lexicon's "heart", which govader's copy lacks.
		{text: "I *heart* this place.", compound: 0.6369, rawDiffs: true},
		{text: "Catch utf-8 emoji such as such as 💘 and 💋 and 😁", compound: 0.875, rawDiffs: true},
	}
	raw := govader.NewSentimentIntensityAnalyzer()
	for _, tt := range tests {
		got := polarity(vader(), tt.text, tokenize(tt.text)).Compound
		if got != tt.compound {
			t.Errorf("%q: compound %v, reference %v", tt.text, got, tt.compound)
		}
		if r := round(raw.PolarityScores(tt.text).Compound, 4); (r != tt.compound) != tt.rawDiffs {
			t.Errorf("%q: govader alone scores %v (reference %v); rawDiffs should be %v", tt.text, r, tt.compound, !tt.rawDiffs)
		}
	}
}

// TestKnownDivergence pins the rule where govader and the reference differ
// most: the reference's test for "never so/this" three words back reads
// `never and so2 or so1` with Python's precedence, so any "so" or "this"
// right before a word boosts it by 1.25; govader brackets it as `never and
// (so2 or so1)`. It changes 65 of the 3,000 UCI compounds (one more differs
// through a quirk of the reference's "but" rule), and 2 of their
// three-class calls (README). If this test fails, govader changed: update
// the README's comparison.
func TestKnownDivergence(t *testing.T) {
	const text, reference = "I was so insulted.", -0.6418
	if got := polarity(vader(), text, tokenize(text)).Compound; got != -0.5563 {
		t.Errorf("%q: compound %v, want govader's -0.5563 (the reference says %v)", text, got, reference)
	}
}

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		cfg      config
		label    string   // "" for no label
		score    float64  // the label's score
		spans    []string // the text each span covers
		inReason []string
	}{
		{
			name: "negative, with the compound and proportions in the reason", text: "VADER is not smart, handsome, nor funny.",
			cfg: config{Threshold: 0.05}, label: sdk.LabelNegative, score: 0.5 + 0.5*(0.7424-0.05)/0.95,
			spans:    []string{"not smart, handsome", "nor funny"},
			inReason: []string{"VADER compound -0.74 (neg 0.65, neu 0.35, pos 0.00)", `negative words: "not smart, handsome", "nor funny"`},
		},
		{
			name: "exactly at the threshold scores 0.5", text: "Not a good bargain.",
			cfg: config{Threshold: 0.4585}, label: sdk.LabelNegative, score: 0.5, spans: []string{"Not a good bargain"},
		},
		{name: "just inside the threshold: no label", text: "Not a good bargain.", cfg: config{Threshold: 0.4586}},
		{
			name: "threshold 0 labels any negative compound", text: "I have no idea.",
			cfg: config{Threshold: 0}, label: sdk.LabelNegative, score: 0.5 + 0.5*0.296, spans: []string{"no"},
		},
		{name: "neutral text: no label at threshold 0", text: "The phone arrived on Tuesday.", cfg: config{Threshold: 0}},
		{name: "positive text without emit_positive: no label", text: "The book was good.", cfg: config{Threshold: 0.05}},
		{
			name: "positive text with emit_positive", text: "The book was good.",
			cfg: config{Threshold: 0.05, EmitPositive: true}, label: labelPositive, score: 0.5 + 0.5*(0.4404-0.05)/0.95,
			spans: []string{"good"}, inReason: []string{"VADER compound 0.44", `positive words: "good"`},
		},
		{
			name: "negated negative is positive", text: "no problem at all",
			cfg: config{Threshold: 0.05, EmitPositive: true}, label: labelPositive, score: 0.5 + 0.5*(0.3089-0.05)/0.95,
			spans: []string{"no problem"},
		},
		{
			name: "negative with emit_positive is still negative", text: "Today SUX!",
			cfg: config{Threshold: 0.05, EmitPositive: true}, label: sdk.LabelNegative, score: 0.5 + 0.5*(0.5461-0.05)/0.95,
			spans: []string{"SUX"},
		},
		{
			name: "emoji spans cover the emoji's bytes", text: "This is awful 😠",
			cfg: config{Threshold: 0.05}, label: sdk.LabelNegative, score: 0.5 + 0.5*(0.743-0.05)/0.95,
			spans: []string{"awful", "😠"},
		},
		{
			name: "spans index the original text, not the normalised one", text: "  what a\u00a0sad\tday\n",
			cfg: config{Threshold: 0.05}, label: sdk.LabelNegative, score: 0.5 + 0.5*(0.4767-0.05)/0.95,
			spans: []string{"sad"},
		},
		{
			name: "spans after multi-byte text", text: "Ça m'énerve, c'est nul: terrible café",
			cfg: config{Threshold: 0.05}, label: sdk.LabelNegative, spans: []string{"terrible"},
		},
		{
			name: "punctuation around a word is not in its span", text: "It was (awful)!",
			cfg: config{Threshold: 0.05}, label: sdk.LabelNegative, spans: []string{"awful"},
		},
		{
			name: "emoticons keep their punctuation", text: "the wifi :(",
			cfg: config{Threshold: 0.05}, label: sdk.LabelNegative, spans: []string{":("},
		},
		{
			name: "more than five words: the reason says how many more", text: "bad awful terrible horrible sad ugly nasty",
			cfg: config{Threshold: 0.05}, label: sdk.LabelNegative,
			spans:    []string{"bad", "awful", "terrible", "horrible", "sad", "ugly", "nasty"},
			inReason: []string{`"sad" and 2 more`},
		},
		{
			// "least" turns "compelling" negative, a rule the spans do not
			// model, so the span is the whole text, trimmed.
			name: "no word to point at: the whole text", text: " The least compelling film. ",
			cfg: config{Threshold: 0.05}, label: sdk.LabelNegative, spans: []string{"The least compelling film."},
		},
		{name: "empty", text: "", cfg: config{Threshold: 0}},
		{name: "whitespace", text: " \t\n ", cfg: config{Threshold: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSentiment()
			s.cfg.Store(&tt.cfg)
			res, err := s.Analyze(context.Background(), []sdk.Comment{{ID: "c", Text: tt.text}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 || res[0].CommentID != "c" {
				t.Fatalf("results %+v, want one for comment c", res)
			}
			if tt.label == "" {
				if len(res[0].Labels) != 0 {
					t.Errorf("labels %+v, want none", res[0].Labels)
				}
				return
			}
			if len(res[0].Labels) != 1 || res[0].Labels[0].Name != tt.label {
				t.Fatalf("labels %+v, want %s only", res[0].Labels, tt.label)
			}
			l := res[0].Labels[0]
			if tt.score != 0 && math.Abs(l.Score-tt.score) > 1e-9 {
				t.Errorf("score %v, want %v", l.Score, tt.score)
			}
			var spans []string
			for _, sp := range l.Spans {
				spans = append(spans, tt.text[sp.Start:sp.End])
			}
			if !slices.Equal(spans, tt.spans) {
				t.Errorf("spans cover %q, want %q", spans, tt.spans)
			}
			for _, want := range tt.inReason {
				if !strings.Contains(l.Reason, want) {
					t.Errorf("reason %q lacks %q", l.Reason, want)
				}
			}
		})
	}
}

func TestScore(t *testing.T) {
	tests := []struct{ m, t, want float64 }{
		{m: 0.05, t: 0.05, want: 0.5},
		{m: 1, t: 0.05, want: 1},
		{m: 0.525, t: 0.05, want: 0.75},
		{m: 0.3, t: 0, want: 0.65},
		{m: 0.75, t: 0.5, want: 0.75},
		{m: 0.01, t: 0.05, want: 0.5}, // below the threshold never scores under 0.5: it is not labelled at all
	}
	for _, tt := range tests {
		if got := score(tt.m, tt.t); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("score(%v, %v) = %v, want %v", tt.m, tt.t, got, tt.want)
		}
	}
}

func TestTokenize(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"one", []string{"one"}},
		{" one  two\tthree\nfour\r\n", []string{"one", "two", "three", "four"}},
		{"é\u00a0ü\u2003日本\u3000x", []string{"é", "ü", "日本", "x"}},
		{"zero\u200bwidth", []string{"zero\u200bwidth"}}, // not whitespace in Python either
	}
	for _, tt := range tests {
		var got []string
		for _, tok := range tokenize(tt.text) {
			got = append(got, tt.text[tok.start:tok.end])
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("tokenize(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name  string
		json  string
		want  config
		field string // the FieldError's field, when Configure must fail
	}{
		{name: "empty table keeps the defaults", json: ``, want: config{Threshold: 0.05}},
		{name: "threshold", json: `{"threshold": 0.5}`, want: config{Threshold: 0.5}},
		{name: "threshold 0", json: `{"threshold": 0}`, want: config{Threshold: 0}},
		{name: "integer threshold", json: `{"threshold": 0, "emit_positive": true}`, want: config{EmitPositive: true}},
		{name: "threshold 1", json: `{"threshold": 1}`, field: "threshold"},
		{name: "negative threshold", json: `{"threshold": -0.1}`, field: "threshold"},
		{name: "threshold not a number", json: `{"threshold": "high"}`, field: "threshold"},
		{name: "emit_positive not a bool", json: `{"emit_positive": "yes"}`, field: "emit_positive"},
		{name: "unknown key", json: `{"treshold": 0.5}`, field: "treshold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSentiment()
			before := *s.cfg.Load()
			err := s.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: []byte(tt.json)}})
			if tt.field == "" {
				if err != nil || *s.cfg.Load() != tt.want {
					t.Errorf("Configure(%s) = %v, config %+v; want nil, %+v", tt.json, err, *s.cfg.Load(), tt.want)
				}
				return
			}
			var fe sdk.FieldErrors
			if !errors.As(err, &fe) || len(fe) == 0 || fe[0].Field != tt.field {
				t.Errorf("Configure(%s) = %v, want a FieldError for %s", tt.json, err, tt.field)
			}
			if *s.cfg.Load() != before {
				t.Errorf("a rejected config changed the config to %+v", *s.cfg.Load())
			}
		})
	}
}

func TestAnalyzeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newSentiment().Analyze(ctx, []sdk.Comment{{ID: "a", Text: "bad"}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Analyze with a cancelled context = %v, want context.Canceled", err)
	}
}

// FuzzAnalyze checks what must hold for any text: at most one label, a
// score in [0.5, 1] that agrees with the compound in the reason, and spans
// in order, inside the text, on UTF-8 boundaries and never overlapping.
func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{
		"", " ", "bad", "not bad", "no no no", "VADER is not smart, handsome, nor funny.",
		"This is awful 😠😠", "Ça m'énerve: terrible", "bad \xff\xfe bytes", ":( :) :-(", "NOT GOOD!!!???",
		"but but but bad", "kind of bad", "at least bad", "never so bad", "the shit", "\u00a0sad\u2003day\u3000",
	} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, positive bool) {
		cfg := config{Threshold: 0, EmitPositive: positive}
		r := analyzeOne(vader(), &cfg, &sdk.Comment{ID: "f", Text: text})
		if len(r.Labels) > 1 {
			t.Fatalf("%d labels, want at most one", len(r.Labels))
		}
		if len(r.Labels) == 0 {
			return
		}
		l := r.Labels[0]
		if l.Score < 0.5 || l.Score > 1 || math.IsNaN(l.Score) {
			t.Errorf("score %v outside [0.5, 1]", l.Score)
		}
		if l.Reason == "" || !strings.HasPrefix(l.Reason, "VADER compound ") {
			t.Errorf("reason %q", l.Reason)
		}
		if len(l.Spans) == 0 && strings.TrimSpace(text) != "" {
			t.Errorf("no spans for a labelled comment")
		}
		// Boundaries as a range loop sees them: each invalid byte is one.
		bounds := map[int]bool{len(text): true}
		for i := range text {
			bounds[i] = true
		}
		prevEnd := -1
		for _, sp := range l.Spans {
			if sp.Start < 0 || sp.End <= sp.Start || sp.End > len(text) || sp.Start <= prevEnd {
				t.Fatalf("span %v out of order, empty or outside %d bytes (previous end %d)", sp, len(text), prevEnd)
			}
			prevEnd = sp.End
			if !bounds[sp.Start] || !bounds[sp.End] {
				t.Errorf("span %v splits a character", sp)
			}
		}
	})
}
