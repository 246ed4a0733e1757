// Package eval measures analyzers against labelled comments: it reads the
// dataset format of `moderator eval` and counts, per label, true and false
// positives and negatives, with precision, recall and F1.
//
// The dataset is JSON lines, one example per line:
//
//	{"id": "c1", "text": "buy followers at example.com", "labels": ["spam"]}
//
// labels lists every label that is true for the text; a label missing from
// the list is false for it. A label counts as predicted when any analyzer
// gives it a score at or above the threshold (0.5 by default).
package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Example is one labelled comment.
type Example struct {
	ID     string   `json:"id"`
	Text   string   `json:"text"`
	Labels []string `json:"labels"`
}

// maxLine bounds one dataset line; a comment is far smaller.
const maxLine = 4 << 20

// ReadDataset reads every example, refusing the whole file at the first bad
// line with its line number: a half-read dataset would give wrong figures.
func ReadDataset(r io.Reader, name string) ([]Example, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var out []Example
	seen := map[string]int{}
	line := 0
	for sc.Scan() {
		line++
		raw := sc.Bytes()
		if line == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\ufeff")) // a byte order mark some editors write
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		var ex Example
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ex); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, fmt.Errorf("%s:%d: more after the JSON object", name, line)
		}
		switch {
		case ex.ID == "":
			return nil, fmt.Errorf("%s:%d: \"id\" is missing or empty", name, line)
		case seen[ex.ID] != 0:
			return nil, fmt.Errorf("%s:%d: id %q was already used on line %d", name, line, ex.ID, seen[ex.ID])
		}
		for _, l := range ex.Labels {
			if l == "" {
				return nil, fmt.Errorf("%s:%d: an empty label", name, line)
			}
		}
		seen[ex.ID] = line
		out = append(out, ex)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s:%d: the line is longer than %d bytes", name, line+1, maxLine)
		}
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no examples", name)
	}
	return out, nil
}

// Counts is the confusion matrix of one label and what follows from it.
type Counts struct {
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	FN        int     `json:"fn"`
	TN        int     `json:"tn"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// Report maps each label to its counts: every label of the dataset, and
// every label of the shared vocabulary that was predicted. A plugin's own
// labels ("spam.links") count only when the dataset names them, since
// otherwise every one of them would show as a false positive.
type Report map[string]*Counts

// Score compares predicted[i] (the labels predicted for examples[i]) with the
// truth. Precision, recall and F1 are 0 where undefined (nothing predicted,
// nothing to find).
func Score(examples []Example, predicted [][]string) Report {
	rep := Report{}
	truth := make([]map[string]bool, len(examples))
	for i, ex := range examples {
		truth[i] = map[string]bool{}
		for _, l := range ex.Labels {
			truth[i][l] = true
			rep[l] = &Counts{}
		}
	}
	pred := make([]map[string]bool, len(examples))
	for i := range examples {
		pred[i] = map[string]bool{}
		if i < len(predicted) {
			for _, l := range predicted[i] {
				pred[i][l] = true
				if rep[l] == nil && !strings.Contains(l, ".") {
					rep[l] = &Counts{}
				}
			}
		}
	}
	for label, c := range rep {
		for i := range examples {
			switch t, p := truth[i][label], pred[i][label]; {
			case t && p:
				c.TP++
			case !t && p:
				c.FP++
			case t && !p:
				c.FN++
			default:
				c.TN++
			}
		}
		c.Precision = ratio(c.TP, c.TP+c.FP)
		c.Recall = ratio(c.TP, c.TP+c.FN)
		if c.Precision+c.Recall > 0 {
			c.F1 = 2 * c.Precision * c.Recall / (c.Precision + c.Recall)
		}
	}
	return rep
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Labels returns the report's labels in order.
func (r Report) Labels() []string {
	out := make([]string, 0, len(r))
	for l := range r {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}
