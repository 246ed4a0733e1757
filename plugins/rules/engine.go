package main

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moderatorbot/moderator/plugins/internal/textnorm"
	"github.com/moderatorbot/moderator/plugins/rules/internal/aho"
	"github.com/moderatorbot/moderator/sdk"
)

// Severity levels and their scores. "mild" scores below the 0.5 decision
// threshold on purpose: it records evidence ("crap", "stupid" on its own)
// that a policy can see without every such comment being flagged.
var severities = []struct {
	name  string
	score float64
}{{"mild", 0.4}, {"low", 0.6}, {"medium", 0.8}, {"high", 0.95}}

func severityIndex(name string) (uint8, bool) {
	for i, s := range severities {
		if s.name == name {
			return uint8(i), true
		}
	}
	return 0, false
}

// rule is one compiled rule: a user's [[rules]] entry or a built-in lexicon.
type rule struct {
	name     string
	label    string
	severity uint8 // for its regexes; terms carry their own
	near     bool  // terms count only within `within` words of a near term
	within   int
	// nearFirst: the near term must come first ("you ... idiot").
	nearFirst bool
	// Author conditions; empty or zero means any author.
	authorIDs     map[string]bool
	authorHandles map[string]bool
	minAge        time.Duration
	maxAge        time.Duration
}

// appliesTo reports whether the rule's author conditions hold for c. An age
// condition on an author whose account age the platform does not give
// fails: a rule meant for new accounts must not fire on unknown ones.
func (r *rule) appliesTo(c *sdk.Comment) bool {
	if len(r.authorIDs) > 0 && !r.authorIDs[c.AuthorID] {
		return false
	}
	if len(r.authorHandles) > 0 && !r.authorHandles[normHandle(c.AuthorHandle)] {
		return false
	}
	if r.minAge > 0 || r.maxAge > 0 {
		if c.AuthorCreatedAt.IsZero() {
			return false
		}
		at := c.CreatedAt
		if at.IsZero() {
			at = time.Now()
		}
		age := at.Sub(c.AuthorCreatedAt)
		if r.minAge > 0 && age < r.minAge || r.maxAge > 0 && age > r.maxAge {
			return false
		}
	}
	return true
}

func normHandle(h string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(h), "@"))
}

// What a pattern of the automaton is used for.
const (
	useTerm        = iota // a rule's word or phrase
	useNear               // a rule's near term
	useAllow              // a rule's allow term
	useGlobalAllow        // the global allow list
	usePrefilter          // a literal that a regex cannot match without
)

// use is one role of one automaton pattern; a folded string shared by
// several rules has several.
type use struct {
	kind     uint8
	severity uint8
	// prefix: the term may continue after the match ("fuck*"); suffix: it
	// may start before ("*hole"). Otherwise the match is a whole word.
	prefix, suffix bool
	// openStart, openEnd: the term starts or ends with a character that is
	// not a letter or digit ("🖕"), so that side needs no word boundary.
	openStart, openEnd bool
	rule               int32 // index into engine.rules, or of the regex for usePrefilter
	// doubled lists the offsets in the match that must be stretched
	// letters: the pattern is a term's double letters squeezed to one
	// ("as" for "ass"), accepted only where the text had "asss...".
	doubled []uint8
	// variant is 0 for the exact patterns; in the variant index it is 1 +
	// the index of the term a key stands for (variantIndex.terms).
	variant int32
}

type ruleRegex struct {
	rule int
	re   *regexp.Regexp
	// always: no literal found that every match contains, so no prefilter.
	always bool
}

// engine is a compiled configuration. It is immutable, so Analyze calls
// share it without locks.
type engine struct {
	rules   []rule
	matcher *aho.Matcher
	uses    [][]use // per automaton pattern
	regexes []ruleRegex
	// variants matches spelling variants of the terms that allow them
	// (variants.go); nil when none do.
	variants *variantIndex
}

// hit is one accepted match, in folded offsets.
type hit struct {
	rule       int32
	severity   uint8
	start, end int32
	variant    int32 // as in use: 0 for an exact match
}

// score is what h is worth: its severity's score, a little less for a
// spelling variant.
func (h hit) score() float64 {
	s := severities[h.severity].score
	if h.variant != 0 {
		s = math.Round((s-variantDiscount)*1000) / 1000 // 0.55, not 0.5499999999999999
	}
	return s
}

