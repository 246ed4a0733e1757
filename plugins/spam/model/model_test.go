package model

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
)

func TestDefaultModel(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Weights) < 1000 || m.Meta["corpus"] == nil {
		t.Errorf("embedded model has %d weights and meta %v", len(m.Weights), m.Meta)
	}
	for _, tt := range []struct {
		text string
		spam bool
	}{
		{"Great article, thanks for sharing!", false},
		{"I disagree with the second point, the data says otherwise.", false},
		{"We had the same bug in production last week, the fix was to pin the version.", false},
		{"Earn $500 a day working from home, click here http://example.com", true},
		{"FREE money!!! Click here to claim your cash offer now, limited time", true},
	} {
		p := m.Predict(Tokenize(tt.text), 3)
		if (p.P >= 0.5) != tt.spam {
			t.Errorf("%q: P %.3f, want spam=%v", tt.text, p.P, tt.spam)
		}
	}
}

func TestPredictAgreesWithLogit(t *testing.T) {
	m, _ := Default()
	for _, text := range []string{"", "free free FREE", "click here now to win", strings.Repeat("the report was late again ", 40)} {
		p := m.Predict(Tokenize(text), 5)
		if l := m.Logit(Terms(text)); math.Abs(l-p.Logit) > 1e-9 {
			t.Errorf("%q: Predict logit %v, Logit %v", text, p.Logit, l)
		}
	}
}

func TestPredictExplains(t *testing.T) {
	m := &Model{Format: Format, Kind: "logistic", MinTerms: 1, Weights: map[string]float64{"free": 2, "cash": 1, "report": -3}}
	text := "Free cash, free cash! report"
	p := m.Predict(Tokenize(text), 2)
	// Distinct terms: free, cash, report -> scale 1/sqrt(3).
	want := (2 + 1 - 3) / math.Sqrt(3)
	if math.Abs(p.Logit-want) > 1e-9 || p.Known != 3 {
		t.Fatalf("logit %v known %d, want %v and 3", p.Logit, p.Known, want)
	}
	// P is 0.5: the spam side, the two strongest spam terms.
	if len(p.Top) != 2 || p.Top[0].Term != "free" || p.Top[1].Term != "cash" || len(p.Top[0].Tokens) != 2 {
		t.Fatalf("top %+v", p.Top)
	}
	if got := text[p.Top[0].Tokens[1].Start:p.Top[0].Tokens[1].End]; got != "free" {
		t.Errorf("second occurrence of free spans %q", got)
	}
	m.Weights["report"] = -10
	if p := m.Predict(Tokenize(text), 2); p.P >= 0.5 || len(p.Top) != 1 || p.Top[0].Term != "report" {
		t.Errorf("ham side: %+v", p)
	}
}

func TestLoadRoundTripAndErrors(t *testing.T) {
	m := &Model{Format: Format, Kind: "logistic", Bias: -0.5, MinTerms: 4, Weights: map[string]float64{"a": 1}}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Load(&buf)
	if err != nil || got.Bias != -0.5 || got.Weights["a"] != 1 || got.MinTerms != 4 {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, tt := range []struct{ name, json, want string }{
		{"not json", `{`, "decode model"},
		{"format", `{"format":2,"kind":"logistic","min_terms":1,"weights":{"a":1}}`, "format 2"},
		{"kind", `{"format":1,"kind":"bayes","min_terms":1,"weights":{"a":1}}`, "kind"},
		{"no weights", `{"format":1,"kind":"logistic","min_terms":1}`, "no weights"},
		{"min terms", `{"format":1,"kind":"logistic","min_terms":0,"weights":{"a":1}}`, "min_terms"},
		{"gzip", "\x1f\x8bnot gzip", "gzip"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Load(strings.NewReader(tt.json)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load: %v, want an error about %q", err, tt.want)
			}
		})
	}
}

// TestHeldOutModelF1: the model alone, at 0.5, on the held-out split the
// training program wrote (PROVENANCE.md has the same figures).
func TestHeldOutModelF1(t *testing.T) {
	f, err := os.Open("../eval/spamassassin-heldout.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, _ := Default()
	var tp, fp, fn int
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var ex struct {
			Text   string
			Labels []string
		}
		if err := json.Unmarshal(sc.Bytes(), &ex); err != nil {
			t.Fatal(err)
		}
		pred, spam := m.Logit(Terms(ex.Text)) >= 0, len(ex.Labels) > 0
		switch {
		case pred && spam:
			tp++
		case pred:
			fp++
		case spam:
			fn++
		}
	}
	p, r := float64(tp)/float64(tp+fp), float64(tp)/float64(tp+fn)
	f1 := 2 * p * r / (p + r)
	t.Logf("model alone: tp=%d fp=%d fn=%d precision=%.4f recall=%.4f f1=%.4f", tp, fp, fn, p, r, f1)
	if f1 < 0.95 {
		t.Errorf("F1 %.4f, want at least 0.95", f1)
	}
}
