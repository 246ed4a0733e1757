package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/jonreiter/govader"
	"github.com/moderatorbot/moderator/sdk"
)

// datasetPath is the UCI Sentiment Labelled Sentences in `moderator eval`'s
// format (testdata/SOURCE.md says where it comes from).
const datasetPath = "testdata/uci_sentences.jsonl"

type example struct {
	ID     string   `json:"id"`
	Text   string   `json:"text"`
	Labels []string `json:"labels"`
}

func loadDataset(t testing.TB) []example {
	t.Helper()
	f, err := os.Open(datasetPath)
	if err != nil {
		t.Fatalf("open dataset: %v", err)
	}
	defer f.Close()
	var out []example
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var ex example
		if err := json.Unmarshal(sc.Bytes(), &ex); err != nil {
			t.Fatalf("%s:%d: %v", datasetPath, line, err)
		}
		out = append(out, ex)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read dataset: %v", err)
	}
	return out
}

// class is a three-class sentiment call, or a UCI gold label.
type class int

const (
	neutral class = iota
	negative
	positive
)

// threeClass counts three-class calls against a binary gold standard. UCI
// sentences are labelled negative or positive only, so a neutral call is
// never right: it is counted apart, and strict accuracy counts it as wrong.
type threeClass struct {
	Correct, Wrong, Neutral int
	// NeutralOnNegative is how many of the neutral calls were on sentences
	// labelled negative: VADER misses negativity more often than praise.
	NeutralOnNegative int
}

func (c threeClass) total() int { return c.Correct + c.Wrong + c.Neutral }

// strict is accuracy with neutral calls counted as wrong.
func (c threeClass) strict() float64 { return float64(c.Correct) / float64(c.total()) }

// decided is accuracy over the sentences called positive or negative.
func (c threeClass) decided() float64 { return float64(c.Correct) / float64(c.Correct+c.Wrong) }

func (c *threeClass) add(gold, got class) {
	switch {
	case got == neutral:
		c.Neutral++
		if gold == negative {
			c.NeutralOnNegative++
		}
	case got == gold:
		c.Correct++
	default:
		c.Wrong++
	}
}

// binary is the confusion matrix of one label, as `moderator eval` counts it
// (predicted when the label's score is >= 0.5).
type binary struct {
	TP, FP, FN, TN int
}

func (b *binary) add(gold, got bool) {
	switch {
	case gold && got:
		b.TP++
	case got:
		b.FP++
	case gold:
		b.FN++
	default:
		b.TN++
	}
}

func (b binary) precision() float64 { return float64(b.TP) / float64(b.TP+b.FP) }
func (b binary) recall() float64    { return float64(b.TP) / float64(b.TP+b.FN) }
func (b binary) f1() float64 {
	p, r := b.precision(), b.recall()
	return 2 * p * r / (p + r)
}
func (b binary) accuracy() float64 {
	return float64(b.TP+b.TN) / float64(b.TP+b.FP+b.FN+b.TN)
}

// evaluation is every figure the README reports, for one source or all.
type evaluation struct {
	// Baseline is govader's raw compound on the raw text, at VADER's
	// standard thresholds (>= 0.05 positive, <= -0.05 negative).
	Baseline threeClass
	// Plugin is the plugin at its default threshold with emit_positive on,
	// read as `moderator eval` reads it: "negative" >= 0.5 is negative,
	// "sentiment.positive" >= 0.5 is positive, neither is neutral.
	Plugin threeClass
	// BaselineNegative is the baseline read as a detector of UCI class 0
	// (compound <= -0.05).
	BaselineNegative binary
	// Negative is the "negative" label at the default config, against
	// UCI class 0.
	Negative binary
	// Clear is the "negative" label with threshold = 0.5: only clearly
	// negative comments (compound <= -0.5) are labelled.
	Clear binary
}

// evaluate runs the baseline and the plugin over the dataset, the plugin
// through Analyze in batches of 100 as the host sends them.
func evaluate(t testing.TB, data []example) map[string]*evaluation {
	t.Helper()
	gold := make([]class, len(data))
	for i, ex := range data {
		switch {
		case slices.Equal(ex.Labels, []string{sdk.LabelNegative}):
			gold[i] = negative
		case slices.Equal(ex.Labels, []string{labelPositive}):
			gold[i] = positive
		default:
			t.Fatalf("%s: labels %q, want exactly one of negative, %s", ex.ID, ex.Labels, labelPositive)
		}
	}
	analyze := func(cfg config) []sdk.Result {
		s := newSentiment()
		s.cfg.Store(&cfg)
		var out []sdk.Result
		for batch := range slices.Chunk(data, 100) {
			comments := make([]sdk.Comment, len(batch))
			for i, ex := range batch {
				comments[i] = sdk.Comment{ID: ex.ID, Text: ex.Text}
			}
			res, err := s.Analyze(context.Background(), comments)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, res...)
		}
		return out
	}
	defaults := analyze(config{Threshold: defaultThreshold})
	withPositive := analyze(config{Threshold: defaultThreshold, EmitPositive: true})
	clear := analyze(config{Threshold: 0.5})

	evals := map[string]*evaluation{"all": {}}
	// The library as it comes, without the plugin's lexicon additions.
	sia := govader.NewSentimentIntensityAnalyzer()
	for i, ex := range data {
		source, _, _ := strings.Cut(ex.ID, "-")
		if evals[source] == nil {
			evals[source] = &evaluation{}
		}
		raw := sia.PolarityScores(ex.Text).Compound
		base := neutral
		switch {
		case raw >= 0.05:
			base = positive
		case raw <= -0.05:
			base = negative
		}
		got := neutral
		if l, ok := withPositive[i].Label(sdk.LabelNegative); ok && l.Score >= 0.5 {
			got = negative
		} else if l, ok := withPositive[i].Label(labelPositive); ok && l.Score >= 0.5 {
			got = positive
		}
		l, ok := defaults[i].Label(sdk.LabelNegative)
		flagged := ok && l.Score >= 0.5
		l, ok = clear[i].Label(sdk.LabelNegative)
		clearly := ok && l.Score >= 0.5
		for _, e := range []*evaluation{evals["all"], evals[source]} {
			e.Baseline.add(gold[i], base)
			e.Plugin.add(gold[i], got)
			e.BaselineNegative.add(gold[i] == negative, base == negative)
			e.Negative.add(gold[i] == negative, flagged)
			e.Clear.add(gold[i] == negative, clearly)
		}
	}
	return evals
}

