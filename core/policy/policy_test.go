package policy

import (
	"testing"

	"github.com/moderatorbot/moderator/core/config"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
)

func TestDecide(t *testing.T) {
	no := false
	pol, err := New(config.Policy{
		AllowAuthors: []string{"@Friend", "42"},
		Rules: []config.Rule{
			{Name: "hide-threats", Action: "hide", Reason: "{{.Label}} {{printf \"%.1f\" .Score}} by {{.Author}} ({{.Analyzer}}: {{.LabelReason}})",
				When: config.Condition{Labels: []string{"threat"}, MinScore: 0.8}},
			{Name: "spam-on-launch", Action: "delete", DryRun: &no,
				When: config.Condition{Labels: []string{"spam"}, MinScore: 0.9, Targets: []string{"launch"}, Analyzers: []string{"spam"}}},
			{Name: "review-spam", Action: "review", When: config.Condition{Labels: []string{"spam"}, MinScore: 0.5}},
			{Name: "troll", Action: "flag", When: config.Condition{Labels: []string{"negative"}, MinScore: 0.1, Authors: []string{"@Troll"}}},
		},
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	an := func(analyzer string, labels ...sdk.Label) store.Analysis {
		return store.Analysis{Analyzer: analyzer, Labels: labels}
	}
	threat := sdk.Label{Name: "threat", Score: 0.93, Reason: "matched \"I will find you\""}
	spam := sdk.Label{Name: "spam", Score: 0.95}
	tests := []struct {
		name     string
		c        sdk.Comment
		analyses []store.Analysis
		want     Verdict
	}{
		{"nothing", sdk.Comment{AuthorID: "1"}, []store.Analysis{an("rules")}, Verdict{Action: "approve", Reason: "no rule matched", DryRun: true}},
		{"threat", sdk.Comment{AuthorID: "1", AuthorHandle: "bob"}, []store.Analysis{an("rules", threat)},
			Verdict{Rule: "hide-threats", Action: "hide", Reason: "threat 0.9 by @bob (rules: matched \"I will find you\")", DryRun: true}},
		{"below threshold", sdk.Comment{}, []store.Analysis{an("rules", sdk.Label{Name: "threat", Score: 0.79})},
			Verdict{Action: "approve", Reason: "no rule matched", DryRun: true}},
		{"first rule wins", sdk.Comment{PostID: "launch"}, []store.Analysis{an("spam", spam), an("rules", threat)},
			Verdict{Rule: "hide-threats", Action: "hide", Reason: "threat 0.9 by  (rules: matched \"I will find you\")", DryRun: true}},
		{"target and analyzer scope, rule dry run off", sdk.Comment{PostID: "launch"}, []store.Analysis{an("spam", spam)},
			Verdict{Rule: "spam-on-launch", Action: "delete", Reason: "spam 0.95 from spam", DryRun: false}},
		{"other analyzer's spam falls through", sdk.Comment{PostID: "launch"}, []store.Analysis{an("other", spam)},
			Verdict{Rule: "review-spam", Action: "review", Reason: "spam 0.95 from other", DryRun: true}},
		{"author scope", sdk.Comment{AuthorHandle: "@troll"}, []store.Analysis{an("s", sdk.Label{Name: "negative", Score: 0.2})},
			Verdict{Rule: "troll", Action: "flag", Reason: "negative 0.20 from s", DryRun: true}},
		{"allow list by handle", sdk.Comment{AuthorHandle: "friend"}, []store.Analysis{an("rules", threat)},
			Verdict{Action: "approve", Reason: "author @friend is on the allow list", DryRun: true}},
		{"allow list by id", sdk.Comment{AuthorID: "42"}, []store.Analysis{an("rules", threat)},
			Verdict{Action: "approve", Reason: "author 42 is on the allow list", DryRun: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pol.Decide(tt.c, tt.analyses, nil); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestBadTemplate(t *testing.T) {
	_, err := New(config.Policy{Rules: []config.Rule{{Name: "x", Action: "flag", Reason: "{{.Nope"}}}, false)
	if err == nil {
		t.Fatal("bad template accepted")
	}
	pol, _ := New(config.Policy{Rules: []config.Rule{{Name: "x", Action: "flag", Reason: "{{.Missing}}", When: config.Condition{Labels: []string{"spam"}}}}}, false)
	v := pol.Decide(sdk.Comment{}, []store.Analysis{{Analyzer: "a", Labels: []sdk.Label{{Name: "spam", Score: 1}}}}, nil)
	if v.Action != "flag" || v.Reason == "" {
		t.Errorf("a template failing at run time must still give a decision with a reason: %+v", v)
	}
}

// TestConnectorScope: when.connectors limits a rule to the comments its
// connectors brought in, together with the other conditions.
func TestConnectorScope(t *testing.T) {
	pol, err := New(config.Policy{Rules: []config.Rule{
		{Name: "hide-on-x", Action: "hide", When: config.Condition{Labels: []string{"spam"}, MinScore: 0.5, Connectors: []string{"x", "x2"}}},
		{Name: "flag-on-medium-for-alice", Action: "flag", When: config.Condition{Labels: []string{"spam"}, MinScore: 0.5, Connectors: []string{"medium"}, Targets: []string{"alice"}}},
	}}, false)
	if err != nil {
		t.Fatal(err)
	}
	spam := []store.Analysis{{Analyzer: "s", Labels: []sdk.Label{{Name: "spam", Score: 0.9}}}}
	for _, tt := range []struct {
		connector string
		targets   []string
		rule      string
	}{
		{"x", nil, "hide-on-x"},
		{"x2", []string{"alice"}, "hide-on-x"},
		{"medium", []string{"alice"}, "flag-on-medium-for-alice"},
		{"medium", []string{"bob"}, ""},
		{"other", []string{"alice"}, ""},
		{"", nil, ""},
	} {
		if v := pol.Decide(sdk.Comment{Connector: tt.connector, PostID: "p"}, spam, tt.targets); v.Rule != tt.rule {
			t.Errorf("a comment from %q (targets %q): rule %q, want %q", tt.connector, tt.targets, v.Rule, tt.rule)
		}
	}
}

// TestTargetScope: when.targets names targets of any kind; a comment is in
// scope when its post is one of them, or was brought in by one of them.
func TestTargetScope(t *testing.T) {
	pol, err := New(config.Policy{Rules: []config.Rule{
		{Name: "strict-on-alice", Action: "hide", When: config.Condition{Labels: []string{"spam"}, MinScore: 0.5, Targets: []string{"alice", "p1"}}},
	}}, false)
	if err != nil {
		t.Fatal(err)
	}
	spam := []store.Analysis{{Analyzer: "s", Labels: []sdk.Label{{Name: "spam", Score: 0.9}}}}
	for _, tt := range []struct {
		name    string
		post    string
		targets []string
		rule    string
	}{
		{"the post target itself", "p1", []string{"p1"}, "strict-on-alice"},
		{"a post named in the rule, untracked (webhook)", "p1", nil, "strict-on-alice"},
		{"a post of alice's, found by her author target", "p7", []string{"alice"}, "strict-on-alice"},
		{"a post of alice's, also watched by a query", "p7", []string{"launch-query", "alice"}, "strict-on-alice"},
		{"someone else's post", "p8", []string{"bob"}, ""},
		{"an untracked post", "p9", nil, ""},
	} {
		if v := pol.Decide(sdk.Comment{PostID: tt.post}, spam, tt.targets); v.Rule != tt.rule {
			t.Errorf("%s: rule %q, want %q", tt.name, v.Rule, tt.rule)
		}
	}
}
