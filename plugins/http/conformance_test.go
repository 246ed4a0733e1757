package main

import (
	"testing"

	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

// suite points the conformance suite at a fake service on 127.0.0.1, which
// scores "idiot", "kill", "damn" and "ΚΑΚΟ" with spans.
func suite(t *testing.T) plugintest.AnalyzerSuite {
	f := newFake(t)
	return plugintest.AnalyzerSuite{
		Config: map[string]any{
			"url": f.URL, "timeout": "20s", "batch_size": 5,
			"headers": map[string]any{"Authorization": "Bearer conformance"},
		},
		BadConfigs: []plugintest.BadConfig{
			{Name: "no url", Config: map[string]any{}, Field: "url"},
			{Name: "ftp url", Config: map[string]any{"url": "ftp://127.0.0.1/"}, Field: "url"},
			{Name: "unknown mapping", Config: map[string]any{"url": f.URL, "mapping": "azure"}, Field: "mapping"},
			{Name: "zero circuit failures", Config: map[string]any{"url": f.URL, "circuit": map[string]any{"failures": 0}}, Field: "circuit.failures"},
			{Name: "header with a line break", Config: map[string]any{"url": f.URL, "headers": map[string]any{"Authorization": "a\nb"}}, Field: "headers.Authorization"},
			{Name: "label outside the vocabulary", Config: map[string]any{"url": f.URL, "labels": map[string]any{"x": "toxic"}}, Field: "labels.x"},
		},
		Comments: []sdk.Comment{
			{ID: "insult", Text: "you idiot, I will kill you", Lang: "en"},
			{ID: "greek", Text: "ΑΥΤΟ ΕΙΝΑΙ ΠΟΛΥ ΚΑΚΟ"},
			{ID: "twice", Text: "damn damn"},
		},
	}
}

func TestConformanceInProcess(t *testing.T) {
	plugintest.TestAnalyzer(t, plugintest.Start(t, newPlugin()), suite(t))
}

func TestConformanceBinary(t *testing.T) {
	// The binary an operator runs, launched as the host does (AutoMTLS, an
	// empty environment), calling the fake service over loopback.
	plugintest.TestAnalyzer(t, plugintest.Launch(t, plugintest.Build(t, ".")), suite(t))
}
