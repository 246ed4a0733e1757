// Package policy turns analyzers' findings into an action: an ordered list of
// rules over labels, scores, author, target and connector, the first that matches
// deciding, with a reason written from the rule's template; an author allow
// list that always approves; and dry run, globally or per rule.
package policy

import (
	"fmt"
	"slices"
	"strings"
	"text/template"

	"github.com/moderatorbot/moderator/core/config"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
)

// Policy is a compiled [policy] section.
type Policy struct {
	rules  []rule
	allow  map[string]bool
	dryRun bool
}

type rule struct {
	config.Rule
	reason *template.Template
	dryRun bool
}

// New compiles the rules. dryRun is [moderator] dry_run; a rule's own
// dry_run overrides it.
func New(p config.Policy, dryRun bool) (*Policy, error) {
	out := &Policy{allow: map[string]bool{}, dryRun: dryRun}
	for _, a := range p.AllowAuthors {
		out.allow[normAuthor(a)] = true
	}
	for _, r := range p.Rules {
		cr := rule{Rule: r, dryRun: dryRun}
		if r.DryRun != nil {
			cr.dryRun = *r.DryRun
		}
		text := r.Reason
		if text == "" {
			text = `{{.Label}} {{printf "%.2f" .Score}} from {{.Analyzer}}{{if .LabelReason}}: {{.LabelReason}}{{end}}`
		}
		t, err := template.New(r.Name).Option("missingkey=error").Parse(text)
		if err != nil {
			return nil, fmt.Errorf("rule %q: reason template: %w", r.Name, err)
		}
		cr.reason = t
		out.rules = append(out.rules, cr)
	}
	return out, nil
}

// normAuthor makes "@Name" and "name" the same handle; ids are kept as they are.
func normAuthor(s string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "@"))
}

// Verdict is the policy's answer for one comment.
type Verdict struct {
	Rule   string
	Action string
	Reason string
	DryRun bool
}

// ReasonData is what a rule's reason template can use.
type ReasonData struct {
	Rule        string
	Label       string
	Score       float64
	Analyzer    string
	LabelReason string
	Author      string
	Comment     sdk.Comment
}

// Decide applies the rules to one comment's analyses. targets are the ids
// of the targets whose watch brought the comment's post in (its author's,
// publication's or query's, or the post's own): a rule's when.targets
// matches any of them, or the post's id.
func (p *Policy) Decide(c sdk.Comment, analyses []store.Analysis, targets []string) Verdict {
	for _, who := range []string{c.AuthorID, c.AuthorHandle} {
		if who != "" && p.allow[normAuthor(who)] {
			return Verdict{Action: sdk.ActionApprove, Reason: fmt.Sprintf("author %s is on the allow list", Author(c)), DryRun: p.dryRun}
		}
	}
	for _, r := range p.rules {
		m, ok := r.match(c, analyses, targets)
		if !ok {
			continue
		}
		var b strings.Builder
		data := ReasonData{Rule: r.Name, Label: m.label.Name, Score: m.label.Score, Analyzer: m.analyzer,
			LabelReason: m.label.Reason, Author: Author(c), Comment: c}
		if err := r.reason.Execute(&b, data); err != nil {
			// The template parsed at load; a failure here is a data problem
			// and must not cost the decision its explanation.
			fmt.Fprintf(&b, "%s %.2f from %s (reason template failed: %v)", m.label.Name, m.label.Score, m.analyzer, err)
		}
		return Verdict{Rule: r.Name, Action: r.Action, Reason: b.String(), DryRun: r.dryRun}
	}
	return Verdict{Action: sdk.ActionApprove, Reason: "no rule matched", DryRun: p.dryRun}
}

type match struct {
	analyzer string
	label    sdk.Label
}

func (r *rule) match(c sdk.Comment, analyses []store.Analysis, targets []string) (match, bool) {
	if len(r.When.Authors) > 0 && !r.authorIn(c) {
		return match{}, false
	}
	if len(r.When.Connectors) > 0 && !contains(r.When.Connectors, c.Connector) {
		return match{}, false
	}
	if len(r.When.Targets) > 0 && !contains(r.When.Targets, c.PostID) &&
		!slices.ContainsFunc(targets, func(t string) bool { return contains(r.When.Targets, t) }) {
		return match{}, false
	}
	var best match
	found := false
	for _, a := range analyses {
		if len(r.When.Analyzers) > 0 && !contains(r.When.Analyzers, a.Analyzer) {
			continue
		}
		for _, l := range a.Labels {
			if l.Score >= r.When.MinScore && contains(r.When.Labels, l.Name) && (!found || l.Score > best.label.Score) {
				best, found = match{analyzer: a.Analyzer, label: l}, true
			}
		}
	}
	return best, found
}

func (r *rule) authorIn(c sdk.Comment) bool {
	for _, a := range r.When.Authors {
		n := normAuthor(a)
		if n == normAuthor(c.AuthorID) || (c.AuthorHandle != "" && n == normAuthor(c.AuthorHandle)) {
			return true
		}
	}
	return false
}

// Author names a comment's author as people read it: "@handle" when the
// platform gave one, else the account id.
func Author(c sdk.Comment) string {
	if c.AuthorHandle != "" {
		return "@" + strings.TrimPrefix(c.AuthorHandle, "@")
	}
	return c.AuthorID
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
