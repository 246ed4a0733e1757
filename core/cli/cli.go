// Package cli is moderator's command line: the commands, their flags, their
// output, and the exit status contract (0 success, 1 a user error with a
// one-line reason, 2 a usage error).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/moderatorbot/moderator/core/config"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X .../core/cli.version=v1.2.3";
// otherwise it comes from the module's build info.
var version = ""

// Version is the moderator release this binary is.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Exit statuses.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// usageError marks a mistake in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

// reportedError is an error whose details the command already printed.
type reportedError struct{ summary string }

func (e reportedError) Error() string { return e.summary }

// env is what commands read and write, so tests can run them in-process.
type env struct {
	stdout, stderr io.Writer
	configPath     string
	json           bool
}

// Main runs the command line and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	root := e.root()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintf(stderr, "moderator: %v\nRun 'moderator --help' for usage.\n", err)
		return ExitUsage
	}
	var re reportedError
	if errors.As(err, &re) {
		fmt.Fprintf(stderr, "moderator: %s\n", re.summary)
		return ExitError
	}
	fmt.Fprintf(stderr, "moderator: %s\n", oneLine(err.Error()))
	return ExitError
}

func isCobraUsage(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag") || strings.HasPrefix(msg, "flag needs an argument") ||
		strings.HasPrefix(msg, "invalid argument")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (e *env) root() *cobra.Command {
	root := &cobra.Command{
		Use:           "moderator",
		Short:         "Self-hosted, plugin-based comment moderation",
		Long:          "moderator watches posts on social platforms, runs every new comment through analyzer plugins,\napplies a policy's action, and keeps an audit trail you can review and reverse.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			_ = cmd.Help()
			return usageError{errors.New("a command is required")}
		},
	}
	root.PersistentFlags().StringVar(&e.configPath, "config", "moderator.toml", "config file")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetHelpCommand(&cobra.Command{
		Use: "help [command]", Short: "Help about any command",
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return usageError{fmt.Errorf("no help for %q: not a command", strings.Join(args, " "))}
			}
			return target.Help()
		},
	})
	root.AddCommand(e.versionCmd(), e.configCmd(), e.pluginsCmd(), e.runCmd(), e.evalCmd(),
		e.decisionsCmd(), e.reviewCmd(), e.replayCmd(), e.targetsCmd(), e.backupCmd(), e.restoreCmd())
	return root
}

// noArgs is cobra.NoArgs with the error marked as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%q takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))}
	}
	return nil
}

// group is a command that only holds subcommands.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use: use, Short: short,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				var names []string
				for _, sub := range cmd.Commands() {
					names = append(names, sub.Name())
				}
				return usageError{fmt.Errorf("%q has no subcommand %q (it has: %s)", cmd.CommandPath(), args[0], strings.Join(names, ", "))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			_ = cmd.Help()
			return usageError{fmt.Errorf("%q needs a subcommand", cmd.CommandPath())}
		},
	}
	c.AddCommand(subs...)
	return c
}

func (e *env) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "Print the version", Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(e.stdout, "moderator %s (plugin protocol v%d, sdk %s, %s %s/%s)\n",
				Version(), sdk.ProtocolVersion, sdk.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

// loadConfig loads the config and prints every problem, one per line.
func (e *env) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(e.configPath)
	if err == nil {
		return cfg, nil
	}
	var ps config.Problems
	if errors.As(err, &ps) {
		return nil, e.reportProblems(ps)
	}
	return nil, err
}

// loadConfigLenient loads the config for a command that may only talk to
// the running daemon, which needs no plugin's secrets: unset variables read
// as empty. unset says whether any was; a command that then runs plugins
// itself must call loadConfig to have them reported.
func (e *env) loadConfigLenient() (cfg *config.Config, unset bool, err error) {
	cfg, err = config.LoadWith(e.configPath, func(name string) (string, bool) {
		v, ok := os.LookupEnv(name)
		if !ok {
			unset = true
		}
		return v, true
	})
	if err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			return nil, false, e.reportProblems(ps)
		}
		return nil, false, err
	}
	return cfg, unset, nil
}

func (e *env) reportProblems(ps config.Problems) error {
	if len(ps) == 1 {
		return reportedError{ps[0].Error()}
	}
	fmt.Fprintln(e.stderr, ps.Error())
	return reportedError{fmt.Sprintf("%s: %d problems", e.configPath, len(ps))}
}
