package sdk_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

func TestPanicBecomesAnErrorForThatCall(t *testing.T) {
	tests := []struct {
		name, helper string
		panics       func(context.Context, *sdk.RemotePlugin) error
		wantErr      []string
		works        func(context.Context, *sdk.RemotePlugin) error
	}{
		{
			name: "analyze", helper: "panicky-analyzer",
			panics: func(ctx context.Context, p *sdk.RemotePlugin) error {
				_, err := p.Analyze(ctx, []sdk.Comment{{ID: "1", Text: "fine"}, {ID: "2", Text: "panic"}})
				return err
			},
			wantErr: []string{"plugin panicked in /moderator.v1.AnalyzerService/Analyze", "analyzer boom"},
			works: func(ctx context.Context, p *sdk.RemotePlugin) error {
				_, err := p.Analyze(ctx, []sdk.Comment{{ID: "1", Text: "fine"}})
				return err
			},
		},
		{
			name: "moderate", helper: "panicky-connector",
			panics: func(ctx context.Context, p *sdk.RemotePlugin) error {
				_, err := p.Moderate(ctx, sdk.ModerateRequest{Comment: sdk.Comment{ID: "1"}, Action: sdk.ActionFlag})
				return err
			},
			wantErr: []string{"plugin panicked in /moderator.v1.ConnectorService/Moderate", "assignment to entry in nil map"},
			works: func(ctx context.Context, p *sdk.RemotePlugin) error {
				_, err := p.Moderate(ctx, sdk.ModerateRequest{Comment: sdk.Comment{ID: "1"}, Action: sdk.ActionHide})
				return err
			},
		},
		{
			name: "stream", helper: "panicky-connector",
			panics: func(ctx context.Context, p *sdk.RemotePlugin) error {
				sink := &collect{}
				err := p.Stream(ctx, sdk.StreamRequest{Targets: []sdk.Target{{ID: "panic"}}}, sink)
				if len(sink.comments) != 1 {
					return fmt.Errorf("got %d comments before the panic, want 1 (and then %w)", len(sink.comments), err)
				}
				return err
			},
			wantErr: []string{"plugin panicked in /moderator.v1.ConnectorService/Stream", "stream boom"},
			works: func(ctx context.Context, p *sdk.RemotePlugin) error {
				return p.Stream(ctx, sdk.StreamRequest{Targets: []sdk.Target{{ID: "calm"}}}, &collect{})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := plugintest.LaunchCommand(t, helperCmd(t, tt.helper))
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			for round := 1; round <= 2; round++ {
				err := tt.panics(ctx, proc.Plugin)
				if err == nil {
					t.Fatalf("round %d: the panicking call succeeded", round)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("round %d: error %q does not contain %q", round, err, w)
					}
				}
				if sdk.IsPermanent(err) || errors.Is(err, sdk.ErrUnsupported) {
					t.Errorf("round %d: a panic gave a permanent error (%v); the host should be free to retry", round, err)
				}
				if err := tt.works(ctx, proc.Plugin); err != nil {
					t.Fatalf("round %d: the next call failed, so the plugin stopped serving: %v", round, err)
				}
			}
			if proc.Exited() {
				t.Errorf("the plugin process exited")
			}
		})
	}
}

// shoutingBinary builds examples/shouting, which any real plugin test can
// stand for: it is served by sdk.Serve like every plugin.
func shoutingBinary(t *testing.T) string {
	t.Helper()
	return plugintest.Build(t, "../examples/shouting")
}

func TestBuiltPlugin(t *testing.T) {
	bin := shoutingBinary(t)
	t.Run("run by hand it says it is a plugin", func(t *testing.T) {
		cmd := exec.Command(bin)
		cmd.Env = []string{}
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("run by hand: %v, want exit status 1", err)
		}
		if !strings.Contains(string(out), "plugin") {
			t.Errorf("run by hand it printed %q; want it to say it is a plugin", out)
		}
	})
	t.Run("exits when its host is killed", func(t *testing.T) { testWatchdog(t, bin) })
}

// testWatchdog starts the plugin under a shell standing in for the host,
// SIGKILLs the shell, and checks the plugin follows it: a host killed with
// -9 must not leave plugins running.
func testWatchdog(t *testing.T, bin string) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	host := exec.Command("/bin/sh", "-c", `"$0" & echo "pid $!"; wait`, bin)
	host.Env = []string{
		sdk.Handshake.MagicCookieKey + "=" + sdk.Handshake.MagicCookieValue,
		"PLUGIN_PROTOCOL_VERSIONS=" + strconv.Itoa(sdk.ProtocolVersion),
		"PLUGIN_MIN_PORT=10000", "PLUGIN_MAX_PORT=25000",
	}
	stdout, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	pid := 0
	t.Cleanup(func() {
		_ = host.Process.Kill()
		_ = host.Wait()
		if pid > 0 && alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	// Wait for the plugin's pid and its go-plugin handshake line: only then
	// is Serve running, and with it the watchdog.
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	handshake := false
	timeout := time.After(10 * time.Second)
	for pid == 0 || !handshake {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the plugin's output ended before its handshake (pid %d)", pid)
			}
			if p, found := strings.CutPrefix(line, "pid "); found {
				pid, _ = strconv.Atoi(p)
			} else if strings.Contains(line, "|grpc|") {
				handshake = true
			}
		case <-timeout:
			t.Fatalf("no handshake from the plugin within 10s (pid %d)", pid)
		}
	}
	if !alive(pid) {
		t.Fatalf("plugin %d is not running after its handshake", pid)
	}

	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill the host: %v", err)
	}
	start := time.Now()
	for alive(pid) {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("plugin %d still running 5s after its host was SIGKILLed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("plugin exited %v after its host was killed", time.Since(start).Round(time.Millisecond))
}

// alive reports whether pid is a running process; a zombie has exited.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain spaces or parentheses.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	fields := strings.Fields(rest)
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}
