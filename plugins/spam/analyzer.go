package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/moderatorbot/moderator/plugins/spam/model"
	"github.com/moderatorbot/moderator/sdk"
)

// Labels: "spam" is the combined verdict; the "spam.*" labels are the
// signals one by one, for policies that want to act on one of them (say,
// hide anything linking to a blocked domain, whatever the rest says).
const (
	labelSpam      = "spam"
	labelLinks     = "spam.links"
	labelFlood     = "spam.flood"
	labelDuplicate = "spam.duplicate"
	labelPhrases   = "spam.phrases"
	labelShouting  = "spam.shouting"
	labelModel     = "spam.model"
)

var allLabels = []string{labelSpam, labelLinks, labelFlood, labelDuplicate, labelPhrases, labelShouting, labelModel}

// How the evidence combines. Every signal adds log-odds; the model adds its
// own log-odds times model_weight; the sum goes through the logistic
// function, so 0.5 is where the evidence for and against balances.
//
// With the model, the sum starts from the log-odds of spam_rate, the share
// of spam the operator expects among comments. The model was trained with
// spam and ham weighted equally, so its log-odds are a likelihood ratio that
// assumes half of all texts are spam; Bayes' rule adds the prior odds of the
// stream it serves. The default (0.25) makes a comment the model finds
// merely unremarkable need a signal to become spam; the SpamAssassin
// held-out split, half spam, is measured with spam_rate 0.5.
//
// Without the model there is nothing to say a comment looks normal, so the
// sum starts from priorNoModel instead: a comment needs about that much
// evidence to reach 0.5 (a link flood and a phrase, a blocked domain, a
// duplicate run). A signal's own label scores the signal alone that way.
const (
	priorNoModel = -2.5
	// modelClamp bounds the model's log-odds: a model trained on e-mail may
	// be very sure of itself, and signals the operator configured (a blocked
	// domain) must still be able to outweigh it.
	modelClamp = 6.0
	// maxSpans bounds the spans of one label.
	maxSpans = 32
	// topWords is how many of the model's words a reason names.
	topWords = 3
)

// evidence is what one signal found in one comment.
type evidence struct {
	label  string
	weight float64 // log-odds added to the combined score
	reason string
	spans  []sdk.Span
	// modelP is the model's probability, for the model's evidence only.
	modelP float64
}

// state is one configuration, ready to analyze with; it never changes once
// built, so concurrent Analyze calls share it without locks.
type state struct {
	cfg                          Config
	blocked, allowed, shorteners domainSet
	model                        *model.Model // nil when the model is off
	kv                           sdk.KV       // nil when there is no host KV
	// prior is the log-odds of spam_rate, where the model's evidence starts.
	prior float64
	now   func() time.Time
}

// Spam is the analyzer.
type Spam struct {
	st atomic.Pointer[state]
}

// newSpam returns an analyzer with the default config and no KV, as before
// Configure.
func newSpam() *Spam {
	s := &Spam{}
	st, err := newState(defaultConfig(), nil)
	if err != nil {
		panic(err) // the embedded model is broken: a build problem
	}
	s.st.Store(st)
	return s
}

func newState(cfg Config, kv sdk.KV) (*state, error) {
	st := &state{
		cfg:        cfg,
		blocked:    newDomainSet(cfg.BlockedDomains),
		allowed:    newDomainSet(cfg.AllowedDomains),
		shorteners: newDomainSet(cfg.Shorteners),
		kv:         kv,
		now:        time.Now,
		prior:      math.Log(cfg.SpamRate / (1 - cfg.SpamRate)),
	}
	if cfg.Model {
		m, err := model.Default()
		if err != nil {
			return nil, err
		}
		st.model = m
	}
	return st, nil
}

// Configure reads the instance's config table. Under ValidateOnly the KV
// is not kept: `moderator config check` must reach nothing.
func (s *Spam) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg := defaultConfig()
	if err := req.Config.Decode(&cfg); err != nil {
		return err
	}
	if errs := cfg.validate(); len(errs) > 0 {
		return errs
	}
	kv := req.KV
	if req.ValidateOnly || !cfg.Duplicates {
		kv = nil
	}
	st, err := newState(cfg, kv)
	if err != nil {
		return fmt.Errorf("configure spam: %w", err)
	}
	s.st.Store(st)
	return nil
}

// Analyze scores each comment. The comments of a batch are looked up and
// recorded in the duplicate store together, in order, so copies within one
// batch count. A KV failure fails the batch (the host retries it; records
// are per comment, so a retry does not count a comment twice); a missing KV
// (no host services) only turns the duplicate signal off.
func (s *Spam) Analyze(ctx context.Context, comments []sdk.Comment) ([]sdk.Result, error) {
	st := s.st.Load()
	toks := make([][]model.Token, len(comments))
	for i, c := range comments {
		if strings.TrimSpace(c.Text) != "" {
			toks[i] = model.Tokenize(c.Text)
		}
	}
	dups := make([]*dupResult, len(comments))
	if st.kv != nil {
		found, err := st.duplicates(ctx, comments, toks, st.now())
		switch {
		case errors.Is(err, sdk.ErrNoHost): // no host services: no duplicate signal
		case err != nil:
			return nil, err // "duplicate lookup: ..." or "duplicate record: ..."
		default:
			dups = found
		}
	}
	results := make([]sdk.Result, len(comments))
	for i, c := range comments {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		results[i] = st.analyze(c, toks[i], dups[i])
	}
	return results, nil
}

