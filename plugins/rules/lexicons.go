package main

import (
	"bufio"
	"embed"
	"errors"
	"fmt"
	"strings"

	"github.com/moderatorbot/moderator/sdk"
)

// The built-in lexicons, derived by lexicons/derive.mjs (see
// lexicons/SOURCE.md). Each line is "term<TAB>severity"; "#" starts a
// comment.
//
//go:embed lexicons/*.txt
var lexiconFS embed.FS

// defaultRule is one built-in rule and the lexicon files it reads.
type defaultRule struct {
	name  string
	label string
	terms string // lexicon of terms, each with its severity
	// near, when set, is a lexicon of context terms: a term counts only
	// within `within` words of one of them.
	near      string
	within    int
	nearFirst bool
}

// defaultRules are what `defaults = true` turns on. Identity terms appear
// only in the last one, and only count next to an attack: "I am a gay black
// woman" gives nothing.
var defaultRules = []defaultRule{
	{name: "profanity", label: sdk.LabelProfanity, terms: "profanity.txt"},
	{name: "sexual", label: sdk.LabelSexual, terms: "sexual.txt"},
	{name: "insult", label: sdk.LabelInsult, terms: "insult.txt"},
	{name: "insult aimed at someone", label: sdk.LabelInsult, terms: "insult_directed.txt", near: "second_person.txt", within: 3, nearFirst: true},
	{name: "threat", label: sdk.LabelThreat, terms: "threat.txt"},
	{name: "slur", label: sdk.LabelIdentityAttack, terms: "identity_attack.txt"},
	{name: "attack on an identity", label: sdk.LabelIdentityAttack, terms: "identity_terms.txt", near: "attack_terms.txt", within: 2},
}

// lexiconEntry is one line of a lexicon file.
type lexiconEntry struct {
	term     string
	severity uint8
}

// readLexicon parses one embedded lexicon; a line without a severity (in
// the context lists) gets "medium".
func readLexicon(name string) ([]lexiconEntry, error) {
	f, err := lexiconFS.Open("lexicons/" + name)
	if err != nil {
		return nil, fmt.Errorf("open lexicon: %w", err)
	}
	defer f.Close()
	var out []lexiconEntry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, "#"); i == 0 || i > 0 && line[i-1] == '\t' {
			line = line[:i]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		term, sev, _ := strings.Cut(line, "\t")
		s, ok := severityIndex(strings.TrimSpace(sev))
		if sev == "" {
			s, ok = severityIndex("medium")
		}
		if !ok || strings.TrimSpace(term) == "" {
			return nil, fmt.Errorf("%s:%d: want \"term<TAB>severity\", got %q", name, n, line)
		}
		out = append(out, lexiconEntry{term: strings.TrimSpace(term), severity: s})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

// addDefaults adds the built-in rules and the built-in allow list.
func (b *builder) addDefaults() error {
	var errs []error
	for _, d := range defaultRules {
		id := int32(len(b.rules))
		b.rules = append(b.rules, rule{name: d.name, label: d.label, severity: 2, near: d.near != "", within: d.within, nearFirst: d.nearFirst})
		terms, err := readLexicon(d.terms)
		if err != nil {
			return err
		}
		for _, e := range terms {
			if err := b.addTerm(e.term, use{kind: useTerm, rule: id, severity: e.severity}); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.terms, err))
			}
		}
		if d.near == "" {
			continue
		}
		near, err := readLexicon(d.near)
		if err != nil {
			return err
		}
		for _, e := range near {
			if err := b.addTerm(e.term, use{kind: useNear, rule: id}); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.near, err))
			}
		}
	}
	allow, err := readLexicon("allow.txt")
	if err != nil {
		return err
	}
	for _, e := range allow {
		if err := b.addTerm(e.term, use{kind: useGlobalAllow, rule: -1}); err != nil {
			errs = append(errs, fmt.Errorf("allow.txt: %w", err))
		}
	}
	return errors.Join(errs...)
}
