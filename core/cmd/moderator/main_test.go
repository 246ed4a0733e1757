package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/core/internal/lockedbuf"
)

// These tests run the real moderator binary with real plugin processes.

var bin struct {
	moderator, plugins string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "moderator-e2e-")
	if err != nil {
		panic(err)
	}
	bin.moderator = filepath.Join(dir, "moderator")
	bin.plugins = filepath.Join(dir, "plugins")
	for _, b := range []struct{ out, pkg string }{
		{bin.moderator, "."},
		{filepath.Join(bin.plugins, "shouting"), "../../../examples/shouting"},
		{filepath.Join(bin.plugins, "testplugin"), "../../internal/testplugin"},
		{filepath.Join(bin.plugins, "testconnector"), "../../internal/testconnector"},
		{filepath.Join(bin.plugins, "synthetic"), "../../internal/synthetic"},
	} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			panic(fmt.Sprintf("build %s: %v", b.pkg, err))
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type setup struct {
	dir, config, addr string
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// newSetup writes a moderator.toml with the given instances and rules, on a
// free loopback port, with the test's plugin binaries and a fresh data dir.
func newSetup(t testing.TB, body string) setup {
	t.Helper()
	dir := t.TempDir()
	s := setup{dir: dir, config: filepath.Join(dir, "moderator.toml"), addr: freeAddr(t)}
	head := fmt.Sprintf(`[moderator]
data_dir = %q
log_level = "debug"

[http]
listen = %q

[plugins]
dir = %q
restart_backoff = "20ms"
restart_backoff_max = "100ms"
`, filepath.Join(dir, "data"), s.addr, bin.plugins)
	if err := os.WriteFile(s.config, []byte(head+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

func moderator(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	// No command waits this long: one that does has hung (a run that
	// should have refused to start), and the test should say so, not the
	// package's timeout ten minutes later.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin.moderator, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("moderator %s: still running after 2 minutes, killed; stderr:\n%s", strings.Join(args, " "), e.String())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

func TestExitStatus(t *testing.T) {
	good := newSetup(t, "")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{"version", []string{"version"}, 0, "", "moderator "},
		{"no command", nil, 2, "a command is required", ""},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`, ""},
		{"unknown flag", []string{"version", "--frob"}, 2, "unknown flag: --frob", ""},
		{"stray argument", []string{"config", "check", "extra"}, 2, "takes no arguments", ""},
		{"unknown subcommand", []string{"decisions", "bogus"}, 2, `"moderator decisions" has no subcommand "bogus" (it has: list, override, show)`, ""},
		{"help on a command", []string{"help", "decisions", "list"}, 0, "", "List decisions, newest first"},
		{"help on nothing", []string{"help", "bogus"}, 2, `no help for "bogus"`, ""},
		{"missing config", []string{"config", "check", "--config", "/nonexistent/moderator.toml"}, 1, "/nonexistent/moderator.toml: cannot read config", ""},
		{"good config", []string{"config", "check", "--config", good.config}, 0, "", "OK (0 connectors, 0 analyzers"},
		// Mistakes in a listing's filter are usage errors caught before
		// anything is opened, not an empty listing.
		{"unknown state", []string{"decisions", "list", "--config", good.config, "--state", "acted,bogus"}, 2, `--state "bogus": choose from seen, held, decided, acted, failed`, ""},
		{"unknown action", []string{"decisions", "list", "--config", good.config, "--action", "x"}, 2, `--action "x": choose from approve`, ""},
		{"no rows", []string{"decisions", "list", "--config", good.config, "--limit", "0"}, 2, "--limit 0: want 1..1000", ""},
		{"too many rows", []string{"decisions", "list", "--config", good.config, "--limit", "5000"}, 2, "--limit 5000: want 1..1000", ""},
		{"not a verdict", []string{"decisions", "override", "abc", "--config", good.config, "--action", "obliterate"}, 2, `--action "obliterate": choose approve, flag, hide or delete`, ""},
		{"unknown decision", []string{"decisions", "show", "abc", "--config", good.config}, 1, `no decision with id "abc"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := moderator(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) || !strings.Contains(stdout, tt.stdout) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout ~%q, stderr ~%q", code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
			if tt.code == 1 && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("a user error is one line, got %q", stderr)
			}
		})
	}
}

// TestConfigCheckListsEverythingInOneRun: a problem in the file itself does
// not hide what the plugins have against their tables.
func TestConfigCheckListsEverythingInOneRun(t *testing.T) {
	s := newSetup(t, `
[[analyzer]]
name = "caps"
plugin = "shouting"
  [analyzer.config]
  colour = "red"

[[analyzer]]
name = "broken"
plugin = "shouting"
timeout = "soon"

[[policy.rule]]
name = "r"
action = "hdie"
  [policy.rule.when]
  labels = ["negative"]
`)
	_, stderr, code := moderator(t, "config", "check", "--config", s.config)
	for _, want := range []string{
		`moderator.toml:17:12: analyzer "caps": config.colour: unknown key`,
		`moderator.toml:22:11: analyzer[1].timeout: invalid duration "soon"`,
		`moderator.toml:26:10: policy.rule[0].action: unknown action "hdie"`,
		"moderator: " + s.config + ": 3 problems",
	} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, missing %q in:\n%s", code, want, stderr)
		}
	}
}

