// Package plugintest is the test harness a moderator plugin author calls from
// their own tests: it runs a plugin over real gRPC, in-process (Start) or as a
// real process launched the way the host launches it (Build or BuildOnce,
// then Launch), and checks it against the protocol's contract with a
// conformance suite (TestAnalyzer, TestConnector).
//
// A plugin's main.go usually has one function that makes the sdk.Plugin, so
// that main and the tests serve the same thing:
//
//	func newPlugin() sdk.Plugin {
//		return sdk.Plugin{
//			Info:     sdk.Info{Name: "shouting", Version: "0.1.0", Labels: []string{"shouting.caps"}},
//			Analyzer: &Shouting{MinLetters: 8},
//		}
//	}
//
//	func main() { sdk.Serve(newPlugin()) }
//
// and its tests run the suite against it in-process, and against the built
// binary, which is what an operator runs:
//
//	func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) } // for BuildOnce
//
//	func suite() plugintest.AnalyzerSuite {
//		return plugintest.AnalyzerSuite{
//			Config:     map[string]any{"min_letters": 8},
//			BadConfigs: []plugintest.BadConfig{{Name: "zero", Config: map[string]any{"min_letters": 0}, Field: "min_letters"}},
//		}
//	}
//
//	func TestConformance(t *testing.T) {
//		plugintest.TestAnalyzer(t, plugintest.Start(t, newPlugin()), suite())
//	}
//
//	func TestConformanceBinary(t *testing.T) {
//		plugintest.TestAnalyzer(t, plugintest.Launch(t, plugintest.BuildOnce(t, ".")), suite())
//	}
//
// examples/shouting (an analyzer) and examples/forum (a connector, with a
// fake of its platform as an httptest.Server) in the moderator repository
// are complete plugins tested this way.
package plugintest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"github.com/moderatorbot/moderator/sdk"
)

// Start serves p in-process over a real gRPC connection, with the
// configuration sdk.Serve uses (sdk.ServeConfig) in go-plugin's test mode,
// and returns the host's handle on it, as go-plugin dispenses it to the
// host. Every call crosses the same wire encoding, error mapping, panic
// recovery and checks on both sides as in production, without building a
// binary. The plugin is stopped when the test ends.
//
// Start refuses what sdk.Serve refuses (see sdk.Plugin.Check), failing the
// test with the error the binary would print. What go-plugin and the SDK log
// on either side (an invalid reply, a panic, ConfigureRequest.Logger) goes to
// t.Log, shown with -v or when the test fails; sdk.Logger() called directly
// by plugin code writes to the test binary's stderr, as a real plugin's
// writes to its own.
//
// One thing differs from a plugin run by sdk.Serve, because there is no
// process boundary: the parent-process watchdog does not run. Use Build and
// Launch to test it.
func Start(t testing.TB, p sdk.Plugin) *sdk.RemotePlugin {
	t.Helper()
	name := p.Info.Name
	logs := &testLog{t: t}
	log := hclog.New(&hclog.LoggerOptions{Name: "plugintest." + name, Level: hclog.Info, Output: logs})
	cfg, err := sdk.ServeConfig(p, log)
	if err != nil {
		t.Fatalf("plugintest: start %s in-process: %v", name, err)
	}
	ctx, stop := context.WithCancel(context.Background())
	attach := make(chan *plugin.ReattachConfig, 1)
	served := make(chan struct{})
	cfg.Test = &plugin.ServeTestConfig{Context: ctx, ReattachConfigCh: attach, CloseCh: served}
	go plugin.Serve(cfg)
	var rc *plugin.ReattachConfig
	select {
	case rc = <-attach:
	case <-served:
		stop()
		t.Fatalf("plugintest: serve %s in-process: go-plugin stopped before it listened (its log is above)", name)
	}
	// In test mode go-plugin does not manage the plugin's lifetime: the
	// "process" it attaches to ends when Serve returns.
	rc.ReattachFunc = func() (runner.AttachedRunner, error) { return inProcess{served: served}, nil }
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.HostPluginSets()[rc.ProtocolVersion],
		Reattach:         rc,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		GRPCDialOptions:  sdk.GRPCDialOptions(),
		Logger:           log.Named("host"),
	})
	var rpc plugin.ClientProtocol
	t.Cleanup(func() {
		// What either side says while shutting down after the test is not
		// the test's business (go-plugin reports its broker closing as an
		// error), and t.Log after the test ends panics.
		logs.stop()
		// Stop the server through Serve's context and wait for it, then
		// close the client. Closing the client first asks the server to stop
		// through go-plugin's controller, which races with the context's
		// stop inside go-plugin (GRPCServer.Stop is not safe to call twice
		// at once).
		stop()
		<-served
		if rpc != nil {
			_ = rpc.Close()
		}
	})
	rpc, err = client.Client()
	if err != nil {
		t.Fatalf("plugintest: connect to %s in-process: %v", name, err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		t.Fatalf("plugintest: dispense %s in-process: %v", name, err)
	}
	rp, ok := raw.(*sdk.RemotePlugin)
	if !ok {
		t.Fatalf("plugintest: dispensed %T, want *sdk.RemotePlugin", raw)
	}
	return rp
}

