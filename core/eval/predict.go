package eval

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/moderatorbot/moderator/core/internal/batch"
	"github.com/moderatorbot/moderator/sdk"
)

// Analyzer is one named analyzer, the largest batch it takes (0: any) and
// the labels it declares.
type Analyzer struct {
	Name     string
	Analyzer sdk.Analyzer
	MaxBatch int
	Labels   []string
}

// Predict runs every analyzer over the examples, batch by batch (at most
// size examples each), all analyzers of a batch at once, and returns for
// each example the labels any analyzer scored at or above threshold.
// progress, when set, is told how many examples are done.
func Predict(ctx context.Context, examples []Example, analyzers []Analyzer, size int, threshold float64, progress func(done int)) ([][]string, error) {
	if size <= 0 {
		size = 100
	}
	for _, a := range analyzers {
		if a.MaxBatch > 0 && a.MaxBatch < size {
			size = a.MaxBatch
		}
	}
	out := make([][]string, len(examples))
	all := make([]sdk.Comment, len(examples))
	for i, ex := range examples {
		all[i] = sdk.Comment{ID: ex.ID, Text: ex.Text, PostID: "eval", AuthorID: "eval", Platform: "eval"}
	}
	for start, end := 0, 0; start < len(examples); start = end {
		// Cut by bytes too: a dataset of long texts must not make a call
		// the transport refuses for its size.
		end = batch.End(all, start, size)
		comments := all[start:end]
		results := make([][]sdk.Result, len(analyzers))
		errs := make([]error, len(analyzers))
		var wg sync.WaitGroup
		for i, a := range analyzers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = a.Analyzer.Analyze(ctx, comments)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("analyzer %s on examples %d-%d: %w", analyzers[i].Name, start+1, end, err)
			}
		}
		for j := range comments {
			set := map[string]bool{}
			for i := range analyzers {
				if err := results[i][j].Err; err != "" {
					// Counting it as "nothing predicted" would lower the
					// figures with no sign of why.
					return nil, fmt.Errorf("analyzer %s on example %q: %s", analyzers[i].Name, comments[j].ID, err)
				}
				for _, l := range results[i][j].Labels {
					if l.Score >= threshold {
						set[l.Name] = true
					}
				}
			}
			for l := range set {
				out[start+j] = append(out[start+j], l)
			}
			sort.Strings(out[start+j])
		}
		if progress != nil {
			progress(end)
		}
	}
	return out, nil
}
