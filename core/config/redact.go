package config

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// minRedact is the length from which a value read from the environment is
// replaced wherever it appears in a message, not only where it is quoted:
// a shorter one ("json", "debug") could be a word of the message itself.
const minRedact = 8

// substitution is one value a ${NAME} reference read from the environment.
type substitution struct{ name, value string }

// record notes a value read from the environment for ${name}, so that
// messages can be cleaned of it (see Config.Redact).
func (w *walker) record(name, value string) {
	if value == "" || slices.Contains(w.substituted, substitution{name, value}) {
		return
	}
	w.substituted = append(w.substituted, substitution{name, value})
}

// redactor is what Config.Redact replaces, longer values first, so that a
// value that holds another is replaced whole.
type redactor struct{ subs []substitution }

func newRedactor(subs []substitution) *redactor {
	if len(subs) == 0 {
		return nil
	}
	subs = slices.Clone(subs)
	slices.SortStableFunc(subs, func(a, b substitution) int { return cmp.Compare(len(b.value), len(a.value)) })
	return &redactor{subs: subs}
}

// Redact returns s with every value that a ${NAME} reference read from the
// environment, or that an instance's env passes through from it (env =
// ["NAME"]), replaced by the reference itself. The environment is where
// secrets live (the file says ${TWITTER_BEARER_TOKEN}, not the token), and
// anything that quotes a config value in a message would otherwise show
// them: a token written into the wrong key ("unknown log level ..."), a
// plugin repeating a value in a field error, a config sent to the admin
// API's replay that quotes whatever variable of the daemon's environment it
// names. A value is replaced wherever it appears quoted as Go quotes
// strings, and anywhere at all once it is 8 bytes or longer. Values written
// in the file itself, and ${NAME:-default} defaults, are the file's to show.
func (c *Config) Redact(s string) string {
	if c == nil || c.redactor == nil {
		return s
	}
	for _, sub := range c.redactor.subs {
		ref := "${" + sub.name + "}"
		s = strings.ReplaceAll(s, strconv.Quote(sub.value), strconv.Quote(ref))
		if len(sub.value) >= minRedact {
			s = strings.ReplaceAll(s, sub.value, ref)
		}
	}
	return s
}

// ReadsEnvironment returns the places under prefix, in order, written as config
// check writes them ("analyzer[0].config.headers.Authorization"), whose
// value a ${NAME} reference read from the environment; an empty prefix
// means anywhere. A ${NAME:-default} that fell back to its default read
// nothing. The admin API's replay uses it to refuse a config that would
// send the daemon's secrets somewhere its own config does not.
func (c *Config) ReadsEnvironment(prefix string) []string {
	if c == nil {
		return nil
	}
	var out []string
	for _, at := range c.envRead {
		if prefix == "" || at == prefix || strings.HasPrefix(at, prefix+".") || strings.HasPrefix(at, prefix+"[") {
			out = append(out, at)
		}
	}
	slices.Sort(out) // the walk over TOML's maps has no order
	return out
}