// TestConfigCheckFindsRulesThatNeverFire: a rule label that no analyzer in
// the rule's scope declares is a problem at the label, naming what they do
// emit.
func TestConfigCheckFindsRulesThatNeverFire(t *testing.T) {
	s := newSetup(t, `
[[analyzer]]
name = "caps"
plugin = "shouting"

[[policy.rule]]
name = "shouting"
action = "review"
  [policy.rule.when]
  labels = ["shouting.caps"]

[[policy.rule]]
name = "typo"
action = "review"
  [policy.rule.when]
  labels = ["shouting.caps", "shoutng.caps"]
`)
	_, stderr, code := moderator(t, "config", "check", "--config", s.config)
	want := `moderator.toml:27:30: rule "typo": no analyzer it looks at (caps) emits "shoutng.caps", so it never fires; they emit shouting.caps`
	if code != 1 || !strings.Contains(stderr, want) || strings.Contains(stderr, `rule "shouting"`) {
		t.Errorf("exit %d; want only %q in:\n%s", code, want, stderr)
	}
}

func TestConfigCheckAsksThePlugins(t *testing.T) {
	s := newSetup(t, `
[[analyzer]]
name = "caps"
plugin = "shouting"
  [analyzer.config]
  min_letters = 0
  colour = "red"

[[analyzer]]
name = "counter"
plugin = "testplugin"
  [analyzer.config]
  threshold = 2.5

[[analyzer]]
name = "fine"
plugin = "shouting"
`)
	_, stderr, code := moderator(t, "config", "check", "--config", s.config)
	if code != 1 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	// Every problem, from both plugins, at the line and column of its key.
	for _, want := range []string{
		"moderator.toml:18:12: analyzer \"caps\": config.colour: unknown key",
		"moderator.toml:24:15: analyzer \"counter\": config.threshold: must be in [0,1], got 2.5",
		"moderator: " + s.config + ": 2 problems",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("missing %q in:\n%s", want, stderr)
		}
	}
}

