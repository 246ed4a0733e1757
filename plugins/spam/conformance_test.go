package main

import (
	"testing"

	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

func suite() plugintest.AnalyzerSuite {
	return plugintest.AnalyzerSuite{
		Config: map[string]any{
			"blocked_domains":  []string{"spam.example"},
			"allowed_domains":  []string{"example.org"},
			"duplicate_window": "1h",
		},
		BadConfigs: []plugintest.BadConfig{
			{Name: "url as domain", Config: map[string]any{"blocked_domains": []string{"https://bit.ly/x"}}, Field: "blocked_domains[0]"},
			{Name: "threshold", Config: map[string]any{"duplicate_threshold": 1}, Field: "duplicate_threshold"},
			{Name: "window", Config: map[string]any{"duplicate_window": "forever"}, Field: "duplicate_window"},
			{Name: "spam rate", Config: map[string]any{"spam_rate": 0}, Field: "spam_rate"},
		},
		Comments: []sdk.Comment{
			{ID: "spam-1", Text: "Earn $500 a day from home!!! http://spam.example/x bit.ly/y @a @b @c @d @e #a #b #c #d #e #f"},
			{ID: "spam-2", Text: "Earn $500 a day from home!!! http://spam.example/x bit.ly/y @a @b @c @d @e #a #b #c #d #e #f"},
			{ID: "fullwidth", Text: "ＣＬＩＣＫ ＨＥＲＥ ｆｏｒ ａ ｆｒｅｅ ｇｉｆｔ ｃａｒｄ"},
		},
		// The duplicate detector remembers what it saw.
		Stateful: true,
	}
}

func TestConformanceInProcess(t *testing.T) {
	plugintest.TestAnalyzer(t, plugintest.Start(t, newPlugin()), suite())
}

func TestConformanceBinary(t *testing.T) {
	bin := plugintest.Build(t, ".")
	plugintest.TestAnalyzer(t, plugintest.Launch(t, bin), suite())
}
