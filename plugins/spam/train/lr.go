package main

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/moderatorbot/moderator/plugins/spam/model"
)

// trainOptions are the knobs of the training run; PROVENANCE.md records the
// values the committed model was trained with.
type trainOptions struct {
	Vocab    int     // terms kept, by how well they separate the classes
	MinDF    int     // a term must occur in at least this many messages
	MinTerms int     // see model.Model.MinTerms
	L2       float64 // L2 penalty per example
	Epochs   int
	Rate     float64 // Adagrad base learning rate
	Seed     uint64
	Balance  bool // weight the classes to count equally
}

// doc is one training example as sparse features.
type doc struct {
	idx   []int32 // feature indices of the distinct known terms
	scale float64 // the value of each of them (model.Model.Scale)
	y     float64 // 1 for spam
	w     float64 // example weight
}

// selectVocab keeps the opts.Vocab terms with document frequency at least
// MinDF whose spam and ham document frequencies differ the most (absolute
// smoothed log ratio, weighted by how common the term is).
func selectVocab(train []Example, opts trainOptions) []string {
	dfSpam, dfHam := map[string]int{}, map[string]int{}
	nSpam, nHam := 0, 0
	for _, ex := range train {
		seen := map[string]bool{}
		for _, t := range model.Terms(ex.Text) {
			if seen[t] {
				continue
			}
			seen[t] = true
			if ex.Spam {
				dfSpam[t]++
			} else {
				dfHam[t]++
			}
		}
		if ex.Spam {
			nSpam++
		} else {
			nHam++
		}
	}
	type cand struct {
		term  string
		score float64
	}
	var cands []cand
	terms := map[string]bool{}
	for t := range dfSpam {
		terms[t] = true
	}
	for t := range dfHam {
		terms[t] = true
	}
	for t := range terms {
		s, h := dfSpam[t], dfHam[t]
		if s+h < opts.MinDF {
			continue
		}
		ps := (float64(s) + 0.5) / (float64(nSpam) + 1)
		ph := (float64(h) + 0.5) / (float64(nHam) + 1)
		cands = append(cands, cand{t, math.Abs(math.Log(ps/ph)) * math.Sqrt(ps+ph)})
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].score != cands[j].score {
			return cands[i].score > cands[j].score
		}
		return cands[i].term < cands[j].term
	})
	if len(cands) > opts.Vocab {
		cands = cands[:opts.Vocab]
	}
	out := make([]string, len(cands))
	for i, c := range cands {
		out[i] = c.term
	}
	sort.Strings(out)
	return out
}

// trainLogistic fits an L2-regularised logistic regression with Adagrad SGD
// over shuffled examples (a fixed seed: the same corpus gives the same model).
func trainLogistic(train []Example, vocab []string, opts trainOptions) *model.Model {
	index := make(map[string]int32, len(vocab))
	for i, t := range vocab {
		index[t] = int32(i)
	}
	m := &model.Model{Format: model.Format, Kind: "logistic", MinTerms: opts.MinTerms}
	nSpam := 0
	for _, ex := range train {
		if ex.Spam {
			nSpam++
		}
	}
	wSpam, wHam := 1.0, 1.0
	if opts.Balance {
		wSpam = float64(len(train)) / (2 * float64(nSpam))
		wHam = float64(len(train)) / (2 * float64(len(train)-nSpam))
	}
	docs := make([]doc, len(train))
	for i, ex := range train {
		terms := model.Terms(ex.Text)
		seen := map[string]bool{}
		var d doc
		for _, t := range terms {
			if seen[t] {
				continue
			}
			seen[t] = true
			if j, ok := index[t]; ok {
				d.idx = append(d.idx, j)
			}
		}
		d.scale = m.Scale(len(seen))
		d.y, d.w = 0, wHam
		if ex.Spam {
			d.y, d.w = 1, wSpam
		}
		docs[i] = d
	}
	w := make([]float64, len(vocab))
	g2 := make([]float64, len(vocab))
	var bias, gb2 float64
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x5eed))
	order := make([]int, len(docs))
	for i := range order {
		order[i] = i
	}
	for range opts.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, k := range order {
			d := docs[k]
			z := bias
			for _, j := range d.idx {
				z += w[j] * d.scale
			}
			g := (model.Sigmoid(z) - d.y) * d.w
			gb2 += g * g
			bias -= opts.Rate * g / (math.Sqrt(gb2) + 1e-8)
			for _, j := range d.idx {
				gj := g*d.scale + opts.L2*w[j]
				g2[j] += gj * gj
				w[j] -= opts.Rate * gj / (math.Sqrt(g2[j]) + 1e-8)
			}
		}
	}
	m.Bias = round(bias)
	m.Weights = make(map[string]float64, len(vocab))
	for i, t := range vocab {
		if r := round(w[i]); math.Abs(r) >= 1e-3 {
			m.Weights[t] = r
		}
	}
	return m
}

// round keeps four decimals, plenty for a weight and half the file size.
func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }
