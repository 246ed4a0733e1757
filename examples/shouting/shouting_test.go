package main

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
)

// TestMain lets plugintest.BuildOnce keep the plugin binary for every test
// of the package, and removes it at the end.
func TestMain(m *testing.M) { os.Exit(plugintest.Main(m)) }

func TestAnalyzeScoring(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		min      int
		score    float64 // 0: no label
		span     string  // the text the span covers
		inReason string
	}{
		{name: "too short to judge", text: "OK!", min: 8},
		{name: "fewer letters than min_letters, counted in letters not bytes", text: "ÉÉÉÉÉÉÉ", min: 8},
		{name: "digits and punctuation are not letters", text: "12345 !!! ABC ???", min: 8},
		{name: "no capitals", text: "this is all lower case", min: 8},
		{name: "all caps", text: "THIS IS ALL CAPS", min: 8, score: 1, span: "THIS IS ALL CAPS", inReason: "13 of 13 letters"},
		{name: "half", text: "ABCDefgh", min: 8, score: 0.5, span: "ABCD", inReason: "(50%)"},
		{name: "span from the first to the last capital", text: "well, THIS is bad", min: 8, score: 4.0 / 13, span: "THIS"},
		{name: "span over multi-byte capitals", text: "c'est une ÉCOLE.", min: 8, score: 5.0 / 12, span: "ÉCOLE", inReason: "5 of 12 letters"},
		{name: "span ends on a multi-byte capital", text: "le café ÉTÉ", min: 8, score: 3.0 / 9, span: "ÉTÉ"},
		{name: "capitals far apart", text: "Hello there, friend of Mine", min: 8, score: 2.0 / 22, span: "Hello there, friend of M"},
		{name: "letters without case count as letters", text: "日本語日本語日本語 OK", min: 8, score: 2.0 / 11, span: "OK"},
		{name: "min_letters 1 judges anything", text: "A", min: 1, score: 1, span: "A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Shouting{MinLetters: tt.min}
			res, err := s.Analyze(context.Background(), []sdk.Comment{{ID: "c", Text: tt.text}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 || res[0].CommentID != "c" {
				t.Fatalf("results %+v, want one for comment c", res)
			}
			l, ok := res[0].Label("shouting.caps")
			if tt.score == 0 {
				if ok || len(res[0].Labels) > 0 {
					t.Errorf("labels %+v, want none", res[0].Labels)
				}
				return
			}
			if !ok || len(res[0].Labels) != 1 {
				t.Fatalf("labels %+v, want shouting.caps only", res[0].Labels)
			}
			if math.Abs(l.Score-tt.score) > 1e-9 {
				t.Errorf("score %v, want %v", l.Score, tt.score)
			}
			if len(l.Spans) != 1 {
				t.Fatalf("spans %v, want one", l.Spans)
			}
			if got := tt.text[l.Spans[0].Start:l.Spans[0].End]; got != tt.span {
				t.Errorf("span %v covers %q, want %q", l.Spans[0], got, tt.span)
			}
			if !strings.Contains(l.Reason, tt.inReason) {
				t.Errorf("reason %q, want it to contain %q", l.Reason, tt.inReason)
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name  string
		json  string
		want  int    // MinLetters after a successful Configure
		field string // the FieldError's field, when Configure must fail
	}{
		{name: "empty table keeps the default", json: ``, want: 8},
		{name: "min_letters", json: `{"min_letters": 3}`, want: 3},
		{name: "zero", json: `{"min_letters": 0}`, field: "min_letters"},
		{name: "negative", json: `{"min_letters": -4}`, field: "min_letters"},
		{name: "not a number", json: `{"min_letters": "eight"}`, field: "min_letters"},
		{name: "unknown key", json: `{"min_leters": 3}`, field: "min_leters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Shouting{MinLetters: 99}
			err := s.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: []byte(tt.json)}})
			if tt.field == "" {
				if err != nil || s.MinLetters != tt.want {
					t.Errorf("Configure(%s) = %v, MinLetters %d; want nil, %d", tt.json, err, s.MinLetters, tt.want)
				}
				return
			}
			var fe sdk.FieldErrors
			var one *sdk.FieldError
			switch {
			case errors.As(err, &fe) && len(fe) > 0 && fe[0].Field == tt.field:
			case errors.As(err, &one) && one.Field == tt.field:
			default:
				t.Errorf("Configure(%s) = %v, want a FieldError for %s", tt.json, err, tt.field)
			}
			if s.MinLetters != 99 {
				t.Errorf("a rejected config changed MinLetters to %d", s.MinLetters)
			}
		})
	}
}

func suite() plugintest.AnalyzerSuite {
	return plugintest.AnalyzerSuite{
		Config: map[string]any{"min_letters": 8},
		BadConfigs: []plugintest.BadConfig{
			{Name: "zero", Config: map[string]any{"min_letters": 0}, Field: "min_letters"},
			{Name: "not a number", Config: map[string]any{"min_letters": "eight"}, Field: "min_letters"},
		},
		Comments: []sdk.Comment{
			{ID: "ecole", Text: "QUELLE ÉCOLE, QUEL ÉTÉ"},
			{ID: "greek", Text: "ΑΥΤΟ ΕΙΝΑΙ ΠΟΛΥ ΚΑΚΟ"},
		},
	}
}

func TestConformanceInProcess(t *testing.T) {
	plugintest.TestAnalyzer(t, plugintest.Start(t, newPlugin()), suite())
}

func TestConformanceBinary(t *testing.T) {
	// The binary an operator runs: built (once for all of this package's
	// tests), launched through go-plugin with AutoMTLS and an empty
	// environment, as the host does.
	bin := plugintest.BuildOnce(t, ".")
	plugintest.TestAnalyzer(t, plugintest.Launch(t, bin), suite())
}
