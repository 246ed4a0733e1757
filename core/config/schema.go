package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
)

var (
	logLevels   = []string{"trace", "debug", "info", "warn", "error"}
	logFormats  = []string{"text", "json"}
	onFailures  = []string{"hold", "skip"}
	actions     = []string{"approve", "flag", "hide", "unhide", "delete", "review"}
	targetKinds = []string{"post", "author", "publication", "query"}
	// labels is the shared vocabulary analyzers score against; anything else
	// must be namespaced by its plugin ("shouting.caps").
	labels = []string{"profanity", "insult", "threat", "identity_attack", "sexual", "spam", "negative"}

	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	sha256RE  = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// decode fills a Config from the substituted map: defaults first, then
// whatever the file sets, validating each value where it is read.
func (w *walker) decode(raw map[string]any) *Config {
	c := &Config{
		Moderator: Moderator{DataDir: "./data", LogLevel: "info", LogFormat: "text", DryRun: true, Retention: 720 * time.Hour},
		Pipeline: Pipeline{BatchSize: 100, Workers: 2, AnalyzerRetries: 2, ActionRetries: 5,
			RetryBackoff: time.Second, HoldRetry: time.Minute},
		Scheduler: Scheduler{MinInterval: 30 * time.Second, MaxInterval: 15 * time.Minute, StopAfter: 168 * time.Hour, DiscoverInterval: 15 * time.Minute, CallTimeout: 2 * time.Minute},
		HTTP: HTTP{Listen: "127.0.0.1:8080", WebhookPrefix: "/webhooks",
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, MaxBodyBytes: 1 << 20},
		Plugins: Plugins{Dir: "./bin/plugins", StartTimeout: 10 * time.Second,
			RestartBackoff: 500 * time.Millisecond, RestartBackoffMax: 30 * time.Second,
			CrashLimit: 3, CrashWindow: 10 * time.Minute, HealthInterval: 5 * time.Second},
	}
	root := &table{w: w, m: raw}
	if t := root.table("moderator"); t != nil {
		t.str("data_dir", &c.Moderator.DataDir)
		t.oneOf("log_level", "log level", &c.Moderator.LogLevel, logLevels)
		t.oneOf("log_format", "log format", &c.Moderator.LogFormat, logFormats)
		t.boolean("dry_run", &c.Moderator.DryRun)
		if p := t.duration("retention", &c.Moderator.Retention); p != nil && c.Moderator.Retention < time.Hour {
			w.bad(p, "must be at least 1h, got %s", c.Moderator.Retention)
		}
		t.done()
	}
	if t := root.table("pipeline"); t != nil {
		w.decodePipeline(t, &c.Pipeline)
	}
	if t := root.table("scheduler"); t != nil {
		w.decodeScheduler(t, &c.Scheduler)
	}
	c.Moderator.DataDir = w.resolve(c.Moderator.DataDir)
	if t := root.table("http"); t != nil {
		w.decodeHTTP(t, &c.HTTP)
	}
	if t := root.table("plugins"); t != nil {
		w.decodePlugins(t, &c.Plugins)
	}
	c.Plugins.Dir = w.resolve(c.Plugins.Dir)
	c.Connectors = w.decodeInstances(root, "connector", c.Plugins.Dir)
	c.Analyzers = w.decodeInstances(root, "analyzer", c.Plugins.Dir)
	w.checkNames(c.Instances())
	if t := root.table("policy"); t != nil {
		t.list("allow_authors", &c.Policy.AllowAuthors)
		for _, rt := range t.tables("rule") {
			c.Policy.Rules = append(c.Policy.Rules, w.decodeRule(rt, len(c.Policy.Rules), c.Analyzers, c.Connectors))
		}
		t.done()
	}
	w.checkRuleNames(c.Policy.Rules)
	for _, tt := range root.tables("target") {
		c.Targets = append(c.Targets, w.decodeTarget(tt, len(c.Targets), c.Connectors))
	}
	root.done()
	return c
}

// resolve makes a path from the file absolute against the file's directory,
// so the daemon behaves the same whatever its working directory.
func (w *walker) resolve(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(w.dir, p)
}

func (w *walker) decodeHTTP(t *table, h *HTTP) {
	if p := t.str("listen", &h.Listen); p != nil {
		if err := checkListen(h.Listen); err != nil {
			w.bad(p, `invalid address %q: %v`, h.Listen, err)
		}
	}
	if p := t.str("webhook_prefix", &h.WebhookPrefix); p != nil {
		if err := checkWebhookPrefix(h.WebhookPrefix); err != nil {
			w.bad(p, "%v", err)
		}
	}
	if v, p, ok := t.field("admin_token"); ok {
		if s, isStr := v.(string); isStr {
			h.AdminToken = Secret(s)
		} else {
			w.bad(p, "expected a string, got %s", describe(v, true))
		}
	}
	// Zero would switch the timeouts off, and one slow client could then
	// hold a connection for ever.
	for _, f := range []struct {
		key string
		dst *time.Duration
	}{{"read_timeout", &h.ReadTimeout}, {"write_timeout", &h.WriteTimeout}} {
		if p := t.duration(f.key, f.dst); p != nil && *f.dst == 0 {
			w.bad(p, "must be greater than 0 (0 would let a slow client hold a connection open for ever)")
		}
	}
	if p := t.integer("max_body_bytes", &h.MaxBodyBytes); p != nil && h.MaxBodyBytes <= 0 {
		w.bad(p, "must be greater than 0, got %d", h.MaxBodyBytes)
	}
	t.done()
}

// reservedPaths are the listener's own routes, which a webhook prefix must
// not shadow or collide with.
var reservedPaths = []string{"api", "healthz", "readyz", "metrics", "debug"}

func checkWebhookPrefix(prefix string) error {
	rest, ok := strings.CutPrefix(prefix, "/")
	if !ok || rest == "" || strings.HasSuffix(rest, "/") {
		return fmt.Errorf(`must start with "/", name a path and not end with "/", got %q`, prefix)
	}
	for seg := range strings.SplitSeq(rest, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsFunc(seg, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r))
		}) {
			return fmt.Errorf("%q: each part of the path may hold only letters, digits and - . _ ~", prefix)
		}
	}
	first, _, _ := strings.Cut(rest, "/")
	if slices.Contains(reservedPaths, first) {
		return fmt.Errorf("%q collides with the listener's own /%s routes; choose another, such as /webhooks", prefix, first)
	}
	return nil
}

