// Package model is the spam plugin's statistical model: a logistic
// regression over the words of a text, trained from the SpamAssassin public
// corpus by ../train and shipped in this directory as model.json.gz (see
// PROVENANCE.md). It also holds the tokeniser, which training and serving
// share so that both see the same features.
package model

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
)

// Format is the version of the model file layout this package reads.
const Format = 1

// Model is a logistic regression over term presence: the log-odds of spam
// are Bias plus the sum of the weights of the distinct known terms, each
// scaled by 1/sqrt(the number of distinct terms, at least MinTerms).
//
// The scaling keeps long and short texts on one footing: an e-mail with 300
// words and a comment with 8 get comparable log-odds, instead of the e-mail
// piling up evidence only because it is long. MinTerms keeps a two-word
// comment from turning one strong word into a certainty.
type Model struct {
	Format   int                `json:"format"`
	Kind     string             `json:"kind"`
	Bias     float64            `json:"bias"`
	MinTerms int                `json:"min_terms"`
	Weights  map[string]float64 `json:"weights"`
	// Meta records where the model came from; it does not affect scoring.
	Meta map[string]any `json:"meta,omitempty"`
}

// Contribution is one term's share of a prediction.
type Contribution struct {
	Term   string
	Weight float64 // its addition to the log-odds
	// Tokens are the occurrences of the term in the text.
	Tokens []Token
}

// Prediction is the model's view of one text.
type Prediction struct {
	// P is the probability of spam; Logit its log-odds.
	P, Logit float64
	// Known is how many distinct terms of the text the model has weights for.
	Known int
	// Top are the terms that pushed the prediction the most towards its
	// side (towards spam when P >= 0.5, towards ham otherwise), largest first.
	Top []Contribution
}

// Load reads a model file, gzip-compressed or plain JSON.
func Load(r io.Reader) (*Model, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("model gzip: %w", err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("model gzip: %w", err)
		}
	}
	var m Model
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode model: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Model) check() error {
	switch {
	case m.Format != Format:
		return fmt.Errorf("model format %d, this build reads format %d", m.Format, Format)
	case m.Kind != "logistic":
		return fmt.Errorf("model kind %q, want \"logistic\"", m.Kind)
	case len(m.Weights) == 0:
		return errors.New("model has no weights")
	case m.MinTerms < 1:
		return fmt.Errorf("model min_terms %d, want at least 1", m.MinTerms)
	case math.IsNaN(m.Bias) || math.IsInf(m.Bias, 0):
		return fmt.Errorf("model bias %v is not a number", m.Bias)
	}
	for t, w := range m.Weights {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("model weight of %q is %v", t, w)
		}
	}
	return nil
}

// WriteTo writes the model as gzip-compressed JSON, terms in sorted order so
// the same model always gives the same bytes.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	if err := m.check(); err != nil {
		return 0, err
	}
	data, err := json.Marshal(m) // encoding/json sorts map keys
	if err != nil {
		return 0, fmt.Errorf("encode model: %w", err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(data); err != nil {
		return 0, fmt.Errorf("compress model: %w", err)
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("compress model: %w", err)
	}
	n, err := w.Write(buf.Bytes())
	return int64(n), err
}

//go:embed model.json.gz
var embedded []byte

// Default returns the model shipped with the plugin. It is decoded once.
var Default = sync.OnceValues(func() (*Model, error) {
	m, err := Load(bytes.NewReader(embedded))
	if err != nil {
		return nil, fmt.Errorf("embedded spam model: %w", err)
	}
	return m, nil
})

// Scale is the factor each distinct term's weight is multiplied by in a text
// with n distinct terms.
func (m *Model) Scale(n int) float64 {
	return 1 / math.Sqrt(float64(max(n, m.MinTerms)))
}

// Logit is the log-odds of spam for a text's terms, the fast path used in
// training; it agrees with Predict.
func (m *Model) Logit(terms []string) float64 {
	seen := make(map[string]struct{}, len(terms))
	sum := 0.0
	for _, t := range terms {
		if _, dup := seen[t]; dup {
			continue
		}
		seen[t] = struct{}{}
		sum += m.Weights[t]
	}
	return m.Bias + sum*m.Scale(len(seen))
}

// Predict scores a tokenised text and explains the score with up to top
// terms.
func (m *Model) Predict(toks []Token, top int) Prediction {
	byTerm := make(map[string][]Token, len(toks))
	order := make([]string, 0, len(toks))
	for _, t := range toks {
		if _, ok := byTerm[t.Term]; !ok {
			order = append(order, t.Term)
		}
		byTerm[t.Term] = append(byTerm[t.Term], t)
	}
	scale := m.Scale(len(order))
	var p Prediction
	var contribs []Contribution
	sum := 0.0
	for _, term := range order {
		w, ok := m.Weights[term]
		if !ok {
			continue
		}
		p.Known++
		sum += w
		contribs = append(contribs, Contribution{Term: term, Weight: w * scale, Tokens: byTerm[term]})
	}
	p.Logit = m.Bias + sum*scale
	p.P = Sigmoid(p.Logit)
	sign := 1.0
	if p.P < 0.5 {
		sign = -1
	}
	// Pick the top few by selection: a long text has hundreds of terms and
	// only a handful are wanted.
	for len(p.Top) < top {
		best := -1
		for i, c := range contribs {
			if c.Weight*sign > 0 && (best < 0 || c.Weight*sign > contribs[best].Weight*sign) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		p.Top = append(p.Top, contribs[best])
		contribs[best].Weight = 0
	}
	return p
}

// Sigmoid maps log-odds to a probability.
func Sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
