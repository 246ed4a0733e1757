package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
)

func analyzeOne(t *testing.T, a *Spam, text string) sdk.Result {
	t.Helper()
	res, err := a.Analyze(context.Background(), []sdk.Comment{{ID: "c", Text: text, AuthorID: "u", PostID: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].CommentID != "c" {
		t.Fatalf("results %+v", res)
	}
	return res[0]
}

func labelNames(r sdk.Result) []string {
	var out []string
	for _, l := range r.Labels {
		out = append(out, l.Name)
	}
	return out
}

func TestAnalyzeCombines(t *testing.T) {
	tests := []struct {
		name     string
		cfg      map[string]any
		text     string
		spam     bool
		labels   []string // exactly these labels
		inReason string   // in the spam label's reason
		spans    []string // the spam label's spans cover these, in order
	}{
		{name: "empty", text: "  \n", labels: nil},
		{name: "clean", text: "Great article, thanks for sharing!", labels: []string{labelSpam, labelModel}, inReason: "not spam: model: 0."},
		{name: "blocked domain beats a clean model", cfg: map[string]any{"blocked_domains": []string{"bit.ly"}},
			text: "Great article, thanks for sharing! bit.ly/x bit.ly/y https://bit.ly/z", spam: true,
			labels: []string{labelSpam, labelLinks, labelModel}, inReason: "3 links to blocked domain bit.ly", spans: []string{"bit.ly/x", "bit.ly/y", "https://bit.ly/z"}},
		{name: "allowed domain is no evidence", cfg: map[string]any{"blocked_domains": []string{"example.com"}, "allowed_domains": []string{"example.com"}},
			text: "Great article, see https://example.com/more", labels: []string{labelSpam, labelModel}},
		{name: "scam with model words", text: "Earn $500 a day working from home, click here http://bit.ly/3xYz", spam: true,
			labels: []string{labelSpam, labelLinks, labelPhrases, labelModel}, inReason: "scam phrasing"},
		{name: "mention flood", text: "@a1 @b2 @c3 @d4 @e5 @f6 look at this", spam: true,
			labels: []string{labelSpam, labelFlood, labelModel}, inReason: "6 mentions", spans: []string{"@a1", "@b2", "@c3", "@d4", "@e5", "@f6"}},
		{name: "model off: signals alone", cfg: map[string]any{"model": false}, text: "Great article, thanks for sharing!", labels: nil},
		{name: "model off: one weak signal is not spam", cfg: map[string]any{"model": false}, text: "see bit.ly/x", labels: []string{labelSpam, labelLinks}, inReason: "not spam: 1 link through URL shortener bit.ly"},
		{name: "model off: strong signals are", cfg: map[string]any{"model": false}, text: "CLICK HERE for FREE FOLLOWERS!!! bit.ly/x", spam: true,
			labels: []string{labelSpam, labelLinks, labelPhrases, labelShouting}},
		{name: "model weight 0 keeps the model out of the score", cfg: map[string]any{"model_weight": 0}, text: "Money and cash, click now, limited offer, cash cash cash",
			labels: []string{labelSpam, labelModel}},
		{name: "unknown words only, model off", cfg: map[string]any{"model": false}, text: "qwxz plonk", labels: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := analyzeOne(t, configured(t, tt.cfg), tt.text)
			if !slices.Equal(labelNames(r), tt.labels) {
				t.Fatalf("labels %q, want %q (%+v)", labelNames(r), tt.labels, r.Labels)
			}
			l, ok := r.Label(labelSpam)
			if !ok {
				return
			}
			if (l.Score >= 0.5) != tt.spam {
				t.Errorf("score %.3f (%s), want spam=%v", l.Score, l.Reason, tt.spam)
			}
			if !strings.Contains(l.Reason, tt.inReason) {
				t.Errorf("reason %q lacks %q", l.Reason, tt.inReason)
			}
			if tt.spans != nil && !slices.Equal(spanTexts(tt.text, l.Spans), tt.spans) {
				t.Errorf("spans %q, want %q", spanTexts(tt.text, l.Spans), tt.spans)
			}
		})
	}
}

func TestModelWeight(t *testing.T) {
	text := "Money and cash, click now, limited offer, cash cash cash"
	l0, _ := analyzeOne(t, configured(t, map[string]any{"model_weight": 0}), text).Label(labelSpam)
	l1, _ := analyzeOne(t, configured(t, nil), text).Label(labelSpam)
	l2, _ := analyzeOne(t, configured(t, map[string]any{"model_weight": 2}), text).Label(labelSpam)
	if !(l0.Score < l1.Score && l1.Score < l2.Score) {
		t.Errorf("scores with model_weight 0, 1, 2: %.3f %.3f %.3f, want increasing", l0.Score, l1.Score, l2.Score)
	}
	m, _ := analyzeOne(t, configured(t, nil), text).Label(labelModel)
	if !strings.HasPrefix(m.Reason, "model: 0.") || !strings.Contains(m.Reason, "spam words: ") || len(m.Spans) == 0 {
		t.Errorf("model label %+v", m)
	}
}

func TestSpamRate(t *testing.T) {
	text := "Here is the paper they mention: https://arxiv.org/abs/2101.00001"
	low, _ := analyzeOne(t, configured(t, map[string]any{"spam_rate": 0.05}), text).Label(labelSpam)
	high, _ := analyzeOne(t, configured(t, map[string]any{"spam_rate": 0.9}), text).Label(labelSpam)
	if !(low.Score < 0.5 && high.Score >= 0.5) {
		t.Errorf("spam_rate 0.05 gives %.3f, 0.9 gives %.3f", low.Score, high.Score)
	}
}

func TestSpansOnTheOriginalText(t *testing.T) {
	// Multi-byte characters before and inside the matches: spans must cover
	// exactly the original bytes.
	text := "Ça alors… ＣＬＩＣＫ ＨＥＲＥ pour l'offre: bit.ly/é @a @b @c @d @e 👍"
	r := analyzeOne(t, configured(t, nil), text)
	for _, l := range r.Labels {
		for _, s := range l.Spans {
			if s.Start < 0 || s.End > len(text) || s.Start >= s.End {
				t.Fatalf("%s span %v outside the text", l.Name, s)
			}
			if !strings.HasPrefix(text[s.Start:], string([]rune(text[s.Start:])[0])) || !utfBoundary(text, s.Start) || !utfBoundary(text, s.End) {
				t.Errorf("%s span %v is not on character boundaries", l.Name, s)
			}
		}
	}
	p, _ := r.Label(labelPhrases)
	if got := spanTexts(text, p.Spans); !slices.Equal(got, []string{"ＣＬＩＣＫ ＨＥＲＥ"}) {
		t.Errorf("phrase spans %q", got)
	}
	l, _ := r.Label(labelLinks)
	if got := spanTexts(text, l.Spans); !slices.Equal(got, []string{"bit.ly/é"}) {
		t.Errorf("link spans %q", got)
	}
}

func utfBoundary(s string, i int) bool {
	if i == len(s) {
		return true
	}
	for j := range s {
		if j == i {
			return true
		}
	}
	return false
}

func TestAnalyzeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newSpam().Analyze(ctx, []sdk.Comment{{ID: "a", Text: "x"}}); err == nil {
		t.Error("a cancelled context did not stop Analyze")
	}
}

