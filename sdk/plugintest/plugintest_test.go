package plugintest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

// helperCmd runs this test binary as the named helper plugin (see TestMain).
func helperCmd(t *testing.T, name string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("find the test binary: %v", err)
	}
	cmd := exec.Command(exe)
	// A race-enabled binary sleeps a second at exit to let reports flush;
	// the plugin's exit is on every test's path.
	cmd.Env = []string{helperEnv + "=" + name, "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")}
	return cmd
}

func TestLaunchedProcessPassesTheSuite(t *testing.T) {
	p := LaunchCommand(t, helperCmd(t, "words"))
	if p.PID <= 0 || p.PID == os.Getpid() {
		t.Fatalf("PID %d: want the plugin's own process", p.PID)
	}
	TestAnalyzer(t, p.Plugin, wordsSuite())
}

func TestProcessKill(t *testing.T) {
	p := LaunchCommand(t, helperCmd(t, "words"))
	ctx := t.Context()
	if _, err := p.Plugin.Analyze(ctx, []sdk.Comment{{ID: "1", Text: "x"}}); err != nil {
		t.Fatalf("Analyze before the kill: %v", err)
	}
	if p.Exited() {
		t.Fatalf("Exited() is true for a running plugin")
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !p.Exited() {
		if time.Now().After(deadline) {
			t.Fatalf("plugin process %d not reaped 10s after SIGKILL", p.PID)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, err := p.Plugin.Analyze(ctx, []sdk.Comment{{ID: "1", Text: "x"}})
	if err == nil {
		t.Fatalf("Analyze after the kill succeeded")
	}
	if errors.Is(err, sdk.ErrUnsupported) || sdk.IsPermanent(err) {
		t.Errorf("a dead plugin gave %v; the host must see it as retryable", err)
	}
}

func TestBuildAndLaunch(t *testing.T) {
	tests := []struct {
		name, pkg string
		extra     []string
	}{
		// A directory relative to the test's working directory, the way a
		// plugin author builds their own main package with ".".
		{name: "relative directory with flags", pkg: "../../examples/shouting", extra: []string{"-ldflags=-s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := Build(t, tt.pkg, tt.extra...)
			if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
				t.Fatalf("Build returned %s, not an executable (%v)", bin, err)
			}
			p := Launch(t, bin)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			d, err := p.Describe(ctx)
			if err != nil {
				t.Fatalf("Describe: %v", err)
			}
			if d.Name != "shouting" || d.Kind != sdk.KindAnalyzer {
				t.Errorf("Describe = %s %s, want shouting analyzer", d.Name, d.Kind)
			}
		})
	}
}

// recordingAnalyzer keeps the texts it was given.
type recordingAnalyzer struct{ texts []string }

func (r *recordingAnalyzer) Analyze(_ context.Context, cs []sdk.Comment) ([]sdk.Result, error) {
	out := make([]sdk.Result, len(cs))
	for i, c := range cs {
		r.texts = append(r.texts, c.Text)
		out[i].CommentID = c.ID
	}
	return out, nil
}

func TestStartCrossesTheWire(t *testing.T) {
	// Only a real protobuf encoding replaces bytes that are not UTF-8; a
	// direct method call would hand the plugin the text as it was.
	a := &recordingAnalyzer{}
	p := Start(t, sdk.Plugin{Info: sdk.Info{Name: "rec", Version: "1", Labels: []string{"spam"}}, Analyzer: a})
	if _, err := p.Analyze(t.Context(), []sdk.Comment{{ID: "a", Text: "a\xffb"}}); err != nil {
		t.Fatal(err)
	}
	if len(a.texts) != 1 || a.texts[0] != "a?b" {
		t.Errorf("the plugin received %q, want [\"a?b\"]", a.texts)
	}
	// A plugin without Configure refuses any key, by name.
	fe, err := p.Configure(t.Context(), sdk.ConfigureOptions{Config: map[string]any{"b": 1, "a": 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(fe) != 2 || fe[0].Field != "a" || fe[1].Field != "b" {
		t.Errorf("FieldErrors %q, want one for a and one for b", fe)
	}
}
