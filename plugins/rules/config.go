package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/moderatorbot/moderator/plugins/internal/textnorm"
	"github.com/moderatorbot/moderator/plugins/rules/internal/aho"
	"github.com/moderatorbot/moderator/sdk"
)

// config is the instance's [analyzer.config] table.
type config struct {
	// Defaults turns on the built-in lexicons (default true).
	Defaults *bool `json:"defaults"`
	// Variants turns on spelling variants of the built-in lexicons
	// (default true; see variants.go).
	Variants *bool `json:"variants"`
	// Allow lists terms that win over every rule's matches inside them.
	Allow []string `json:"allow"`
	// Rules are decoded one by one so that errors name rules[i].
	Rules []json.RawMessage `json:"rules"`
}

// ruleConfig is one [[rules]] entry.
type ruleConfig struct {
	Name          string        `json:"name"`
	Label         string        `json:"label"`
	Severity      string        `json:"severity"`
	Words         []string      `json:"words"`
	Phrases       []string      `json:"phrases"`
	Regex         stringList    `json:"regex"`
	Allow         []string      `json:"allow"`
	Near          []string      `json:"near"`
	Within        *int          `json:"within"`
	AuthorIDs     []string      `json:"author_ids"`
	AuthorHandles []string      `json:"author_handles"`
	MinAccountAge *sdk.Duration `json:"min_account_age"`
	MaxAccountAge *sdk.Duration `json:"max_account_age"`
}

// stringList decodes a string or a list of strings, so `regex = "..."`
// and `regex = ["...", "..."]` both work.
type stringList struct {
	items  []string
	single bool
}

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		l.items, l.single = []string{one}, true
		return nil
	}
	if err := json.Unmarshal(b, &l.items); err != nil {
		return fmt.Errorf("expected a string or a list of strings")
	}
	return nil
}

// field names item i of the list at path.
func (l stringList) field(path string, i int) string {
	if l.single {
		return path
	}
	return fmt.Sprintf("%s[%d]", path, i)
}

const defaultWithin = 3

// configFields documents the table for `moderator plugins list`.
var configFields = []sdk.ConfigField{
	{Name: "defaults", Type: "bool", Default: "true", Description: "Use the built-in lexicons (profanity, insult, threat, identity_attack, sexual) and their allow list."},
	{Name: "variants", Type: "bool", Default: "true", Description: "Also match spelling variants of the built-in lexicons' words (\"phuck\", \"fcuker\"), scored 0.05 below the word; ordinary English words never count as variants."},
	{Name: "allow", Type: "list", Description: "Terms that win over every match inside them (whole words; * at either end is a wildcard)."},
	{Name: "rules", Type: "list", Description: "[[rules]] tables: name, label, severity (mild|low|medium|high), words, phrases, regex, allow, near, within, author_ids, author_handles, min_account_age, max_account_age."},
}

// parseConfig decodes and checks the table and compiles it, reporting every
// problem with its field path.
func parseConfig(raw sdk.Config) (*engine, error) {
	var cfg config
	if err := raw.Decode(&cfg); err != nil {
		return nil, err
	}
	var errs sdk.FieldErrors
	b := newBuilder()
	b.variants = cfg.Variants == nil || *cfg.Variants
	if cfg.Defaults == nil || *cfg.Defaults {
		if err := b.addDefaults(); err != nil {
			// The embedded lexicons are tested; this is a build problem.
			return nil, fmt.Errorf("built-in lexicons: %w", err)
		}
	}
	for i, term := range cfg.Allow {
		if err := b.addTerm(term, use{kind: useGlobalAllow, rule: -1}); err != nil {
			errs.Add(fmt.Sprintf("allow[%d]", i), "%v", err)
		}
	}
	names := map[string]string{}
	for i, rawRule := range cfg.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		var rc ruleConfig
		if err := (sdk.Config{JSON: rawRule}).Decode(&rc); err != nil {
			errs = append(errs, prefixed(err, path)...)
			continue
		}
		if rc.Name == "" {
			rc.Name = path
		}
		if prev, dup := names[rc.Name]; dup {
			errs.Add(path+".name", "rule name %q is already used by %s", rc.Name, prev)
		}
		names[rc.Name] = path
		errs = append(errs, b.addRule(rc, path)...)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return b.build(), nil
}

