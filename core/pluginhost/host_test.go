package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/core/internal/lockedbuf"
	"github.com/moderatorbot/moderator/sdk"
)

// Binaries are built once per test run: go build is the slow part.
var bins struct {
	testplugin, shouting, shoutingV2 string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pluginhost-test-")
	if err != nil {
		panic(err)
	}
	build := func(out, pkg string, args ...string) string {
		path := filepath.Join(dir, out)
		cmd := exec.Command("go", append(append([]string{"build", "-o", path}, args...), pkg)...)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			panic(fmt.Sprintf("build %s: %v", pkg, err))
		}
		return path
	}
	root := "github.com/moderatorbot/moderator"
	bins.testplugin = build("testplugin", root+"/core/internal/testplugin")
	bins.shouting = build("shouting", root+"/examples/shouting")
	bins.shoutingV2 = build("shouting-v2", root+"/examples/shouting",
		"-ldflags", "-X "+root+"/sdk.protocolVersionOverride=2")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func testLogger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "host", Level: hclog.Debug, Output: testWriter{t}})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func fastOptions(t *testing.T) Options {
	return Options{
		Logger: testLogger(t), RestartBackoff: 20 * time.Millisecond, RestartBackoffMax: 100 * time.Millisecond,
		CrashLimit: 3, CrashWindow: time.Minute, HealthInterval: time.Second, StartTimeout: 10 * time.Second,
	}
}

