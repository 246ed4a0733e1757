package daemon

import (
	"errors"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/core/config"
)

const ownReplayConfig = `
[[analyzer]]
name = "model"
plugin = "/bin/true"
env = ["MODEL_REGION"]
  [analyzer.config]
  url = "http://model.internal:8000/score"
  headers = { Authorization = "Bearer ${MODEL_TOKEN}" }

[[analyzer]]
name = "rules"
plugin = "/bin/true"
  [analyzer.config]
  min_severity = 0.5

[[policy.rule]]
name = "hide-spam"
action = "hide"
  [policy.rule.when]
  labels = ["spam"]
`

func TestReplayCheck(t *testing.T) {
	environ := map[string]string{"MODEL_TOKEN": "m0del-t0ken-123", "MODEL_REGION": "eu", "OTHER": "0ther-secret-456"}
	lookup := func(k string) (string, bool) { v, ok := environ[k]; return v, ok }
	own, err := config.Parse("/etc/moderator/moderator.toml", []byte(ownReplayConfig), lookup)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, edit string // edit: old => new in the daemon's config text
		refused    string // part of the refusal; empty: accepted
	}{
		{"the daemon's own config", "", ""},
		{"a policy edit", `labels = ["spam"]` + "=>" + `labels = ["spam"]` + "\n  min_score = 0.9", ""},
		{"a threshold edit of an analyzer without secrets", "min_severity = 0.5=>min_severity = 0.8", ""},
		{"an analyzer left out", `[[analyzer]]
name = "rules"
plugin = "/bin/true"
  [analyzer.config]
  min_severity = 0.5=>`, ""},
		{"another program", `name = "rules"
plugin = "/bin/true"=>name = "rules"
plugin = "/bin/false"`, `analyzer "rules": its plugin, sha256 or env differs`},
		{"an analyzer the daemon does not run", `name = "rules"=>name = "shell"`, `analyzer "shell" is not one the daemon runs`},
		{"more of the environment", `env = ["MODEL_REGION"]=>env = ["MODEL_REGION", "OTHER"]`, `analyzer "model": its plugin, sha256 or env differs`},
		{"another pin", `env = ["MODEL_REGION"]=>env = ["MODEL_REGION"]` + "\nsha256 = \"" + strings.Repeat("0", 64) + "\"", `analyzer "model": its plugin, sha256 or env differs`},
		{"the token sent elsewhere", "model.internal=>attacker.example", `analyzer "model": its config differs from the daemon's and reads the daemon's environment at analyzer[0].config.headers.Authorization`},
		{"another secret in a table", "min_severity = 0.5=>min_severity = 0.5\n  key = \"${OTHER}\"", `analyzer "rules": its config differs`},
		{"a secret in the policy", `action = "hide"=>action = "hide"` + "\nreason = \"${OTHER}\"", "the policy reads the daemon's environment at policy.rule[0].reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := ownReplayConfig
			if old, repl, ok := strings.Cut(tt.edit, "=>"); ok {
				if !strings.Contains(text, old) {
					t.Fatalf("edit %q does not apply", old)
				}
				text = strings.Replace(text, old, repl, 1)
			}
			sent, err := config.Parse("/home/ops/moderator.toml", []byte(text), lookup)
			if err != nil {
				t.Fatal(err)
			}
			err = replayCheck(own, sent)
			switch {
			case tt.refused == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.refused != "" && (err == nil || !strings.Contains(err.Error(), tt.refused) || !errors.Is(err, errReplayOffline)):
				t.Errorf("got %v, want a refusal with %q", err, tt.refused)
			}
			if err != nil && strings.Contains(err.Error(), "0ther-secret") {
				t.Errorf("the refusal shows a secret: %v", err)
			}
		})
	}
}
