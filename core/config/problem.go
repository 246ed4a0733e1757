package config

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Problem is one finding in a config file. Line and Col are 1-based, and 0
// when unknown.
type Problem struct {
	File      string
	Line, Col int
	Msg       string

	err error // underlying cause, if any, for errors.Is/As
}

// Error formats the problem as FILE:LINE:COL: msg, dropping the parts of the
// position that are unknown.
func (p Problem) Error() string {
	switch {
	case p.Line == 0:
		return fmt.Sprintf("%s: %s", p.File, p.Msg)
	case p.Col == 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
}

// Unwrap returns the cause of the problem, such as fs.ErrNotExist, if any.
func (p Problem) Unwrap() error { return p.err }

// Problems is every problem found in one load, sorted by position.
type Problems []Problem

// Error lists the problems one per line, in file order, also when a caller
// has appended problems of its own (see At).
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps.sorted() {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Sorted returns the problems in the order of their place in the file.
func (ps Problems) Sorted() Problems { return ps.sorted() }

func (ps Problems) sorted() Problems {
	return slices.SortedStableFunc(slices.Values(ps), func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}

// Unwrap exposes each problem to errors.Is and errors.As.
func (ps Problems) Unwrap() []error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errs
}

// At returns a Problem positioned at a key path inside the loaded file, for
// callers that validate later, such as the plugin host turning a plugin's
// field errors into positioned problems. Path elements are keys (string) and
// array indices (int): At("bad threshold", "analyzer", 1, "config",
// "threshold"). The position is that of the value; when the path does not
// exist (a missing required key) it is that of the nearest existing parent,
// such as the [analyzer.config] or [[analyzer]] header. What the
// environment brought into the config is redacted from msg (see Redact).
func (c *Config) At(msg string, path ...any) Problem {
	line, col := c.index.pos(path, false)
	return Problem{File: c.File, Line: line, Col: col, Msg: c.Redact(msg)}
}

// PluginFieldProblem positions a plugin's complaint about its own config
// table. field is a dotted path inside the instance's config table with
// optional [n] indices ("lists.words[2]"), or "" for the table itself.
func (c *Config) PluginFieldProblem(inst Instance, field, msg string) Problem {
	path := []any{inst.Kind, inst.Index, "config"}
	where := "config"
	if field != "" {
		path = append(path, parseField(field)...)
		where += "." + field
	}
	return c.At(fmt.Sprintf("%s: %s: %s", inst.label(), where, msg), path...)
}

// parseField splits "lists.words[2]" into "lists", "words", 2. Anything
// that does not parse as an index is kept as a key, so a malformed field
// still lands near the right place instead of failing.
func parseField(field string) []any {
	var path []any
	for _, part := range strings.Split(field, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key != "" {
			path = append(path, key)
		}
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			n, err := strconv.Atoi(idx)
			if !ok || err != nil {
				path = append(path, "["+rest)
				break
			}
			path = append(path, n)
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return path
}

// label names an instance in messages: by name when it has one.
func (in Instance) label() string {
	if in.Name != "" {
		return fmt.Sprintf("%s %q", in.Kind, in.Name)
	}
	return fmt.Sprintf("%s[%d]", in.Kind, in.Index)
}

// suggest returns " (did you mean "x"?)" for the closest candidate within a
// typo's distance of s, or "".
func suggest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := levenshtein(s, c)
		if d <= max(2, len(c)/3) && d < len(s) && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	if bestD < 0 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
