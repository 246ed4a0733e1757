package pipeline

import (
	"context"
	"errors"
	"testing"

	"github.com/moderatorbot/moderator/core/store"
)

// A replay says what stands before it, not only what the policy decided:
// after a human overrode a hide to approve, the comment is not hidden, and
// WAS said "hide" as if it were.
func TestReplayShowsOverrides(t *testing.T) {
	tests := []struct {
		text      string
		overrides []string // verdicts, in order
		// wantOverride is Change.OldOverride, wantWas what the WAS column
		// shows.
		wantOverride, wantWas string
	}{
		{text: "hurt, never overridden", wantWas: "hide"},
		{text: "hurt, then approved", overrides: []string{"approve"},
			wantOverride: "approve", wantWas: "hide (overridden: approve)"},
		{text: "hurt, approved, then hidden again", overrides: []string{"approve", "hide"},
			wantOverride: "hide", wantWas: "hide"},
		{text: "hurt, then flagged", overrides: []string{"flag"},
			wantOverride: "flag", wantWas: "hide (overridden: flag)"},
	}
	f := newFixture(t, false, local("threats", &wordAnalyzer{word: "hurt", label: "threat"}, "hold"))
	var texts []string
	for _, tt := range tests {
		texts = append(texts, tt.text)
	}
	ids := f.intake(t, texts...)
	f.run(t, func() bool {
		for _, id := range ids {
			if f.record(t, id).State != store.StateActed {
				return false
			}
		}
		return true
	})
	p, err := New(f.opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		for _, verdict := range tt.overrides {
			if _, err := p.Override(context.Background(), f.store, ids[i], verdict, "a human's call", "ops"); err != nil {
				t.Fatalf("%q: override to %s: %v", tt.text, verdict, err)
			}
		}
	}

	// The operator narrows the rule: none of these is a threat any more.
	f.opts.Analyzers = []Analyzer{local("threats", &wordAnalyzer{word: "will hurt", label: "threat"}, "hold")}
	p, err = New(f.opts)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Replay(context.Background(), f.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Replayed != len(tests) || rep.Changed != len(tests) || len(rep.Changes) != len(tests) {
		t.Fatalf("report %+v, want all %d replayed and changed", rep, len(tests))
	}
	byID := map[string]Change{}
	for _, c := range rep.Changes {
		byID[c.ID] = c
	}
	for i, tt := range tests {
		c := byID[ids[i]]
		if c.OldAction != "hide" || c.OldOverride != tt.wantOverride || c.NewAction != "approve" {
			t.Errorf("%q: old %s, overridden to %q, new %s; want hide, %q, approve", tt.text, c.OldAction, c.OldOverride, c.NewAction, tt.wantOverride)
		}
		if got := c.Was(); got != tt.wantWas {
			t.Errorf("%q: WAS %q, want %q", tt.text, got, tt.wantWas)
		}
	}
}

// A comment the analyzers could not decide, decided by a human, shows as
// such in a replay that now can decide it.
func TestReplayShowsADecisionByHand(t *testing.T) {
	down := &wordAnalyzer{word: "hurt", label: "threat", fail: func(int) error { return errors.New("model server down") }}
	f := newFixture(t, false, local("threats", down, "hold"))
	ids := f.intake(t, "I will hurt you")
	f.run(t, f.idle)
	p, _ := New(f.opts)
	if _, err := p.Override(context.Background(), f.store, ids[0], "flag", "", "ops"); err != nil {
		t.Fatal(err)
	}
	down.fail = nil
	rep, err := p.Replay(context.Background(), f.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 1 {
		t.Fatalf("report %+v", rep)
	}
	if c := rep.Changes[0]; c.OldBy != "ops" || c.Was() != "flag (by hand)" || c.NewAction != "hide" || c.NewRule != "hide-threats" {
		t.Errorf("change %+v, WAS %q", c, c.Was())
	}
}