// prefixed puts path in front of the fields of a rule's decoding errors.
func prefixed(err error, path string) sdk.FieldErrors {
	var fe sdk.FieldErrors
	var one *sdk.FieldError
	switch {
	case asFieldErrors(err, &fe):
	case asFieldError(err, &one):
		fe = sdk.FieldErrors{*one}
	default:
		return sdk.FieldErrors{{Field: path, Message: err.Error()}}
	}
	out := make(sdk.FieldErrors, len(fe))
	for i, e := range fe {
		out[i] = e
		out[i].Field = path
		if e.Field != "" {
			out[i].Field = path + "." + e.Field
		}
	}
	return out
}

// addRule checks one rule and adds its terms and regexes.
func (b *builder) addRule(rc ruleConfig, path string) sdk.FieldErrors {
	var errs sdk.FieldErrors
	r := rule{name: rc.Name, label: rc.Label}
	switch {
	case rc.Label == "":
		errs.Add(path+".label", "missing: name one of %s", strings.Join(sdk.Labels, ", "))
	case !slices.Contains(sdk.Labels, rc.Label):
		errs.Add(path+".label", "unknown label %q: use one of %s", rc.Label, strings.Join(sdk.Labels, ", "))
	}
	if rc.Severity == "" {
		rc.Severity = "medium"
	}
	sev, ok := severityIndex(rc.Severity)
	if !ok {
		errs.Add(path+".severity", "unknown severity %q: use mild, low, medium or high", rc.Severity)
	}
	r.severity = sev
	if len(rc.Words) == 0 && len(rc.Phrases) == 0 && len(rc.Regex.items) == 0 {
		errs.Add(path, "a rule needs words, phrases or regex")
	}
	if len(rc.AuthorIDs) > 0 {
		r.authorIDs = map[string]bool{}
		for i, id := range rc.AuthorIDs {
			if strings.TrimSpace(id) == "" {
				errs.Add(fmt.Sprintf("%s.author_ids[%d]", path, i), "empty author id")
			}
			r.authorIDs[strings.TrimSpace(id)] = true
		}
	}
	if len(rc.AuthorHandles) > 0 {
		r.authorHandles = map[string]bool{}
		for i, h := range rc.AuthorHandles {
			if normHandle(h) == "" {
				errs.Add(fmt.Sprintf("%s.author_handles[%d]", path, i), "empty author handle")
			}
			r.authorHandles[normHandle(h)] = true
		}
	}
	if rc.MinAccountAge != nil {
		r.minAge = time.Duration(*rc.MinAccountAge)
		if r.minAge <= 0 {
			errs.Add(path+".min_account_age", "must be positive, got %s", r.minAge)
		}
	}
	if rc.MaxAccountAge != nil {
		r.maxAge = time.Duration(*rc.MaxAccountAge)
		if r.maxAge <= 0 {
			errs.Add(path+".max_account_age", "must be positive, got %s", r.maxAge)
		} else if r.minAge > 0 && r.maxAge <= r.minAge {
			errs.Add(path+".max_account_age", "must be longer than min_account_age (%s), got %s", r.minAge, r.maxAge)
		}
	}
	r.near = len(rc.Near) > 0
	r.within = defaultWithin
	if rc.Within != nil {
		r.within = *rc.Within
		switch {
		case !r.near:
			errs.Add(path+".within", "within needs a near list")
		case r.within < 0:
			errs.Add(path+".within", "must be 0 or more words, got %d", r.within)
		}
	}
	id := int32(len(b.rules))
	b.rules = append(b.rules, r)
	for i, w := range rc.Words {
		if strings.IndexFunc(strings.Trim(w, " "), unicode.IsSpace) >= 0 {
			errs.Add(fmt.Sprintf("%s.words[%d]", path, i), "%q has spaces: put it under phrases", w)
			continue
		}
		if err := b.addTerm(w, use{kind: useTerm, rule: id, severity: sev}); err != nil {
			errs.Add(fmt.Sprintf("%s.words[%d]", path, i), "%v", err)
		}
	}
	for i, p := range rc.Phrases {
		if err := b.addTerm(p, use{kind: useTerm, rule: id, severity: sev}); err != nil {
			errs.Add(fmt.Sprintf("%s.phrases[%d]", path, i), "%v", err)
		}
	}
	for i, p := range rc.Near {
		if err := b.addTerm(p, use{kind: useNear, rule: id}); err != nil {
			errs.Add(fmt.Sprintf("%s.near[%d]", path, i), "%v", err)
		}
	}
	for i, p := range rc.Allow {
		if err := b.addTerm(p, use{kind: useAllow, rule: id}); err != nil {
			errs.Add(fmt.Sprintf("%s.allow[%d]", path, i), "%v", err)
		}
	}
	for i, expr := range rc.Regex.items {
		if err := b.addRegex(expr, int(id)); err != nil {
			errs.Add(rc.Regex.field(path+".regex", i), "%v", err)
		}
	}
	return errs
}

