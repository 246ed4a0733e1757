package main

import (
	"testing"

	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

func suite() plugintest.AnalyzerSuite {
	return plugintest.AnalyzerSuite{
		Config: map[string]any{
			"defaults": true,
			"allow":    []any{"spam musubi"},
			"rules": []any{
				map[string]any{"name": "links", "label": "spam", "severity": "high", "regex": `bit\.ly/\w+`, "words": []any{"crypto*"}},
				map[string]any{"name": "new accounts", "label": "negative", "words": []any{"scam"}, "max_account_age": "168h"},
			},
		},
		BadConfigs: []plugintest.BadConfig{
			{Name: "bad regex", Config: map[string]any{"rules": []any{
				map[string]any{"label": "spam", "words": []any{"a"}},
				map[string]any{"label": "spam", "regex": "(unclosed"},
			}}, Field: "rules[1].regex"},
			{Name: "unknown label", Config: map[string]any{"rules": []any{map[string]any{"label": "rude", "words": []any{"a"}}}}, Field: "rules[0].label"},
			{Name: "bad duration", Config: map[string]any{"rules": []any{map[string]any{"label": "spam", "words": []any{"a"}, "min_account_age": "soon"}}}, Field: "rules[0].min_account_age"},
			{Name: "defaults not a bool", Config: map[string]any{"defaults": "yes"}, Field: "defaults"},
		},
		Comments: []sdk.Comment{
			{ID: "profane", Text: "F U C K this ѕһіt, y0u 1d10t"},
			{ID: "threat", Text: "I know where you live. I will find you."},
			{ID: "identity", Text: "I am a gay black woman"},
			{ID: "spam", Text: "crypto gains at bit.ly/abc"},
		},
	}
}

func TestConformanceInProcess(t *testing.T) {
	plugintest.TestAnalyzer(t, plugintest.Start(t, newPlugin()), suite())
}

func TestConformanceBinary(t *testing.T) {
	// The binary an operator runs, launched through go-plugin as the host does.
	plugintest.TestAnalyzer(t, plugintest.Launch(t, plugintest.Build(t, ".")), suite())
}