func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf(`want host:port such as "127.0.0.1:8080"`)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q: want a number from 1 to 65535 (the commands find the daemon by it)", port)
	}
	if host != "" && net.ParseIP(host) == nil && strings.Trim(host, "0123456789.") == "" {
		return fmt.Errorf("host %q is not an IP address", host)
	}
	return nil
}

func (w *walker) decodePlugins(t *table, pl *Plugins) {
	t.str("dir", &pl.Dir)
	for _, f := range []struct {
		key string
		dst *time.Duration
	}{{"start_timeout", &pl.StartTimeout}, {"restart_backoff", &pl.RestartBackoff}, {"crash_window", &pl.CrashWindow}, {"health_interval", &pl.HealthInterval}} {
		if p := t.duration(f.key, f.dst); p != nil && *f.dst == 0 {
			w.bad(p, "must be greater than 0 (leave it out for the default)")
		}
	}
	if p := t.duration("restart_backoff_max", &pl.RestartBackoffMax); p != nil && pl.RestartBackoffMax < pl.RestartBackoff {
		w.bad(p, "must not be shorter than restart_backoff (%s)", pl.RestartBackoff)
	}
	limit := int64(pl.CrashLimit)
	if p := t.integer("crash_limit", &limit); p != nil {
		if limit < 1 {
			w.bad(p, "must be at least 1, got %d", limit)
		} else {
			pl.CrashLimit = int(min(limit, math.MaxInt32)) // beyond that it means "never" anyway
		}
	}
	t.done()
}

func (w *walker) decodeInstances(root *table, kind, pluginDir string) []Instance {
	var out []Instance
	for i, t := range root.tables(kind) {
		in := Instance{Kind: kind, Index: i, Config: map[string]any{}}
		if p := t.requiredStr("name", &in.Name); p != nil && !nameRE.MatchString(in.Name) {
			w.bad(p, "invalid name %q: use 1-63 lowercase letters, digits, '-' or '_', starting with a letter or digit", in.Name)
		}
		if p := t.requiredStr("plugin", &in.Plugin); p != nil {
			in.Path = w.checkBinary(p, in, pluginDir)
		}
		if p := t.str("sha256", &in.SHA256); p != nil {
			if !sha256RE.MatchString(in.SHA256) {
				w.bad(p, "expected 64 hexadecimal characters, got %q", in.SHA256)
			}
			in.SHA256 = strings.ToLower(in.SHA256)
		}
		if p := t.list("env", &in.Env); p != nil {
			for j, e := range in.Env {
				name, _, set := strings.Cut(e, "=")
				if !envNameRE.MatchString(name) {
					w.bad(join(p, j), `invalid environment variable name %q (want "NAME" or "NAME=value", NAME matching %s)`, name, envNameRE)
				} else if !set {
					// The plugin gets the host's value: no message may show it
					// (a plugin that prints its environment and dies).
					if v, ok := w.env(name); ok {
						w.record(name, v)
					}
				}
			}
		}
		if kind == "analyzer" {
			in.Timeout, in.OnFailure = 5*time.Second, "hold"
			if p := t.duration("timeout", &in.Timeout); p != nil && in.Timeout == 0 {
				w.bad(p, "must be greater than 0")
			}
			t.oneOf("on_failure", "on_failure value", &in.OnFailure, onFailures)
		}
		if ct := t.table("config"); ct != nil {
			in.Config = ct.m // the plugin's own schema: not checked here
			w.noNonNumbers(ct.path, ct.m)
		}
		t.done()
		out = append(out, in)
	}
	return out
}