// builder collects patterns and rules into an engine.
type builder struct {
	rules []rule
	patternSet
	regexes []ruleRegex
	// variants: the built-in lexicons' terms get spelling variants.
	variants bool
	// noGuard leaves out the English guard (tests: what it is needed for).
	noGuard bool
	vb      variantBuilder
	// prebuilt, when set, is the variant index to use instead of vb's.
	prebuilt *variantIndex
}

func newBuilder() *builder { return &builder{} }

// patternSet numbers distinct patterns in the order they come, for the
// matcher, and keeps each one's uses under the same number.
type patternSet struct {
	ids      map[string]int
	patterns []string
	uses     [][]use
}

// id is pattern's number, given it on its first sight.
func (ps *patternSet) id(pattern string) int {
	if ps.ids == nil {
		ps.ids = map[string]int{}
	}
	id, ok := ps.ids[pattern]
	if !ok {
		id = len(ps.patterns)
		ps.ids[pattern] = id
		ps.patterns = append(ps.patterns, pattern)
		ps.uses = append(ps.uses, nil)
	}
	return id
}

func (b *builder) add(pattern string, u use) {
	id := b.id(pattern)
	if !slices.ContainsFunc(b.uses[id], func(x use) bool { return sameUse(x, u) }) {
		b.uses[id] = append(b.uses[id], u)
	}
}

func sameUse(a, b use) bool {
	return a.kind == b.kind && a.severity == b.severity && a.prefix == b.prefix && a.suffix == b.suffix &&
		a.openStart == b.openStart && a.openEnd == b.openEnd &&
		a.rule == b.rule && slices.Equal(a.doubled, b.doubled)
}

// addTerm adds a word or phrase as written in config or a lexicon: a "*"
// at the start or end is a wildcard (the word may go on that way), a "*"
// elsewhere is literal ("f*ck"). The term is folded like the text, and
// variants are added: "l" read as "i" (text folds a leetspeak "1" to "i",
// so "s1ut" reaches "slut" only this way), "i" written as "l" ("dlck"), and
// double letters squeezed to one for stretched text ("asssss" folds to a
// stretched "as"). A term that starts or ends with a character that is not
// a letter or digit ("🖕") needs no word boundary on that side.
func (b *builder) addTerm(term string, u use) error { return b.addTermVariants(term, u, noVariants) }

// addTermVariants is addTerm, and also registers the term's spelling
// variants of the given mode (variants.go) when it is a plain word that is
// not mild: phrases, acronyms, terms written with digits or symbols match
// only as written.
func (b *builder) addTermVariants(term string, u use, mode int) error {
	t := strings.TrimSpace(term)
	if len(t) > 1 && strings.HasSuffix(t, "*") {
		u.prefix, t = true, t[:len(t)-1]
	}
	if len(t) > 1 && strings.HasPrefix(t, "*") {
		u.suffix, t = true, t[1:]
	}
	if strings.Trim(t, "*") == "" {
		return fmt.Errorf("%q matches nothing: a term needs letters or digits", term)
	}
	folded := strings.TrimSpace(foldTerm(t))
	if folded == "" {
		return fmt.Errorf("%q matches nothing once normalised", term)
	}
	variants := []string{folded}
	if u.kind == useAllow || u.kind == useGlobalAllow || u.kind == useNear {
		// Context and allow terms match as written: an "i"/"l" variant of
		// "tittle*" would allow "titties".
	} else if strings.Contains(folded, "l") {
		variants = append(variants, strings.ReplaceAll(folded, "l", "i"))
	}
	if u.kind == useTerm && strings.Contains(folded, "i") {
		variants = append(variants, strings.ReplaceAll(folded, "i", "l"))
	}
	if r, _ := utf8.DecodeRuneInString(folded); !isWordRune(r) {
		u.openStart = true
	}
	if r, _ := utf8.DecodeLastRuneInString(folded); !isWordRune(r) {
		u.openEnd = true
	}
	if u.kind == useTerm && strings.Contains(folded, " ") {
		variants = append(variants, textSpeak(folded)...)
	}
	for _, v := range variants {
		b.add(v, u)
		if sq, doubled := squeeze(v); len(doubled) > 0 {
			su := u
			su.doubled = doubled
			b.add(sq, su)
		}
		// A phrase run together ("#killyourself") or spelled out letter by
		// letter ("k i l l y o u r s e l f", which folds to one run) has
		// lost its spaces: it is also looked for without them, unless
		// that spells an English word. Terms alone: an allow phrase
		// ("s hit") must not allow what it spells.
		if joined := strings.ReplaceAll(v, " ", ""); u.kind == useTerm && joined != v && !isEnglish(joined) {
			b.add(joined, u)
		}
	}
	if mode != noVariants && u.kind == useTerm && u.severity > 0 && plainWord(strings.ToLower(t)) && plainWord(folded) {
		b.vb.add(folded, u, mode)
	}
	return nil
}