// inProcess is go-plugin's view of a plugin served by Start: there is no
// process to wait for or kill, only Serve's goroutine.
type inProcess struct{ served <-chan struct{} }

func (p inProcess) Wait(ctx context.Context) error {
	select {
	case <-p.served:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (inProcess) Kill(context.Context) error { return nil }
func (inProcess) ID() string                 { return "in-process" }
func (inProcess) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}
func (inProcess) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// Launch starts the plugin binary at path as a real process, through go-plugin
// with the settings the host uses (the sdk handshake, gRPC only, AutoMTLS, an
// empty host environment), and returns its handle. The plugin's log goes to
// t.Log. The process is killed when the test ends.
func Launch(t testing.TB, path string) *sdk.RemotePlugin {
	t.Helper()
	return LaunchProcess(t, path).Plugin
}

// LaunchProcess is Launch for tests that need the process itself: its PID,
// or a way to kill it as a crash would.
func LaunchProcess(t testing.TB, path string) *Process {
	t.Helper()
	return LaunchCommand(t, exec.Command(path))
}

// LaunchCommand is LaunchProcess for a command prepared by the caller: extra
// arguments, or the environment (the plugin inherits none of the test's, as
// under the host; cmd.Env is all it gets besides go-plugin's own variables).
// A test binary can serve a plugin from TestMain and launch itself this way,
// with no go build at all. cmd must not have been started.
func LaunchCommand(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	logs := &testLog{t: t}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.HostPluginSets(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		GRPCDialOptions:  sdk.GRPCDialOptions(),
		SkipHostEnv:      true,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:   filepath.Base(cmd.Path),
			Level:  hclog.Trace,
			Output: logs,
		}),
	})
	t.Cleanup(func() {
		client.Kill()
		// go-plugin may still log (the exit status) after Kill returns, and
		// t.Log after the test ends panics.
		logs.stop()
	})
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("plugintest: launch %s: %v", cmd.Path, err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		t.Fatalf("plugintest: dispense from %s: %v", cmd.Path, err)
	}
	rp, ok := raw.(*sdk.RemotePlugin)
	if !ok {
		t.Fatalf("plugintest: %s dispensed %T, want *sdk.RemotePlugin", cmd.Path, raw)
	}
	return &Process{Plugin: rp, PID: cmd.Process.Pid, proc: cmd.Process, client: client}
}

// Process is a plugin binary started by LaunchProcess or LaunchCommand.
type Process struct {
	// Plugin is the host-side handle, as Launch returns it.
	Plugin *sdk.RemotePlugin
	// PID is the plugin process's id.
	PID    int
	proc   *os.Process
	client *plugin.Client
}

// Kill ends the process with SIGKILL, the way a crash or the OOM killer would,
// without the graceful shutdown go-plugin does at the end of the test.
func (p *Process) Kill() error {
	if err := p.proc.Kill(); err != nil {
		return fmt.Errorf("plugintest: kill plugin process %d: %w", p.PID, err)
	}
	return nil
}

// Exited reports whether the process has exited (go-plugin reaped it).
func (p *Process) Exited() bool { return p.client.Exited() }

// testLog forwards go-plugin's log lines (including the plugin's own stderr
// log, which go-plugin parses and re-logs) to t.Log until the test ends.
type testLog struct {
	mu      sync.Mutex
	t       testing.TB
	stopped bool
}

func (w *testLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testLog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
}