type scratch struct {
	hits       []hit
	near       []hit
	allow      []hit // rule -1: global
	spelled    []hit // scratch for keepSpelled
	regexOn    []bool
	applies    []int8 // per rule: 0 unknown, 1 yes, -1 no
	labelIndex map[string]int
	key        textKey
}

var scratchPool = sync.Pool{New: func() any { return &scratch{labelIndex: map[string]int{}} }}

// analyze scores one comment.
func (e *engine) analyze(c *sdk.Comment) sdk.Result {
	res := sdk.Result{CommentID: c.ID}
	if c.Text == "" {
		return res
	}
	t := textnorm.Normalize(c.Text)
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	e.collect(c, &t, sc)
	if len(sc.hits) == 0 {
		return res
	}
	kept := sc.hits[:0]
	for _, h := range sc.hits {
		if r := &e.rules[h.rule]; allowed(h, sc.allow) || r.near && !nearby(&t, h, sc.near, r.within, r.nearFirst) {
			continue
		}
		kept = append(kept, h)
	}
	res.Labels = e.labels(c.Text, &t, kept, sc.labelIndex)
	return res
}

// collect finds every match in t, before allow lists and near conditions
// are applied: term and allow hits of the exact pass, spelling variants,
// regex hits.
func (e *engine) collect(c *sdk.Comment, t *textnorm.Text, sc *scratch) {
	sc.hits, sc.near, sc.allow = sc.hits[:0], sc.near[:0], sc.allow[:0]
	sc.regexOn = resize(sc.regexOn, len(e.regexes))
	sc.applies = resize(sc.applies, len(e.rules))

	applies := func(r int32) bool {
		if sc.applies[r] == 0 {
			sc.applies[r] = -1
			if e.rules[r].appliesTo(c) {
				sc.applies[r] = 1
			}
		}
		return sc.applies[r] > 0
	}
	e.matcher.Find(t.Folded, func(p, start, end int) {
		for i := range e.uses[p] {
			u := &e.uses[p][i]
			if u.kind == usePrefilter {
				sc.regexOn[u.rule] = true
				continue
			}
			if !u.suffix && !u.openStart && !t.Boundary(start) || !u.prefix && !u.openEnd && !t.Boundary(end) {
				continue
			}
			if !stretchedAt(t, start, u.doubled) {
				continue
			}
			if u.prefix || u.suffix {
				start, end = wholeWord(t, start, end, u.suffix, u.prefix)
			}
			h := hit{rule: u.rule, severity: u.severity, start: int32(start), end: int32(end)}
			switch u.kind {
			case useTerm:
				if applies(u.rule) {
					sc.hits = append(sc.hits, h)
				}
			case useNear:
				sc.near = append(sc.near, h)
			case useAllow:
				sc.allow = append(sc.allow, h)
			case useGlobalAllow:
				h.rule = -1
				sc.allow = append(sc.allow, h)
			}
		}
	})
	// Exact matches are read against spaced-out letters before the variant
	// pass, which skips a variant an exact match already covers.
	sc.hits = keepSpelled(t, sc.hits, 0, &sc.spelled)
	n := len(sc.hits)
	if e.variants != nil {
		for _, v := range e.variants.find(c.Text, t, &sc.key, sc.hits) {
			if applies(v.u.rule) {
				sc.hits = append(sc.hits, hit{rule: v.u.rule, severity: v.u.severity, start: v.start, end: v.end, variant: v.u.variant})
			}
		}
	}
	for i, rx := range e.regexes {
		if !rx.always && !sc.regexOn[i] || !applies(int32(rx.rule)) {
			continue
		}
		for _, m := range rx.re.FindAllStringIndex(t.Folded, -1) {
			if m[0] < m[1] {
				sc.hits = append(sc.hits, hit{rule: int32(rx.rule), severity: e.rules[rx.rule].severity, start: int32(m[0]), end: int32(m[1])})
			}
		}
	}
	sc.hits = keepSpelled(t, sc.hits, n, &sc.spelled)
}

