package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestDefaultConfigModeratesTheSandbox is `make run` for real: the built
// daemon and plugins, with the repository's moderator.toml (dry run turned
// off, and its own ports and data directory), against the built sandbox. X
// must receive hides, each of a comment the corpus says is a threat, an
// identity attack or spam, and comments must arrive by poll or stream and by
// webhook.
func TestDefaultConfigModeratesTheSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the daemon and six plugins")
	}
	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	build := func(out, pkg string) {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, b)
		}
	}
	build(filepath.Join(dir, "moderator"), "../../core/cmd/moderator")
	build(filepath.Join(dir, "sandbox"), ".")
	for _, p := range []string{"twitter", "medium", "rules", "spam", "sentiment"} {
		build(filepath.Join(plugins, p), "../../plugins/"+p)
	}
	build(filepath.Join(plugins, "shouting"), "../shouting")

	sbAddr, modAddr := freeAddr(t), freeAddr(t)
	conf, err := os.ReadFile("../../moderator.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ re, to string }{
		{`(?m)^data_dir = .*$`, fmt.Sprintf("data_dir = %q", filepath.Join(dir, "data"))},
		{`(?m)^dry_run = true`, "dry_run = false"},
		{`(?m)^listen = .*$`, fmt.Sprintf("listen = %q", modAddr)},
		{`(?m)^dir = "\./bin/plugins".*$`, fmt.Sprintf("dir = %q", plugins)},
		{`http://127\.0\.0\.1:8090`, "http://" + sbAddr},
	} {
		before := conf
		conf = regexp.MustCompile(r.re).ReplaceAll(conf, []byte(r.to))
		if bytes.Equal(before, conf) {
			t.Fatalf("moderator.toml has nothing matching %s: update this test with it", r.re)
		}
	}
	config := filepath.Join(dir, "moderator.toml")
	if err := os.WriteFile(config, conf, 0o644); err != nil {
		t.Fatal(err)
	}

	start := func(name string, args ...string) *bytes.Buffer {
		var out bytes.Buffer
		cmd := exec.Command(filepath.Join(dir, name), args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				<-done
			}
			if t.Failed() {
				t.Logf("%s's output:\n%s", name, out.String())
			}
		})
		return &out
	}
	start("sandbox", "-listen", sbAddr, "-every", "50ms", "-seed", "11",
		"-twitter-webhook", "http://"+modAddr+"/webhooks/x",
		"-medium-webhook", "http://"+modAddr+"/webhooks/medium", "-medium-webhook-secret", "sandbox-webhook-secret-0123")
	for up := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get("http://" + sbAddr + "/_sandbox/comments"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(up) {
			t.Fatal("the sandbox never answered")
		}
	}
	start("moderator", "run", "--config", config)

	var actions []Action
	var published []Published
	deadline := time.Now().Add(3 * time.Minute)
	for {
		actions, published = nil, nil
		getJSON(t, "http://"+sbAddr+"/_sandbox/actions", &actions)
		getJSON(t, "http://"+sbAddr+"/_sandbox/comments", &published)
		if len(actions) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("X received %d moderation calls in 3 minutes, want 3 or more: %+v", len(actions), actions)
		}
		time.Sleep(200 * time.Millisecond)
	}
	labels := map[string][]string{}
	for _, p := range published {
		if p.Platform == "twitter" {
			labels[p.CommentID] = p.Labels
		}
	}
	for _, a := range actions {
		l := labels[a.CommentID]
		if a.Action != "hide" || a.Status != http.StatusOK {
			t.Errorf("X received %s of %s, answered %d; want only hides that worked", a.Action, a.CommentID, a.Status)
		}
		if !slices.ContainsFunc(l, func(s string) bool { return s == "threat" || s == "identity_attack" || s == "spam" }) {
			t.Errorf("comment %s hidden, but the corpus says it is %q", a.CommentID, l)
		}
	}

	// Every way in was used: the sources the daemon recorded.
	out, err := exec.Command(filepath.Join(dir, "moderator"), "decisions", "list", "--config", config, "--limit", "1000", "--json").CombinedOutput()
	if err != nil {
		t.Fatalf("decisions list: %v\n%s", err, out)
	}
	for _, source := range []string{`"source": "webhook"`, `"source": "stream"`} {
		if !strings.Contains(strings.ReplaceAll(string(out), `":"`, `": "`), source) {
			t.Errorf("no decision on a comment with %s", source)
		}
	}
}

func getJSON(t *testing.T, url string, into any) {
	t.Helper()
	if code := get(t, url, "", into); code != http.StatusOK {
		t.Fatalf("GET %s: %d", url, code)
	}
}
