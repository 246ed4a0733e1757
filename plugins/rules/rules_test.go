package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/moderatorbot/moderator/sdk"
)

// configure builds a Rules from a JSON config table, failing the test on
// any error.
func configure(t testing.TB, table string) *Rules {
	t.Helper()
	r := &Rules{}
	if err := r.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: []byte(table)}}); err != nil {
		t.Fatalf("Configure(%s): %v", table, err)
	}
	return r
}

func analyzeOne(t testing.TB, r *Rules, c sdk.Comment) sdk.Result {
	t.Helper()
	if c.ID == "" {
		c.ID = "c1"
	}
	res, err := r.Analyze(context.Background(), []sdk.Comment{c})
	if err != nil || len(res) != 1 {
		t.Fatalf("Analyze(%q) = %v, %v", c.Text, res, err)
	}
	return res[0]
}

// spanTexts renders a label's spans as the original text they cover.
func spanTexts(text string, l sdk.Label) []string {
	var out []string
	for _, s := range l.Spans {
		out = append(out, text[s.Start:s.End])
	}
	return out
}

var defaults *Rules

func defaultAnalyzer(t testing.TB) *Rules {
	if defaults == nil {
		defaults = configure(t, ``)
	}
	return defaults
}

// TestEvasions: every evasion the normaliser defeats, through the built-in
// lexicons, with the span landing on the original characters.
func TestEvasions(t *testing.T) {
	tests := []struct {
		name, text, label, span string
	}{
		{"plain", "well fuck this", "profanity", "fuck"},
		{"upper case", "well FUCK this", "profanity", "FUCK"},
		{"fullwidth (compatibility form)", "well ｆｕｃｋ this", "profanity", "ｆｕｃｋ"},
		{"mathematical letters", "you 𝐛𝐢𝐭𝐜𝐡", "insult", "𝐛𝐢𝐭𝐜𝐡"},
		{"diacritics", "what a bítčh", "insult", "bítčh"},
		{"combining marks", "f\u0351u\u0300c\u0303k\u0308 off", "profanity", "f\u0351u\u0300c\u0303k\u0308"},
		{"zero-width characters", "oh fu\u200bc\u200dk it", "profanity", "fu\u200bc\u200dk"},
		{"Cyrillic confusables", "this is ѕһіt", "profanity", "ѕһіt"},
		{"Greek confusables", "nice ΒΟΟΒS", "sexual", "ΒΟΟΒS"},
		{"leet digits", "you are a b1tch", "insult", "b1tch"},
		{"leet symbols", "my @ss hurts", "profanity", "@ss"},
		{"leet 1 for l", "what a s1ut", "insult", "s1ut"},
		{"v for u", "fvck this", "profanity", "fvck"},
		{"l for i", "such a dlck", "sexual", "dlck"},
		{"stretched letters", "shiiiiiit man", "profanity", "shiiiiiit"},
		{"stretched double letter", "kiss my asssss", "profanity", "asssss"},
		{"spaced letters", "go f u c k yourself", "profanity", "f u c k"},
		{"dotted letters", "f.u.c.k this", "profanity", "f.u.c.k"},
		{"dashed letters", "f-u-c-k this", "profanity", "f-u-c-k"},
		{"spaced letters glued to a word", "you are a b i t c h", "insult", "b i t c h"},
		{"hyphenated compound", "you mo-fo", "profanity", "mo-fo"},
		{"everything at once", "ʏᴏᴜ ѕ h 1 1 1 1 t\u200b!", "profanity", "ѕ h 1 1 1 1 t\u200b"},
		{"compound through a wildcard", "what a fuckwit", "profanity", "fuckwit"},
		{"middle finger emoji", "here 🖕 for you", "profanity", "🖕"},
		{"threat phrase across spaces", "I will   kill you", "threat", "I will   kill you"},
		{"threat phrase run together", "just #killyourself already", "threat", "killyourself"},
		{"threat in text speak", "kill urself", "threat", "kill urself"},
		{"threat that an allowed joke resembles", "I have to kill you now", "threat", "kill you"},
		{"threat longer than an allowed phrase", "I can kill you", "threat", "I can kill you"},
		{"threat in text speak, spaced", "i hope u die", "threat", "i hope u die"},
		{"slur", "go home you raghead", "identity_attack", "raghead"},
		{"identity term next to an attack", "all muslims are animals", "identity_attack", "muslims"},
		{"identity adjective before a word for people", "black people are animals", "identity_attack", "black people"},
		{"identity that is its own plural", "the chinese are filthy", "identity_attack", "chinese are"},
		{"trope", "the jews control the media", "identity_attack", "jews"},
		{"disability before a word for people", "deaf people are stupid", "identity_attack", "deaf people"},
		{"gender as a group", "women are stupid", "identity_attack", "women"},
		{"insult aimed at someone", "you are an idiot", "insult", "idiot"},
	}
	r := defaultAnalyzer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectLabel(t, r, tt.text, tt.label, tt.span) })
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestSpacedLettersReadAsWords: letters spaced apart lose their word
// breaks, so a term inside the run counts only when the run reads as words
// with the term as one of them.
func TestSpacedLettersReadAsWords(t *testing.T) {
	tests := []struct {
		text  string
		label string // "" for nothing at or above 0.5
		span  string
	}{
		// The run is an English word that holds a term.
		{"what a c l a s s act", "", ""},
		{"g r a s s is green", "", ""},
		{"a s s e m b l y required", "", ""},
		{"b a s s guitar", "", ""},
		// The letters around the term spell no words with it.
		{"t h i s a s s i g n m e n t is hard", "", ""},
		// The run is the term, or the term and words, inflections or
		// other terms.
		{"a s s", "profanity", "a s s"},
		{"f u c k y o u", "profanity", "f u c k y o u"},
		{"y o u a b i t c h", "insult", "b i t c h"},
		{"s h i t s happen", "profanity", "s h i t s"},
		{"s h i t t", "profanity", "s h i t t"},
		{"f u c k i n g s h i t", "profanity", "s h i t"},
		// A wildcard's word is the whole run.
		{"c o c k m u n c h e r", "sexual", "c o c k m u n c h e r"},
		// A phrase spelled out has lost its spaces with its word breaks.
		{"k i l l y o u r s e l f", "threat", "k i l l y o u r s e l f"},
		{"i w i l l k i l l y o u", "threat", "i w i l l k i l l y o u"},
		{"b l u e w a f f l e", "sexual", "b l u e w a f f l e"},
		{"l e g o d i e t", "", ""}, // "go die" inside, but "le" and "t" are no words
	}
	r := defaultAnalyzer(t)
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) { expectLabel(t, r, tt.text, tt.label, tt.span) })
	}
}