func startHost(t *testing.T, opts Options, specs ...Spec) (*Host, error) {
	t.Helper()
	h := New(opts, specs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := h.Start(ctx)
	t.Cleanup(h.Stop)
	return h, err
}

func analyze(t *testing.T, in *Instance, comments ...sdk.Comment) []sdk.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := in.Plugin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Analyze(ctx, comments)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// A zombie has exited; only its parent's bookkeeping is left.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPluginRoundTrip(t *testing.T) {
	var mu sync.Mutex // instances launch at once, each asking for its KV
	kvs := map[string]sdk.KV{}
	opts := fastOptions(t)
	opts.KV = func(instance string) sdk.KV {
		mu.Lock()
		defer mu.Unlock()
		kvs[instance] = sdk.NewMemoryKV()
		return kvs[instance]
	}
	h, err := startHost(t, opts,
		Spec{Name: "counter", Kind: sdk.KindAnalyzer, Path: bins.testplugin, Config: map[string]any{"threshold": 0.5}},
		Spec{Name: "caps", Kind: sdk.KindAnalyzer, Path: bins.shouting, Config: map[string]any{"min_letters": 4}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Ready() {
		t.Fatalf("not ready: %+v", h.Statuses())
	}

	st := h.Instance("caps").Status()
	if st.Version != "0.1.0" || st.Protocol != sdk.ProtocolVersion || st.SDKVersion != sdk.Version ||
		strings.Join(st.Capabilities, ",") != "analyze" || strings.Join(st.Labels, ",") != "shouting.caps" {
		t.Errorf("describe of caps: %+v", st)
	}
	if st.PID == 0 || !alive(st.PID) {
		t.Errorf("caps pid %d is not a live process", st.PID)
	}
	if len(st.Checksum) != 64 {
		t.Errorf("checksum %q", st.Checksum)
	}

	res := analyze(t, h.Instance("caps"),
		sdk.Comment{ID: "1", Text: "THIS IS LOUD"},
		sdk.Comment{ID: "2", Text: "a calm reply"},
		sdk.Comment{ID: "3", Text: "Hi"},
	)
	if len(res) != 3 {
		t.Fatalf("results: %+v", res)
	}
	if l, ok := res[0].Label("shouting.caps"); !ok || l.Score != 1 || l.Spans[0] != (sdk.Span{Start: 0, End: 12}) {
		t.Errorf("loud comment: %+v", res[0])
	}
	if len(res[1].Labels) != 0 || len(res[2].Labels) != 0 {
		t.Errorf("quiet comments got labels: %+v %+v", res[1], res[2])
	}

	// The KV host service: the plugin counts per author in the host's store.
	counter := h.Instance("counter")
	analyze(t, counter, sdk.Comment{ID: "a", AuthorID: "alice"}, sdk.Comment{ID: "b", AuthorID: "bob"})
	res = analyze(t, counter, sdk.Comment{ID: "c", AuthorID: "alice"})
	if l, _ := res[0].Label("testplugin.count"); l.Reason != "seen 2 times" {
		t.Errorf("count label: %+v", res[0])
	}
	mu.Lock()
	counterKV, capsKV := kvs["counter"], kvs["caps"]
	mu.Unlock()
	v, ok, _ := counterKV.Get(context.Background(), "count/alice")
	if !ok || string(v) != "2" {
		t.Errorf("host KV count/alice = %q, %v; want 2", v, ok)
	}
	if capsKV == nil {
		t.Errorf("no KV was offered to caps")
	}
}

func TestMinimalEnvironment(t *testing.T) {
	t.Setenv("MODERATOR_TEST_SECRET", "hunter2")
	t.Setenv("MODERATOR_TEST_PASSED", "yes")
	opts := fastOptions(t)
	opts.KV = func(string) sdk.KV { return sdk.NewMemoryKV() }
	h, err := startHost(t, opts, Spec{
		Name: "counter", Kind: sdk.KindAnalyzer, Path: bins.testplugin,
		Env: []string{"MODERATOR_TEST_PASSED", "TZ=UTC", "MODERATOR_TEST_UNSET"},
	})
	if err != nil {
		t.Fatal(err)
	}
	res := analyze(t, h.Instance("counter"), sdk.Comment{ID: "1", AuthorID: "x"})
	l, _ := res[0].Label("testplugin.env")
	// AutoMTLS: the host hands the plugin its client certificate to trust.
	if !slices.Contains(strings.Split(l.Reason, ","), "PLUGIN_CLIENT_CERT") {
		t.Errorf("plugin environment %s: no PLUGIN_CLIENT_CERT, so no mutual TLS", l.Reason)
	}
	var got []string
	for _, name := range strings.Split(l.Reason, ",") {
		// go-plugin's own handshake variables are the only others allowed.
		if !strings.HasPrefix(name, "PLUGIN_") && name != sdk.Handshake.MagicCookieKey {
			got = append(got, name)
		}
	}
	if want := "MODERATOR_TEST_PASSED,TZ"; strings.Join(got, ",") != want {
		t.Errorf("plugin environment %v, want %s (and go-plugin's own)", got, want)
	}
}

// TestPluginGetsNoStdin: go-plugin hands a plugin the host's standard input
// unless told otherwise; a plugin must not read the operator's terminal or
// whatever else the daemon was given. The test's stdin is a pipe holding
// bytes while the plugin starts; the plugin must find nothing (/dev/null).
// It swaps os.Stdin, so it must not run in parallel with other tests.
func TestPluginGetsNoStdin(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString("secret-from-host-stdin\n"); err != nil {
		t.Fatal(err)
	}
	saved := os.Stdin
	os.Stdin = r
	t.Cleanup(func() {
		os.Stdin = saved
		r.Close()
		w.Close()
	})
	got := filepath.Join(t.TempDir(), "stdin")
	if _, err := startHost(t, fastOptions(t), Spec{
		Name: "counter", Kind: sdk.KindAnalyzer, Path: bins.testplugin, Env: []string{"TESTPLUGIN_STDIN=" + got},
	}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "EOF" {
		t.Errorf("plugin read %q from its standard input, want EOF (no stdin)", data)
	}
}

func TestVersionMismatch(t *testing.T) {
	h, err := startHost(t, fastOptions(t), Spec{Name: "caps", Kind: sdk.KindAnalyzer, Path: bins.shoutingV2})
	want := "speaks moderator plugin protocol v2, this moderator speaks v1: upgrade moderator to a release that speaks v2"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want it to contain %q", err, want)
	}
	if st := h.Instance("caps").Status(); st.State != StateFailed {
		t.Errorf("state %s, want failed", st.State)
	}
}

func TestChecksumPinRefusesTamperedBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "testplugin")
	data, err := os.ReadFile(bins.testplugin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	good, err := fileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "starts")
	spec := Spec{Name: "counter", Kind: sdk.KindAnalyzer, Path: bin, SHA256: good, Env: []string{"TESTPLUGIN_MARKER=" + marker}}

	// The pinned, untouched binary runs.
	h, err := startHost(t, fastOptions(t), spec)
	if err != nil {
		t.Fatalf("pinned binary refused: %v", err)
	}
	h.Stop()
	os.Remove(marker)

	// One byte appended: refused before exec.
	f, _ := os.OpenFile(bin, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{0})
	f.Close()
	h, err = startHost(t, fastOptions(t), spec)
	if err == nil || !strings.Contains(err.Error(), "refusing to run") || !strings.Contains(err.Error(), "config pins "+good) {
		t.Fatalf("tampered binary: error %v", err)
	}
	if st := h.Instance("counter").Status(); st.State != StateFailed {
		t.Errorf("state %s, want failed", st.State)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the tampered binary ran (marker %s exists)", marker)
	}
}

