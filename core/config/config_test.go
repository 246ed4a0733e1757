package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/broken/*.golden from the current output")

// env is a fake environment for Parse.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// writeFile creates dir/name (and its parents) with the given mode.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// pluginDir makes a temp dir laid out like a built checkout: executable
// fakes in bin/plugins, plus a non-executable file and a directory there.
func pluginDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"twitter", "medium", "rules", "spam"} {
		writeFile(t, dir, "bin/plugins/"+name, "#!/bin/sh\n", 0o755)
	}
	writeFile(t, dir, "bin/plugins/noexec", "", 0o644)
	if err := os.Mkdir(filepath.Join(dir, "bin/plugins/adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

var brokenEnv = env(map[string]string{"TWITTER_TOKEN": "t0k3n", "EMPTY": ""})

func TestBrokenGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/broken/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		abs, err := filepath.Abs(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(abs)
			if err != nil {
				t.Fatal(err)
			}
			// Run where the fake binaries are, so resolved paths are under
			// one directory that the golden spells $DIR.
			t.Chdir(pluginDir(t))
			wd, _ := os.Getwd()
			cfg, err := Parse(filepath.Base(file), data, brokenEnv)
			if cfg != nil || err == nil {
				t.Fatalf("Parse = %v, %v; want nil config and problems", cfg, err)
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error %T is not Problems", err)
			}
			got := strings.ReplaceAll(err.Error(), wd, "$DIR") + "\n"
			golden := strings.TrimSuffix(abs, ".toml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("problems differ from %s\ngot:\n%swant:\n%s", filepath.Base(golden), got, want)
			}
		})
	}
}

// TestManyProblemsAtOnce guards the promise behind the goldens: one run
// reports every kind of mistake, not just the first.
func TestManyProblemsAtOnce(t *testing.T) {
	data, err := os.ReadFile("testdata/broken/many.toml")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(pluginDir(t))
	_, err = Parse("many.toml", data, brokenEnv)
	for _, want := range []string{
		`many.toml:7:1: unknown key "listne" in [http] (did you mean "listen"?)`,
		`many.toml:8:15: http.admin_token: environment variable MODERATOR_ADMIN_TOKEN is not set (use ${MODERATOR_ADMIN_TOKEN:-default} for an optional value)`,
		`many.toml:9:18: http.max_body_bytes: expected an integer, got string "1MB"`,
		`many.toml:12:16: plugins.crash_window: invalid duration "10 minutes" (use Go syntax such as "90s", "5m", "1h30m")`,
		`many.toml:21:8: analyzer[0].name: duplicate instance name "twitter" (first used by connector[0] at line 15)`,
		`/bin/plugins/caps not found (build it with make build, or set plugin to a path)`,
		`many.toml:35:13: target[0].connector: unknown connector "twiter" (did you mean "twitter"?)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if n := len(err.(Problems)); n != 7 {
		t.Errorf("got %d problems, want 7", n)
	}
}

func TestFullConfig(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"etc/plugins/twitter", "etc/plugins/rules", "etc/plugins/spam", "etc/tools/medium-connector"} {
		writeFile(t, dir, p, "#!/bin/sh\n", 0o755)
	}
	data, err := os.ReadFile("testdata/valid/full.toml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "etc/moderator.toml", string(data), 0o644)
	t.Setenv("MODERATOR_ADMIN_TOKEN", "s3cret")
	t.Setenv("TWITTER_TOKEN", "tw-token")
	t.Setenv("LISTEN", "") // empty counts as unset for ${VAR:-default}
	t.Setenv("SECOND_HANDLE", "")
	t.Setenv("EXTRA_WORD", "")

	// Relative paths resolve against the file, not the working directory.
	file := filepath.Join(dir, "etc", "moderator.toml")
	got, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	etc := filepath.Join(dir, "etc")
	yes := true
	want := &Config{
		File: file,
		Dir:  etc,
		Moderator: Moderator{
			DataDir: filepath.Join(etc, "var/data"), LogLevel: "debug", LogFormat: "json", DryRun: false, Retention: 720 * time.Hour,
		},
		Pipeline:  Pipeline{BatchSize: 100, Workers: 2, AnalyzerRetries: 2, ActionRetries: 5, RetryBackoff: time.Second, HoldRetry: time.Minute},
		Scheduler: Scheduler{MinInterval: 30 * time.Second, MaxInterval: 15 * time.Minute, StopAfter: 168 * time.Hour, DiscoverInterval: 15 * time.Minute, CallTimeout: 2 * time.Minute},
		HTTP: HTTP{
			Listen: "0.0.0.0:9090", WebhookPrefix: "/hooks", AdminToken: "s3cret",
			ReadTimeout: 5 * time.Second, WriteTimeout: time.Minute, MaxBodyBytes: 2048,
		},
		Plugins: Plugins{
			Dir: filepath.Join(etc, "plugins"), StartTimeout: 3 * time.Second,
			RestartBackoff: time.Second, RestartBackoffMax: time.Minute,
			CrashLimit: 5, CrashWindow: 90 * time.Minute, HealthInterval: 15 * time.Second,
		},
		Connectors: []Instance{{
			Kind: "connector", Index: 0, Name: "twitter-main", Plugin: "twitter",
			Path:   filepath.Join(etc, "plugins/twitter"),
			SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			Env:    []string{"HTTPS_PROXY", "TZ=UTC"},
			Config: map[string]any{
				"bearer_token": "tw-token",
				"price":        "${NOT_A_VAR} costs $5",
				"handles":      []any{"@me", "@alt"},
				"limits":       map[string]any{"per_minute": int64(10)},
			},
		}, {
			Kind: "connector", Index: 1, Name: "medium", Plugin: "./tools/medium-connector",
			Path: filepath.Join(etc, "tools/medium-connector"), Config: map[string]any{},
		}},
		Analyzers: []Instance{{
			Kind: "analyzer", Index: 0, Name: "words", Plugin: "rules", Path: filepath.Join(etc, "plugins/rules"),
			Timeout: 250 * time.Millisecond, OnFailure: "skip",
			Config: map[string]any{"lists": map[string]any{"words": []any{"darn", "heck", ""}}},
		}, {
			Kind: "analyzer", Index: 1, Name: "spam", Plugin: "spam", Path: filepath.Join(etc, "plugins/spam"),
			Timeout: 5 * time.Second, OnFailure: "hold", Config: map[string]any{},
		}},
		Policy: Policy{Rules: []Rule{{
			Index: 0, Name: "hide-threats", Action: "hide", Reason: "{{.Label}} scored {{.Score}}", DryRun: &yes,
			When: Condition{
				Labels: []string{"threat", "words.slur"}, MinScore: 0.8, Analyzers: []string{"words"},
				Authors: []string{"@troll"}, Targets: []string{"1234"},
			},
		}, {
			Index: 1, Name: "flag-spam", Action: "flag", When: Condition{Labels: []string{"spam"}, MinScore: 1},
		}}},
		Targets: []Target{
			{Index: 0, Connector: "twitter-main", Kind: "post", ID: "1234", PollInterval: 2 * time.Minute},
			{Index: 1, Connector: "medium", Kind: "publication", ID: "my-pub"},
		},
	}
	want.index, want.redactor, want.envRead = got.index, got.redactor, got.envRead
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("Load mismatch\ngot:  %s\nwant: %s", g, w)
	}
	if in, ok := got.Instance("spam"); !ok || in.Kind != "analyzer" {
		t.Errorf("Instance(spam) = %+v, %v", in, ok)
	}
	if _, ok := got.Instance("nope"); ok {
		t.Error("Instance(nope) found")
	}
	if names := instanceNames(got.Instances()); !reflect.DeepEqual(names, []string{"twitter-main", "medium", "words", "spam"}) {
		t.Errorf("Instances() = %v", names)
	}
}

func TestDefaults(t *testing.T) {
	for _, src := range []string{"", "# nothing but a comment\n", "[moderator]\n[http]\n[plugins]\n[policy]\n"} {
		got, err := Parse("moderator.toml", []byte(src), env(nil))
		if err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
		wd, _ := os.Getwd()
		want := &Config{
			File: "moderator.toml", Dir: wd,
			Moderator: Moderator{DataDir: filepath.Join(wd, "data"), LogLevel: "info", LogFormat: "text", DryRun: true, Retention: 720 * time.Hour},
			Pipeline:  Pipeline{BatchSize: 100, Workers: 2, AnalyzerRetries: 2, ActionRetries: 5, RetryBackoff: time.Second, HoldRetry: time.Minute},
			Scheduler: Scheduler{MinInterval: 30 * time.Second, MaxInterval: 15 * time.Minute, StopAfter: 168 * time.Hour, DiscoverInterval: 15 * time.Minute, CallTimeout: 2 * time.Minute},
			HTTP: HTTP{Listen: "127.0.0.1:8080", WebhookPrefix: "/webhooks", ReadTimeout: 10 * time.Second,
				WriteTimeout: 10 * time.Second, MaxBodyBytes: 1 << 20},
			Plugins: Plugins{Dir: filepath.Join(wd, "bin/plugins"), StartTimeout: 10 * time.Second,
				RestartBackoff: 500 * time.Millisecond, RestartBackoffMax: 30 * time.Second, CrashLimit: 3,
				CrashWindow: 10 * time.Minute, HealthInterval: 5 * time.Second},
		}
		want.index = got.index
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q) =\n%+v\nwant\n%+v", src, got, want)
		}
	}
}

func TestPipelineAndAllowList(t *testing.T) {
	src := `[moderator]
retention = "48h"
[pipeline]
batch_size = 10
workers = 4
analyzer_retries = 0
retry_backoff = "250ms"
[policy]
allow_authors = ["@friend", "12345"]
`
	got, err := Parse("moderator.toml", []byte(src), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Pipeline{BatchSize: 10, Workers: 4, AnalyzerRetries: 0, ActionRetries: 5, RetryBackoff: 250 * time.Millisecond, HoldRetry: time.Minute}
	if got.Pipeline != want || got.Moderator.Retention != 48*time.Hour || strings.Join(got.Policy.AllowAuthors, ",") != "@friend,12345" {
		t.Errorf("got %+v %v %v", got.Pipeline, got.Moderator.Retention, got.Policy.AllowAuthors)
	}
	_, err = Parse("moderator.toml", []byte("[pipeline]\nbatch_size = 0\nhold_retry = \"-1s\"\nworkerz = 2\n[moderator]\nretention = \"1m\"\n"), env(nil))
	for _, want := range []string{
		"moderator.toml:2:14: pipeline.batch_size: must be between 1 and 100000, got 0",
		"moderator.toml:3:14: pipeline.hold_retry:",
		`moderator.toml:4:1: unknown key "workerz" in [pipeline] (did you mean "workers"?)`,
		"moderator.toml:6:13: moderator.retention: must be at least 1h, got 1m0s",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestScheduler(t *testing.T) {
	got, err := Parse("moderator.toml", []byte("[scheduler]\ncall_timeout = \"45s\"\nmin_interval = \"10s\"\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Scheduler{MinInterval: 10 * time.Second, MaxInterval: 15 * time.Minute, StopAfter: 168 * time.Hour, DiscoverInterval: 15 * time.Minute, CallTimeout: 45 * time.Second}); got.Scheduler != want {
		t.Errorf("got %+v, want %+v", got.Scheduler, want)
	}
	_, err = Parse("moderator.toml", []byte("[scheduler]\ncall_timeout = \"1ms\"\n"), env(nil))
	if want := "moderator.toml:2:16: scheduler.call_timeout: must be at least 100ms, got 1ms"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("missing %q in:\n%v", want, err)
	}
}

func TestSubstitution(t *testing.T) {
	lookup := env(map[string]string{"A": "a", "B": "b", "EMPTY": "", "TOML": "x\"\n[http]\nlisten = \"evil:1\""})
	for _, tc := range []struct{ in, want, problem string }{
		{in: "plain $ and $$ stay", want: "plain $ and $$ stay"},
		{in: "${A}", want: "a"},
		{in: "${A}-${B}", want: "a-b"},
		{in: "${A:-d}", want: "a"},
		{in: "${UNSET:-d}", want: "d"},
		{in: "${EMPTY:-d}", want: "d"},
		{in: "${UNSET:-}", want: ""},
		{in: "${UNSET:-with spaces and :-}", want: "with spaces and :-"},
		{in: "$${A}", want: "${A}"},
		{in: "$${A} ${A}", want: "${A} a"},
		{in: "${TOML}", want: "x\"\n[http]\nlisten = \"evil:1\""},
		{in: "${UNSET}", problem: "environment variable UNSET is not set (use ${UNSET:-default} for an optional value)"},
		{in: "x ${A", problem: `unterminated "${" (write "$${" for a literal "${")`},
		{in: "${}", problem: `invalid variable reference "${}" (use ${NAME} or ${NAME:-default})`},
		{in: "${A-b}", problem: `invalid variable reference "${A-b}" (use ${NAME} or ${NAME:-default})`},
	} {
		w := &walker{file: "f.toml", index: index{}, env: lookup}
		got := w.expand([]any{"k"}, tc.in)
		switch {
		case tc.problem != "":
			if len(w.problems) != 1 || w.problems[0].Msg != "k: "+tc.problem {
				t.Errorf("expand(%q) problems = %v, want %q", tc.in, w.problems, tc.problem)
			}
		case len(w.problems) > 0:
			t.Errorf("expand(%q): unexpected %v", tc.in, w.problems)
		case got != tc.want:
			t.Errorf("expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}

	// A variable's content is data, never TOML.
	cfg, err := Parse("m.toml", []byte(`http.admin_token = "${TOML}"`), lookup)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:8080" || !strings.Contains(cfg.HTTP.AdminToken.Value(), "evil") {
		t.Errorf("substitution leaked into the document: %+v", cfg.HTTP)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	cfg, err := Parse("m.toml", []byte("[http]\nadmin_token = \"${TOKEN}\"\n"), env(map[string]string{"TOKEN": "hunter2"}))
	if err != nil {
		t.Fatal(err)
	}
	tok := cfg.HTTP.AdminToken
	if tok.Value() != "hunter2" {
		t.Fatalf("Value() = %q", tok.Value())
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "%v %+v %#v %s %q %x %X %d %10s|", cfg, cfg, cfg, tok, tok, tok, tok, tok, tok)
	fmt.Fprint(&out, tok, cfg.HTTP, []Secret{tok}, map[string]Secret{"k": tok})
	j, _ := json.Marshal(cfg)
	out.Write(j)
	txt, _ := tok.MarshalText()
	out.Write(txt)
	slog.New(slog.NewTextHandler(&out, nil)).Info("cfg", "token", tok, "http", cfg.HTTP)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("cfg", "token", tok)
	if strings.Contains(out.String(), "hunter2") {
		t.Errorf("secret leaked:\n%s", out.String())
	}
	if !strings.Contains(out.String(), redacted) {
		t.Errorf("no redaction marker in:\n%s", out.String())
	}
	if s := fmt.Sprintf("%v|%s", Secret(""), Secret("")); s != "|" {
		t.Errorf("empty secret prints %q", s)
	}
}

const atSource = `[[analyzer]]
name = "words"
plugin = "rules"
  [analyzer.config]
  threshold = 0.8
  [analyzer.config.lists]
  words = ["a", "b", "c"]

[[analyzer]]
name = "inline"
plugin = "rules"
config = { lists = { words = ["x", "y", "z"] }, "odd key" = 1 }

[[analyzer]]
name = "bare"
plugin = "rules"
`

func TestAtPositions(t *testing.T) {
	t.Chdir(pluginDir(t))
	cfg, err := Parse("at.toml", []byte(atSource), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	words, inline, bare := cfg.Analyzers[0], cfg.Analyzers[1], cfg.Analyzers[2]
	for _, tc := range []struct {
		got  Problem
		want string
	}{
		{cfg.At("m", "analyzer", 0, "config", "threshold"), "at.toml:5:15: m"},
		{cfg.At("m", "analyzer", 0, "name"), "at.toml:2:8: m"},
		{cfg.At("m", "analyzer", 1), "at.toml:9:1: m"},
		{cfg.At("m", "analyzer", 1, "config"), "at.toml:12:10: m"},
		{cfg.At("m", "analyzer", 0, "config"), "at.toml:4:3: m"},
		// Missing keys fall back to the nearest parent that exists.
		{cfg.At("m", "analyzer", 0, "config", "missing"), "at.toml:4:3: m"},
		{cfg.At("m", "analyzer", 2, "config", "x"), "at.toml:14:1: m"},
		{cfg.At("m", "analyzer", 7), "at.toml:1:1: m"},
		{cfg.At("m", "nothing", "here"), "at.toml: m"},
		{cfg.At("m"), "at.toml: m"},
		{cfg.PluginFieldProblem(words, "lists.words[2]", "bad word"), `at.toml:7:22: analyzer "words": config.lists.words[2]: bad word`},
		{cfg.PluginFieldProblem(words, "lists.words[9]", "m"), `at.toml:7:11: analyzer "words": config.lists.words[9]: m`},
		{cfg.PluginFieldProblem(words, "lists.missing", "m"), `at.toml:6:3: analyzer "words": config.lists.missing: m`},
		{cfg.PluginFieldProblem(words, "", "m"), `at.toml:4:3: analyzer "words": config: m`},
		{cfg.PluginFieldProblem(inline, "lists.words[2]", "m"), `at.toml:12:41: analyzer "inline": config.lists.words[2]: m`},
		{cfg.PluginFieldProblem(inline, "lists", "m"), `at.toml:12:20: analyzer "inline": config.lists: m`},
		{cfg.PluginFieldProblem(inline, "odd key", "m"), `at.toml:12:61: analyzer "inline": config.odd key: m`},
		{cfg.PluginFieldProblem(bare, "threshold", "required"), `at.toml:14:1: analyzer "bare": config.threshold: required`},
	} {
		if tc.got.Error() != tc.want {
			t.Errorf("got  %q\nwant %q", tc.got.Error(), tc.want)
		}
	}
}

func TestParseField(t *testing.T) {
	for in, want := range map[string][]any{
		"a":              {"a"},
		"lists.words[2]": {"lists", "words", 2},
		"m[1][0].x":      {"m", 1, 0, "x"},
		"a[x]":           {"a", "[x]"},
	} {
		if got := parseField(in); !reflect.DeepEqual(got, want) {
			t.Errorf("parseField(%q) = %#v, want %#v", in, got, want)
		}
	}
}

func TestProblemFormat(t *testing.T) {
	ps := Problems{ // out of order, as after a caller appends its own
		{File: "f", Line: 3, Col: 7, Msg: "full"},
		{File: "f", Line: 3, Msg: "line only"},
		{File: "f", Msg: "no position"},
	}
	want := "f: no position\nf:3: line only\nf:3:7: full"
	if ps.Error() != want {
		t.Errorf("got %q, want %q", ps.Error(), want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.toml")
	cfg, err := Load(path)
	if cfg != nil || err == nil {
		t.Fatalf("Load = %v, %v", cfg, err)
	}
	if want := path + ": cannot read config: no such file or directory"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}
}

func TestSuggest(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"listne", ` (did you mean "listen"?)`},
		{"crash_windows", ` (did you mean "crash_window"?)`},
		{"zzz", ""},
		{"x", ""},
	} {
		if got := suggest(tc.in, []string{"listen", "crash_window", "id"}); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.toml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(atSource))
	lookup := func(k string) (string, bool) { return "v", strings.HasPrefix(k, "SET") }
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.toml", data, lookup)
		if err == nil {
			if cfg == nil {
				t.Fatal("nil config without error")
			}
			cfg.At("m", "connector", 0, "config", "x")
			return
		}
		var ps Problems
		if cfg != nil || !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("Parse = %v, %#v", cfg, err)
		}
		for _, p := range ps {
			if p.File != "fuzz.toml" || p.Line < 0 || p.Col < 0 || p.Msg == "" {
				t.Fatalf("bad problem %#v", p)
			}
		}
	})
}

// TestListenerSettings: every [http] value that would make `run` fail or
// panic, or switch a guard off, is a problem at its position, so `config
// check` and `run` agree.
func TestListenerSettings(t *testing.T) {
	for _, tc := range []struct{ in, problem string }{
		{`listen = "127.0.0.1:8080"`, ""},
		{`listen = "[::1]:8080"`, ""},
		{`listen = "localhost:8080"`, ""},
		{`listen = ":8080"`, ""},
		{`listen = "127.0.0.1:99999"`, `http.listen: invalid address "127.0.0.1:99999": port "99999": want a number from 1 to 65535`},
		{`listen = "127.0.0.1:notaport"`, `port "notaport"`},
		{`listen = "127.0.0.1:"`, `port "": want a number`},
		{`listen = "127.0.0.1:0"`, `port "0": want a number`},
		{`listen = "999.1.1.1:80"`, `host "999.1.1.1" is not an IP address`},
		{`webhook_prefix = "/hooks"`, ""},
		{`webhook_prefix = "/in/coming-hooks_v1.2"`, ""},
		{`webhook_prefix = "/api"`, `"/api" collides with the listener's own /api routes`},
		{`webhook_prefix = "/api/v1"`, `collides with the listener's own /api routes`},
		{`webhook_prefix = "/metrics"`, `own /metrics routes`},
		{`webhook_prefix = "/debug/x"`, `own /debug routes`},
		{`webhook_prefix = "/a b"`, `may hold only letters, digits`},
		{`webhook_prefix = "/{x}"`, `may hold only letters, digits`},
		{`webhook_prefix = "/a//b"`, `may hold only letters, digits`},
		{`webhook_prefix = "/../x"`, `may hold only letters, digits`},
		{`webhook_prefix = "/"`, `name a path`},
		{`read_timeout = "0s"`, `http.read_timeout: must be greater than 0`},
		{`write_timeout = "0s"`, `http.write_timeout: must be greater than 0`},
	} {
		_, err := Parse("m.toml", []byte("[http]\n"+tc.in+"\n"), env(nil))
		switch {
		case tc.problem == "" && err != nil:
			t.Errorf("%s: %v", tc.in, err)
		case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), "m.toml:2:") || !strings.Contains(err.Error(), tc.problem)):
			t.Errorf("%s: %v; want a problem at line 2 saying %q", tc.in, err, tc.problem)
		}
	}
	// A zero plugin duration is refused, not taken as the default.
	for _, key := range []string{"start_timeout", "restart_backoff", "crash_window", "health_interval"} {
		if _, err := Parse("m.toml", []byte("[plugins]\n"+key+" = \"0s\"\n"), env(nil)); err == nil || !strings.Contains(err.Error(), "plugins."+key+": must be greater than 0") {
			t.Errorf("%s = 0s: %v", key, err)
		}
	}
	// A failed substitution is reported once, not again as a bad value.
	_, err := Parse("m.toml", []byte("[http]\nlisten = \"127.0.0.1:${PORT}\"\n"), env(nil))
	if err == nil || strings.Count(err.Error(), "m.toml:2:") != 1 || !strings.Contains(err.Error(), "PORT is not set") {
		t.Errorf("unset port: %v", err)
	}
}

// TestParsePartialKeepsTheCleanInstances: with problems in the file, the
// instances without a problem of their own are kept for their plugins to
// check; the others are left out.
func TestParsePartialKeepsTheCleanInstances(t *testing.T) {
	dir := pluginDir(t)
	doc := `
[moderator]
log_level = "loud"

[plugins]
dir = "bin/plugins"

[[connector]]
name = "tw"
plugin = "twitter"

[[connector]]
name = "md"
plugin = "medium"
bogus = 1

[[analyzer]]
name = "r"
plugin = "rules"

[[analyzer]]
name = "s"
plugin = "nosuchplugin"
`
	cfg, ps := ParsePartial(filepath.Join(dir, "m.toml"), []byte(doc), env(nil))
	if len(ps) != 3 {
		t.Fatalf("problems:\n%v", ps)
	}
	var kept []string
	for _, in := range cfg.Instances() {
		kept = append(kept, in.Name)
	}
	if !slices.Equal(kept, []string{"tw", "r"}) {
		t.Errorf("kept %q, want the clean tw and r", kept)
	}
	if c, err := Parse(filepath.Join(dir, "m.toml"), []byte(doc), env(nil)); c != nil || err == nil {
		t.Error("Parse returned a config with problems")
	}
}

// TestPluginTablesHoldOnlyNumbersJSONCanCarry: nan and inf in a plugin's
// table are problems at their place, not a JSON encoding failure at start.
func TestPluginTablesHoldOnlyNumbersJSONCanCarry(t *testing.T) {
	dir := pluginDir(t)
	doc := "[plugins]\ndir = \"bin/plugins\"\n\n[[analyzer]]\nname = \"r\"\nplugin = \"rules\"\n  [analyzer.config]\n  threshold = nan\n  ok = 0.5\n  lists = [1.0, -inf]\n"
	_, err := Parse(filepath.Join(dir, "m.toml"), []byte(doc), env(nil))
	for _, want := range []string{"m.toml:8:15: analyzer[0].config.threshold: NaN is not a number", "m.toml:10:17: analyzer[0].config.lists[1]: -Inf is not a number"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v; want %q", err, want)
		}
	}
}
