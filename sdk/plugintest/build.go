package plugintest

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Build compiles the main package pkg with `go build` into t.TempDir() and
// returns the binary's path. pkg is an import path or a directory relative to
// the test's working directory ("." for the package under test). extra
// arguments go before the package, for example "-ldflags", "-X main.v=2".
//
// The binary lives in t's TempDir, which is removed when t's test ends: it
// is for that test and its subtests only. A build costs a second or more even
// with a warm cache; to build once for every test of a package, use BuildOnce.
func Build(t testing.TB, pkg string, extra ...string) string {
	t.Helper()
	out, err := goBuild(t.TempDir(), pkg, extra)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	return out
}

// BuildOnce is Build for many tests: it builds pkg with extra once per test
// binary, into a directory that outlives every test and is removed when the
// tests are done, and gives every test that asks the same path. A build that
// failed fails every test that asks, with the compiler's output, without
// building again. Tests may call it concurrently.
//
// It needs Main to run the package's tests, so that the directory is
// removed at the end; without it, BuildOnce fails the test saying so:
//
//	func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }
//
//	func TestConformanceBinary(t *testing.T) {
//		plugintest.TestAnalyzer(t, plugintest.Launch(t, plugintest.BuildOnce(t, ".")), suite())
//	}
func BuildOnce(t testing.TB, pkg string, extra ...string) string {
	t.Helper()
	out, err := shared.Load().build(pkg, extra)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	return out
}

// Main runs the package's tests (m.Run) with a directory for BuildOnce's
// binaries, removes the directory, and returns m.Run's exit code for
// os.Exit. Call it from TestMain.
func Main(m *testing.M) int {
	b, err := newBuilds()
	if err != nil {
		fmt.Fprintf(os.Stderr, "plugintest: %v\n", err)
		return 1
	}
	return b.run(m.Run)
}

// shared is the builds of the running Main, nil outside one.
var shared atomic.Pointer[builds]

// builds is a directory of binaries built once each.
type builds struct {
	dir  string
	mu   sync.Mutex
	done map[string]*built
}

type built struct {
	dir  string // its own, so the binary keeps its package's name
	once sync.Once
	path string
	err  error
}

func newBuilds() (*builds, error) {
	dir, err := os.MkdirTemp("", "plugintest-")
	if err != nil {
		return nil, fmt.Errorf("make a directory for BuildOnce's binaries: %w", err)
	}
	return &builds{dir: dir, done: map[string]*built{}}, nil
}

// run makes b the builds BuildOnce uses while run runs, then removes them.
func (b *builds) run(run func() int) int {
	prev := shared.Swap(b)
	defer func() {
		shared.Store(prev)
		if err := os.RemoveAll(b.dir); err != nil {
			fmt.Fprintf(os.Stderr, "plugintest: remove BuildOnce's binaries: %v\n", err)
		}
	}()
	return run()
}

func (b *builds) build(pkg string, extra []string) (string, error) {
	if b == nil {
		return "", fmt.Errorf("BuildOnce(%q) needs plugintest.Main to run this package's tests, so that its binary outlives each test and is removed at the end: add\n\tfunc TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }\nor use Build, which builds into the test's own TempDir", pkg)
	}
	wd, _ := os.Getwd() // a relative pkg means another package after a t.Chdir
	key := strings.Join(append([]string{wd, pkg}, extra...), "\x00")
	b.mu.Lock()
	one := b.done[key]
	if one == nil {
		one = &built{dir: filepath.Join(b.dir, strconv.Itoa(len(b.done)))}
		b.done[key] = one
	}
	b.mu.Unlock()
	one.once.Do(func() {
		if one.err = os.Mkdir(one.dir, 0o755); one.err == nil {
			one.path, one.err = goBuild(one.dir, pkg, extra)
		}
	})
	return one.path, one.err
}

// goBuild builds pkg into dir, named after the package's directory.
func goBuild(dir, pkg string, extra []string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		// `go test` puts its own GOROOT/bin first in PATH, so this happens only
		// when the test binary is run by hand.
		return "", fmt.Errorf("build %s: the go command is not in PATH: %w", pkg, err)
	}
	name := path.Base(filepath.ToSlash(strings.TrimRight(pkg, `/\`)))
	if abs, err := filepath.Abs(pkg); err == nil && (name == "." || name == "..") {
		name = filepath.Base(abs) // "." builds the package under test: name it after its directory
	}
	if name == "." || name == ".." || name == "/" || name == "" {
		name = "plugin"
	}
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	out := filepath.Join(dir, name)
	args := append([]string{"build", "-o", out}, extra...)
	args = append(args, pkg)
	if output, err := exec.Command(goTool, args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, output)
	}
	return out, nil
}
