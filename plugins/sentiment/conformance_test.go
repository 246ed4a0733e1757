package main

import (
	"testing"

	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

func suite() plugintest.AnalyzerSuite {
	return plugintest.AnalyzerSuite{
		Config: map[string]any{"threshold": 0.05, "emit_positive": true},
		BadConfigs: []plugintest.BadConfig{
			{Name: "threshold 1", Config: map[string]any{"threshold": 1}, Field: "threshold"},
			{Name: "negative threshold", Config: map[string]any{"threshold": -0.2}, Field: "threshold"},
			{Name: "threshold not a number", Config: map[string]any{"threshold": "high"}, Field: "threshold"},
			{Name: "emit_positive not a bool", Config: map[string]any{"emit_positive": "yes"}, Field: "emit_positive"},
		},
		Comments: []sdk.Comment{
			{ID: "negative", Text: "VADER is not smart, handsome, nor funny. 😠"},
			{ID: "positive", Text: "What a lovely, thoughtful piece ❤ 💘"},
			{ID: "multibyte", Text: "Ça m'énerve, c'est nul:\tterrible café, 日本語 :("},
		},
	}
}

func TestConformanceInProcess(t *testing.T) {
	plugintest.TestAnalyzer(t, plugintest.Start(t, newPlugin()), suite())
}

func TestConformanceBinary(t *testing.T) {
	// The binary an operator runs: built, launched through go-plugin with
	// AutoMTLS and an empty environment, as the host does.
	plugintest.TestAnalyzer(t, plugintest.Launch(t, plugintest.Build(t, ".")), suite())
}
