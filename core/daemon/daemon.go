// Package daemon wires the parts of moderator together: it turns the config
// into supervised plugin instances, opens the store, serves HTTP, and checks
// a config against the plugins it names.
package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/core/config"
	"github.com/moderatorbot/moderator/core/pluginhost"
	"github.com/moderatorbot/moderator/core/scheduler"
	"github.com/moderatorbot/moderator/sdk"
)

// NewLogger builds the host's logger from [moderator] log_level and log_format.
func NewLogger(m config.Moderator, w io.Writer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "moderator",
		Level:      hclog.LevelFromString(m.LogLevel),
		Output:     w,
		JSONFormat: m.LogFormat == "json",
	})
}

// Specs turns the configured instances into what the plugin host runs.
func Specs(cfg *config.Config) []pluginhost.Spec {
	var specs []pluginhost.Spec
	for _, in := range cfg.Instances() {
		specs = append(specs, pluginhost.Spec{
			Name: in.Name, Kind: sdk.Kind(in.Kind), Plugin: in.Plugin, Path: in.Path,
			SHA256: in.SHA256, Env: in.Env, Config: in.Config,
		})
	}
	return specs
}

// AnalyzerSpecs is Specs for the analyzers alone: what a command that only
// analyzes (eval, replay) starts.
func AnalyzerSpecs(cfg *config.Config) []pluginhost.Spec {
	return slices.DeleteFunc(Specs(cfg), func(s pluginhost.Spec) bool { return s.Kind != sdk.KindAnalyzer })
}

// HostOptions turns [plugins] into supervision options.
func HostOptions(cfg *config.Config, log hclog.Logger) pluginhost.Options {
	p := cfg.Plugins
	return pluginhost.Options{
		Logger: log.Named("plugin"), LogLevel: cfg.Moderator.LogLevel,
		StartTimeout: p.StartTimeout, RestartBackoff: p.RestartBackoff, RestartBackoffMax: p.RestartBackoffMax,
		CrashLimit: p.CrashLimit, CrashWindow: p.CrashWindow, HealthInterval: p.HealthInterval,
		Redact: cfg.Redact,
	}
}

// tokenFile is where the daemon keeps the admin token it generated when the
// config sets none, so that the CLI on the same machine can use the API.
func tokenFile(cfg *config.Config) string { return filepath.Join(cfg.Moderator.DataDir, "admin.token") }