// wholeWord widens a wildcard match to the word it is part of, so the span
// and the reason show "fuckwit", not "fuck".
func wholeWord(t *textnorm.Text, start, end int, back, forward bool) (int, int) {
	for back && start > 0 && !t.Boundary(start) {
		start--
	}
	for forward && end < len(t.Folded) && !t.Boundary(end) {
		end++
	}
	// Letters spaced apart have a boundary between every two, so the word
	// a wildcard stands for runs on to the run's edge ("c o c k m u n c h
	// e r"), unless what lies between reads as words of its own ("y o u a
	// b i t c h").
	if forward {
		if _, re := t.SpacedRun(end - 1); re > end && !splitsIntoWords(t, end, re) {
			end = re
		}
	}
	if back {
		if rs, _ := t.SpacedRun(start); rs < start && !splitsIntoWords(t, rs, start) {
			start = rs
		}
	}
	return start, end
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

func stretchedAt(t *textnorm.Text, start int, doubled []uint8) bool {
	for _, k := range doubled {
		if !t.Stretched(start + int(k)) {
			return false
		}
	}
	return true
}

// allowed reports whether an allow term of h's rule, or of the global list,
// covers h: allow lists win over the matches inside them. A longer match
// that only overlaps one stands: "can kill you" is allowed ("electricity
// can kill you"), the threat "i can kill you" is not.
func allowed(h hit, allow []hit) bool {
	for _, a := range allow {
		if (a.rule == -1 || a.rule == h.rule) && a.start <= h.start && h.end <= a.end {
			return true
		}
	}
	return false
}

// nearby reports whether a near term of h's rule stands within `within`
// words of h, on either side, or before h when first is set.
func nearby(t *textnorm.Text, h hit, near []hit, within int, first bool) bool {
	for _, n := range near {
		if n.rule != h.rule || n.start < h.end && h.start < n.end || first && n.start > h.start {
			continue
		}
		a, b := h.end, n.start
		if n.start < h.start {
			a, b = n.end, h.start
		}
		if wordsBetween(t, int(a), int(b), within) <= within {
			return true
		}
	}
	return false
}

// wordsBetween counts the words that start in folded [a, b), stopping once
// the count passes limit.
func wordsBetween(t *textnorm.Text, a, b, limit int) int {
	n := 0
	for i := a; i < b && n <= limit; i++ {
		if t.Boundary(i) && isWordByte(t.Folded[i]) {
			n++
		}
	}
	return n
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 0x80
}

// labels turns the kept hits into one label per label name: the highest
// severity's score, every span, and a reason naming the strongest match.
func (e *engine) labels(text string, t *textnorm.Text, hits []hit, index map[string]int) []sdk.Label {
	if len(hits) == 0 {
		return nil
	}
	clear(index)
	var out []sdk.Label
	best := make([]hit, 0, 4)
	for _, h := range hits {
		label := e.rules[h.rule].label
		i, ok := index[label]
		if !ok {
			i = len(out)
			index[label] = i
			out = append(out, sdk.Label{Name: label})
			best = append(best, h)
		}
		start, end := t.Original(int(h.start), int(h.end))
		out[i].Spans = append(out[i].Spans, sdk.Span{Start: start, End: end})
		if b := best[i]; h.score() > b.score() || h.score() == b.score() && h.start < b.start {
			best[i] = h
		}
	}
	for i := range out {
		out[i].Spans = mergeSpans(out[i].Spans)
		b := best[i]
		out[i].Score = b.score()
		start, end := t.Original(int(b.start), int(b.end))
		as := ""
		if b.variant != 0 {
			as = fmt.Sprintf(" as a variant of %q", e.variants.terms[b.variant-1])
		}
		reason := fmt.Sprintf("matched %s %q%s (rule %q, severity %s)", out[i].Name, clip(text[start:end]), as, e.rules[b.rule].name, severities[b.severity].name)
		if n := len(out[i].Spans); n > 1 {
			reason += fmt.Sprintf(" and %d more", n-1)
		}
		out[i].Reason = reason
	}
	slices.SortFunc(out, func(a, b sdk.Label) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// clip keeps a reason short when a regex matched a long stretch of text.
func clip(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// mergeSpans sorts spans and merges the ones that overlap.
func mergeSpans(s []sdk.Span) []sdk.Span {
	slices.SortFunc(s, func(a, b sdk.Span) int {
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return a.End - b.End
	})
	out := s[:0]
	for _, x := range s {
		if n := len(out); n > 0 && x.Start < out[n-1].End {
			out[n-1].End = max(out[n-1].End, x.End)
			continue
		}
		out = append(out, x)
	}
	return out
}
