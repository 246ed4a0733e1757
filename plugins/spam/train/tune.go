package main

import (
	"fmt"
	"sort"
)

// tuneGrid is the hyper-parameter grid tune searches.
var tuneGrid = struct {
	Vocab  []int
	L2     []float64
	Epochs []int
}{
	Vocab:  []int{2000, 3000, 5000, 10000, 20000},
	L2:     []float64{1e-4, 1e-3},
	Epochs: []int{15, 30},
}

// tune picks the options with the best F1 on a validation split carved out
// of the training folders by time, the last fifth of each folder (the files
// are numbered in the order they were collected), so the test folders are
// never looked at while choosing. It returns the chosen options and the
// validation F1 they reached.
func tune(train []Example, base trainOptions) (trainOptions, float64) {
	var fit, val []Example
	byGroup := map[string][]Example{}
	var groups []string
	for _, ex := range train {
		if _, ok := byGroup[ex.Group]; !ok {
			groups = append(groups, ex.Group)
		}
		byGroup[ex.Group] = append(byGroup[ex.Group], ex)
	}
	sort.Strings(groups)
	for _, g := range groups {
		exs := byGroup[g]
		cut := len(exs) * 4 / 5
		fit = append(fit, exs[:cut]...)
		val = append(val, exs[cut:]...)
	}
	best, bestF1 := base, -1.0
	for _, v := range tuneGrid.Vocab {
		for _, l2 := range tuneGrid.L2 {
			for _, ep := range tuneGrid.Epochs {
				o := base
				o.Vocab, o.L2, o.Epochs = v, l2, ep
				m := trainLogistic(fit, selectVocab(fit, o), o)
				f := measure(m, val)
				fmt.Printf("tune vocab=%d l2=%g epochs=%d: %s\n", v, l2, ep, f)
				if f.F1 > bestF1 {
					best, bestF1 = o, f.F1
				}
			}
		}
	}
	return best, bestF1
}