// expectLabel analyzes text and checks that label scores 0.5 or more with
// a span covering span exactly, or, for label "", that nothing does. It
// returns the label.
func expectLabel(t *testing.T, r *Rules, text, label, span string) sdk.Label {
	t.Helper()
	res := analyzeOne(t, r, sdk.Comment{Text: text})
	if label == "" {
		for _, l := range res.Labels {
			if l.Score >= 0.5 {
				t.Fatalf("%q: %s %.2f (%s), want nothing", text, l.Name, l.Score, l.Reason)
			}
		}
		return sdk.Label{}
	}
	l, ok := res.Label(label)
	if !ok || l.Score < 0.5 {
		t.Fatalf("%q: labels %+v, want %s >= 0.5", text, res.Labels, label)
	}
	if got := spanTexts(text, l); !contains(got, span) {
		t.Errorf("%q: %s spans cover %q, want one covering %q", text, label, got, span)
	}
	return l
}

// TestSexualSlangIsNoSlur: cuss's "likely" terms that match no slur
// pattern used to be filed under identity_attack; sexual slang and plain
// insults among them carry their own label.
func TestSexualSlangIsNoSlur(t *testing.T) {
	r := defaultAnalyzer(t)
	for _, tt := range []struct{ text, label string }{
		{"what a jackoff", "sexual"},
		{"nice moneyshot", "sexual"},
		{"you perv", "insult"},
		{"trailertrash everywhere", "insult"},
	} {
		res := analyzeOne(t, r, sdk.Comment{Text: tt.text})
		if l, ok := res.Label("identity_attack"); ok && l.Score >= 0.5 {
			t.Errorf("%q: identity_attack %.2f (%s), want none", tt.text, l.Score, l.Reason)
		}
		if l, ok := res.Label(tt.label); !ok || l.Score < 0.5 {
			t.Errorf("%q: labels %+v, want %s >= 0.5", tt.text, res.Labels, tt.label)
		}
	}
}