func TestConfigCheckRefusesActionsAConnectorCannotDo(t *testing.T) {
	s := newSetup(t, `
[[connector]]
name = "flagonly"
plugin = "testconnector"

[[connector]]
name = "other"
plugin = "testconnector"

[[target]]
connector = "flagonly"
kind = "post"
id = "p1"

[[policy.rule]]
name = "flag-spam"
action = "flag"
  [policy.rule.when]
  labels = ["spam"]

[[policy.rule]]
name = "hide-threats"
action = "hide"
  [policy.rule.when]
  labels = ["threat"]
  targets = ["p1"]

[[policy.rule]]
name = "delete-on-other"
action = "delete"
  [policy.rule.when]
  labels = ["threat"]
  connectors = ["other"]

[[policy.rule]]
name = "hide-p1-on-other"
action = "hide"
  [policy.rule.when]
  labels = ["threat"]
  connectors = ["other"]
  targets = ["p1"]
`)
	_, stderr, code := moderator(t, "config", "check", "--config", s.config)
	if code != 1 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	// Only the target's connector is in hide-threats' scope, only "other"
	// in delete-on-other's, and none in hide-p1-on-other's: p1 is
	// flagonly's. So two problems.
	for _, want := range []string{
		`moderator.toml:34:10: rule "hide-threats": connector "flagonly" (testconnector) cannot hide comments (it can: flag); limit the rule with when.connectors or when.targets, or choose another action`,
		`moderator.toml:41:10: rule "delete-on-other": connector "other" (testconnector) cannot delete comments (it can: flag)`,
		"2 problems",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("missing %q in:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "flag-spam") || strings.Contains(stderr, "hide-p1-on-other") || strings.Count(stderr, `connector "other"`) != 1 {
		t.Errorf("problems beyond the two in:\n%s", stderr)
	}
}

func TestEval(t *testing.T) {
	s := newSetup(t, `
[[analyzer]]
name = "caps"
plugin = "shouting"
  [analyzer.config]
  min_letters = 4
`)
	dataset := filepath.Join(s.dir, "d.jsonl")
	lines := []string{
		`{"id":"1","text":"STOP SHOUTING AT ME","labels":["shouting.caps"]}`,
		`{"id":"2","text":"a perfectly calm reply","labels":[]}`,
		`{"id":"3","text":"Quietly LOUD","labels":["shouting.caps"]}`,
		`{"id":"4","text":"NOT REALLY ANGRY","labels":[]}`,
	}
	os.WriteFile(dataset, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	stdout, stderr, code := moderator(t, "eval", "--dataset", dataset, "--json", "--config", s.config)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep map[string]map[string]float64
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	// "Quietly LOUD" is 4/11 capitals: below 0.5, a miss; "NOT REALLY ANGRY" a false alarm.
	got := rep["shouting.caps"]
	want := map[string]float64{"tp": 1, "fp": 1, "fn": 1, "tn": 1, "precision": 0.5, "recall": 0.5, "f1": 0.5}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (report %s)", k, got[k], v, stdout)
		}
	}
	stdout, _, code = moderator(t, "eval", "--dataset", dataset, "--config", s.config)
	if code != 0 || !strings.Contains(stdout, "shouting.caps") || !strings.Contains(stdout, "4 examples, threshold 0.50") {
		t.Errorf("text report: %s", stdout)
	}
	// Piped, it shows no progress line.
	if _, stderr, _ := moderator(t, "eval", "--dataset", dataset, "--config", s.config); stderr != "" {
		t.Errorf("stderr when piped: %q", stderr)
	}
	// On a terminal it shows how far it has got (script(1) gives it one).
	if _, err := exec.LookPath("script"); err == nil {
		out, _ := exec.Command("script", "-qec", bin.moderator+" eval --dataset "+dataset+" --config "+s.config, "/dev/null").CombinedOutput()
		if !strings.Contains(string(out), "eval: 4/4 (100%)") {
			t.Errorf("no progress on a terminal:\n%q", out)
		}
	}
	os.WriteFile(dataset, []byte(`{"id":"1","txt":"x"}`), 0o644)
	if _, stderr, code := moderator(t, "eval", "--dataset", dataset, "--config", s.config); code != 1 || !strings.Contains(stderr, `d.jsonl:1: json: unknown field "txt"`) {
		t.Errorf("bad dataset: exit %d %s", code, stderr)
	}
	if _, _, code := moderator(t, "eval", "--config", s.config); code != 2 {
		t.Errorf("no --dataset: exit %d, want 2", code)
	}
	for _, flags := range [][]string{{"--threshold", "NaN"}, {"--threshold", "0"}, {"--batch", "0"}, {"--batch", "-5"}} {
		if _, stderr, code := moderator(t, append([]string{"eval", "--dataset", dataset, "--config", s.config}, flags...)...); code != 2 || !strings.Contains(stderr, flags[0]) {
			t.Errorf("%q: exit %d %s, want 2", flags, code, stderr)
		}
	}
	// A label none of the analyzers declares is most likely a typo: said.
	os.WriteFile(dataset, []byte(`{"id":"1","text":"HEY","labels":["shouting.cap"]}`), 0o644)
	if _, stderr, code := moderator(t, "eval", "--dataset", dataset, "--config", s.config); code != 0 || !strings.Contains(stderr, `warning: the dataset's label "shouting.cap" is declared by none of the analyzers`) {
		t.Errorf("typo label: exit %d %q", code, stderr)
	}
}