func TestRestartAfterSIGKILL(t *testing.T) {
	h, err := startHost(t, fastOptions(t), Spec{Name: "caps", Kind: sdk.KindAnalyzer, Path: bins.shouting})
	if err != nil {
		t.Fatal(err)
	}
	in := h.Instance("caps")
	old := in.Status().PID
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a restarted plugin", func() bool {
		st := in.Status()
		return st.State == StateReady && st.PID != 0 && st.PID != old
	})
	if alive(old) {
		t.Errorf("killed pid %d still alive", old)
	}
	res := analyze(t, in, sdk.Comment{ID: "1", Text: "STILL SHOUTING HERE"})
	if l, ok := res[0].Label("shouting.caps"); !ok || l.Score != 1 {
		t.Errorf("after restart: %+v", res)
	}
	if st := in.Status(); st.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", st.Restarts)
	}
}

func TestHungPluginIsRestarted(t *testing.T) {
	opts := fastOptions(t)
	opts.HealthInterval = 200 * time.Millisecond
	h, err := startHost(t, opts, Spec{Name: "caps", Kind: sdk.KindAnalyzer, Path: bins.shouting})
	if err != nil {
		t.Fatal(err)
	}
	in := h.Instance("caps")
	old := in.Status().PID
	// A stopped process keeps its socket open but answers nothing.
	if err := syscall.Kill(old, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the hung plugin to be replaced", func() bool {
		st := in.Status()
		return st.State == StateReady && st.PID != old
	})
	if !strings.Contains(in.Status().LastError, "health check") {
		t.Errorf("last error %q does not name the health check", in.Status().LastError)
	}
	waitFor(t, "the hung process to be killed", func() bool { return !alive(old) })
	analyze(t, in, sdk.Comment{ID: "1", Text: "ANSWERING AGAIN"})
}

func TestCrashLoopEndsInQuarantine(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "starts")
	opts := fastOptions(t)
	h, err := startHost(t, opts, Spec{
		Name: "crashy", Kind: sdk.KindAnalyzer, Path: bins.testplugin,
		Env: []string{"TESTPLUGIN_MODE=exit", "TESTPLUGIN_MARKER=" + marker},
	})
	if err == nil || !strings.Contains(err.Error(), "quarantined") {
		t.Fatalf("error %v, want quarantined", err)
	}
	in := h.Instance("crashy")
	st := in.Status()
	if st.State != StateQuarantined || st.Restarts != opts.CrashLimit-1 {
		t.Errorf("status %+v", st)
	}
	if !strings.Contains(st.LastError, "exiting at start-up as asked") {
		t.Errorf("last error does not carry the plugin's last words: %q", st.LastError)
	}
	starts := func() int {
		data, _ := os.ReadFile(marker)
		return strings.Count(string(data), "start ")
	}
	if n := starts(); n != opts.CrashLimit {
		t.Errorf("%d starts, want %d", n, opts.CrashLimit)
	}
	// Several backoff periods later it has still not been started again.
	time.Sleep(10 * opts.RestartBackoffMax)
	if n := starts(); n != opts.CrashLimit {
		t.Errorf("quarantined plugin was started again: %d starts", n)
	}
	if _, err := in.Plugin(context.Background()); !errors.Is(err, ErrQuarantined) {
		t.Errorf("Plugin() error %v, want ErrQuarantined", err)
	}
}

func TestStopLeavesNoProcess(t *testing.T) {
	var specs []Spec
	for i := range 3 {
		specs = append(specs, Spec{Name: fmt.Sprintf("caps%d", i), Kind: sdk.KindAnalyzer, Path: bins.shouting})
	}
	h, err := startHost(t, fastOptions(t), specs...)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, st := range h.Statuses() {
		pids = append(pids, st.PID)
	}
	h.Stop()
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("plugin pid %d survived Stop", pid)
		}
	}
	for _, st := range h.Statuses() {
		if st.State != StateStopped {
			t.Errorf("%s: state %s after Stop", st.Instance, st.State)
		}
	}
}