// TestMaskedWords: letters blanked out with "*" or "#" are filled in
// from the terms, when the first letter is written and no more letters
// are blanked than written.
func TestMaskedWords(t *testing.T) {
	tests := []struct {
		text, label, span, term string // label "" for nothing at or above 0.5
	}{
		{"f*ck you", "profanity", "f*ck", "fuck"},
		{"well f**k off then", "profanity", "f**k", "fuck"},
		{"this is sh*t", "profanity", "sh*t", "shit"},
		{"what a b*tch", "insult", "b*tch", "bitch"},
		{"you c#nt", "profanity", "c#nt", "cunt"},
		{"F*CKING hell", "profanity", "F*CKING", "fucking"},
		{"m*therf*cker", "profanity", "m*therf*cker", "motherfucker"},
		{"f*ckhead", "profanity", "f*ckhead", "fuck"}, // a wildcard term's word
		// Symbols and emoji between letters blank them out too.
		{"f💩ck you", "profanity", "f💩ck", "fuck"},
		{"that is sh🙈t", "profanity", "sh🙈t", "shit"},
		{"f^ck off", "profanity", "f^ck", "fuck"},
		// ... but at a word's end they are punctuation or decoration.
		{"is that org? or cool? so cool😎", "", "", ""},
		{"White? Flame? Shot?", "", "", ""},
		// Too much blanked to say which word it was.
		{"c*** off", "", "", ""},
		{"f*** this", "", "", ""},
		// Not words with blanks, or no term's.
		{"5*3=15", "", "", ""},
		{"I code in C# and play an F#m chord", "", "", ""},
		{"#fail", "", "", ""},
		{"read the t*tle of the b**k", "", "", ""},
		{"h*ck yes, the b*st", "", "", ""},
	}
	r := defaultAnalyzer(t)
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			l := expectLabel(t, r, tt.text, tt.label, tt.span)
			if tt.label == "" {
				return
			}
			if want := fmt.Sprintf("as a variant of %q", tt.term); !strings.Contains(l.Reason, want) {
				t.Errorf("%q: reason %q, want it to say %s", tt.text, l.Reason, want)
			}
		})
	}
}

func TestTextSpeak(t *testing.T) {
	tests := []struct {
		phrase string
		want   []string
	}{
		{"kill yourself", []string{"kill urself", "kill ur self", "kill yourslef"}},
		{"i hope you die", []string{"i hope u die", "i hope ya die"}},
		{"you're dead", []string{"u r dead", "youre dead"}}, // not "ur dead": "ur dead battery"
		{"go die", []string{}},
	}
	for _, tt := range tests {
		if got := textSpeak(tt.phrase); !slices.Equal(got, tt.want) {
			t.Errorf("textSpeak(%q) = %q, want %q", tt.phrase, got, tt.want)
		}
	}
	// Every pronoun is varied: the forms multiply, up to a bound.
	if got := textSpeak("you you you you you"); len(got) != 16 {
		t.Errorf("textSpeak of five pronouns gave %d forms, want the bound, 16", len(got))
	}
}

// TestPhrasesRunTogether: a phrase is also found with its spaces taken
// out, unless that spells an English word.
func TestPhrasesRunTogether(t *testing.T) {
	r := configure(t, `{"defaults": false, "rules": [{"label": "spam", "phrases": ["blue waffle", "over kill"]}]}`)
	tests := []struct {
		text string
		want bool
	}{
		{"a blue waffle", true},
		{"a bluewaffle", true},
		{"b l u e w a f f l e", true},
		{"over kill", true},
		{"what overkill", false}, // an English word, not the phrase run together
		{"bluewaffles", false},   // whole words only, as for any term
	}
	for _, tt := range tests {
		res := analyzeOne(t, r, sdk.Comment{Text: tt.text})
		if got := len(res.Labels) > 0; got != tt.want {
			t.Errorf("%q: labels %+v, want a match: %v", tt.text, res.Labels, tt.want)
		}
	}
}