// noNonNumbers reports TOML's nan and inf in a plugin's table: the table
// reaches the plugin as JSON, which has no way to write them.
func (w *walker) noNonNumbers(path []any, v any) {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			w.bad(path, "%v is not a number a plugin can be given (its table reaches it as JSON)", v)
		}
	case map[string]any:
		for k, e := range v {
			w.noNonNumbers(join(path, k), e)
		}
	case []any:
		for i, e := range v {
			w.noNonNumbers(join(path, i), e)
		}
	case []map[string]any:
		for i, e := range v {
			w.noNonNumbers(join(path, i), e)
		}
	}
}

// checkBinary resolves an instance's plugin to an absolute path and reports
// it when there is nothing runnable there.
func (w *walker) checkBinary(p []any, in Instance, pluginDir string) string {
	path := filepath.Join(pluginDir, in.Plugin)
	if strings.ContainsAny(in.Plugin, `/\`) || strings.ContainsRune(in.Plugin, filepath.Separator) {
		path = w.resolve(in.Plugin)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		w.add(p, false, "%s: plugin binary %s not found (build it with make build, or set plugin to a path)", in.label(), path)
	case err != nil:
		w.add(p, false, "%s: plugin binary: %v", in.label(), err)
	case fi.IsDir():
		w.add(p, false, "%s: plugin binary %s is a directory", in.label(), path)
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0:
		w.add(p, false, "%s: plugin binary %s is not executable (chmod +x it)", in.label(), path)
	}
	return path
}

// checkNames reports duplicate instance names at the second use, since
// names key URL paths and stored records.
func (w *walker) checkNames(all []Instance) {
	first := map[string]Instance{}
	for _, in := range all {
		if in.Name == "" {
			continue
		}
		if prev, dup := first[in.Name]; dup {
			line, _ := w.index.pos([]any{prev.Kind, prev.Index, "name"}, false)
			w.bad([]any{in.Kind, in.Index, "name"}, "duplicate instance name %q (first used by %s[%d] at line %d)", in.Name, prev.Kind, prev.Index, line)
			continue
		}
		first[in.Name] = in
	}
}

func (w *walker) decodePipeline(t *table, p *Pipeline) {
	ints := []struct {
		key string
		dst *int
		min int64
	}{{"batch_size", &p.BatchSize, 1}, {"workers", &p.Workers, 1}, {"analyzer_retries", &p.AnalyzerRetries, 0}, {"action_retries", &p.ActionRetries, 0}}
	for _, f := range ints {
		v := int64(*f.dst)
		if path := t.integer(f.key, &v); path != nil {
			if v < f.min || v > 100000 {
				w.bad(path, "must be between %d and 100000, got %d", f.min, v)
			} else {
				*f.dst = int(v)
			}
		}
	}
	for _, f := range []struct {
		key string
		dst *time.Duration
	}{{"retry_backoff", &p.RetryBackoff}, {"hold_retry", &p.HoldRetry}} {
		if path := t.duration(f.key, f.dst); path != nil && *f.dst <= 0 {
			w.bad(path, "must be positive, got %s", *f.dst)
		}
	}
	t.done()
}

func (w *walker) decodeScheduler(t *table, s *Scheduler) {
	for _, f := range []struct {
		key string
		dst *time.Duration
	}{{"min_interval", &s.MinInterval}, {"max_interval", &s.MaxInterval}, {"stop_after", &s.StopAfter}, {"discover_interval", &s.DiscoverInterval}, {"call_timeout", &s.CallTimeout}} {
		if path := t.duration(f.key, f.dst); path != nil && *f.dst < 100*time.Millisecond {
			w.bad(path, "must be at least 100ms, got %s", *f.dst)
		}
	}
	if p := t.duration("max_interval", &s.MaxInterval); p != nil && s.MaxInterval < s.MinInterval {
		w.bad(p, "must not be below min_interval (%s)", s.MinInterval)
	}
	t.done()
}

func (w *walker) decodeRule(t *table, i int, analyzers, connectors []Instance) Rule {
	r := Rule{Index: i, When: Condition{MinScore: 0.5}}
	t.requiredStr("name", &r.Name)
	if t.oneOf("action", "action", &r.Action, actions) == nil {
		t.required("action")
	}
	if p := t.str("reason", &r.Reason); p != nil {
		if _, err := template.New("reason").Parse(r.Reason); err != nil {
			w.bad(p, "invalid template: %v", err)
		}
	}
	var dry bool
	if t.boolean("dry_run", &dry) != nil {
		r.DryRun = &dry
	}
	if wt := t.table("when"); wt != nil {
		w.decodeCondition(wt, &r.When, analyzers, connectors)
		wt.done()
	} else {
		t.required("when")
	}
	t.done()
	return r
}

func (w *walker) decodeCondition(t *table, c *Condition, analyzers, connectors []Instance) {
	if p := t.list("labels", &c.Labels); p != nil {
		if len(c.Labels) == 0 {
			w.bad(p, "list at least one label")
		}
		for j, l := range c.Labels {
			if !slices.Contains(labels, l) && !strings.Contains(l, ".") {
				hint := suggest(l, labels)
				if hint == "" {
					hint = " (known labels: " + strings.Join(labels, ", ") + ")"
				}
				w.bad(join(p, j), `unknown label %q%s; a plugin's own labels are prefixed with its name, e.g. "shouting.caps"`, l, hint)
			}
		}
	} else {
		t.required("labels") // a wrong type was reported by list
	}
	if p := t.number("min_score", &c.MinScore); p != nil && !(c.MinScore >= 0 && c.MinScore <= 1) { // also catches nan
		w.bad(p, "must be between 0 and 1, got %v", c.MinScore)
	}
	if p := t.list("analyzers", &c.Analyzers); p != nil {
		names := instanceNames(analyzers)
		for j, a := range c.Analyzers {
			if !slices.Contains(names, a) {
				w.bad(join(p, j), "unknown analyzer %q%s", a, unknownRef(a, names, "analyzer"))
			}
		}
	}
	t.list("authors", &c.Authors)
	t.list("targets", &c.Targets)
	if p := t.list("connectors", &c.Connectors); p != nil {
		names := instanceNames(connectors)
		for j, n := range c.Connectors {
			if !slices.Contains(names, n) {
				w.bad(join(p, j), "unknown connector %q%s", n, unknownRef(n, names, "connector"))
			}
		}
	}
}

