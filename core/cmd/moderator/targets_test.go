package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/moderatorbot/moderator/core/internal/lockedbuf"
	"github.com/moderatorbot/moderator/core/internal/synthetic/platform"
)

// position returns the line and column of the first occurrence of what in
// the config file.
func position(t *testing.T, file, what string) (int, int) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if col := strings.Index(line, what); col >= 0 {
			return i + 1, col + 1
		}
	}
	t.Fatalf("%q is not in %s", what, file)
	return 0, 0
}

// The synthetic connector declares that it discovers authors only: a query
// target in the config is refused by config check, at the kind's position,
// and the daemon does not start with it.
func TestConfigRefusesATargetKindItsConnectorCannotWatch(t *testing.T) {
	plat := platform.Start(platform.Options{Secret: "hook-secret"})
	defer plat.Close()
	s := synthSetup(t, plat, 1, `
[[target]]
connector = "syn"
kind = "author"
id = "u1"

[[target]]
connector = "syn"
kind = "query"
id = "foo"
`)
	line, col := position(t, s.config, `"query"`)
	want := fmt.Sprintf(`moderator.toml:%d:%d: target[1].kind: connector "syn" (synthetic) cannot watch "query" targets (it takes: post, author)`, line, col)
	_, stderr, code := moderator(t, "config", "check", "--config", s.config)
	if code != 1 || !strings.Contains(stderr, want) || strings.Contains(stderr, `"author" targets`) {
		t.Errorf("config check: exit %d, want exactly %q in:\n%s", code, want, stderr)
	}
	_, stderr, code = moderator(t, "run", "--config", s.config)
	if code != 1 || !strings.Contains(stderr, "1 problems in "+s.config+" that no restart cures") ||
		!strings.Contains(stderr, `cannot watch \"query\" targets`) {
		t.Errorf("run: exit %d:\n%s", code, tail(stderr, 2000))
	}
	if plat.Requests().UserPosts != 0 {
		t.Errorf("%d discover requests reached the platform", plat.Requests().UserPosts)
	}
}

// targets add refuses a kind the connector does not declare, whether the
// daemon runs (CLI and API) or not (the CLI asks the connector itself), and
// stores nothing; a kind it declares is added.
func TestTargetsAddRefusesAKindItsConnectorCannotWatch(t *testing.T) {
	plat := platform.Start(platform.Options{Secret: "hook-secret"})
	defer plat.Close()
	s := synthSetup(t, plat, 0, "")
	const refusal = `target query foo: connector "syn" (synthetic) cannot watch "query" targets (it takes: post, author)`
	listed := func() string {
		t.Helper()
		out, stderr, code := moderator(t, "targets", "list", "--json", "--config", s.config)
		if code != 0 {
			t.Fatalf("targets list: exit %d %s", code, stderr)
		}
		return out
	}
	addVia := func(t *testing.T, via string, d *daemon) {
		if _, stderr, code := moderator(t, "targets", "add", "syn", "query", "foo", "--config", s.config); code != 1 || !strings.Contains(stderr, refusal) {
			t.Errorf("%s: targets add syn query foo: exit %d, stderr %q; want exit 1 and %q", via, code, stderr, refusal)
		}
		if d != nil {
			body, _ := json.Marshal(map[string]string{"connector": "syn", "kind": "query", "id": "foo"})
			req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/api/v1/targets", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+s.adminToken(t))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var e struct{ Error string }
			json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, refusal) {
				t.Errorf("POST /api/v1/targets: %d %q, want 400 and %q", resp.StatusCode, e.Error, refusal)
			}
		}
		if out := listed(); strings.Contains(out, `"query"`) {
			t.Errorf("%s: the refused target is stored:\n%s", via, out)
		}
	}

	t.Run("no daemon", func(t *testing.T) {
		addVia(t, "no daemon", nil)
		if _, stderr, code := moderator(t, "targets", "add", "syn", "author", "u1", "--config", s.config); code != 0 {
			t.Errorf("targets add syn author u1: exit %d %s", code, stderr)
		}
	})
	t.Run("daemon", func(t *testing.T) {
		d := startDaemon(t, s)
		d.waitReady(t)
		addVia(t, "daemon", d)
		if _, stderr, code := moderator(t, "targets", "add", "syn", "author", "u2", "--config", s.config); code != 0 {
			t.Errorf("targets add syn author u2: exit %d %s", code, stderr)
		}
		d.cmd.Process.Signal(syscall.SIGTERM)
		d.cmd.Wait()
	})
	if out := listed(); !strings.Contains(out, `"u1"`) || !strings.Contains(out, `"u2"`) {
		t.Errorf("the accepted targets are not listed:\n%s", out)
	}
}

