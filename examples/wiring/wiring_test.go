package wiring

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk/plugintest"
)

// module is this repository's module; the examples import only its sdk.
const module = "github.com/moderatorbot/moderator"

func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }

// host is the moderator binary, built once.
func host(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the moderator binary")
	}
	return plugintest.BuildOnce(t, module+"/core/cmd/moderator")
}

// install copies the example's binary into a plugins directory as name, the
// way `go build -o bin/plugins/NAME` puts it there, and returns the
// directory and the binary's sha256.
func install(t *testing.T, example string) (dir, sum string) {
	t.Helper()
	data, err := os.ReadFile(plugintest.BuildOnce(t, "../"+example))
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(t.TempDir(), "plugins")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, example), data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, fmt.Sprintf("%x", sha256.Sum256(data))
}

// run runs the moderator binary and returns its output and exit status.
func run(t *testing.T, moderator string, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(moderator, args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("run moderator %s: %v", strings.Join(args, " "), err)
	}
	return string(out), 0
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "moderator.toml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestWiredIntoModerator does what each example's README tells an author to
// do: build the plugin into the plugins directory, name it in moderator.toml
// with a sha256 pin, and let moderator check the config and list the plugin.
func TestWiredIntoModerator(t *testing.T) {
	moderator := host(t)
	tests := []struct {
		example string
		// config is the moderator.toml after [plugins]; %s is the pin.
		config string
		check  string // what `config check` says of it
		list   []string
		// bad is the config with one mistake, and what config check says.
		bad, badSays string
	}{
		{
			example: "shouting",
			config: `
[[analyzer]]
name = "shouting"
plugin = "shouting"
sha256 = %q
  [analyzer.config]
  min_letters = 8

[[policy.rule]]
name = "shouting"
action = "flag"
reason = "mostly capital letters"
  [policy.rule.when]
  labels = ["shouting.caps"]
  min_score = 0.7
`,
			check: "OK (0 connectors, 1 analyzers, 1 rules",
			list:  []string{"shouting", "analyzer", "0.1.0", "v1", "analyze", "(pinned)", "ready"},
			// The plugin's own validation reaches the operator with a position.
			bad:     "min_letters = 8\n|min_letters = 0\n",
			badSays: `moderator.toml:9:17: analyzer "shouting": config.min_letters: must be at least 1, got 0`,
		},
		{
			example: "forum",
			config: `
[[connector]]
name = "forum"
plugin = "forum"
sha256 = %q
  [connector.config]
  base_url = "https://forum.example.com"
  token = "${FORUM_TOKEN:-none}"
  page_size = 50

[[target]]
connector = "forum"
kind = "post"
id = "1234"
poll_interval = "1m"

[[policy.rule]]
name = "hide-insults"
action = "hide"
reason = "insult"
  [policy.rule.when]
  labels = ["insult"]
  min_score = 0.8
`,
			check: "OK (1 connectors, 0 analyzers, 1 rules, 1 targets)",
			list:  []string{"forum", "connector", "0.1.0", "v1", "poll,moderate", "hide", "(pinned)", "ready"},
			// The one action it declares is all a rule may ask of it.
			bad:     `action = "hide"` + "\n|" + `action = "delete"` + "\n",
			badSays: `connector "forum" (forum) cannot delete comments (it can: hide)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.example, func(t *testing.T) {
			plugins, sum := install(t, tt.example)
			body := fmt.Sprintf("[plugins]\ndir = %q\n", plugins) + fmt.Sprintf(tt.config, sum)
			cfg := writeConfig(t, body)
			if out, code := run(t, moderator, "config", "check", "--config", cfg); code != 0 || !strings.Contains(out, tt.check) {
				t.Fatalf("config check: exit %d, want 0 and %q\n%s", code, tt.check, out)
			}
			out, code := run(t, moderator, "plugins", "list", "--config", cfg)
			for _, want := range append(tt.list, sum[:12]) {
				if code != 0 || !strings.Contains(out, want) {
					t.Errorf("plugins list lacks %q (exit %d):\n%s", want, code, out)
				}
			}
			from, to, _ := strings.Cut(tt.bad, "|")
			cfg = writeConfig(t, strings.Replace(body, from, to, 1))
			if out, code := run(t, moderator, "config", "check", "--config", cfg); code != 1 || !strings.Contains(out, tt.badSays) {
				t.Errorf("config check with %q: exit %d, want 1 and %q\n%s", strings.TrimSpace(to), code, tt.badSays, out)
			}
		})
	}
}

// forum is a stand-in for the forum examples/forum speaks to (its API is in
// examples/forum/main.go), enough for the daemon to poll and hide.
type forum struct {
	mu       sync.Mutex
	comments []map[string]any // on post p1, ids 1, 2, ...
	hidden   map[string]bool
}

func (f *forum) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/posts/p1/comments":
		after, _ := strconv.Atoi(r.URL.Query().Get("after"))
		page := []map[string]any{}
		for i, c := range f.comments {
			if i+1 > after {
				page = append(page, c)
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"comments": page, "has_more": false})
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/comments/") && strings.HasSuffix(r.URL.Path, "/hidden"):
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/comments/"), "/hidden")
		changed := !f.hidden[id]
		f.hidden[id] = true
		json.NewEncoder(w).Encode(map[string]bool{"changed": changed})
	default:
		http.NotFound(w, r)
	}
}

func (f *forum) hiddenIDs() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for id := range f.hidden {
		out[id] = true
	}
	return out
}

// TestTheExamplesModerateTogether runs the daemon with both examples, as an
// operator would: the forum connector polls a post, the shouting analyzer
// scores its comments, and the one in capitals is hidden on the forum.
func TestTheExamplesModerateTogether(t *testing.T) {
	moderator := host(t)
	plugins, _ := install(t, "forum")
	shouting, _ := install(t, "shouting")
	f := &forum{hidden: map[string]bool{}}
	for i, text := range []string{"quiet words, nothing to see", "STOP SHOUTING AT ME ALREADY", "Hello There"} {
		f.comments = append(f.comments, map[string]any{
			"id": strconv.Itoa(i + 1), "author_id": "u1", "author": "someone", "text": text,
			"created_at": time.Date(2030, 1, 1, 0, 0, i, 0, time.UTC),
		})
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf(`
[moderator]
data_dir = %q
dry_run = false

[http]
listen = %q

[plugins]
dir = %q

[scheduler]
min_interval = "200ms"
max_interval = "500ms"

[[connector]]
name = "forum"
plugin = "forum"
  [connector.config]
  base_url = %q

[[analyzer]]
name = "shouting"
plugin = %q

[[target]]
connector = "forum"
kind = "post"
id = "p1"

[[policy.rule]]
name = "hide-shouting"
action = "hide"
reason = "mostly capital letters"
  [policy.rule.when]
  labels = ["shouting.caps"]
  min_score = 0.9
`, filepath.Join(dir, "data"), addr, plugins, srv.URL, filepath.Join(shouting, "shouting")))
	var log bytes.Buffer
	cmd := exec.Command(moderator, "run", "--config", cfg)
	cmd.Stdout, cmd.Stderr = io.Discard, &syncWriter{w: &log}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	}
	defer stop()
	deadline := time.Now().Add(60 * time.Second)
	for len(f.hiddenIDs()) == 0 {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("nothing hidden on the forum after 60s; the daemon's log:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if got := f.hiddenIDs(); len(got) != 1 || !got["2"] {
		t.Errorf("hidden on the forum: %v, want only comment 2 (the one in capitals)", got)
	}
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
