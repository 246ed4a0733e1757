// Package config loads moderator.toml: it decodes the file, substitutes
// ${VAR} references from the environment, applies defaults and validates the
// result against the schema and against itself (names, cross-references,
// plugin binaries).
//
// Every problem found is reported at once, each as FILE:LINE:COL: message, so
// an operator fixes a broken file in one edit instead of one run per mistake.
// Only a TOML syntax error stops the loader early, because nothing after it
// can be trusted.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is a loaded, defaulted and validated moderator.toml.
type Config struct {
	File       string     // path it was loaded from (as given)
	Dir        string     // absolute directory of File; relative paths in the config are resolved against it
	Moderator  Moderator  // [moderator]
	HTTP       HTTP       // [http]
	Plugins    Plugins    // [plugins]
	Connectors []Instance // [[connector]]
	Analyzers  []Instance // [[analyzer]]
	Policy     Policy     // [policy] with [[policy.rule]]
	Targets    []Target   // [[target]]
	Pipeline   Pipeline   // [pipeline]
	Scheduler  Scheduler  // [scheduler]

	// index maps key paths to their position in the file, so that problems
	// found after loading (see At) still point into the source.
	index index
	// redactor holds what ${NAME} references read from the environment:
	// what Redact keeps out of messages. A pointer, so that printing a
	// Config with %+v shows an address, not the values.
	redactor *redactor
	// envRead lists where ${NAME} references read the environment (see
	// ReadsEnvironment).
	envRead []string
}

// Moderator is the [moderator] table.
type Moderator struct {
	DataDir   string // data_dir, default "./data", stored resolved and absolute
	LogLevel  string // log_level: trace|debug|info|warn|error, default "info"
	LogFormat string // log_format: text|json, default "text"
	// DryRun defaults to true so that a fresh install records what it would
	// do and acts on nothing until the operator says so.
	DryRun bool // dry_run
	// Retention is how long comment records and decisions are kept
	// (retention, default 720h). It must outlast every platform's replay
	// window, or a late redelivery would be taken for a new comment.
	Retention time.Duration
}

// Scheduler tunes polling and discovery ([scheduler]).
type Scheduler struct {
	MinInterval      time.Duration // min_interval, default 30s: poll interval of an active conversation
	MaxInterval      time.Duration // max_interval, default 15m: poll interval of a quiet one
	StopAfter        time.Duration // stop_after, default 168h: posts older and quieter than this are no longer polled
	DiscoverInterval time.Duration // discover_interval, default 15m: how often author/publication/query targets are expanded
	CallTimeout      time.Duration // call_timeout, default 2m: the longest one poll or discover call may take
}

// Pipeline tunes how comments move through analysis and action ([pipeline]).
type Pipeline struct {
	BatchSize       int           // batch_size, default 100: comments per analyzer call
	Workers         int           // workers, default 2: batches in flight at once
	AnalyzerRetries int           // analyzer_retries, default 2: retries of a failed analyzer call before its batch is split and on_failure applies
	ActionRetries   int           // action_retries, default 5: retries of a failed platform action before it is recorded as failed
	RetryBackoff    time.Duration // retry_backoff, default 1s: first delay between retries, doubling
	HoldRetry       time.Duration // hold_retry, default 1m: when a held comment is tried again (doubling up to 64 × hold_retry for one an analyzer fails on alone)
}

// HTTP is the [http] table: the single listener for webhooks and the admin API.
type HTTP struct {
	Listen        string        // listen, default "127.0.0.1:8080"
	WebhookPrefix string        // webhook_prefix, default "/webhooks"; starts with "/", does not end with "/"
	AdminToken    Secret        // admin_token, default empty
	ReadTimeout   time.Duration // read_timeout, default 10s
	WriteTimeout  time.Duration // write_timeout, default 10s
	MaxBodyBytes  int64         // max_body_bytes, default 1 MiB, > 0
}

// Plugins is the [plugins] table: where binaries live and how they are supervised.
type Plugins struct {
	Dir               string        // dir, default "./bin/plugins", stored resolved and absolute
	StartTimeout      time.Duration // start_timeout, default 10s
	RestartBackoff    time.Duration // restart_backoff, default 500ms (first restart delay)
	RestartBackoffMax time.Duration // restart_backoff_max, default 30s
	CrashLimit        int           // crash_limit, default 3: this many crashes inside CrashWindow quarantine the plugin
	CrashWindow       time.Duration // crash_window, default 10m
	HealthInterval    time.Duration // health_interval, default 5s
}

// Instance is one [[connector]] or [[analyzer]] entry. The same plugin may
// run as several instances, each under its own Name.
type Instance struct {
	Kind      string         // "connector" or "analyzer" (set by the loader)
	Index     int            // position in its array (set by the loader)
	Name      string         // name: unique across all connectors and analyzers; used in URL paths and store keys
	Plugin    string         // plugin: a bare name is looked up in Plugins.Dir, anything with a path separator is resolved against Config.Dir
	Path      string         // resolved absolute path of the binary (set by the loader)
	SHA256    string         // sha256: optional pin, lowercase hex
	Env       []string       // env: "NAME" (passed through from the host) or "NAME=value"; nothing else of the host environment reaches the plugin
	Timeout   time.Duration  // timeout: analyzers only, default 5s
	OnFailure string         // on_failure: analyzers only, "hold" (default) or "skip"
	Config    map[string]any // config: the plugin's own table, passed as is after ${VAR} substitution
}