// AdminToken returns the configured admin token, or the one in the data
// directory, generating it on first use (readable by the owner only).
func AdminToken(cfg *config.Config) (string, error) {
	if t, err := ReadAdminToken(cfg); err == nil {
		return t, nil
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate admin token: %w", err)
	}
	t := hex.EncodeToString(b)
	if err := os.WriteFile(tokenFile(cfg), []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	return t, nil
}

// ReadAdminToken returns the configured admin token, or the one the daemon
// generated in the data directory.
func ReadAdminToken(cfg *config.Config) (string, error) {
	if t := cfg.HTTP.AdminToken.Value(); t != "" {
		return t, nil
	}
	data, err := os.ReadFile(tokenFile(cfg))
	if err != nil {
		return "", fmt.Errorf("no admin token: set [http] admin_token or start the daemon once: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}

func ready(h *pluginhost.Host) (bool, []string) {
	var why []string
	for _, st := range h.Statuses() {
		if st.State != pluginhost.StateReady {
			why = append(why, fmt.Sprintf("%s %s is %s", st.Kind, st.Instance, st.State))
		}
	}
	return len(why) == 0, why
}

// platformActions are the actions that need a connector's Moderate.
var platformActions = map[string]bool{sdk.ActionFlag: true, sdk.ActionHide: true, sdk.ActionUnhide: true, sdk.ActionDelete: true}

// Check starts every plugin the config names, in validate-only mode, and
// returns what they and the policy have against the config: each plugin's
// field errors at the position of the field, plugins that cannot start,
// rules whose action a connector in their scope cannot perform, rule labels
// that no analyzer in their scope emits, and targets of a kind their
// connector cannot watch.
//
// cfg may be a partial config (config.LoadPartial): every check here holds
// for the instances it kept, and a rule is only held against those.
func Check(ctx context.Context, cfg *config.Config, log hclog.Logger) config.Problems {
	if len(cfg.Instances()) == 0 {
		return nil
	}
	opts := HostOptions(cfg, log)
	opts.ValidateOnly, opts.NoRestart = true, true
	opts.KV = func(string) sdk.KV { return sdk.NewMemoryKV() }
	host := pluginhost.New(opts, Specs(cfg))
	_ = host.Start(ctx)
	defer host.Stop()

	problems := append(instanceProblems(cfg, host, false), actionProblems(cfg, host)...)
	problems = append(problems, labelProblems(cfg, host)...)
	return append(problems, targetProblems(cfg, host)...)
}

// instanceProblems turns the instances that failed to start into problems
// at their place in the config: a plugin's field errors at the fields, any
// other failure at its plugin key. With onlyPermanent, failures a restart
// may cure are left out.
func instanceProblems(cfg *config.Config, host *pluginhost.Host, onlyPermanent bool) config.Problems {
	var problems config.Problems
	for _, in := range cfg.Instances() {
		err := host.Instance(in.Name).Err()
		if err == nil || onlyPermanent && !pluginhost.IsPermanent(err) {
			continue
		}
		var ce *pluginhost.ConfigError
		if errors.As(err, &ce) {
			for _, fe := range ce.Fields {
				problems = append(problems, cfg.PluginFieldProblem(in, fe.Field, fe.Message))
			}
			continue
		}
		problems = append(problems, cfg.At(fmt.Sprintf("%s %q: %v", in.Kind, in.Name, err), in.Kind, in.Index, "plugin"))
	}
	return problems
}

// targetProblems is the run-time half of config check for targets: those of
// a kind their connector does not declare (see scheduler.CheckTargetKind).
func targetProblems(cfg *config.Config, host *pluginhost.Host) config.Problems {
	var problems config.Problems
	for _, t := range cfg.Targets {
		in := host.Instance(t.Connector)
		if in == nil {
			continue // not a connector; reported by the config's own checks
		}
		d := in.Description()
		if d.Name == "" {
			continue // it did not start; reported elsewhere
		}
		if err := scheduler.CheckTargetKind(d, t.Kind); err != nil {
			problems = append(problems, cfg.At(fmt.Sprintf("target[%d].kind: connector %q (%s) %v; choose a kind it takes, or another connector",
				t.Index, t.Connector, d.Name, err), "target", t.Index, "kind"))
		}
	}
	return problems
}

// describeOnce starts the named connector alone, in validate-only mode, and
// returns what it says in Describe: what the CLI asks when no daemon runs.
func describeOnce(ctx context.Context, cfg *config.Config, log hclog.Logger, name string) (sdk.Description, error) {
	var specs []pluginhost.Spec
	for _, sp := range Specs(cfg) {
		if sp.Name == name {
			specs = append(specs, sp)
		}
	}
	opts := HostOptions(cfg, log)
	opts.ValidateOnly, opts.NoRestart = true, true
	opts.KV = func(string) sdk.KV { return sdk.NewMemoryKV() }
	host := pluginhost.New(opts, specs)
	defer host.Stop()
	if err := host.Start(ctx); err != nil {
		return sdk.Description{}, fmt.Errorf("start connector %q to ask which targets it takes: %w", name, err)
	}
	return host.Instance(name).Description(), nil
}

// connectorsInScope returns the connectors whose comments a rule can match:
// those it names in when.connectors (all when it names none), and of those
// only the connectors of its targets when it names some.
func connectorsInScope(cfg *config.Config, rule config.Rule) []config.Instance {
	named := func(c string) bool { return len(rule.When.Connectors) == 0 || contains(rule.When.Connectors, c) }
	if len(rule.When.Targets) == 0 {
		return slices.DeleteFunc(slices.Clone(cfg.Connectors), func(c config.Instance) bool { return !named(c.Name) })
	}
	var out []config.Instance
	seen := map[string]bool{}
	for _, t := range cfg.Targets {
		if contains(rule.When.Targets, t.ID) && named(t.Connector) && !seen[t.Connector] {
			seen[t.Connector] = true
			if c, ok := cfg.Instance(t.Connector); ok {
				out = append(out, c)
			}
		}
	}
	return out
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
