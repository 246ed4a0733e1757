package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/core/internal/synthetic/platform"
)

// TestSecretsStayOutOfMessages: a value the config read from the
// environment is shown as its ${NAME} in every message that would quote
// it, whichever key it was written into: config check, the daemon's log,
// plugins list, and the admin API's replay, which reads the ${NAME}s of the
// config it is sent from the daemon's environment and would otherwise echo
// any variable of it back.
func TestSecretsStayOutOfMessages(t *testing.T) {
	const secret = "tok-5ecret-v4lue"
	t.Setenv("MODERATOR_TEST_TOKEN", secret)
	// The synthetic connector's field error quotes a bad duration.
	bad := newSetup(t, `
[[connector]]
name = "syn"
plugin = "synthetic"
  [connector.config]
  base_url = "http://127.0.0.1:1"
  timeout = "${MODERATOR_TEST_TOKEN}"
`)
	var shown []string
	for _, args := range [][]string{{"config", "check"}, {"run"}, {"plugins", "list"}} {
		stdout, stderr, _ := moderator(t, append(args, "--config", bad.config)...)
		// The log quotes the error, escaping its quotes.
		out := strings.ReplaceAll(stdout+stderr, `\"`, `"`)
		if want := `invalid duration "${MODERATOR_TEST_TOKEN}"`; !strings.Contains(out, want) {
			t.Errorf("%q does not say what is wrong (%q):\n%s", args, want, out)
		}
		shown = append(shown, stdout+stderr)
	}

	s := newSetup(t, threePlugins)
	d := startDaemon(t, s)
	d.waitReady(t)
	token := s.adminToken(t)
	marker := filepath.Join(t.TempDir(), "started")
	for cfg, want := range map[string]string{
		"[moderator]\nlog_format = \"${MODERATOR_TEST_TOKEN}\"\n":                                      "${MODERATOR_TEST_TOKEN}",
		"[[analyzer]]\nname = \"a\"\nplugin = \"testplugin\"\nenv = \"KEY=${MODERATOR_TEST_TOKEN}\"\n": "${MODERATOR_TEST_TOKEN}",
		// A "plugin" that would print the environment it is given: no
		// program but the daemon's own analyzers runs for a replay.
		"[[analyzer]]\nname = \"a\"\nplugin = \"/usr/bin/env\"\nenv = [\"MODERATOR_TEST_TOKEN\"]\n": `analyzer \"a\" is not one the daemon runs`,
		// One of them with more of the daemon's environment, which would
		// say it has started.
		"[plugins]\ndir = \"" + bin.plugins + "\"\n[[analyzer]]\nname = \"counter\"\nplugin = \"testplugin\"\nenv = [\"TESTPLUGIN_MARKER=" + marker + "\"]\n": `analyzer \"counter\": its plugin, sha256 or env differs`,
		// The policy renders its reasons into the report.
		"[[policy.rule]]\nname = \"r\"\naction = \"flag\"\nreason = \"${MODERATOR_TEST_TOKEN}\"\n  [policy.rule.when]\n  labels = [\"testplugin.count\"]\n": "the policy reads the daemon's environment at policy.rule[0].reason",
	} {
		body, _ := json.Marshal(map[string]string{"config": cfg, "file": s.config})
		req, _ := http.NewRequest("POST", "http://"+s.addr+"/api/v1/replay", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		reply, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(reply), want) {
			t.Errorf("replay of %q: %d %s; want 400 with %q", cfg, resp.StatusCode, reply, want)
		}
		shown = append(shown, string(reply))
	}
	if b, err := os.ReadFile(marker); err == nil {
		t.Errorf("a replay started a plugin with an environment of its caller's choosing: %s", b)
	}
	shown = append(shown, d.stderr.String())
	for _, out := range shown {
		if strings.Contains(out, secret) {
			t.Errorf("the secret is shown in:\n%s", out)
		}
	}
}

// What a plugin answers can quote its config, and so a secret (a model's
// URL with its key, in the error of a call that failed): the daemon's log
// and the admin API show the ${NAME} instead, while the record keeps the
// error's meaning.
func TestPluginAnswersKeepSecretsOut(t *testing.T) {
	const secret = "k3y-s3cret-v4lue"
	t.Setenv("MODERATOR_TEST_KEY", secret)
	plat := platform.Start(platform.Options{Secret: "hook-secret"})
	defer plat.Close()
	s := synthSetup(t, plat, 1, `
[[analyzer]]
name = "model"
plugin = "testplugin"
env = ["TESTPLUGIN_FAIL=Post \"http://model.internal/score?key=${MODERATOR_TEST_KEY}\": connection refused"]

[[policy.rule]]
name = "flag-all"
action = "flag"
  [policy.rule.when]
  labels = ["testplugin.count"]
  min_score = 0.0
`)
	plat.AddComment(platform.Comment{PostID: "1000", AuthorID: "a", Text: "hello"})
	d := startDaemon(t, s)
	d.waitListening(t)
	token := s.adminToken(t)
	var reply string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var raw json.RawMessage
		get(t, "http://"+s.addr+"/api/v1/decisions?state=held", token, &raw)
		if reply = string(raw); strings.Contains(reply, "last_error") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing held: %s\n%s", reply, tail(d.stderr.String(), 3000))
		}
	}
	if want := `key=${MODERATOR_TEST_KEY}`; !strings.Contains(reply, want) {
		t.Errorf("the held record's error lost its meaning (want %q):\n%s", want, reply)
	}
	for what, out := range map[string]string{"the API's answer": reply, "the daemon's log": d.stderr.String()} {
		if strings.Contains(out, secret) {
			t.Errorf("%s shows the secret:\n%s", what, out)
		}
	}
}