// TestNoFalseTriggers: clean text that a naive filter would flag.
func TestNoFalseTriggers(t *testing.T) {
	texts := []string{
		// "man" for mankind, and disabilities said of things.
		"Man is the highest animal",
		"The superior man understands what is right; the inferior man does not",
		"Love isn't only blind, it's also deaf, dumb, and stupid",
		// Dangers and jokes, not threats.
		"electricity can kill you, so call an electrician",
		"Unix gives you just enough rope to hang yourself",
		"I could tell you, but then I'd have to kill you",
		"you have all eternity to be cautious in when you're dead",
		// Everyday butts and breasts.
		"no ifs, ands or butts, and no cigarette butts in the urinal",
		"grilled chicken breast, and a walk for breast cancer",
		// English words and names that hold a slur.
		"they sniggered at the back of the class",
		"our Maine Coon loves the coon hunting dogs",
		// Names and Latin.
		"as D. O. Hebb and Thomas Tusser wrote, in bona fide terms",
		"Homo erectus was not stupid",
		// Words cuss rates "likely" profane that are other words.
		"he sank the eight ball in the corner pocket",
		"the exchange rate for the Vietnamese dong",
		"my boss is a slave driver, but fair",
		// "waste of space" is as often said of a film.
		"the plot was a real waste of space and time",
		// Identity adjectives describing things, next to an attack term.
		"black coffee is disgusting",
		"the white wine was disgusting",
		"the Chinese restaurant was filthy",
		"Indian food is disgusting",
		"White House policies are the problem",
		"black friday deals: go back to the store",
		// Idioms that hold a slur or a threat's words.
		"her kitchen is spic and span",
		"that was the chink in the armor",
		"a niggardly budget",
		"I'll shoot you an email tomorrow",
		// Identity terms on their own never trigger anything.
		"I am a gay black woman",
		"I'm a proud Muslim and a mother of two",
		"As a Jewish trans man I loved this article",
		"My wife is Black and my son is disabled",
		"The Mexican immigrants in our town opened a great bakery",
		"Asian women in tech: a panel on Thursday",
		"I am a gay black woman and you are wonderful",
		"Queer and Christian, and proud of both",
		// Words that contain or resemble profanity.
		"Scunthorpe United won on Saturday",
		"We had cocktails at the Peacock bar, then read Dickens",
		"Add shiitake mushrooms and a pinch of cumin",
		"The class assessed the assignment as passable",
		"Works as intended, as good as the old one",
		"Great tit and blue tit at the feeder this morning",
		"A cumulative total; summa cum laude",
		"Titanic is a title I can watch again",
		"Moby Dick is a long book",
		// Insult words that describe things, not people.
		"This movie is stupid and the plot is dumb",
		"What an idiot plot, but fun",
		// Numbers are not leetspeak.
		"I have 5 cats and 3 dogs, call 555 0199",
		"",
		"   ",
	}
	r := defaultAnalyzer(t)
	for _, text := range texts {
		res := analyzeOne(t, r, sdk.Comment{Text: text})
		for _, l := range res.Labels {
			if l.Score >= 0.5 || strings.Contains(text, "gay") || strings.Contains(text, "Muslim") {
				t.Errorf("%q: label %s %.2f (%s), want none", text, l.Name, l.Score, l.Reason)
			}
		}
	}
}

func TestReasonAndScore(t *testing.T) {
	r := defaultAnalyzer(t)
	text := "FUCK this shit, you b1tch"
	res := analyzeOne(t, r, sdk.Comment{Text: text})
	l, ok := res.Label("profanity")
	if !ok {
		t.Fatalf("labels %+v, want profanity", res.Labels)
	}
	if l.Score != 0.95 {
		t.Errorf("profanity score %v, want 0.95: the highest severity among its matches (fuck high, shit medium)", l.Score)
	}
	for _, want := range []string{`"FUCK"`, `rule "profanity"`, "severity high", "and 1 more"} {
		if !strings.Contains(l.Reason, want) {
			t.Errorf("reason %q lacks %s", l.Reason, want)
		}
	}
	if got := spanTexts(text, l); len(got) != 2 || got[0] != "FUCK" || got[1] != "shit" {
		t.Errorf("profanity spans cover %q, want [FUCK shit]", got)
	}
	ins, _ := res.Label("insult")
	if !strings.Contains(ins.Reason, `"b1tch"`) {
		t.Errorf("insult reason %q must quote the term as written", ins.Reason)
	}
	// Labels come out sorted and once each.
	for i := 1; i < len(res.Labels); i++ {
		if res.Labels[i-1].Name >= res.Labels[i].Name {
			t.Errorf("labels not sorted or repeated: %+v", res.Labels)
		}
	}
}