// After `targets remove`, the posts the target brought in are no longer
// polled, in the running daemon and after a restart: a comment posted on
// them afterwards is never acted on, while the config's post keeps being
// moderated.
func TestTargetsRemoveStopsItsPosts(t *testing.T) {
	plat := platform.Start(platform.Options{Secret: "hook-secret"})
	defer plat.Close()
	plat.AddPost("2000", "u1")
	plat.AddPost("3000", "someone")
	s := synthSetup(t, plat, 1, strings.Replace(flagAll, `env = ["TESTPLUGIN_DELAY=400ms"]`, "", 1)) // post 1000, from the config
	d := startDaemon(t, s)
	d.waitReady(t)
	for _, args := range [][]string{{"author", "u1"}, {"post", "3000"}} {
		if _, stderr, code := moderator(t, append(append([]string{"targets", "add", "syn"}, args...), "--config", s.config)...); code != 0 {
			t.Fatalf("targets add %v: exit %d %s", args, code, stderr)
		}
	}
	comment := func(post, text string) string {
		return plat.AddComment(platform.Comment{PostID: post, AuthorID: "a", Text: text}).ID
	}
	comment("2000", "before, on u1's post")
	comment("3000", "before, on post 3000")
	acted(t, plat, 2, d)

	for _, args := range [][]string{{"author", "u1"}, {"post", "3000"}} {
		stdout, stderr, code := moderator(t, append(append([]string{"targets", "remove", "syn"}, args...), "--config", s.config)...)
		if want := fmt.Sprintf("no longer watching %s %s on syn", args[0], args[1]); code != 0 || !strings.Contains(stdout, want) {
			t.Fatalf("targets remove %v: exit %d %q %s", args, code, stdout, stderr)
		}
	}
	late := []string{comment("2000", "after, on u1's post"), comment("3000", "after, on post 3000")}
	// The config's post is polled on the same schedule: two rounds of it
	// acted on, after the late comments were posted, are polls that would
	// have found them.
	notActed := func(when string) {
		t.Helper()
		for _, a := range plat.Actions() {
			for _, id := range late {
				if a.CommentID == id {
					t.Errorf("%s: comment %s on a removed target's post was acted on", when, id)
				}
			}
		}
	}
	n := 2
	for i := range 2 {
		comment("1000", fmt.Sprint("control ", i))
		n++
		acted(t, plat, n, d)
	}
	notActed("after removal")

	d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()
	d = startDaemon(t, s)
	d.waitReady(t)
	for i := range 2 {
		comment("1000", fmt.Sprint("control after restart ", i))
		n++
		acted(t, plat, n, d)
	}
	notActed("after a restart")
}

// Without the daemon, targets add starts the connector to ask which kinds it
// takes, so it needs the connector's secrets, and names a missing one; a
// post target, which every connector takes, and any target added through
// the running daemon need none.
func TestTargetsAddAsksTheConnectorForItsSecretsOnlyWhenItStartsIt(t *testing.T) {
	plat := platform.Start(platform.Options{Secret: "hook-secret"})
	defer plat.Close()
	s := synthSetup(t, plat, 0, `  token = "${SYN_TOKEN}"`)
	os.Unsetenv("SYN_TOKEN")
	if _, stderr, code := moderator(t, "targets", "add", "syn", "post", "5000", "--config", s.config); code != 0 {
		t.Errorf("a post target without the daemon or the secret: exit %d %s", code, stderr)
	}
	if _, stderr, code := moderator(t, "targets", "add", "syn", "author", "u1", "--config", s.config); code != 1 || !strings.Contains(stderr, "SYN_TOKEN is not set") {
		t.Errorf("an author target without the daemon or the secret: exit %d %s", code, stderr)
	}
	d := &daemon{setup: s, cmd: exec.Command(bin.moderator, "run", "--config", s.config), stderr: &lockedbuf.Buffer{}}
	d.cmd.Env, d.cmd.Stderr = append(os.Environ(), "SYN_TOKEN=s3cret"), d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.cmd.Process.Kill(); d.cmd.Wait() })
	d.waitReady(t)
	if _, stderr, code := moderator(t, "targets", "add", "syn", "author", "u1", "--config", s.config); code != 0 {
		t.Errorf("an author target through the daemon, without the secret: exit %d %s", code, stderr)
	}
}
