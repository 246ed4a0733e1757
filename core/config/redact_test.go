package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// A value read from the environment is a secret as far as messages go: no
// problem quotes it, whichever key it was written into, and what a plugin
// says about its table is cleaned the same way (At).
func TestMessagesNeverShowTheEnvironment(t *testing.T) {
	vars := map[string]string{
		"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-K7MDENG",
		"ADMIN":                 "adm1n-t0ken-xyz",
		"PIN":                   "4711", // short: replaced where quoted only
		"LEVEL":                 "json", // short and a word of the message below
	}
	src := `[moderator]
log_format = "${AWS_SECRET_ACCESS_KEY}"
log_level = "${PIN}"

[http]
admin_token = "${ADMIN}"

[[analyzer]]
name = "a"
plugin = "/bin/true"
env = "KEY=${AWS_SECRET_ACCESS_KEY}"

[[analyzer]]
name = "b"
plugin = "/bin/true"
  [analyzer.config]
  timeout = "${ADMIN}"
  format = "${LEVEL}"
`
	_, err := Parse("m.toml", []byte(src), env(vars))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Parse: %v, want problems", err)
	}
	out := ps.Error()
	for _, want := range []string{
		`m.toml:2:14: moderator.log_format: unknown log format "${AWS_SECRET_ACCESS_KEY}" (expected one of text, json)`,
		`m.toml:3:13: moderator.log_level: unknown log level "${PIN}"`,
		`analyzer[0].env: expected an array of strings, got string "KEY=${AWS_SECRET_ACCESS_KEY}"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	for _, v := range []string{vars["AWS_SECRET_ACCESS_KEY"], `"4711"`} {
		if strings.Contains(out, v) {
			t.Errorf("%s shown in:\n%s", v, out)
		}
	}

	// What a plugin says about its table goes through At.
	cfg, _ := ParsePartial("m.toml", []byte(src), env(vars))
	b := cfg.Analyzers[0]
	if b.Name != "b" {
		t.Fatalf("kept %+v, want analyzer b", cfg.Analyzers)
	}
	msg := cfg.PluginFieldProblem(b, "timeout", `invalid duration "adm1n-t0ken-xyz"; format "json" is not one of text, json`).Error()
	if want := `m.toml:17:13: analyzer "b": config.timeout: invalid duration "${ADMIN}"; format "${LEVEL}" is not one of text, json`; msg != want {
		t.Errorf("plugin field problem:\n%s\nwant\n%s", msg, want)
	}

	// A variable an instance's env passes through is the environment's too.
	cfg, err = Parse("m.toml", []byte("[[analyzer]]\nname = \"c\"\nplugin = \"/bin/true\"\nenv = [\"AWS_SECRET_ACCESS_KEY\", \"TZ=UTC\"]\n"), env(vars))
	if err != nil {
		t.Fatal(err)
	}
	said := "Unrecognized remote plugin message: AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI-K7MDENG TZ=UTC"
	if got, want := cfg.Redact(said), "Unrecognized remote plugin message: AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY} TZ=UTC"; got != want {
		t.Errorf("Redact(%q) = %q, want %q", said, got, want)
	}
}

func TestReadsEnvironment(t *testing.T) {
	src := `[[analyzer]]
name = "model"
plugin = "/bin/true"
  [analyzer.config]
  url = "http://model:8000/score"
  headers = { Authorization = "Bearer ${MODEL_TOKEN}" }
  region = "${REGION:-eu}"

[[analyzer]]
name = "rules"
plugin = "/bin/true"

[[policy.rule]]
name = "r"
action = "hide"
reason = "${SECRET}"
  [policy.rule.when]
  labels = ["spam"]
`
	c, err := Parse("m.toml", []byte(src), env(map[string]string{"MODEL_TOKEN": "m0del-t0ken", "SECRET": "s3cret-value"}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"analyzer[0].config.headers.Authorization", "policy.rule[0].reason"}},
		{"analyzer[0].config", []string{"analyzer[0].config.headers.Authorization"}},
		{"analyzer[1]", nil},
		{"analyzer[0].conf", nil}, // a prefix of a key is not the key
		{"policy", []string{"policy.rule[0].reason"}},
	}
	for _, tt := range tests {
		if got := c.ReadsEnvironment(tt.prefix); !slices.Equal(got, tt.want) {
			t.Errorf("ReadsEnvironment(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
}
