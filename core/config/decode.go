package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// walker decodes the generic map BurntSushi produced against the schema,
// collecting every problem instead of stopping at the first.
type walker struct {
	file     string
	dir      string
	index    index
	env      func(string) (string, bool)
	problems Problems
	// unset holds the paths of strings whose substitution failed (already
	// reported): their value is not what the user meant, and checking it
	// would only report the same mistake again.
	unset map[string]bool
	// badInstances holds "connector[i]" and "analyzer[i]" for the
	// instances with a problem of their own.
	badInstances map[string]bool
	// substituted holds the values ${NAME} references read from the
	// environment, which no message may show (see Config.Redact).
	substituted []substitution
	// envRead holds the places (as display writes them) where a ${NAME}
	// reference read a value from the environment.
	envRead []string
}

func (w *walker) add(path []any, key bool, format string, args ...any) {
	if len(path) >= 2 && (path[0] == "connector" || path[0] == "analyzer") {
		if i, ok := path[1].(int); ok {
			if w.badInstances == nil {
				w.badInstances = map[string]bool{}
			}
			w.badInstances[fmt.Sprintf("%s[%d]", path[0], i)] = true
		}
	}
	line, col := w.index.pos(path, key)
	w.problems = append(w.problems, Problem{File: w.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// bad reports a problem with the value at path, prefixed by the path.
func (w *walker) bad(path []any, format string, args ...any) {
	w.add(path, false, "%s: %s", display(path), fmt.Sprintf(format, args...))
}

// display writes a path the way a user would look it up: connector[1].config.url.
func display(path []any) string {
	var b strings.Builder
	for _, el := range path {
		switch el := el.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", el)
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			if isBareKey(el) {
				b.WriteString(el)
			} else {
				b.WriteString(strconv.Quote(el))
			}
		}
	}
	return b.String()
}

func isBareKey(s string) bool {
	return s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == ""
}

// where names the table at path as its TOML header would: in [http],
// in [[connector]], in [policy.rule.when].
func where(path []any) string {
	if len(path) == 0 {
		return "at the top level"
	}
	var keys []string
	for _, el := range path {
		if s, ok := el.(string); ok {
			keys = append(keys, display([]any{s}))
		}
	}
	if _, ok := path[len(path)-1].(int); ok {
		return "in [[" + strings.Join(keys, ".") + "]]"
	}
	return "in [" + strings.Join(keys, ".") + "]"
}

// join extends a path without ever sharing the backing array of its parent.
func join(path []any, els ...any) []any { return append(slices.Clip(path), els...) }

// describe names a decoded value's type for "expected X, got Y" messages.
// Secrets get the type only.
func describe(v any, secret bool) string {
	var kind string
	switch v.(type) {
	case string:
		kind = "string"
	case int64:
		kind = "integer"
	case float64:
		kind = "float"
	case bool:
		kind = "boolean"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return "a date/time"
	}
	if secret {
		return kind
	}
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%s %q", kind, s)
	}
	return fmt.Sprintf("%s %v", kind, v)
}

// substitute expands ${VAR} in every string value below path, in place. It
// runs on decoded values, never on the file text, so a variable's content
// can never inject TOML.
func (w *walker) substitute(path []any, v any) any {
	switch v := v.(type) {
	case string:
		return w.expand(path, v)
	case map[string]any:
		for k, e := range v {
			v[k] = w.substitute(join(path, k), e)
		}
	case []any:
		for i, e := range v {
			v[i] = w.substitute(join(path, i), e)
		}
	case []map[string]any:
		for i, e := range v {
			w.substitute(join(path, i), e)
		}
	}
	return v
}

// substitutionFailed reports a problem with a ${...} reference at path and
// marks the value as unusable.
func (w *walker) substitutionFailed(path []any, format string, args ...any) {
	if w.unset == nil {
		w.unset = map[string]bool{}
	}
	w.unset[display(path)] = true
	w.bad(path, format, args...)
}

// expand handles ${VAR}, ${VAR:-default} (used when VAR is unset or empty,
// as in the shell) and $${ for a literal ${.
func (w *walker) expand(path []any, s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1] + "${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			w.substitutionFailed(path, `unterminated "${" (write "$${" for a literal "${")`)
			return b.String()
		}
		ref := s[i+2 : i+end]
		s = s[i+end+1:]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !envNameRE.MatchString(name) {
			w.substitutionFailed(path, "invalid variable reference %q (use ${NAME} or ${NAME:-default})", "${"+ref+"}")
			continue
		}
		val, ok := w.env(name)
		switch {
		case hasDef && val == "":
			val = def
		case !ok:
			w.substitutionFailed(path, "environment variable %s is not set (use ${%s:-default} for an optional value)", name, name)
		default:
			w.record(name, val)
			if at := display(path); !slices.Contains(w.envRead, at) {
				w.envRead = append(w.envRead, at)
			}
		}
		b.WriteString(val)
	}
}

// table is one TOML table being decoded. It remembers the keys the schema
// asked for, so that whatever is left over can be reported as unknown.
type table struct {
	w     *walker
	path  []any
	m     map[string]any
	known []string
}

func (t *table) field(key string) (any, []any, bool) {
	t.known = append(t.known, key)
	v, ok := t.m[key]
	return v, join(t.path, key), ok
}

// done reports the keys nobody asked for.
func (t *table) done() {
	for _, k := range slices.Sorted(maps.Keys(t.m)) {
		if !slices.Contains(t.known, k) {
			t.w.add(join(t.path, k), true, "unknown key %q %s%s", k, where(t.path), suggest(k, t.known))
		}
	}
}

// get decodes key into dst when it is present and of type T, and returns its
// path; it returns nil when the key is absent or wrong (already reported).
func get[T any](t *table, key, want string, dst *T) []any {
	v, p, ok := t.field(key)
	if !ok {
		return nil
	}
	x, ok := v.(T)
	if !ok {
		t.w.bad(p, "expected %s, got %s", want, describe(v, false))
		return nil
	}
	*dst = x
	if t.w.unset[display(p)] {
		return nil // reported; not worth checking further
	}
	return p
}

func (t *table) str(key string, dst *string) []any { return get(t, key, "a string", dst) }

func (t *table) boolean(key string, dst *bool) []any { return get(t, key, "a boolean", dst) }

func (t *table) integer(key string, dst *int64) []any { return get(t, key, "an integer", dst) }

// oneOf decodes a string that must be one of allowed.
func (t *table) oneOf(key, what string, dst *string, allowed []string) []any {
	p := t.str(key, dst)
	if p != nil && !slices.Contains(allowed, *dst) {
		t.w.bad(p, "unknown %s %q%s", what, *dst, orExpected(*dst, allowed))
	}
	return p
}

func orExpected(s string, allowed []string) string {
	if hint := suggest(s, allowed); hint != "" {
		return hint
	}
	return " (expected one of " + strings.Join(allowed, ", ") + ")"
}

// required reports key, at its parent table, when it is absent. A present
// key is left to the read that judges its value.
func (t *table) required(key string) bool {
	t.known = append(t.known, key)
	if _, ok := t.m[key]; ok {
		return true
	}
	t.w.add(t.path, false, "%s: missing required key %q", display(t.path), key)
	return false
}

// requiredStr decodes a string that must be present and not empty.
func (t *table) requiredStr(key string, dst *string) []any {
	if !t.required(key) {
		return nil
	}
	p := t.str(key, dst)
	if p != nil && *dst == "" {
		t.w.bad(p, "must not be empty")
		return nil
	}
	return p
}

func (t *table) number(key string, dst *float64) []any {
	v, p, ok := t.field(key)
	switch x := v.(type) {
	case float64:
		*dst = x
	case int64:
		*dst = float64(x)
	default:
		if ok {
			t.w.bad(p, "expected a number, got %s", describe(v, false))
		}
		return nil
	}
	return p
}

func (t *table) duration(key string, dst *time.Duration) []any {
	var s string
	p := get(t, key, `a duration string such as "90s"`, &s)
	if p == nil {
		return nil
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		t.w.bad(p, `invalid duration %q (use Go syntax such as "90s", "5m", "1h30m")`, s)
		return nil
	case d < 0:
		t.w.bad(p, "duration must not be negative, got %q", s)
		return nil
	}
	*dst = d
	return p
}

func (t *table) list(key string, dst *[]string) []any {
	v, p, ok := t.field(key)
	if !ok {
		return nil
	}
	arr, isArr := v.([]any)
	if !isArr {
		t.w.bad(p, "expected an array of strings, got %s", describe(v, false))
		return nil
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		if s, isStr := e.(string); isStr {
			out = append(out, s)
		} else {
			t.w.bad(join(p, i), "expected a string, got %s", describe(e, false))
		}
	}
	if len(out) < len(arr) {
		return nil
	}
	*dst = out
	return p
}

// table returns the sub-table at key, or nil when it is absent or not a table.
func (t *table) table(key string) *table {
	v, p, ok := t.field(key)
	if !ok {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		t.w.bad(p, "expected a table, got %s", describe(v, false))
		return nil
	}
	return &table{w: t.w, path: p, m: m}
}

// tables returns the elements of an array of tables ([[key]] or an inline
// array of inline tables).
func (t *table) tables(key string) []*table {
	v, p, ok := t.field(key)
	if !ok {
		return nil
	}
	var ms []map[string]any
	switch x := v.(type) {
	case []map[string]any:
		ms = x
	case []any:
		for i, e := range x {
			if m, isMap := e.(map[string]any); isMap {
				ms = append(ms, m)
			} else {
				t.w.bad(join(p, i), "expected a table, got %s", describe(e, false))
			}
		}
	default:
		t.w.bad(p, "expected an array of tables ([[%s]]), got %s", key, describe(v, false))
	}
	out := make([]*table, len(ms))
	for i, m := range ms {
		out[i] = &table{w: t.w, path: join(p, i), m: m}
	}
	return out
}
