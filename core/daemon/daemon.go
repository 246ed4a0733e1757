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
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/core/config"
	"github.com/moderatorbot/moderator/core/pluginhost"
	"github.com/moderatorbot/moderator/core/server"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
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

// HostOptions turns [plugins] into supervision options.
func HostOptions(cfg *config.Config, log hclog.Logger) pluginhost.Options {
	p := cfg.Plugins
	return pluginhost.Options{
		Logger: log.Named("plugin"), LogLevel: cfg.Moderator.LogLevel,
		StartTimeout: p.StartTimeout, RestartBackoff: p.RestartBackoff, RestartBackoffMax: p.RestartBackoffMax,
		CrashLimit: p.CrashLimit, CrashWindow: p.CrashWindow, HealthInterval: p.HealthInterval,
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

// Run runs the daemon until ctx is done, then shuts everything down: HTTP
// first so nothing new comes in, then the plugins, then the store.
func Run(ctx context.Context, cfg *config.Config, log hclog.Logger) error {
	if err := os.MkdirAll(cfg.Moderator.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	token, err := AdminToken(cfg)
	if err != nil {
		return err
	}
	st, err := store.Open(filepath.Join(cfg.Moderator.DataDir, "db"), store.Options{Logger: log.Named("store")})
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", "error", err)
		}
	}()

	opts := HostOptions(cfg, log)
	opts.KV = st.PluginKV
	host := pluginhost.New(opts, Specs(cfg))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		server.PluginCollector{Statuses: host.Statuses})
	srv, err := server.Start(server.Options{
		Addr: cfg.HTTP.Listen, ReadTimeout: cfg.HTTP.ReadTimeout, WriteTimeout: cfg.HTTP.WriteTimeout,
		AdminToken: token, Logger: log.Named("http"), Gatherer: reg, Plugins: host.Statuses,
		Ready: func() (bool, []string) { return ready(host) },
	})
	if err != nil {
		return err
	}
	log.Info("listening", "addr", srv.Addr().String(), "dry_run", cfg.Moderator.DryRun)

	started := time.Now()
	if err := host.Start(ctx); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			log.Error("plugin not running", "error", line)
		}
	}
	if ok, _ := ready(host); ok {
		log.Info("all plugins ready", "plugins", len(host.Instances()), "took", time.Since(started).Round(time.Millisecond).String())
	}

	<-ctx.Done()
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Error("http shutdown", "error", err)
	}
	host.Stop()
	log.Info("stopped")
	return nil
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
// field errors at the position of the field, plugins that cannot start, and
// rules whose action a connector in their scope cannot perform.
func Check(ctx context.Context, cfg *config.Config, log hclog.Logger) config.Problems {
	opts := HostOptions(cfg, log)
	opts.ValidateOnly, opts.NoRestart = true, true
	opts.KV = func(string) sdk.KV { return sdk.NewMemoryKV() }
	host := pluginhost.New(opts, Specs(cfg))
	_ = host.Start(ctx)
	defer host.Stop()

	var problems config.Problems
	for _, in := range cfg.Instances() {
		err := host.Instance(in.Name).Err()
		if err == nil {
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

	for i, rule := range cfg.Policy.Rules {
		if !platformActions[rule.Action] {
			continue
		}
		for _, c := range connectorsInScope(cfg, rule) {
			d := host.Instance(c.Name).Description()
			if d.Name == "" {
				continue // it did not start; reported above
			}
			if !d.Has(sdk.CapModerate) || !contains(d.Actions, rule.Action) {
				can := "nothing"
				if len(d.Actions) > 0 {
					can = strings.Join(d.Actions, ", ")
				}
				problems = append(problems, cfg.At(fmt.Sprintf("rule %q: connector %q (%s) cannot %s comments (it can: %s); limit the rule with when.targets or choose another action",
					rule.Name, c.Name, d.Name, rule.Action, can), "policy", "rule", i, "action"))
			}
		}
	}
	return problems
}

// connectorsInScope returns the connectors whose comments a rule can match:
// those of its targets when it names some, else all of them.
func connectorsInScope(cfg *config.Config, rule config.Rule) []config.Instance {
	if len(rule.When.Targets) == 0 {
		return cfg.Connectors
	}
	var out []config.Instance
	seen := map[string]bool{}
	for _, t := range cfg.Targets {
		if contains(rule.When.Targets, t.ID) && !seen[t.Connector] {
			seen[t.Connector] = true
			if c, ok := cfg.Instance(t.Connector); ok {
				out = append(out, c)
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
