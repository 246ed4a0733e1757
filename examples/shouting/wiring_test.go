package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWiredIntoModerator does what the README tells an author to do: build
// the plugin, name it in moderator.toml with a sha256 pin, and let moderator
// check the config and list the plugin. It builds the moderator binary by
// its package path; the plugin itself imports nothing but the SDK.
func TestWiredIntoModerator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the moderator binary")
	}
	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	plugin := filepath.Join(plugins, "shouting")
	moderator := filepath.Join(dir, "moderator")
	for out, pkg := range map[string]string{plugin: ".", moderator: "github.com/moderatorbot/moderator/core/cmd/moderator"} {
		if out, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	data, err := os.ReadFile(plugin)
	if err != nil {
		t.Fatal(err)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(data))

	write := func(minLetters int) string {
		cfg := filepath.Join(dir, "moderator.toml")
		body := fmt.Sprintf(`[plugins]
dir = %q

[[analyzer]]
name = "shouting"
plugin = "shouting"
sha256 = %q
  [analyzer.config]
  min_letters = %d

[[policy.rule]]
name = "shouting"
action = "flag"
reason = "mostly capital letters"
  [policy.rule.when]
  labels = ["shouting.caps"]
  min_score = 0.7
`, plugins, sum, minLetters)
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	run := func(args ...string) (string, int) {
		out, err := exec.Command(moderator, args...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		return string(out), 0
	}

	cfg := write(8)
	if out, code := run("config", "check", "--config", cfg); code != 0 || !strings.Contains(out, "OK (0 connectors, 1 analyzers, 1 rules") {
		t.Fatalf("config check: exit %d\n%s", code, out)
	}
	out, code := run("plugins", "list", "--config", cfg)
	for _, want := range []string{"shouting", "analyzer", "0.1.0", "v1", "analyze", sum[:12] + " (pinned)", "ready"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("plugins list lacks %q (exit %d):\n%s", want, code, out)
		}
	}

	// The plugin's own validation reaches the operator with a position.
	cfg = write(0)
	out, code = run("config", "check", "--config", cfg)
	if code != 1 || !strings.Contains(out, `moderator.toml:9:17: analyzer "shouting": config.min_letters: must be at least 1, got 0`) {
		t.Errorf("config check with min_letters = 0: exit %d\n%s", code, out)
	}
}
