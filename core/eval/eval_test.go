package eval

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

func TestReadDataset(t *testing.T) {
	tests := []struct {
		name, in, err string
		n             int
	}{
		{"good", `{"id":"1","text":"hi","labels":[]}` + "\n\n" + `{"id":"2","text":"buy now","labels":["spam"]}`, "", 2},
		{"no labels key is no labels", `{"id":"1","text":"hi"}`, "", 1},
		{"bad json", `{"id":"1","text":}`, "d.jsonl:1: invalid character", 0},
		{"unknown field", `{"id":"1","text":"x","label":["spam"]}`, `d.jsonl:1: json: unknown field "label"`, 0},
		{"missing id", `{"text":"x"}`, `d.jsonl:1: "id" is missing`, 0},
		{"duplicate id", `{"id":"1","text":"x"}` + "\n" + `{"id":"1","text":"y"}`, `d.jsonl:2: id "1" was already used on line 1`, 0},
		{"labels not a list", `{"id":"1","text":"x","labels":"spam"}`, "d.jsonl:1: json: cannot unmarshal", 0},
		{"empty label", `{"id":"1","text":"x","labels":[""]}`, "d.jsonl:1: an empty label", 0},
		{"two values", `{"id":"1","text":"x"} {"id":"2"}`, "d.jsonl:1: more after the JSON object", 0},
		{"a stray bracket", `{"id":"1","text":"x"}]`, "d.jsonl:1: more after the JSON object", 0},
		{"a byte order mark", "\ufeff" + `{"id":"1","text":"x"}`, "", 1},
		{"a byte order mark later is not", `{"id":"1","text":"x"}` + "\n\ufeff" + `{"id":"2","text":"y"}`, "d.jsonl:2: invalid character", 0},
		{"a line too long", `{"id":"1","text":"x"}` + "\n" + `{"id":"2","text":"` + strings.Repeat("x", maxLine) + `"}`, "d.jsonl:2: the line is longer than", 0},
		{"empty file", "\n", "d.jsonl: no examples", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadDataset(strings.NewReader(tt.in), "d.jsonl")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || len(got) != tt.n {
				t.Fatalf("got %d examples, err %v", len(got), err)
			}
		})
	}
}

func TestScore(t *testing.T) {
	examples := []Example{
		{ID: "1", Labels: []string{"spam"}},
		{ID: "2", Labels: []string{"spam", "insult"}},
		{ID: "3"},
		{ID: "4", Labels: []string{"spam"}},
	}
	predicted := [][]string{{"spam", "spam.links"}, {"insult"}, {"spam", "threat"}, {"spam"}}
	rep := Score(examples, predicted)
	want := map[string]Counts{
		"spam":   {TP: 2, FP: 1, FN: 1, TN: 0, Precision: 2.0 / 3, Recall: 2.0 / 3, F1: 2.0 / 3},
		"insult": {TP: 1, FP: 0, FN: 0, TN: 3, Precision: 1, Recall: 1, F1: 1},
		"threat": {TP: 0, FP: 1, FN: 0, TN: 3},
	}
	if got := strings.Join(rep.Labels(), ","); got != "insult,spam,threat" {
		t.Errorf("labels %s", got)
	}
	for l, w := range want {
		g := *rep[l]
		if g.TP != w.TP || g.FP != w.FP || g.FN != w.FN || g.TN != w.TN ||
			math.Abs(g.Precision-w.Precision) > 1e-9 || math.Abs(g.Recall-w.Recall) > 1e-9 || math.Abs(g.F1-w.F1) > 1e-9 {
			t.Errorf("%s: got %+v, want %+v", l, g, w)
		}
	}
}

func FuzzReadDataset(f *testing.F) {
	f.Add(`{"id":"1","text":"hi","labels":["spam"]}`)
	f.Add("{\"id\":\"\u00e9\",\"text\":\"\\ud800\"}\n\n{}")
	f.Fuzz(func(t *testing.T, in string) {
		exs, err := ReadDataset(strings.NewReader(in), "f")
		if err == nil && len(exs) == 0 {
			t.Fatal("no error and no examples")
		}
		for _, ex := range exs {
			if ex.ID == "" {
				t.Fatal("example without id accepted")
			}
		}
	})
}

// failsOn is an analyzer that fails one comment of each batch and scores
// the rest as spam.
type failsOn string

func (f failsOn) Analyze(_ context.Context, cs []sdk.Comment) ([]sdk.Result, error) {
	out := make([]sdk.Result, len(cs))
	for i, c := range cs {
		out[i] = sdk.Result{CommentID: c.ID, Labels: []sdk.Label{{Name: "spam", Score: 1}}}
		if c.ID == string(f) {
			out[i] = sdk.Result{CommentID: c.ID, Err: "model not loaded"}
		}
	}
	return out, nil
}

// TestPredictFailsOnACommentTheAnalyzerFailed: a comment an analyzer could
// not analyze is not counted as "nothing predicted", which would lower the
// figures without a sign.
func TestPredictFailsOnACommentTheAnalyzerFailed(t *testing.T) {
	examples := []Example{{ID: "1", Text: "a"}, {ID: "2", Text: "b"}}
	got, err := Predict(context.Background(), examples, []Analyzer{{Name: "m", Analyzer: failsOn("none")}}, 10, 0.5, nil)
	if err != nil || len(got[1]) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	_, err = Predict(context.Background(), examples, []Analyzer{{Name: "m", Analyzer: failsOn("2")}}, 10, 0.5, nil)
	if err == nil || !strings.Contains(err.Error(), `analyzer m on example "2": model not loaded`) {
		t.Errorf("error %v", err)
	}
}

// TestPredictCutsBatchesByBytes: examples of long texts, a hundred to a
// batch, would make an Analyze call over gRPC's message limit; a real
// plugin process must receive them in calls it can take.
func TestPredictCutsBatchesByBytes(t *testing.T) {
	proc := plugintest.Start(t, sdk.Plugin{Info: sdk.Info{Name: "m", Version: "1", Labels: []string{"spam"}}, Analyzer: failsOn("none")})
	long := strings.Repeat("x", sdk.MaxMessageBytes/4)
	var examples []Example
	for i := range 6 {
		examples = append(examples, Example{ID: fmt.Sprint(i), Text: long})
	}
	got, err := Predict(context.Background(), examples, []Analyzer{{Name: "m", Analyzer: proc}}, 100, 0.5, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, labels := range got {
		if !slices.Equal(labels, []string{"spam"}) {
			t.Errorf("example %d: %v", i, labels)
		}
	}
}