func get(t testing.TB, url, token string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

type daemon struct {
	setup
	cmd    *exec.Cmd
	stderr *lockedbuf.Buffer
}

func startDaemon(t testing.TB, s setup) *daemon {
	t.Helper()
	d := &daemon{setup: s, cmd: exec.Command(bin.moderator, "run", "--config", s.config), stderr: &lockedbuf.Buffer{}}
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			d.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.stderr)
		}
	})
	return d
}

func (d *daemon) waitListening(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for get(t, "http://"+d.addr+"/healthz", "", nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("daemon never answered /healthz")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (d *daemon) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for get(t, "http://"+d.addr+"/readyz", "", nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("daemon never became ready")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type pluginStatus struct {
	Instance string `json:"instance"`
	State    string `json:"state"`
	PID      int    `json:"pid"`
	Restarts int    `json:"restarts"`
}

// adminToken is the token the daemon generated into its data directory.
func (s setup) adminToken(t testing.TB) string {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(s.dir, "data", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(token))
}

func (d *daemon) plugins(t testing.TB) []pluginStatus {
	t.Helper()
	var resp struct{ Plugins []pluginStatus }
	if code := get(t, "http://"+d.addr+"/api/v1/plugins", d.adminToken(t), &resp); code != 200 {
		t.Fatalf("plugins API: %d", code)
	}
	return resp.Plugins
}

func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// A zombie has exited; only its parent's bookkeeping is left.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

const threePlugins = `
[[analyzer]]
name = "caps1"
plugin = "shouting"
[[analyzer]]
name = "caps2"
plugin = "shouting"
[[analyzer]]
name = "counter"
plugin = "testplugin"
`

func TestNoPluginOutlivesTheHost(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			d := startDaemon(t, newSetup(t, threePlugins))
			d.waitReady(t)
			var pids []int
			for _, p := range d.plugins(t) {
				if p.PID == 0 || !alive(p.PID) {
					t.Fatalf("plugin %s has no live process: %+v", p.Instance, p)
				}
				pids = append(pids, p.PID)
			}
			if err := d.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := d.cmd.Wait()
			if sig != syscall.SIGKILL && err != nil {
				t.Errorf("host exited with %v after %s", err, sig)
			}
			deadline := time.Now().Add(5 * time.Second)
			for _, pid := range pids {
				for alive(pid) && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				if alive(pid) {
					t.Errorf("plugin pid %d outlived the host (%s)", pid, sig)
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		})
	}
}

func TestPluginsListShowsQuarantine(t *testing.T) {
	d := startDaemon(t, newSetup(t, `
[[analyzer]]
name = "caps"
plugin = "shouting"
[[analyzer]]
name = "crashy"
plugin = "testplugin"
env = ["TESTPLUGIN_MODE=exit"]
`))
	d.waitListening(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var ps []pluginStatus
		stdout, stderr, code := moderator(t, "plugins", "list", "--json", "--config", d.config)
		if code == 0 {
			json.Unmarshal([]byte(stdout), &ps)
		}
		if len(ps) == 2 && ps[1].State == "quarantined" {
			if ps[0].State != "ready" || ps[1].Restarts != 2 {
				t.Errorf("plugins: %+v", ps)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never quarantined: exit %d %s %s", code, stdout, stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stdout, _, _ := moderator(t, "plugins", "list", "--config", d.config)
	if !strings.Contains(stdout, "quarantined (2 restarts)") || !strings.Contains(stdout, "crashy: ") {
		t.Errorf("table does not show the quarantine:\n%s", stdout)
	}
	if !strings.Contains(d.stderr.String(), "plugin quarantined") {
		t.Errorf("the log does not say so:\n%s", d.stderr)
	}
	// And the daemon is not ready while a plugin is quarantined.
	var ready map[string]any
	if code := get(t, "http://"+d.addr+"/readyz", "", &ready); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d with a quarantined plugin", code)
	}
}

func TestPluginsListWithoutDaemon(t *testing.T) {
	s := newSetup(t, `
[[analyzer]]
name = "caps"
plugin = "shouting"
sha256 = "`+sha(t, filepath.Join(bin.plugins, "shouting"))+`"
`)
	stdout, stderr, code := moderator(t, "plugins", "list", "--config", s.config)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"INSTANCE", "caps", "shouting", "analyzer", "0.1.0", "v1", "analyze", "(pinned)", "ready", "daemon is not running"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("missing %q in:\n%s", want, stdout)
		}
	}
}

func sha(t testing.TB, path string) string {
	out, err := exec.Command("sha256sum", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[0]
}

// BenchmarkRunToReady measures the time from `moderator run` to /readyz
// answering 200 with six plugin instances.
func BenchmarkRunToReady(b *testing.B) {
	var body strings.Builder
	for i := range 6 {
		fmt.Fprintf(&body, "[[analyzer]]\nname = \"caps%d\"\nplugin = \"shouting\"\n", i)
	}
	var total time.Duration
	n := 0
	for b.Loop() {
		s := newSetup(b, body.String())
		start := time.Now()
		d := startDaemon(b, s)
		d.waitReady(b)
		total += time.Since(start)
		n++
		d.cmd.Process.Signal(syscall.SIGTERM)
		d.cmd.Wait()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(n), "ms-to-ready")
}

// TestAnotherServiceOnTheAddress: when something other than the daemon
// answers on [http] listen, the command says so instead of passing that
// service's 404 off as "not found".
func TestAnotherServiceOnTheAddress(t *testing.T) {
	s := newSetup(t, "")
	// The token a daemon that ran before left behind.
	if err := os.MkdirAll(filepath.Join(s.dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "data", "admin.token"), []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler()}
	go srv.Serve(ln)
	defer srv.Close()
	_, stderr, code := moderator(t, "decisions", "show", "abc", "--config", s.config)
	if code != 1 || !strings.Contains(stderr, "answered 404 Not Found, not as moderator's daemon does") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestRestoreChecksTheWholeFileFirst: a file that is not a whole backup is
// refused with one line and leaves the data directory as it was, so the
// right file can be restored next without --force.
func TestRestoreChecksTheWholeFileFirst(t *testing.T) {
	src := newSetup(t, "")
	good := filepath.Join(t.TempDir(), "state.bak")
	if _, stderr, code := moderator(t, "backup", "--config", src.config, "--out", good); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dst := newSetup(t, "")
	for _, tt := range []struct{ name, file, want string }{
		{"empty", write("empty.bak", nil), "the file is empty"},
		{"another file", write("config.bak", []byte("[moderator]\n")), "does not start as a backup"},
		{"cut short", write("cut.bak", data[:len(data)-10]), "before its end"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := moderator(t, "restore", "--config", dst.config, "--in", tt.file)
			if code != 1 || !strings.Contains(stderr, tt.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("exit %d, stderr %q; want exit 1 and one line saying %q", code, stderr, tt.want)
			}
		})
	}
	if stdout, stderr, code := moderator(t, "restore", "--config", dst.config, "--in", good); code != 0 || !strings.Contains(stdout, "restored") {
		t.Errorf("the whole backup after the refused ones: exit %d, %s%s", code, stdout, stderr)
	}
}

// TestCommandsNeedNoPluginSecretsToTalkToTheDaemon: the plugins' secrets
// live in the daemon's environment; a command that only asks the daemon, or
// reads the store, runs without them, and one that would start the plugins
// itself says which are missing.
func TestCommandsNeedNoPluginSecretsToTalkToTheDaemon(t *testing.T) {
	s := newSetup(t, `
[[analyzer]]
name = "caps"
plugin = "shouting"
env = ["TOKEN=${CAPS_SECRET}"]
`)
	os.Unsetenv("CAPS_SECRET")
	if _, stderr, code := moderator(t, "decisions", "list", "--config", s.config); code != 0 {
		t.Errorf("listing the store without the secret: exit %d %s", code, stderr)
	}
	if _, stderr, code := moderator(t, "decisions", "override", "abc", "--action", "approve", "--config", s.config); code != 1 || !strings.Contains(stderr, "CAPS_SECRET is not set") {
		t.Errorf("starting the plugins without the secret: exit %d %s", code, stderr)
	}
	d := &daemon{setup: s, cmd: exec.Command(bin.moderator, "run", "--config", s.config), stderr: &lockedbuf.Buffer{}}
	d.cmd.Env, d.cmd.Stderr = append(os.Environ(), "CAPS_SECRET=s3cret"), d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.cmd.Process.Kill(); d.cmd.Wait() })
	d.waitReady(t)
	for _, args := range [][]string{{"review"}, {"decisions", "list"}, {"plugins", "list"}, {"targets", "list"}} {
		if stdout, stderr, code := moderator(t, append(args, "--config", s.config)...); code != 0 {
			t.Errorf("%q with the daemon up: exit %d %s%s", args, code, stdout, stderr)
		}
	}
	// The daemon's not-found, passed on once (it read "...: not found: not found").
	if _, stderr, code := moderator(t, "decisions", "show", "nope", "--config", s.config); code != 1 ||
		!strings.Contains(stderr, `no decision with id "nope"`) || strings.Count(stderr, "not found") != 1 {
		t.Errorf("unknown decision from the daemon: exit %d %q", code, stderr)
	}
}

// TestBackupChecksWhatTheDaemonSent: the daemon answers 200 before it
// streams the backup, so a stream cut short is only found by its missing
// end; the command then fails and leaves no file behind.
func TestBackupChecksWhatTheDaemonSent(t *testing.T) {
	s := newSetup(t, "")
	if err := os.MkdirAll(filepath.Join(s.dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "data", "admin.token"), []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/plugins", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"plugins":[]}`)) })
	mux.HandleFunc("GET /api/v1/backup", func(w http.ResponseWriter, _ *http.Request) {
		// The magic line and a chunk that promises 100 bytes and holds 3:
		// what a daemon that failed midway has sent.
		w.Write([]byte("moderator backup 1\n\x00\x00\x00\x64abc"))
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "state.bak")
	_, stderr, code := moderator(t, "backup", "--out", out, "--config", s.config)
	if code != 1 || !strings.Contains(stderr, "the backup did not arrive whole") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a cut backup was put in place: %v", err)
	}
	if _, err := os.Stat(out + ".partial"); !os.IsNotExist(err) {
		t.Errorf("the partial file was left behind: %v", err)
	}
}