// foldTerm folds a term like the text, except that a letter the text would
// mark as stretched is written twice: a term such as "a55s" means "asss",
// which the squeezed variant then matches only in stretched text.
func foldTerm(t string) string {
	n := textnorm.Normalize(t)
	var b strings.Builder
	for i := 0; i < len(n.Folded); i++ {
		b.WriteByte(n.Folded[i])
		if n.Stretched(i) {
			b.WriteByte(n.Folded[i])
		}
	}
	return b.String()
}

// squeeze turns every pair of identical ASCII letters into one and returns
// the offsets, in the squeezed string, of the letters that were doubled.
func squeeze(s string) (string, []uint8) {
	var out []byte
	var doubled []uint8
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' && i+1 < len(s) && s[i+1] == c && len(out) < 255 {
			doubled = append(doubled, uint8(len(out)))
			i++
		}
		out = append(out, c)
	}
	return string(out), doubled
}

// addRegex compiles an RE2 expression; it runs on the folded text, case
// insensitively.
func (b *builder) addRegex(expr string, rule int) error {
	if strings.TrimSpace(expr) == "" {
		return fmt.Errorf("empty regex")
	}
	re, err := regexp.Compile("(?i)" + expr)
	if err != nil {
		return fmt.Errorf("invalid RE2 regex: %w", err)
	}
	if re.MatchString("") {
		return fmt.Errorf("regex %q matches the empty string, so it would match every comment", expr)
	}
	idx := len(b.regexes)
	lits := requiredLiterals(expr)
	b.regexes = append(b.regexes, ruleRegex{rule: rule, re: re, always: lits == nil})
	for _, l := range lits {
		b.add(l, use{kind: usePrefilter, rule: int32(idx)})
	}
	return nil
}

func (b *builder) build() *engine {
	v := b.prebuilt
	if v == nil {
		v = b.vb.build()
	}
	return &engine{rules: b.rules, uses: b.uses, regexes: b.regexes, matcher: aho.Build(b.patterns), variants: v}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// isEnglish reports whether w, folded, is an English word (english.go), so
// that a phrase whose words run together into one ("in bred") is not
// looked for as that word. Without the word list, nothing is.
func isEnglish(w string) bool {
	words, err := englishWords()
	return err == nil && words.hasWord(w)
}

// textSpeakForms are the ways a pronoun is written in text speak.
var textSpeakForms = map[string][]string{
	"you":      {"u", "ya"},
	"your":     {"ur", "yr"},
	"yourself": {"urself", "ur self", "yourslef"},
	// Not "ur" for "you're": "ur dead" is as often "your dead battery".
	"you're": {"u r", "youre"},
	"youre":  {"u r"},
}

// textSpeak returns the phrase's other spellings with its pronouns in text
// speak ("kill urself", "i hope u die"), each pronoun written the same way
// throughout, at most 16.
func textSpeak(phrase string) []string {
	words := strings.Fields(phrase)
	out := []string{}
	var walk func(i int, acc []string)
	walk = func(i int, acc []string) {
		if len(out) >= 16 {
			return
		}
		if i == len(words) {
			if v := strings.Join(acc, " "); v != phrase {
				out = append(out, v)
			}
			return
		}
		walk(i+1, append(acc, words[i]))
		for _, alt := range textSpeakForms[words[i]] {
			walk(i+1, append(acc, alt))
		}
	}
	walk(0, make([]string, 0, len(words)))
	return out
}
