package plugintest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
)

// fatalTB is a testing.TB whose Fatalf records the message and ends the
// goroutine, as testing's does, so a test can see why Start refused.
type fatalTB struct {
	testing.TB
	fatal string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// startFatal runs Start with a fatalTB and returns what it failed with.
func startFatal(t *testing.T, p sdk.Plugin) string {
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(tb, p)
	}()
	<-done
	return tb.fatal
}

type ptrPoller struct{}

func (*ptrPoller) Poll(context.Context, []sdk.PostCursor) (sdk.PollResponse, error) {
	return sdk.PollResponse{}, nil
}

// Start refuses what the binary refuses, with the same error (one code:
// sdk.Plugin.Check); it used to serve both of these.
func TestStartRefusesWhatServeRefuses(t *testing.T) {
	tests := []struct {
		name string
		p    sdk.Plugin
		want string
	}{
		{name: "both kinds", p: sdk.Plugin{Info: wordsInfo(), Analyzer: &wordsAnalyzer{}, Connector: pollerOnly{}},
			want: "sets both Analyzer and Connector"},
		{name: "a connector with no capability", p: sdk.Plugin{Info: fakeInfo(), Connector: ptrPoller{}},
			want: "Poll is declared on *plugintest.ptrPoller (pointer receivers)"},
		{name: "an analyzer without labels", p: sdk.Plugin{Info: sdk.Info{Name: "nolabels", Version: "1"}, Analyzer: &wordsAnalyzer{}},
			want: "declares no labels"},
		// The suite's describe checks say so of a plugin built without
		// this SDK; one built with it never gets that far.
		{name: "an analyzer declaring a label of no one's", p: sdk.Plugin{Info: sdk.Info{Name: "words", Version: "1", Labels: []string{sdk.LabelSpam, "Caps"}}, Analyzer: &wordsAnalyzer{}},
			want: `label "Caps" is neither in the shared vocabulary`},
		{name: "a connector declaring an unknown action", p: sdk.Plugin{Info: func() sdk.Info { i := fakeInfo(); i.Actions = append(i.Actions, "ban"); return i }(), Connector: &fakeConnector{}},
			want: `declares action "ban" in Info.Actions`},
		{name: "a connector declaring an unknown target kind", p: sdk.Plugin{Info: func() sdk.Info { i := fakeInfo(); i.TargetKinds = []string{"channel"}; return i }(), Connector: discoveringConnector{fakeConnector: &fakeConnector{}}},
			want: `declares target kind "channel" in Info.TargetKinds`},
		{name: "a discoverer without target kinds", p: sdk.Plugin{Info: fakeInfo(), Connector: discoveringConnector{fakeConnector: &fakeConnector{}}},
			want: "implements Discoverer but declares no Info.TargetKinds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := startFatal(t, tt.p)
			check := tt.p.Check()
			if check == nil || !strings.Contains(got, check.Error()) || !strings.Contains(got, tt.want) {
				t.Errorf("Start failed with %q; want Check's error %v, which contains %q", got, check, tt.want)
			}
		})
	}
	if got := startFatal(t, wordsPlugin()); got != "" {
		t.Errorf("Start of a correct plugin failed: %s", got)
	}
}

// panicOn panics on a comment whose text is "panic".
type panicOn struct{ wordsAnalyzer }

func (p *panicOn) Analyze(ctx context.Context, cs []sdk.Comment) ([]sdk.Result, error) {
	for _, c := range cs {
		if c.Text == "panic" {
			panic("asked to")
		}
	}
	return p.wordsAnalyzer.Analyze(ctx, cs)
}

// In-process as in a real process, a panic fails the call, not the test
// binary, and the plugin goes on serving.
func TestStartRecoversPanics(t *testing.T) {
	p := Start(t, sdk.Plugin{Info: wordsInfo(), Analyzer: &panicOn{}})
	_, err := p.Analyze(t.Context(), []sdk.Comment{{ID: "1", Text: "panic"}})
	if err == nil || !strings.Contains(err.Error(), "plugin panicked in /moderator.v1.AnalyzerService/Analyze: asked to") {
		t.Fatalf("Analyze of a panicking batch = %v, want the panic as an error", err)
	}
	if _, err := p.Analyze(t.Context(), []sdk.Comment{{ID: "2", Text: "calm"}}); err != nil {
		t.Fatalf("Analyze after the panic: %v", err)
	}
}

// logChildEnv makes TestStartLogsThroughT run in a child test binary.
const logChildEnv = "PLUGINTEST_LOG_CHILD"

// What go-plugin and the SDK log around a plugin served by Start goes to
// t.Log, not to the test binary's stderr: it used to print "[DEBUG] stdio
// EOF, exiting copy loop", "[ERR] plugin: plugin acceptAndServe error:
// broker closed" and the SDK's JSON log lines between the tests' output.
func TestStartLogsThroughT(t *testing.T) {
	if os.Getenv(logChildEnv) != "" {
		startAndLog(t)
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestStartLogsThroughT$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), logChildEnv+"=1")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the child test failed: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	if stderr.Len() > 0 {
		t.Errorf("the child test wrote to stderr, outside t.Log:\n%s", &stderr)
	}
	for _, want := range []string{"--- PASS: TestStartLogsThroughT", "analyzer returned an invalid reply", `label \"undeclared\" is not declared`} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the child test's output (t.Log, -v) lacks %q:\n%s", want, &stdout)
		}
	}
}

// startAndLog makes both sides log: a host KV served over the broker (whose
// closing go-plugin reports), and a reply the SDK refuses and logs.
func startAndLog(t *testing.T) {
	p := Start(t, sdk.Plugin{Info: wordsInfo(), Analyzer: &mutant{wordsAnalyzer: &wordsAnalyzer{}, mutate: addLabel(sdk.Label{Name: "undeclared", Score: 1, Reason: "r"})}})
	if fe, err := p.Configure(t.Context(), configureOpts(map[string]any{"words": []string{"x"}}, false)); err != nil || fe != nil {
		t.Fatalf("Configure: %v %v", fe, err)
	}
	if _, err := p.Analyze(t.Context(), []sdk.Comment{{ID: "1", Text: "x"}}); err == nil {
		t.Fatalf("Analyze accepted an undeclared label")
	}
}