// Policy is the [policy] table. Rules are kept in file order, which is their priority.
type Policy struct {
	Rules []Rule // [[policy.rule]]
	// AllowAuthors (allow_authors) are author ids or handles ("@name")
	// whose comments are always approved.
	AllowAuthors []string
}

// Rule is one [[policy.rule]].
type Rule struct {
	Index  int       // position in policy.rule (set by the loader)
	Name   string    // name: unique among rules
	When   Condition // when
	Action string    // action: approve, flag, hide, unhide, delete or review
	Reason string    // reason: optional text/template over the decision
	DryRun *bool     // dry_run: optional per-rule override of Moderator.DryRun
}

// Condition is the when table of a rule.
type Condition struct {
	Labels    []string // labels: any of these; known vocabulary or "plugin.label"
	MinScore  float64  // min_score: default 0.5, in [0,1]
	Analyzers []string // analyzers: optional, names of [[analyzer]] instances
	Authors   []string // authors: optional author ids or handles
	Targets   []string // targets: optional target ids
	// Connectors (connectors) are optional [[connector]] instance names: the
	// rule looks only at comments that one of them brought in.
	Connectors []string
}

// Target is one [[target]]: something a connector watches for comments.
type Target struct {
	Index        int           // position in target (set by the loader)
	Connector    string        // connector: name of a [[connector]] instance
	Kind         string        // kind: post, author, publication or query
	ID           string        // id
	PollInterval time.Duration // poll_interval: 0 means the scheduler's default; otherwise >= 1s
}

// Secret is a string that never prints, so that a config dumped into a log
// or a debug page does not leak credentials. Use Value for the real thing.
type Secret string

const redacted = "[redacted]"

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// String returns "[redacted]", or "" for an empty secret so that "not set"
// stays visible.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// Format covers every fmt verb, including the ones (%d, %x) that would
// otherwise bypass String and print the raw bytes.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// MarshalText redacts the secret in text encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON redacts the secret in JSON.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// LogValue redacts the secret in log/slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Load reads and validates the file at path. On any problem it returns a nil
// *Config and a Problems error listing all of them.
func Load(path string) (*Config, error) {
	return LoadWith(path, os.LookupEnv)
}

// LoadWith is Load with the environment looked up through lookupEnv.
func LoadWith(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	data, ps := read(path)
	if ps != nil {
		return nil, ps
	}
	return Parse(path, data, lookupEnv)
}

func read(path string) ([]byte, Problems) {
	data, err := os.ReadFile(path)
	if err != nil {
		// The path is already in the problem's FILE prefix.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, Problems{{File: path, Msg: "cannot read config: " + err.Error(), err: err}}
	}
	return data, nil
}

// Parse is Load on bytes already read: name is the file name used in
// messages and to resolve relative paths; lookupEnv resolves ${VAR}
// references (os.LookupEnv in production, and when nil).
func Parse(name string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	c, ps := ParsePartial(name, data, lookupEnv)
	if len(ps) > 0 {
		return nil, ps
	}
	return c, nil
}

// LoadPartial is Load for `config check`: along with the problems, it
// returns what of the config could be read (nil after a syntax error),
// keeping only the connectors and analyzers without a problem of their
// own, so that their plugins can check their tables in the same run. Only
// the instances of a partial config may be relied on.
func LoadPartial(path string) (*Config, Problems) {
	data, ps := read(path)
	if ps != nil {
		return nil, ps
	}
	return ParsePartial(path, data, os.LookupEnv)
}

// ParsePartial is LoadPartial on bytes already read.
func ParsePartial(name string, data []byte, lookupEnv func(string) (string, bool)) (*Config, Problems) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, Problems{syntaxProblem(name, err)}
	}
	dir, err := filepath.Abs(filepath.Dir(name))
	if err != nil {
		return nil, Problems{{File: name, Msg: "cannot resolve config directory: " + err.Error(), err: err}}
	}
	w := &walker{file: name, dir: dir, index: buildIndex(data), env: lookupEnv}
	w.substitute(nil, raw)
	c := w.decode(raw)
	c.File, c.Dir, c.index, c.redactor, c.envRead = name, dir, w.index, newRedactor(w.substituted), w.envRead
	if len(w.problems) == 0 {
		return c, nil
	}
	for i := range w.problems {
		w.problems[i].Msg = c.Redact(w.problems[i].Msg)
	}
	keep := func(ins []Instance) []Instance {
		return slices.DeleteFunc(ins, func(in Instance) bool {
			return in.Name == "" || in.Path == "" || w.badInstances[fmt.Sprintf("%s[%d]", in.Kind, in.Index)]
		})
	}
	c.Connectors, c.Analyzers = keep(c.Connectors), keep(c.Analyzers)
	return c, w.problems.sorted()
}

// syntaxProblem turns a decoder error into a positioned problem. The
// message is BurntSushi's short one, without its "toml: line N" preamble,
// since the position is already in front.
func syntaxProblem(file string, err error) Problem {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return Problem{File: file, Line: pe.Position.Line, Col: pe.Position.Col, Msg: strings.ReplaceAll(pe.Message, "\n", " "), err: err}
	}
	return Problem{File: file, Msg: err.Error(), err: err}
}

// Instance returns the connector or analyzer instance called name.
func (c *Config) Instance(name string) (Instance, bool) {
	for _, in := range c.Instances() {
		if in.Name == name {
			return in, true
		}
	}
	return Instance{}, false
}

// Instances returns all connector instances followed by all analyzer instances.
func (c *Config) Instances() []Instance {
	return slices.Concat(c.Connectors, c.Analyzers)
}