// analyze runs every signal on one comment and combines them; dup is what
// the duplicate store said about it, if anything.
func (st *state) analyze(c sdk.Comment, toks []model.Token, dup *dupResult) sdk.Result {
	res := sdk.Result{CommentID: c.ID}
	text := c.Text
	if strings.TrimSpace(text) == "" {
		return res
	}
	nt := normalizeForPhrases(text)
	var evs []evidence
	add := func(ev evidence, ok bool) {
		if ok {
			evs = append(evs, ev)
		}
	}
	add(st.linkSignal(text, countWords(toks)))
	add(st.floodSignal(text))
	add(phraseSignal(text, &nt))
	add(shoutSignal(text))
	if dup != nil {
		add(st.duplicateSignal(text, *dup))
	}

	logit := priorNoModel
	var modelEv *evidence
	if st.model != nil {
		pred := st.model.Predict(toks, topWords)
		if pred.Known > 0 {
			ev := modelEvidence(text, pred, st.cfg.ModelWeight)
			modelEv = &ev
			logit = st.prior
		}
	}
	for _, ev := range evs {
		logit += ev.weight
	}
	if modelEv != nil {
		logit += modelEv.weight
	}
	if modelEv == nil && len(evs) == 0 {
		return res // nothing to say: no signal, no known word
	}
	score := model.Sigmoid(logit)

	// The combined label: the strongest reasons on the side the score fell.
	all := slices.Clone(evs)
	if modelEv != nil {
		all = append(all, *modelEv)
	}
	res.Labels = append(res.Labels, sdk.Label{
		Name:   labelSpam,
		Score:  score,
		Spans:  combinedSpans(all),
		Reason: combinedReason(all, score),
	})
	for _, ev := range evs {
		res.Labels = append(res.Labels, sdk.Label{
			Name:   ev.label,
			Score:  model.Sigmoid(priorNoModel + ev.weight),
			Spans:  capSpans(ev.spans),
			Reason: ev.reason,
		})
	}
	if modelEv != nil {
		res.Labels = append(res.Labels, sdk.Label{
			Name: labelModel, Score: modelEv.modelP, Spans: capSpans(modelEv.spans), Reason: modelEv.reason,
		})
	}
	return res
}

// modelEvidence is the model's prediction as evidence, with its own
// probability kept for the spam.model label.
func modelEvidence(text string, pred model.Prediction, weight float64) evidence {
	logit := math.Max(-modelClamp, math.Min(modelClamp, pred.Logit))
	ev := evidence{label: labelModel, weight: weight * logit, modelP: pred.P}
	var words []string
	for _, c := range pred.Top {
		if d, special := specialTerms[c.Term]; special {
			words = append(words, d)
		} else {
			words = append(words, fmt.Sprintf("%q", text[c.Tokens[0].Start:c.Tokens[0].End]))
		}
		for _, t := range c.Tokens[:min(len(c.Tokens), 3)] {
			ev.spans = append(ev.spans, sdk.Span{Start: t.Start, End: t.End})
		}
	}
	ev.reason = fmt.Sprintf("model: %.2f", pred.P)
	if len(words) > 0 {
		side := "spam"
		if pred.P < 0.5 {
			side = "not spam"
		}
		ev.reason += fmt.Sprintf(" (%s words: %s)", side, strings.Join(words, ", "))
	}
	return ev
}

// specialTerms says what the model's special terms stand for in a reason.
var specialTerms = map[string]string{
	model.TermURL:   "a link",
	model.TermEmail: "an e-mail address",
	model.TermNum:   "numbers",
	model.TermMoney: "amounts of money",
	model.TermCaps:  "words in capitals",
}

// combinedReason names the evidence that decided the score: on the spam
// side the two strongest signals for spam, on the other side the model's
// view and any weaker signals that were outweighed.
func combinedReason(evs []evidence, score float64) string {
	sorted := slices.Clone(evs)
	slices.SortStableFunc(sorted, func(a, b evidence) int {
		switch {
		case a.weight > b.weight:
			return -1
		case a.weight < b.weight:
			return 1
		}
		return 0
	})
	var parts []string
	if score >= 0.5 {
		for _, ev := range sorted {
			if ev.weight > 0 && len(parts) < 2 {
				parts = append(parts, ev.reason)
			}
		}
		return strings.Join(parts, "; ")
	}
	for _, ev := range sorted {
		if ev.label == labelModel || len(parts) < 2 {
			parts = append(parts, ev.reason)
		}
	}
	return "not spam: " + strings.Join(parts, "; ")
}

// combinedSpans are the spans of the evidence for spam, in text order,
// without repeats.
func combinedSpans(evs []evidence) []sdk.Span {
	var out []sdk.Span
	for _, ev := range evs {
		if ev.weight > 0 {
			out = append(out, ev.spans...)
		}
	}
	slices.SortFunc(out, func(a, b sdk.Span) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return a.End - b.End
	})
	return capSpans(slices.Compact(out))
}

func capSpans(s []sdk.Span) []sdk.Span {
	if len(s) > maxSpans {
		return s[:maxSpans]
	}
	return s
}

// countWords counts the word tokens (not the <caps> marks).
func countWords(toks []model.Token) int {
	n := 0
	for _, t := range toks {
		if t.Term != model.TermCaps {
			n++
		}
	}
	return n
}
