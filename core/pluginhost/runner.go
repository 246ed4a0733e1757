package pluginhost

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
)

// runnerFor returns the go-plugin RunnerFunc that starts cmd, the command
// launch prepared (path, environment, isolate's process attributes). It
// exists for one difference from go-plugin's own runner: the plugin gets no
// standard input. go-plugin (v1.8.0) sets Stdin = os.Stdin on the command it
// starts, which would let a third-party plugin read the operator's terminal
// or whatever else the host's stdin is; here it is /dev/null.
//
// go-plugin hands the func a placeholder command of its own, carrying only
// the variables it adds (magic cookie, protocol versions, the AutoMTLS client
// certificate, the socket directory, and the host's whole environment unless
// SkipHostEnv is set, which launch does). They are appended to cmd's: last,
// they win over a like-named entry of the instance's env, as they did when
// go-plugin appended them to cmd itself.
func runnerFor(cmd *exec.Cmd) func(hclog.Logger, *exec.Cmd, string) (runner.Runner, error) {
	return func(log hclog.Logger, placeholder *exec.Cmd, _ string) (runner.Runner, error) {
		cmd.Env = append(cmd.Env, placeholder.Env...)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			stdout.Close()
			return nil, err
		}
		return &cmdRunner{log: log, cmd: cmd, stdout: stdout, stderr: stderr}, nil
	}
}

// cmdRunner runs a plugin as a child process, as go-plugin's internal
// cmdrunner does: its stdout carries the handshake line, its stderr the logs.
type cmdRunner struct {
	log            hclog.Logger
	cmd            *exec.Cmd
	stdout, stderr io.ReadCloser
	pid            int // kept: ID must still answer after the process is gone
}

var _ runner.Runner = (*cmdRunner)(nil)

// Start starts the process with no standard input, whatever was set before.
func (r *cmdRunner) Start(context.Context) error {
	r.cmd.Stdin = nil
	r.log.Debug("starting plugin", "path", r.cmd.Path, "args", r.cmd.Args)
	if err := r.cmd.Start(); err != nil {
		return err
	}
	r.pid = r.cmd.Process.Pid
	r.log.Debug("plugin started", "path", r.cmd.Path, "pid", r.pid)
	return nil
}

// Wait waits for the process to exit; go-plugin calls it once, after it has
// read stdout and stderr to the end.
func (r *cmdRunner) Wait(context.Context) error { return r.cmd.Wait() }

// Kill kills the process outright. go-plugin calls it when a graceful
// shutdown did not finish in time or a start failed, and may call it again,
// so a process not started or already gone is no error.
func (r *cmdRunner) Kill(context.Context) error {
	if r.cmd.Process == nil {
		return nil
	}
	if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

func (r *cmdRunner) Stdout() io.ReadCloser { return r.stdout }
func (r *cmdRunner) Stderr() io.ReadCloser { return r.stderr }
func (r *cmdRunner) Name() string          { return r.cmd.Path }

// ID is the process id ("0" before the start, as go-plugin's runner says:
// go-plugin's Client.Kill skips only an empty ID, and must not skip removing
// its socket directory after a failed start).
func (r *cmdRunner) ID() string { return strconv.Itoa(r.pid) }

// Diagnose explains a plugin that never printed its handshake line.
func (r *cmdRunner) Diagnose(context.Context) string {
	notes := "This usually means the plugin was built for another platform, lacks a library it needs, " +
		"may not be executed by this process, or is not a go-plugin plugin."
	if fi, err := os.Stat(r.cmd.Path); err == nil {
		notes += fmt.Sprintf("\n  %s: mode %s", r.cmd.Path, fi.Mode())
	}
	if f, err := elf.Open(r.cmd.Path); err == nil {
		notes += fmt.Sprintf(", ELF for %s (this host is %s)", f.Machine, runtime.GOARCH)
		f.Close()
	}
	return notes
}

// The plugin runs beside the host: addresses mean the same on both sides.
func (*cmdRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (*cmdRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// pidOf is the plugin's process id, 0 before it started or once go-plugin has
// killed it. go-plugin's ReattachConfig gives none for a process a RunnerFunc
// started.
func pidOf(client *plugin.Client) int {
	pid, _ := strconv.Atoi(client.ID())
	return pid
}
