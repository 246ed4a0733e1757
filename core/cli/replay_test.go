package cli

import (
	"slices"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/core/pipeline"
	"github.com/moderatorbot/moderator/sdk"
)

// The WAS column shows what stood before the replay: the policy's action,
// and the human verdict that overrode it.
func TestPrintReplay(t *testing.T) {
	rep := pipeline.ReplayReport{Replayed: 5, Changed: 3, Held: 1, Changes: []pipeline.Change{
		{ID: "c1", Comment: sdk.Comment{Text: "you hurt my feelings"}, OldAction: "hide", OldRule: "hide-threats", OldOverride: "approve", NewAction: "approve"},
		{ID: "c2", Comment: sdk.Comment{Text: "hurt again"}, OldAction: "hide", OldRule: "hide-threats", NewAction: "approve"},
		{ID: "c3", Comment: sdk.Comment{Text: "buy now"}, OldAction: "approve", OldOverride: "approve", NewAction: "review", NewRule: "review-spam"},
	}}
	var out strings.Builder
	if err := printReplay(&out, rep); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := [][]string{
		{"ID", "WAS", "WOULD BE", "RULE", "TEXT"},
		{"c1", "hide (overridden: approve)", "approve", "-", "you hurt my feelings"},
		{"c2", "hide", "approve", "-", "hurt again"},
		{"c3", "approve", "review", "review-spam", "buy now"},
	}
	if len(lines) != len(want)+1 {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want)+1, out.String())
	}
	for i, cols := range want {
		// Columns are two spaces apart at least; a cell has single spaces.
		var got []string
		for _, c := range strings.Split(lines[i], "  ") {
			if c = strings.TrimSpace(c); c != "" {
				got = append(got, c)
			}
		}
		if strings.Join(got, "|") != strings.Join(cols, "|") {
			t.Errorf("line %d: %q, want the cells %q", i, lines[i], cols)
		}
	}
	if last := lines[len(lines)-1]; last != "5 decisions replayed, 3 would change, 1 could not be analyzed now; nothing was acted on" {
		t.Errorf("summary %q", last)
	}
}

func TestReadReplay(t *testing.T) {
	tests := []struct {
		name, answer string
		progress     []int
		replayed     int
		err          string
	}{
		{"streamed", `{"replayed":100}` + "\n" + `{"replayed":250}` + "\n" + `{"report":{"replayed":250,"changed":0,"held":0,"changes":[]}}` + "\n", []int{100, 250}, 250, ""},
		{"whole, unstreamed", `{"replayed": 4, "changed": 1, "held": 0, "changes": [{"id": "a"}]}`, nil, 4, ""},
		{"whole and empty", `{"replayed": 0, "changed": 0, "held": 0, "changes": []}`, nil, 0, ""},
		{"failed midway", `{"replayed":100}` + "\n" + `{"error":"analyzer rules quarantined"}` + "\n", []int{100}, 0, "analyzer rules quarantined"},
		{"cut short", `{"replayed":100}` + "\n", []int{100}, 0, "ended before its report"},
		{"garbage", `{"replayed":100}` + "\n<html>", []int{100}, 0, "read the daemon's replay answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			var rep pipeline.ReplayReport
			err := readReplay(strings.NewReader(tt.answer), func(n int) { got = append(got, n) }, &rep)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("error %v, want %q", err, tt.err)
			}
			if !slices.Equal(got, tt.progress) || rep.Replayed != tt.replayed {
				t.Errorf("progress %v, replayed %d; want %v, %d", got, rep.Replayed, tt.progress, tt.replayed)
			}
		})
	}
}