func TestUserRules(t *testing.T) {
	day := 24 * time.Hour
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	config := `{
	  "defaults": false,
	  "allow": ["spam musubi"],
	  "rules": [
	    {"name": "crypto", "label": "spam", "severity": "high",
	     "words": ["bitcoin", "crypto*", "*coin"], "phrases": ["double your money"],
	     "allow": ["dogecoin"]},
	    {"name": "links", "label": "spam", "severity": "low", "regex": "bit\\.ly/\\w+"},
	    {"name": "phone", "label": "spam", "severity": "medium", "regex": ["\\d{3}[ .]\\d{4}", "whats\\s*app"]},
	    {"name": "spam word", "label": "spam", "severity": "mild", "words": ["spam"]},
	    {"name": "new accounts", "label": "negative", "severity": "medium", "words": ["scam"], "max_account_age": "168h"},
	    {"name": "old accounts", "label": "negative", "severity": "high", "words": ["fraud"], "min_account_age": "720h"},
	    {"name": "troll", "label": "insult", "words": ["clown"], "author_ids": ["u42"], "author_handles": ["@Troll"]},
	    {"name": "near", "label": "threat", "severity": "high", "words": ["burn"], "near": ["house", "car"], "within": 1}
	  ]}`
	r := configure(t, config)
	tests := []struct {
		name  string
		c     sdk.Comment
		label string  // "" means no label at all
		score float64 // of label
		span  string
	}{
		{name: "word", c: sdk.Comment{Text: "Buy BITCOIN now"}, label: "spam", score: 0.95, span: "BITCOIN"},
		{name: "word is whole-word by default", c: sdk.Comment{Text: "bitcoins"}, label: ""},
		{name: "prefix wildcard", c: sdk.Comment{Text: "cryptocurrency tips"}, label: "spam", score: 0.95, span: "cryptocurrency"},
		{name: "suffix wildcard", c: sdk.Comment{Text: "try shibacoin"}, label: "spam", score: 0.95, span: "shibacoin"},
		{name: "rule allow list wins", c: sdk.Comment{Text: "I like dogecoin"}, label: ""},
		{name: "phrase", c: sdk.Comment{Text: "how to double  your money fast"}, label: "spam", score: 0.95, span: "double  your money"},
		{name: "regex on normalised text", c: sdk.Comment{Text: "see BIT.LY/abc"}, label: "spam", score: 0.6, span: "BIT.LY/abc"},
		{name: "second regex of a list", c: sdk.Comment{Text: "msg me on whats app"}, label: "spam", score: 0.8, span: "whats app"},
		{name: "regex without a literal", c: sdk.Comment{Text: "call 555 0199"}, label: "spam", score: 0.8, span: "555 0199"},
		{name: "mild is below the threshold", c: sdk.Comment{Text: "this is spam"}, label: "spam", score: 0.4, span: "spam"},
		{name: "global allow list wins", c: sdk.Comment{Text: "spam musubi is great"}, label: ""},
		{name: "max_account_age: new account", c: sdk.Comment{Text: "scam", CreatedAt: now, AuthorCreatedAt: now.Add(-2 * day)}, label: "negative", score: 0.8, span: "scam"},
		{name: "max_account_age: old account", c: sdk.Comment{Text: "scam", CreatedAt: now, AuthorCreatedAt: now.Add(-30 * day)}, label: ""},
		{name: "max_account_age: unknown age", c: sdk.Comment{Text: "scam", CreatedAt: now}, label: ""},
		{name: "min_account_age: old account", c: sdk.Comment{Text: "fraud", CreatedAt: now, AuthorCreatedAt: now.Add(-60 * day)}, label: "negative", score: 0.95, span: "fraud"},
		{name: "min_account_age: new account", c: sdk.Comment{Text: "fraud", CreatedAt: now, AuthorCreatedAt: now.Add(-1 * day)}, label: ""},
		{name: "author id and handle", c: sdk.Comment{Text: "clown", AuthorID: "u42", AuthorHandle: "troll"}, label: "insult", score: 0.8, span: "clown"},
		{name: "author id only", c: sdk.Comment{Text: "clown", AuthorID: "u42", AuthorHandle: "other"}, label: ""},
		{name: "other author", c: sdk.Comment{Text: "clown", AuthorID: "u1", AuthorHandle: "Troll"}, label: ""},
		{name: "near within 1 word", c: sdk.Comment{Text: "burn your house"}, label: "threat", score: 0.95, span: "burn"},
		{name: "near before", c: sdk.Comment{Text: "the car, burn it"}, label: "threat", score: 0.95, span: "burn"},
		{name: "near too far", c: sdk.Comment{Text: "burn the old wooden house"}, label: ""},
		{name: "near term missing", c: sdk.Comment{Text: "burn calories"}, label: ""},
		{name: "defaults off", c: sdk.Comment{Text: "fuck"}, label: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := analyzeOne(t, r, tt.c)
			if tt.label == "" {
				if len(res.Labels) > 0 {
					t.Fatalf("%q: labels %+v, want none", tt.c.Text, res.Labels)
				}
				return
			}
			l, ok := res.Label(tt.label)
			if !ok || l.Score != tt.score {
				t.Fatalf("%q: labels %+v, want %s %.2f", tt.c.Text, res.Labels, tt.label, tt.score)
			}
			if got := spanTexts(tt.c.Text, l); !contains(got, tt.span) {
				t.Errorf("%q: spans cover %q, want %q", tt.c.Text, got, tt.span)
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name   string
		table  string
		fields []string // every FieldError expected, in order; nil: valid
	}{
		{name: "empty table", table: ``},
		{name: "defaults off, no rules", table: `{"defaults": false}`},
		{name: "full rule", table: `{"rules": [{"name": "a", "label": "spam", "severity": "low", "words": ["x*"], "phrases": ["a b"], "regex": "z+", "allow": ["xy"], "near": ["q"], "within": 2, "author_ids": ["1"], "author_handles": ["h"], "min_account_age": "1h", "max_account_age": "2h"}]}`},
		{name: "unknown top-level key", table: `{"rulez": []}`, fields: []string{"rulez"}},
		{name: "defaults not a bool", table: `{"defaults": "yes"}`, fields: []string{"defaults"}},
		{name: "rules not a list", table: `{"rules": {"name": "x"}}`, fields: []string{"rules"}},
		{name: "rule not a table", table: `{"rules": ["x"]}`, fields: []string{"rules[0]"}},
		{name: "unknown key in a rule", table: `{"rules": [{"label": "spam", "words": ["a"]}, {"label": "spam", "words": ["a"], "wrods": ["b"]}]}`, fields: []string{"rules[1].wrods"}},
		{name: "bad regex", table: `{"rules": [{"label": "spam", "words": ["a"]}, {"label": "spam", "words": ["a"]}, {"label": "spam", "regex": "(unclosed"}]}`, fields: []string{"rules[2].regex"}},
		{name: "bad regex in a list", table: `{"rules": [{"label": "spam", "regex": ["ok", "a**"]}]}`, fields: []string{"rules[0].regex[1]"}},
		{name: "regex matching everything", table: `{"rules": [{"label": "spam", "regex": "x*"}]}`, fields: []string{"rules[0].regex"}},
		{name: "regex of the wrong type", table: `{"rules": [{"label": "spam", "regex": 5}]}`, fields: []string{"rules[0].regex"}},
		{name: "missing label", table: `{"rules": [{"words": ["a"]}]}`, fields: []string{"rules[0].label"}},
		{name: "unknown label", table: `{"rules": [{"label": "rude", "words": ["a"]}]}`, fields: []string{"rules[0].label"}},
		{name: "unknown severity", table: `{"rules": [{"label": "spam", "severity": "extreme", "words": ["a"]}]}`, fields: []string{"rules[0].severity"}},
		{name: "nothing to match", table: `{"rules": [{"label": "spam"}]}`, fields: []string{"rules[0]"}},
		{name: "empty word", table: `{"rules": [{"label": "spam", "words": ["ok", "  "]}]}`, fields: []string{"rules[0].words[1]"}},
		{name: "wildcard alone", table: `{"rules": [{"label": "spam", "words": ["*"]}]}`, fields: []string{"rules[0].words[0]"}},
		{name: "word folding to nothing", table: `{"rules": [{"label": "spam", "words": ["\u200b"]}]}`, fields: []string{"rules[0].words[0]"}},
		{name: "word with a space", table: `{"rules": [{"label": "spam", "words": ["two words"]}]}`, fields: []string{"rules[0].words[0]"}},
		{name: "empty phrase, near, allow", table: `{"rules": [{"label": "spam", "phrases": [""], "near": [""], "allow": [""]}]}`, fields: []string{"rules[0].phrases[0]", "rules[0].near[0]", "rules[0].allow[0]"}},
		{name: "within without near", table: `{"rules": [{"label": "spam", "words": ["a"], "within": 2}]}`, fields: []string{"rules[0].within"}},
		{name: "negative within", table: `{"rules": [{"label": "spam", "words": ["a"], "near": ["b"], "within": -1}]}`, fields: []string{"rules[0].within"}},
		{name: "bad duration", table: `{"rules": [{"label": "spam", "words": ["a"], "min_account_age": "soon"}]}`, fields: []string{"rules[0].min_account_age"}},
		{name: "negative duration", table: `{"rules": [{"label": "spam", "words": ["a"], "max_account_age": "-1h"}]}`, fields: []string{"rules[0].max_account_age"}},
		{name: "max below min", table: `{"rules": [{"label": "spam", "words": ["a"], "min_account_age": "2h", "max_account_age": "1h"}]}`, fields: []string{"rules[0].max_account_age"}},
		{name: "empty author id and handle", table: `{"rules": [{"label": "spam", "words": ["a"], "author_ids": [""], "author_handles": ["@"]}]}`, fields: []string{"rules[0].author_ids[0]", "rules[0].author_handles[0]"}},
		{name: "duplicate rule name", table: `{"rules": [{"name": "x", "label": "spam", "words": ["a"]}, {"name": "x", "label": "spam", "words": ["b"]}]}`, fields: []string{"rules[1].name"}},
		{name: "bad global allow", table: `{"allow": ["ok", "*"]}`, fields: []string{"allow[1]"}},
		{name: "every problem at once", table: `{"allow": [""], "rules": [{"label": "nope", "severity": "x", "regex": "("}]}`, fields: []string{"allow[0]", "rules[0].label", "rules[0].severity", "rules[0].regex"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := configure(t, `{"defaults": false, "rules": [{"label": "spam", "words": ["before"]}]}`)
			err := r.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: []byte(tt.table)}})
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("Configure(%s) = %v, want nil", tt.table, err)
				}
				return
			}
			var fe sdk.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("Configure(%s) = %v, want FieldErrors", tt.table, err)
			}
			var got []string
			for _, e := range fe {
				got = append(got, e.Field)
			}
			if strings.Join(got, " ") != strings.Join(tt.fields, " ") {
				t.Errorf("Configure(%s) fields %q, want %q (%v)", tt.table, got, tt.fields, err)
			}
			// A rejected config leaves the previous one in force.
			if res := analyzeOne(t, r, sdk.Comment{Text: "before"}); len(res.Labels) != 1 {
				t.Errorf("after a rejected Configure, the old rules are gone: %+v", res.Labels)
			}
		})
	}
}

