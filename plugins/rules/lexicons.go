package main

import (
	"bufio"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"

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
	// variants: which spelling variants the terms match (variants.go).
	variants int
}

// defaultRules are what `defaults = true` turns on. Identity terms appear
// only in the last one, and only count next to an attack: "I am a gay black
// woman" gives nothing.
//
// Spelling variants are on for the word lists. The slurs get sound keys
// but not one-edit matches: most are short words or names ("coons",
// "hajis", "kaffer") one letter away from an ordinary word or name
// ("Toons", "Haggis", "cafe"). The threat phrases and the identity rule's
// terms, which are context ("gay" must not reach "gey"), match as written.
var defaultRules = []defaultRule{
	{name: "profanity", label: sdk.LabelProfanity, terms: "profanity.txt", variants: allVariants},
	{name: "sexual", label: sdk.LabelSexual, terms: "sexual.txt", variants: allVariants},
	{name: "insult", label: sdk.LabelInsult, terms: "insult.txt", variants: allVariants},
	{name: "insult aimed at someone", label: sdk.LabelInsult, terms: "insult_directed.txt", near: "second_person.txt", within: 3, nearFirst: true, variants: allVariants},
	{name: "threat", label: sdk.LabelThreat, terms: "threat.txt"},
	{name: "slur", label: sdk.LabelIdentityAttack, terms: "identity_attack.txt", variants: soundVariants},
	{name: "attack on an identity", label: sdk.LabelIdentityAttack, terms: "identity_terms.txt", near: "attack_terms.txt", within: 2},
}

// lexiconEntry is one line of a lexicon file.
type lexiconEntry struct {
	term     string
	severity uint8
	// exact: the term matches only as written, never a spelling variant
	// (a third column "exact").
	exact bool
}

// readLexicon parses one embedded lexicon.
func readLexicon(name string) ([]lexiconEntry, error) { return readLexiconFS(lexiconFS, name) }

// readLexiconFS parses lexicons/name from fsys.
func readLexiconFS(fsys fs.FS, name string) ([]lexiconEntry, error) {
	f, err := fsys.Open("lexicons/" + name)
	if err != nil {
		return nil, fmt.Errorf("open lexicon: %w", err)
	}
	defer f.Close()
	return parseLexicon(name, f)
}

// parseLexicon reads lines "term<TAB>severity", optionally followed by
// "<TAB>exact"; a line without a severity (in the context lists) gets
// "medium".
func parseLexicon(name string, r io.Reader) ([]lexiconEntry, error) {
	var out []lexiconEntry
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, "#"); i == 0 || i > 0 && line[i-1] == '\t' {
			line = line[:i]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		term, rest, _ := strings.Cut(line, "\t")
		sev, flag, _ := strings.Cut(rest, "\t")
		s, ok := severityIndex(strings.TrimSpace(sev))
		if sev == "" {
			s, ok = severityIndex("medium")
		}
		flag = strings.TrimSpace(flag)
		if !ok || strings.TrimSpace(term) == "" || flag != "" && flag != "exact" {
			return nil, fmt.Errorf("%s:%d: want \"term<TAB>severity\" or \"term<TAB>severity<TAB>exact\", got %q", name, n, line)
		}
		out = append(out, lexiconEntry{term: strings.TrimSpace(term), severity: s, exact: flag == "exact"})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

// addDefaults adds the built-in rules and the built-in allow list. Their
// variant index is the same for every configuration (the built-in rules
// come first, and users' terms have no variants), so it is built once.
func (b *builder) addDefaults() error {
	if b.variants && !b.noGuard && len(b.rules) == 0 {
		v, err := defaultVariants()
		if err != nil {
			return err
		}
		b.prebuilt = v
	}
	return b.addDefaultsFS(lexiconFS)
}

// defaultVariants is the variant index of the built-in lexicons.
var defaultVariants = sync.OnceValues(func() (*variantIndex, error) {
	b := newBuilder()
	b.variants = true
	if err := b.addDefaultsFS(lexiconFS); err != nil {
		return nil, err
	}
	return b.vb.build(), nil
})

// addDefaultsFS adds the built-in rules reading their lexicons from fsys
// (tests give their own).
func (b *builder) addDefaultsFS(fsys fs.FS) error {
	var errs []error
	for _, d := range defaultRules {
		id := int32(len(b.rules))
		b.rules = append(b.rules, rule{name: d.name, label: d.label, severity: 2, near: d.near != "", within: d.within, nearFirst: d.nearFirst})
		terms, err := readLexiconFS(fsys, d.terms)
		if err != nil {
			return err
		}
		for _, e := range terms {
			mode := d.variants
			if !b.variants || e.exact || b.prebuilt != nil {
				mode = noVariants
			}
			if err := b.addTermVariants(e.term, use{kind: useTerm, rule: id, severity: e.severity}, mode); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.terms, err))
			}
		}
		if d.near == "" {
			continue
		}
		near, err := readLexiconFS(fsys, d.near)
		if err != nil {
			return err
		}
		for _, e := range near {
			if err := b.addTerm(e.term, use{kind: useNear, rule: id}); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", d.near, err))
			}
		}
	}
	if b.variants && !b.noGuard && b.prebuilt == nil {
		// English words are never variants, of any rule's terms.
		english, err := englishWords()
		if err != nil {
			return err
		}
		b.vb.guard = english
	}
	allow, err := readLexiconFS(fsys, "allow.txt")
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
