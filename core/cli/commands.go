package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/moderatorbot/moderator/core/config"
	"github.com/moderatorbot/moderator/core/daemon"
	"github.com/moderatorbot/moderator/core/pluginhost"
	"github.com/spf13/cobra"
)

func (e *env) configCmd() *cobra.Command {
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate the config, including each plugin's own config table",
		Long: "Validate moderator.toml: syntax, unknown keys, types, references, plugin binaries and pins,\n" +
			"then start each plugin in validate-only mode and let it check its own config table.\n" +
			"Every problem is printed as FILE:LINE:COL: message, all of them at once.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, ps := config.LoadPartial(e.configPath)
			// What goes wrong is reported as problems below, not logged.
			log := daemon.NewLogger(config.Moderator{LogLevel: "off"}, io.Discard)
			if cfg != nil {
				// Even when the file has problems, the instances that
				// decoded cleanly have their plugins check their tables,
				// so that one run lists everything.
				ps = append(ps, daemon.Check(cmd.Context(), cfg, log)...)
			}
			if len(ps) > 0 {
				return e.reportProblems(ps)
			}
			fmt.Fprintf(e.stdout, "%s: OK (%d connectors, %d analyzers, %d rules, %d targets)\n", e.configPath,
				len(cfg.Connectors), len(cfg.Analyzers), len(cfg.Policy.Rules), len(cfg.Targets))
			return nil
		},
	}
	return group("config", "Work with the config file", check)
}

func (e *env) pluginsCmd() *cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "List plugin instances: version, protocol, capabilities, checksum, state",
		Long: "List the configured plugin instances. When the daemon is running, its live view is shown\n" +
			"(including restarts and quarantine); otherwise each plugin is started once to describe itself.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, unset, err := e.loadConfigLenient()
			if err != nil {
				return err
			}
			statuses, live, err := e.pluginStatuses(cmd.Context(), cfg, unset)
			if err != nil {
				return err
			}
			if e.json {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(statuses)
			}
			printStatuses(e.stdout, statuses, live)
			return nil
		},
	}
	list.Flags().BoolVar(&e.json, "json", false, "print JSON")
	return group("plugins", "Inspect plugins", list)
}

// pluginStatuses asks the running daemon, or starts the plugins itself when
// no daemon answers on the configured address.
func (e *env) pluginStatuses(ctx context.Context, cfg *config.Config, unset bool) ([]pluginhost.Status, bool, error) {
	var resp struct {
		Plugins []pluginhost.Status `json:"plugins"`
	}
	rc, err := newRemote(cfg)
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = rc.do(ctx, "GET", "/api/v1/plugins", nil, &resp)
		cancel()
		if err == nil {
			return resp.Plugins, true, nil
		}
	}
	if !errors.Is(err, errNoDaemon) {
		return nil, false, err
	}
	if unset { // the plugins start here: they need their secrets
		if _, err := e.loadConfig(); err != nil {
			return nil, false, err
		}
	}
	log := daemon.NewLogger(config.Moderator{LogLevel: "off", LogFormat: "text"}, io.Discard)
	opts := daemon.HostOptions(cfg, log)
	opts.NoRestart = true
	host := pluginhost.New(opts, daemon.Specs(cfg))
	_ = host.Start(ctx)
	defer host.Stop()
	return host.Statuses(), false, nil
}

func printStatuses(w io.Writer, statuses []pluginhost.Status, live bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tPLUGIN\tKIND\tVERSION\tPROTOCOL\tCAPABILITIES\tACTIONS\tCHECKSUM\tSTATE")
	for _, s := range statuses {
		sum := s.Checksum
		if len(sum) > 12 {
			sum = sum[:12]
		}
		if s.Pinned {
			sum += " (pinned)"
		}
		state := string(s.State)
		if s.Restarts > 0 {
			state += fmt.Sprintf(" (%d restarts)", s.Restarts)
		}
		proto := "-"
		if s.Protocol > 0 {
			proto = fmt.Sprintf("v%d", s.Protocol)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Instance, s.Plugin, s.Kind, dash(s.Version), proto,
			dash(strings.Join(s.Capabilities, ",")), dash(strings.Join(s.Actions, ",")), dash(sum), state)
	}
	tw.Flush()
	if !live {
		fmt.Fprintln(w, "(the daemon is not running: each plugin was started once to describe itself)")
	}
	for _, s := range statuses {
		if s.LastError != "" && s.State != pluginhost.StateReady {
			fmt.Fprintf(w, "%s: %s\n", s.Instance, oneLine(s.LastError))
		}
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (e *env) runCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the daemon",
		Long: "Start every configured plugin, serve HTTP (/healthz, /readyz, /metrics, the admin API),\n" +
			"and moderate until SIGINT or SIGTERM, then shut down cleanly.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := e.loadConfig()
			if err != nil {
				return err
			}
			log := daemon.NewLogger(cfg.Moderator, e.stderr)
			return daemon.Run(cmd.Context(), cfg, log)
		},
	}
}
