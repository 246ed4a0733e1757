package plugintest

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

const shoutingPkg = "../../examples/shouting"

func describeBinary(t *testing.T, bin string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	d, err := Launch(t, bin).Describe(ctx)
	if err != nil || d.Name != "shouting" || d.Kind != sdk.KindAnalyzer {
		t.Fatalf("Describe of %s = %+v, %v; want the shouting analyzer", bin, d, err)
	}
}

// The binary BuildOnce gives the first test is still there for the next:
// Build behind a sync.Once, as the docs used to advise, put it in the first
// test's TempDir, removed when that test ended (fork/exec: no such file).
func TestBuildOnceOutlivesTheTestThatBuilt(t *testing.T) {
	var first string
	t.Run("first", func(t *testing.T) {
		first = BuildOnce(t, shoutingPkg)
		describeBinary(t, first)
	})
	t.Run("second", func(t *testing.T) {
		if again := BuildOnce(t, shoutingPkg); again != first {
			t.Errorf("the second BuildOnce gave %s, the first %s; want one build", again, first)
		}
		if _, err := os.Stat(first); err != nil {
			t.Fatalf("the binary is gone after the test that built it: %v", err)
		}
		describeBinary(t, first)
	})
	t.Run("other flags are another build", func(t *testing.T) {
		if other := BuildOnce(t, shoutingPkg, "-ldflags=-s"); other == first {
			t.Errorf("BuildOnce with -ldflags=-s gave the same binary as without")
		}
	})
}

// Main removes what BuildOnce built when the tests are done, and puts back
// the builds it found.
func TestMainRemovesTheBinaries(t *testing.T) {
	outer := shared.Load()
	b, err := newBuilds()
	if err != nil {
		t.Fatal(err)
	}
	var bin string
	code := b.run(func() int {
		if shared.Load() != b {
			t.Errorf("BuildOnce does not use the builds of the Main that runs")
		}
		bin, err = b.build(shoutingPkg, nil)
		if err != nil {
			t.Errorf("build: %v", err)
		}
		if _, err := os.Stat(bin); err != nil {
			t.Errorf("the binary is not there while the tests run: %v", err)
		}
		return 7
	})
	if code != 7 {
		t.Errorf("run returned %d, want the tests' 7", code)
	}
	if _, err := os.Stat(b.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("BuildOnce's directory %s after Main: %v, want it removed", b.dir, err)
	}
	if shared.Load() != outer {
		t.Errorf("the builds in use after Main are not those from before")
	}
}

func TestBuildOnceFailures(t *testing.T) {
	t.Run("without Main", func(t *testing.T) {
		_, err := (*builds)(nil).build(".", nil)
		if err == nil || !strings.Contains(err.Error(), "func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }") {
			t.Errorf("BuildOnce without Main: %v, want the TestMain to add", err)
		}
	})
	t.Run("a failed build is not run again", func(t *testing.T) {
		b, err := newBuilds()
		if err != nil {
			t.Fatal(err)
		}
		b.run(func() int {
			_, err1 := b.build("./no/such/package", nil)
			_, err2 := b.build("./no/such/package", nil)
			if err1 == nil || !strings.Contains(err1.Error(), "no/such/package") {
				t.Errorf("build of a missing package: %v, want go build's error", err1)
			}
			if err2 != err1 {
				t.Errorf("the second build gave %v, want the first one's error again", err2)
			}
			return 0
		})
	})
}