func TestStartFailures(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"kind mismatch", Spec{Name: "x", Kind: sdk.KindConnector, Path: bins.shouting}, "is a analyzer plugin, but it is configured as [[connector]]"},
		{"config rejected", Spec{Name: "x", Kind: sdk.KindAnalyzer, Path: bins.shouting, Config: map[string]any{"min_letters": 0}}, "invalid config: min_letters: must be at least 1, got 0"},
		{"unknown config key", Spec{Name: "x", Kind: sdk.KindAnalyzer, Path: bins.shouting, Config: map[string]any{"min_leters": 3}}, "min_leters: unknown key"},
		{"missing binary", Spec{Name: "x", Kind: sdk.KindAnalyzer, Path: "/nonexistent/plugin"}, "read plugin binary"},
		{"not a plugin", Spec{Name: "x", Kind: sdk.KindAnalyzer, Path: "/bin/true"}, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := fastOptions(t)
			opts.NoRestart = true
			_, err := startHost(t, opts, tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestTailSaysWhatMatters: the stderr a failed start reports is one line,
// without the plugin logger's debug and trace chatter.
func TestTailSaysWhatMatters(t *testing.T) {
	tl := &tail{max: 4096}
	tl.Write([]byte(`{"@level":"debug","@message":"configuring server automatic mTLS","@timestamp":"2026-11-22T04:00:00Z"}` + "\n"))
	tl.Write([]byte("panic: token is required\n\ngoroutine 1 [running]:\n"))
	tl.Write([]byte(`{"@level":"error","@message":"cannot reach the platform"}` + "\n"))
	tl.Write([]byte(`{"@level":"trace","@message":"noise"}` + "\n"))
	want := `panic: token is required | goroutine 1 [running]: | {"@level":"error","@message":"cannot reach the platform"}`
	if got := tl.String(); got != want {
		t.Errorf("tail %q\nwant %q", got, want)
	}
}

// A plugin can quote its config back (a field error, its last words before
// dying): Options.Redact cleans that before the host logs it, keeps it as
// the instance's last error, or returns it.
func TestRedactCleansWhatPluginsSay(t *testing.T) {
	var logged lockedbuf.Buffer
	opts := fastOptions(t)
	opts.NoRestart = true
	opts.Logger = hclog.New(&hclog.LoggerOptions{Name: "host", Level: hclog.Debug, Output: &logged})
	// The secret has more decimals than a log line's timestamp has
	// (2.5 matched "07:33:02.510Z", which is not the plugin's to redact).
	opts.Redact = strings.NewReplacer("2.71828", "${THRESHOLD}", "as asked", "${WHY}").Replace
	h, err := startHost(t, opts,
		Spec{Name: "strict", Kind: sdk.KindAnalyzer, Path: bins.testplugin, Config: map[string]any{"threshold": 2.71828}},
		Spec{Name: "dying", Kind: sdk.KindAnalyzer, Path: bins.testplugin, Env: []string{"TESTPLUGIN_MODE=exit"}})
	if err == nil {
		t.Fatal("both started")
	}
	var ce *ConfigError
	if ierr := h.Instance("strict").Err(); !errors.As(ierr, &ce) || !IsPermanent(ierr) {
		t.Fatalf("strict: %v, want a permanent *ConfigError", ierr)
	}
	shown := []string{err.Error(), ce.Fields.Error(), logged.String()}
	for _, in := range h.Instances() {
		shown = append(shown, in.Status().LastError)
	}
	all := strings.Join(shown, "\n")
	for _, want := range []string{"must be in [0,1], got ${THRESHOLD}", "exiting at start-up ${WHY}"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
	for _, secret := range []string{"2.71828", "as asked"} {
		for _, s := range shown {
			if strings.Contains(s, secret) {
				t.Errorf("%q shown in:\n%s", secret, s)
			}
		}
	}
}

// The pin holds for the bytes that run: a binary swapped in at the pinned
// path after the check (a rename, as `go build` or an attacker with write
// access to the plugin directory does) does not run in its place.
func TestPinnedBinarySwappedAfterTheCheckDoesNotRun(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "caps")
	copyFile := func(from, to string) {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(bins.shouting, bin)
	pin, err := fileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	// The impostor is an analyzer too (it would pass for the real one) and
	// records that it ran.
	marker := filepath.Join(dir, "impostor-ran")
	testHookBeforeExec = func(Spec) {
		copyFile(bins.testplugin, bin+".new")
		if err := os.Rename(bin+".new", bin); err != nil {
			t.Error(err)
		}
	}
	defer func() { testHookBeforeExec = nil }()
	h, err := startHost(t, fastOptions(t), Spec{Name: "caps", Kind: sdk.KindAnalyzer, Path: bin, SHA256: pin,
		Env: []string{"TESTPLUGIN_MARKER=" + marker}})
	if _, serr := os.Stat(marker); serr == nil {
		t.Fatalf("the binary swapped in after the pin check ran (start error: %v)", err)
	}
	if err != nil {
		t.Fatalf("the pinned binary did not start: %v", err)
	}
	if d := h.Instance("caps").Description(); d.Name != "shouting" {
		t.Errorf("running %q, want the pinned shouting", d.Name)
	}
}