// TestUCIAccuracy computes the figures the README reports and asserts them
// exactly, so that any change to the tokenizer, the score mapping or the
// VADER library shows up as a changed count, to be explained in the README.
func TestUCIAccuracy(t *testing.T) {
	data := loadDataset(t)
	if len(data) != 3000 {
		t.Fatalf("%d sentences in %s, want 3000", len(data), datasetPath)
	}
	evals := evaluate(t, data)

	want := map[string]evaluation{
		"all": {
			Baseline:         threeClass{Correct: 2029, Wrong: 319, Neutral: 652, NeutralOnNegative: 430},
			Plugin:           threeClass{Correct: 2029, Wrong: 321, Neutral: 650, NeutralOnNegative: 429},
			BaselineNegative: binary{TP: 812, FP: 61, FN: 688, TN: 1439},
			Negative:         binary{TP: 810, FP: 60, FN: 690, TN: 1440},
			Clear:            binary{TP: 350, FP: 8, FN: 1150, TN: 1492},
		},
		"amazon": {
			Baseline:         threeClass{Correct: 693, Wrong: 84, Neutral: 223, NeutralOnNegative: 152},
			Plugin:           threeClass{Correct: 693, Wrong: 84, Neutral: 223, NeutralOnNegative: 152},
			BaselineNegative: binary{TP: 272, FP: 8, FN: 228, TN: 492},
			Negative:         binary{TP: 272, FP: 8, FN: 228, TN: 492},
			Clear:            binary{TP: 104, FP: 0, FN: 396, TN: 500},
		},
		"imdb": {
			Baseline:         threeClass{Correct: 689, Wrong: 129, Neutral: 182, NeutralOnNegative: 106},
			Plugin:           threeClass{Correct: 690, Wrong: 128, Neutral: 182, NeutralOnNegative: 106},
			BaselineNegative: binary{TP: 303, FP: 38, FN: 197, TN: 462},
			Negative:         binary{TP: 303, FP: 37, FN: 197, TN: 463},
			Clear:            binary{TP: 149, FP: 4, FN: 351, TN: 496},
		},
		"yelp": {
			Baseline:         threeClass{Correct: 647, Wrong: 106, Neutral: 247, NeutralOnNegative: 172},
			Plugin:           threeClass{Correct: 646, Wrong: 109, Neutral: 245, NeutralOnNegative: 171},
			BaselineNegative: binary{TP: 237, FP: 15, FN: 263, TN: 485},
			Negative:         binary{TP: 235, FP: 15, FN: 265, TN: 485},
			Clear:            binary{TP: 97, FP: 4, FN: 403, TN: 496},
		},
	}
	for _, source := range []string{"all", "amazon", "imdb", "yelp"} {
		e := evals[source]
		t.Logf("%-6s baseline: %4d correct, %4d wrong, %4d neutral (%d on negatives): strict %.1f%%, decided %.1f%% | "+
			"plugin: %4d correct, %4d wrong, %4d neutral: strict %.1f%%, decided %.1f%% | "+
			"negative: tp %d fp %d fn %d tn %d P %.3f R %.3f F1 %.3f acc %.3f (baseline P %.3f R %.3f F1 %.3f)",
			source, e.Baseline.Correct, e.Baseline.Wrong, e.Baseline.Neutral, e.Baseline.NeutralOnNegative, 100*e.Baseline.strict(), 100*e.Baseline.decided(),
			e.Plugin.Correct, e.Plugin.Wrong, e.Plugin.Neutral, 100*e.Plugin.strict(), 100*e.Plugin.decided(),
			e.Negative.TP, e.Negative.FP, e.Negative.FN, e.Negative.TN,
			e.Negative.precision(), e.Negative.recall(), e.Negative.f1(), e.Negative.accuracy(),
			e.BaselineNegative.precision(), e.BaselineNegative.recall(), e.BaselineNegative.f1())
		t.Logf("%-6s threshold 0.5: tp %d fp %d fn %d tn %d P %.3f R %.3f F1 %.3f", source,
			e.Clear.TP, e.Clear.FP, e.Clear.FN, e.Clear.TN, e.Clear.precision(), e.Clear.recall(), e.Clear.f1())
		if w, ok := want[source]; ok && *e != w {
			t.Errorf("%s: got %s\nwant %s", source, fmt.Sprintf("%+v", *e), fmt.Sprintf("%+v", w))
		}
	}
}