func (w *walker) checkRuleNames(rules []Rule) {
	first := map[string]int{}
	for _, r := range rules {
		if r.Name == "" {
			continue
		}
		if prev, dup := first[r.Name]; dup {
			line, _ := w.index.pos([]any{"policy", "rule", prev, "name"}, false)
			w.bad([]any{"policy", "rule", r.Index, "name"}, "duplicate rule name %q (first used at line %d)", r.Name, line)
			continue
		}
		first[r.Name] = r.Index
	}
}

func (w *walker) decodeTarget(t *table, i int, connectors []Instance) Target {
	tg := Target{Index: i}
	if p := t.requiredStr("connector", &tg.Connector); p != nil {
		if names := instanceNames(connectors); !slices.Contains(names, tg.Connector) {
			w.bad(p, "unknown connector %q%s", tg.Connector, unknownRef(tg.Connector, names, "connector"))
		}
	}
	if t.oneOf("kind", "target kind", &tg.Kind, targetKinds) == nil {
		t.required("kind")
	}
	t.requiredStr("id", &tg.ID)
	if p := t.duration("poll_interval", &tg.PollInterval); p != nil && tg.PollInterval < time.Second {
		w.bad(p, "must be at least 1s, got %s", tg.PollInterval)
	}
	t.done()
	return tg
}

func instanceNames(ins []Instance) []string {
	names := make([]string, 0, len(ins))
	for _, in := range ins {
		if in.Name != "" {
			names = append(names, in.Name)
		}
	}
	return names
}

// unknownRef explains a dangling reference: a likely typo, or the names that would do.
func unknownRef(s string, names []string, kind string) string {
	if len(names) == 0 {
		return fmt.Sprintf(" (no [[%s]] is defined)", kind)
	}
	if hint := suggest(s, names); hint != "" {
		return hint
	}
	return fmt.Sprintf(" (defined: %s)", strings.Join(names, ", "))
}