// TestReplyScams: the scams that fill the replies under popular posts, and
// ordinary comments that share their words.
func TestReplyScams(t *testing.T) {
	tests := []struct {
		text string
		spam bool
	}{
		{"Thanks to @CryptoMike I recovered my lost funds, reach out to him", true},
		{"Message me for investment tips 💰💰", true},
		{"DM me to get started with bitcoin mining", true},
		{"Hello dear, you are so beautiful, can we be friends?", true},
		{"I made 5k this week trading crypto, ask me how", true},
		{"Recover your hacked account, contact @hackfixer on IG", true},
		{"Don't ask me how I know this lol", false},
		{"You can reach out to him on LinkedIn, he's a great engineer", false},
		{"Hi dear, thanks for the kind words", false},
		{"I lost funds in the FTX collapse too", false},
		{"Great post! Can we be friends? I love your art", false},
		{"bitcoin mining uses so much energy, this article nails it", false},
		{"I made 5k steps today, proud of myself", false},
		{"My account was hacked too, contacted support and they fixed it", false},
	}
	a := newSpam()
	for _, tt := range tests {
		res := analyzeOne(t, a, tt.text)
		l, _ := res.Label("spam")
		if got := l.Score >= 0.5; got != tt.spam {
			t.Errorf("%q: spam %.2f (%s), want spam: %v", tt.text, l.Score, l.Reason, tt.spam)
		}
	}
}
