package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
)

// helperEnv names the plugin that a re-executed test binary serves from
// TestMain: the tests that need sdk.Serve itself (its panic recovery) run it
// in a real process this way, without a go build.
const helperEnv = "SDK_TEST_HELPER_PLUGIN"

func TestMain(m *testing.M) {
	switch name := os.Getenv(helperEnv); name {
	case "":
		os.Exit(m.Run())
	case "panicky-analyzer":
		sdk.Serve(sdk.Plugin{Info: sdk.Info{Name: "panicky", Version: "1", Labels: []string{sdk.LabelSpam}}, Analyzer: panicky{}})
	case "gated-connector":
		sdk.Serve(sdk.Plugin{Info: sdk.Info{Name: "gated", Version: "1", Platform: "test"}, Connector: &gated{}})
	case "both-kinds":
		sdk.Serve(sdk.Plugin{Info: sdk.Info{Name: "both", Version: "1", Labels: []string{sdk.LabelSpam}}, Analyzer: panicky{}, Connector: pollOnly{}})
	case "no-capabilities":
		sdk.Serve(sdk.Plugin{Info: sdk.Info{Name: "nocaps", Version: "1", Platform: "test"}, Connector: ptrPoller{}})
	case "panicky-connector":
		sdk.Serve(sdk.Plugin{Info: sdk.Info{Name: "panicky", Version: "1", Platform: "test", Actions: []string{sdk.ActionHide, sdk.ActionFlag}}, Connector: panicky{}})
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", helperEnv, name)
		os.Exit(2)
	}
	os.Exit(0)
}

// helperCmd runs this test binary as the named helper plugin.
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

// panicky panics on request: on a comment whose text is "panic", on the
// action flag, and in a stream after its first comment.
type panicky struct{}

func (panicky) Analyze(_ context.Context, cs []sdk.Comment) ([]sdk.Result, error) {
	out := make([]sdk.Result, len(cs))
	for i, c := range cs {
		if c.Text == "panic" {
			panic("analyzer boom")
		}
		out[i].CommentID = c.ID
	}
	return out, nil
}

func (panicky) Moderate(_ context.Context, req sdk.ModerateRequest) (sdk.ModerateResponse, error) {
	switch req.Action {
	case sdk.ActionFlag:
		var m map[string]int
		m["nil map"]++ // a runtime error, not just a panic(string)
	case sdk.ActionHide:
		return sdk.ModerateResponse{Changed: true}, nil
	}
	return sdk.ModerateResponse{}, errors.New("unreachable")
}

func (panicky) Stream(_ context.Context, req sdk.StreamRequest, sink sdk.StreamSink) error {
	if err := sink.Comment(sdk.Comment{ID: "before-the-panic"}); err != nil {
		return err
	}
	if len(req.Targets) > 0 && req.Targets[0].ID == "calm" {
		return nil
	}
	panic("stream boom")
}
