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
	token, err := os.ReadFile(filepath.Join(s.dir, "data", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	for cfg, status := range map[string]int{
		"[moderator]\nlog_format = \"${MODERATOR_TEST_TOKEN}\"\n":                                      http.StatusBadRequest,
		"[[analyzer]]\nname = \"a\"\nplugin = \"testplugin\"\nenv = \"KEY=${MODERATOR_TEST_TOKEN}\"\n": http.StatusBadRequest,
		// A "plugin" that prints the environment it is given and exits:
		// go-plugin's error quotes what it printed.
		"[[analyzer]]\nname = \"a\"\nplugin = \"/usr/bin/env\"\nenv = [\"MODERATOR_TEST_TOKEN\"]\n": http.StatusInternalServerError,
	} {
		body, _ := json.Marshal(map[string]string{"config": cfg, "file": s.config})
		req, _ := http.NewRequest("POST", "http://"+s.addr+"/api/v1/replay", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		reply, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != status || !strings.Contains(string(reply), "${MODERATOR_TEST_TOKEN}") {
			t.Errorf("replay of %q: %d %s", cfg, resp.StatusCode, reply)
		}
		shown = append(shown, string(reply))
	}
	shown = append(shown, d.stderr.String())
	for _, out := range shown {
		if strings.Contains(out, secret) {
			t.Errorf("the secret is shown in:\n%s", out)
		}
	}
}