func TestValidateOnlyKeepsConfig(t *testing.T) {
	r := configure(t, `{"defaults": false, "rules": [{"label": "spam", "words": ["old"]}]}`)
	table, _ := json.Marshal(map[string]any{"defaults": false, "rules": []any{map[string]any{"label": "spam", "words": []string{"new"}}}})
	if err := r.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: table}, ValidateOnly: true}); err != nil {
		t.Fatal(err)
	}
	if res := analyzeOne(t, r, sdk.Comment{Text: "old"}); len(res.Labels) != 1 {
		t.Errorf("a ValidateOnly Configure replaced the running rules")
	}
}

func TestAnalyzeWithoutConfigureUsesDefaults(t *testing.T) {
	r := &Rules{}
	if res := analyzeOne(t, r, sdk.Comment{Text: "fuck"}); len(res.Labels) == 0 {
		t.Errorf("an unconfigured Rules found nothing in %q", "fuck")
	}
}

func TestRequiredLiterals(t *testing.T) {
	tests := []struct {
		expr string
		want []string // nil: the regex must always run
	}{
		{`bit\.ly/\w+`, []string{"bit.ly/"}},
		{`\bWhatsApp\b`, []string{"whatsapp"}},
		{`(cheap|discount) (pills|meds)`, []string{"cheap", "discount"}},
		{`\d{3} \d{4}`, nil},
		{`\d{3}-\d{4}`, []string{"-"}},
		{`a|\d+`, nil},
		{`(?:free){2,} money`, []string{" money"}},
		{`x?`, nil},
		{`[!?]{4,}`, []string{"!", "?"}},
		{`[a-c]+`, nil},
		{`\$\d+ a day`, []string{" a day"}},
	}
	for _, tt := range tests {
		got := requiredLiterals(tt.expr)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || (got == nil) != (tt.want == nil) {
			t.Errorf("requiredLiterals(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}

func TestLexiconsParse(t *testing.T) {
	entries, err := lexiconFS.ReadDir("lexicons")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".txt") {
			continue
		}
		terms, err := readLexicon(e.Name())
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
		if len(terms) == 0 {
			t.Errorf("%s is empty", e.Name())
		}
		n++
	}
	if n < 10 {
		t.Errorf("%d lexicon files embedded, want the 10 of lexicons/", n)
	}
	// Identity terms must not be triggers in any other lexicon.
	ids, _ := readLexicon("identity_terms.txt")
	for _, f := range []string{"profanity.txt", "insult.txt", "sexual.txt", "identity_attack.txt", "threat.txt", "insult_directed.txt"} {
		terms, _ := readLexicon(f)
		set := map[string]bool{}
		for _, x := range terms {
			set[x.term] = true
		}
		for _, id := range ids {
			if set[id.term] {
				t.Errorf("identity term %q is a trigger in %s", id.term, f)
			}
		}
	}
}

// FuzzAnalyze: whatever the text, the default rules never panic, every
// span lies inside the text on rune boundaries, and scores are in [0,1].
func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{"", "fuck", "F U C K", "ѕһіt", "sh1t a55", "you idiot", "I will kill you",
		"f\u200bu\u200bc\u200bk", "fuuuuck", "🖕🖕", "bad \xff bytes", "mo-fo", "a b c d e", "@@@ $$$ !!!",
		"f*ck", "m*therf**ker", "#*#*", "f💩ck", "cool?😎", "a?b%c^d~e", "c l a s s", "k i l l y o u r s e l f", "#killyourself", "y o u a b i t c h"} {
		f.Add(s)
	}
	r := &Rules{}
	f.Fuzz(func(t *testing.T, text string) {
		res, err := r.Analyze(context.Background(), []sdk.Comment{{ID: "f", Text: text}})
		if err != nil || len(res) != 1 {
			t.Fatalf("Analyze(%q) = %v, %v", text, res, err)
		}
		for _, l := range res[0].Labels {
			if l.Score < 0 || l.Score > 1 {
				t.Errorf("%q: score %v", text, l.Score)
			}
			for _, s := range l.Spans {
				if s.Start < 0 || s.End > len(text) || s.Start >= s.End {
					t.Fatalf("%q: span %v outside the text", text, s)
				}
				if utf8.ValidString(text) && (!utf8.RuneStart(text[s.Start]) || s.End < len(text) && !utf8.RuneStart(text[s.End])) {
					t.Fatalf("%q: span %v cuts a rune", text, s)
				}
			}
		}
	})
}
