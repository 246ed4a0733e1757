package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
)

// spanTexts is the original text under each span.
func spanTexts(text string, spans []sdk.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, text[s.Start:s.End])
	}
	return out
}

func TestFindLinks(t *testing.T) {
	tests := []struct {
		text  string
		links []string // the text of each link
		hosts []string
	}{
		{"see https://Example.com/a?b=1.", []string{"https://Example.com/a?b=1"}, []string{"example.com"}},
		{"(http://user:pw@10.0.0.1:8080/x)", []string{"http://user:pw@10.0.0.1:8080/x"}, []string{"10.0.0.1"}},
		{"go to www.spam.example now", []string{"www.spam.example"}, []string{"www.spam.example"}},
		{"bare bit.ly/abc and cheap-pills.xyz!", []string{"bit.ly/abc", "cheap-pills.xyz"}, []string{"bit.ly", "cheap-pills.xyz"}},
		{"mail me at john@example.com", nil, nil},
		{"Node.js, e.g. ASP.NET and 3.14", nil, nil},
		{"www. alone and http:// alone", nil, nil},
		{"two: http://a.io/x,http://b.io", []string{"http://a.io/x,http://b.io"}, []string{"a.io"}},
		{"unicode host https://bücher.example/ok", []string{"https://bücher.example/ok"}, []string{"bücher.example"}},
		// Defanged: the dot written so nothing makes it a link.
		{"visit cheap-pills[.]xyz now", []string{"cheap-pills[.]xyz"}, []string{"cheap-pills.xyz"}},
		{"go to Site(DOT)com/offer!", []string{"Site(DOT)com/offer"}, []string{"site.com"}},
		{"hxxps://evil.example/x and hxxp://b.io", []string{"hxxps://evil.example/x", "hxxp://b.io"}, []string{"evil.example", "b.io"}},
		{"über hxxp://ß.io/ü", []string{"hxxp://ß.io/ü"}, []string{"ß.io"}},
		{"arrays a[.]b, calls f(.)g, (dot) and [.] alone", nil, nil},
	}
	for _, tt := range tests {
		links := findLinks(tt.text, nil)
		var got, hosts []string
		for _, l := range links {
			got = append(got, tt.text[l.Start:l.End])
			hosts = append(hosts, l.Host)
		}
		if !slices.Equal(got, tt.links) || !slices.Equal(hosts, tt.hosts) {
			t.Errorf("findLinks(%q) = %q hosts %q, want %q hosts %q", tt.text, got, hosts, tt.links, tt.hosts)
		}
	}
}

func TestFindLinksKnownHosts(t *testing.T) {
	// A host the config names is a link whatever its TLD; others need a
	// common one.
	known := func(h string) bool { return h == "scam.vip" }
	text := "visit scam.vip or other.vip, SCAM.VIP too"
	var got []string
	for _, l := range findLinks(text, known) {
		got = append(got, text[l.Start:l.End])
	}
	if want := []string{"scam.vip", "SCAM.VIP"}; !slices.Equal(got, want) {
		t.Errorf("findLinks with scam.vip known = %q, want %q", got, want)
	}
	if links := findLinks(text, nil); len(links) != 0 {
		t.Errorf("findLinks with nothing known = %v, want none (.vip is no common TLD)", links)
	}
}

func testState(t *testing.T, cfg map[string]any) *state {
	t.Helper()
	return configured(t, cfg).st.Load()
}

func TestLinkSignal(t *testing.T) {
	tests := []struct {
		name   string
		cfg    map[string]any
		text   string
		fired  bool
		weight float64
		reason string
		spans  []string
	}{
		{name: "no links", text: "nothing here"},
		{name: "one ordinary link", text: "read https://example.org/paper", fired: true, weight: wAnyLink, reason: "1 link (example.org)", spans: []string{"https://example.org/paper"}},
		{name: "blocked domain and its subdomains", cfg: map[string]any{"blocked_domains": []string{"Spam.Example"}},
			text: "a http://spam.example/1 b https://www.spam.example c http://x.spam.example", fired: true, weight: wAnyLink + wBlocked,
			reason: "3 links to blocked domain spam.example"},
		{name: "blocked domain written bare or defanged", cfg: map[string]any{"blocked_domains": []string{"scam.vip"}},
			text: "dm me or visit scam.vip, scam[.]vip or hxxp://scam(dot)vip/x", fired: true, weight: wAnyLink + wBlocked,
			reason: "3 links to blocked domain scam.vip", spans: []string{"scam.vip", "scam[.]vip", "hxxp://scam(dot)vip/x"}},
		{name: "allowed wins over blocked", cfg: map[string]any{"blocked_domains": []string{"example.com"}, "allowed_domains": []string{"docs.example.com"}},
			text: "see https://docs.example.com/x"},
		{name: "allowed wins over shortener", cfg: map[string]any{"allowed_domains": []string{"youtu.be", "bit.ly"}}, text: "see bit.ly/x"},
		{name: "shortener", text: "win at bit.ly/abc", fired: true, weight: wAnyLink + wShortener, reason: "1 link through URL shortener bit.ly", spans: []string{"bit.ly/abc"}},
		{name: "two shorteners", text: "http://t.co/a http://tinyurl.com/b", fired: true, weight: wAnyLink + wShortener + 0.5, reason: "2 links through URL shortener t.co, tinyurl.com"},
		{name: "own shortener list replaces the built-in one", cfg: map[string]any{"shorteners": []string{"sho.rt"}}, text: "http://bit.ly/a http://sho.rt/b", fired: true, weight: wAnyLink + wShortener, reason: "1 link through URL shortener sho.rt"},
		{name: "IP address", text: "http://192.168.1.1/login", fired: true, weight: wAnyLink + wIPHost, reason: "to a bare IP address (192.168.1.1)"},
		{name: "link flood in a short comment", text: "a.com b.com c.com d.com", fired: true, weight: wAnyLink + wLinkFlood, reason: "4 links in 4 words (more than 3)"},
		{name: "max_links", cfg: map[string]any{"max_links": 4}, text: "a.com b.com c.com d.com", fired: true, weight: wAnyLink},
		{name: "links spread through a long text are not a flood", text: strings.Repeat("word ", 200) + "a.com b.com c.com d.com", fired: true, weight: wAnyLink},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := testState(t, tt.cfg)
			ev, ok := st.linkSignal(tt.text, len(strings.Fields(tt.text)))
			if ok != tt.fired {
				t.Fatalf("fired %v (%+v), want %v", ok, ev, tt.fired)
			}
			if !ok {
				return
			}
			if ev.weight != tt.weight || !strings.Contains(ev.reason, tt.reason) || ev.label != labelLinks {
				t.Errorf("got %v %q, want %v and a reason with %q", ev.weight, ev.reason, tt.weight, tt.reason)
			}
			if tt.spans != nil && !slices.Equal(spanTexts(tt.text, ev.spans), tt.spans) {
				t.Errorf("spans %q, want %q", spanTexts(tt.text, ev.spans), tt.spans)
			}
		})
	}
}

func TestFindTags(t *testing.T) {
	tests := []struct {
		text     string
		mentions []string
		hashtags []string
	}{
		{"@alice and @Bob_2, hi", []string{"alice", "bob_2"}, nil},
		{"mail a@b.com or @first.last", []string{"first.last"}, nil},
		{"#Go #1 C# ##x #café", nil, []string{"go", "café"}},
		{"@@x #", nil, nil},
		{"end @", nil, nil},
	}
	for _, tt := range tests {
		var m, h []string
		for _, x := range findTags(tt.text, '@') {
			m = append(m, x.Name)
			if tt.text[x.Start] != '@' {
				t.Errorf("mention span %d..%d of %q", x.Start, x.End, tt.text)
			}
		}
		for _, x := range findTags(tt.text, '#') {
			h = append(h, x.Name)
		}
		if !slices.Equal(m, tt.mentions) || !slices.Equal(h, tt.hashtags) {
			t.Errorf("%q: mentions %q hashtags %q, want %q %q", tt.text, m, h, tt.mentions, tt.hashtags)
		}
	}
}

func TestFloodSignal(t *testing.T) {
	tests := []struct {
		name   string
		cfg    map[string]any
		text   string
		weight float64 // 0: does not fire
		reason string
	}{
		{name: "a few mentions", text: "@a @b @c @d thanks"},
		{name: "repeated mentions count once", text: "@a @a @a @a @a @a"},
		{name: "mention flood", text: "@a @b @c @d @e", weight: wMentionFlood, reason: "5 mentions (flood threshold 5)"},
		{name: "more past the threshold", text: "@a @b @c @d @e @f @g", weight: wMentionFlood + 2*wFloodPerExtra},
		{name: "capped", text: "@a @b @c @d @e @f @g @h @i @j @k @l @m", weight: wMentionFlood + wFloodExtraLimit*wFloodPerExtra},
		{name: "hashtag flood", text: "#a1 #b #c #d #e #f", weight: wHashtagFlood, reason: "6 hashtags (flood threshold 6)"},
		{name: "both", text: "@a @b @c @d @e #a #b #c #d #e #f", weight: wMentionFlood + wHashtagFlood, reason: "5 mentions (flood threshold 5); 6 hashtags"},
		{name: "own thresholds", cfg: map[string]any{"mention_flood": 2, "hashtag_flood": 2}, text: "@a @b #x #y", weight: wMentionFlood + wHashtagFlood},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, ok := testState(t, tt.cfg).floodSignal(tt.text)
			if ok != (tt.weight > 0) || ev.weight != tt.weight || !strings.Contains(ev.reason, tt.reason) {
				t.Errorf("got %v %v %q, want weight %v, reason with %q", ok, ev.weight, ev.reason, tt.weight, tt.reason)
			}
			for _, s := range spanTexts(tt.text, ev.spans) {
				if s[0] != '@' && s[0] != '#' {
					t.Errorf("span %q is not a tag", s)
				}
			}
		})
	}
}

func TestPhraseSignal(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		weight float64 // 0: does not fire
		spans  []string
	}{
		{name: "clean", text: "Lovely write-up, thanks."},
		{name: "a phrase", text: "Click here for more", weight: 1, spans: []string{"Click here"}},
		{name: "evasion: leet, zero width, full width", text: "cl1ck h\u200bere ＷＯＲＫ from home", weight: 1 + 1.5, spans: []string{"cl1ck h\u200bere", "ＷＯＲＫ from home"}},
		{name: "punctuation between words", text: "work-from-home!", weight: 1.5, spans: []string{"work-from-home"}},
		{name: "longest phrase wins", text: "message me on whatsapp", weight: 2, spans: []string{"message me on whatsapp"}},
		{name: "not inside a longer word", text: "myclickhere or seaccount managers"},
		{name: "a phrase counts once", text: "dm me dm me DM ME", weight: 1, spans: []string{"dm me", "dm me", "DM ME"}},
		{name: "earnings claim", text: "I make $5,000 per week", weight: 2, spans: []string{"make $5,000", "$5,000 per week"}},
		{name: "phone number", text: "call +44 7700 900123 today", weight: wPhone, spans: []string{"+44 7700 900123"}},
		{name: "US phone number", text: "call (555) 012-3456", weight: wPhone, spans: []string{"(555) 012-3456"}},
		{name: "a year is not a phone number", text: "in 2002-08-21 we met"},
		{name: "bangs after a phrase", text: "Click here!! now", weight: 1, spans: []string{"Click here"}},
		{name: "phrase written as one word", text: "#workfromhome", weight: 1.5, spans: []string{"workfromhome"}},
		{name: "bangs after a phrase", text: "Click here!! now", weight: 1, spans: []string{"Click here"}},
		{name: "phrase written as one word", text: "#workfromhome", weight: 1.5, spans: []string{"workfromhome"}},
		{name: "capped", text: "viagra cialis hot singles sugar daddy free followers", weight: wPhrasesMax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nt := normalizeForPhrases(tt.text)
			ev, ok := phraseSignal(tt.text, &nt)
			if ok != (tt.weight > 0) || ev.weight != tt.weight {
				t.Fatalf("got %v %v (%q), want weight %v", ok, ev.weight, ev.reason, tt.weight)
			}
			if tt.spans != nil && !slices.Equal(spanTexts(tt.text, ev.spans), tt.spans) {
				t.Errorf("spans %q, want %q", spanTexts(tt.text, ev.spans), tt.spans)
			}
			if ok && !strings.HasPrefix(ev.reason, "scam phrasing: ") {
				t.Errorf("reason %q", ev.reason)
			}
		})
	}
}

func TestShoutSignal(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		weight float64
		reason string
		spans  []string
	}{
		{name: "calm", text: "this is fine, really"},
		{name: "too short to judge", text: "OMG WOW"},
		{name: "shouting", text: "BUY THIS NOW, best DEAL", weight: wShouting, reason: "shouting: 77% capitals", spans: []string{"BUY THIS NOW", "DEAL"}},
		{name: "bangs", text: "amazing!!! really!!!! ok!!", weight: wBangs, reason: "2 runs of !!!", spans: []string{"!!!", "!!!!"}},
		{name: "both", text: "FREE MONEY FOR EVERYONE!!!", weight: wShouting + wBangs},
		{name: "capitals of other scripts", text: "ΑΥΤΟ ΕΙΝΑΙ ΠΟΛΥ ΚΑΚΟ", weight: wShouting},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, ok := shoutSignal(tt.text)
			if ok != (tt.weight > 0) || ev.weight != tt.weight || !strings.Contains(ev.reason, tt.reason) {
				t.Fatalf("got %v %v %q, want %v and %q", ok, ev.weight, ev.reason, tt.weight, tt.reason)
			}
			if tt.spans != nil && !slices.Equal(spanTexts(tt.text, ev.spans), tt.spans) {
				t.Errorf("spans %q, want %q", spanTexts(tt.text, ev.spans), tt.spans)
			}
		})
	}
}

// FuzzSignals: the hand-written scanners never panic and their spans are
// always inside the text.
func FuzzSignals(f *testing.F) {
	for _, s := range []string{"", "http://a.b/c", "@a #b www.x.com bit.ly/x", "+1 555 123 4567", "a@b.co", "\xff@\xfe#", "http://[::1]:80/", "HTTP://", "FREE!!!",
		"a[.]com", "hxxp://x(dot)io", "ü[.]ß", "[.](dot){.}", "hxxphxxp"} {
		f.Add(s)
	}
	st := newSpam().st.Load()
	f.Fuzz(func(t *testing.T, s string) {
		check := func(what string, spans []sdk.Span) {
			for _, sp := range spans {
				if sp.Start < 0 || sp.End > len(s) || sp.Start > sp.End {
					t.Fatalf("%s span %v outside %q", what, sp, s)
				}
			}
		}
		ev, _ := st.linkSignal(s, 1)
		check("link", ev.spans)
		ev, _ = st.floodSignal(s)
		check("flood", ev.spans)
		nt := normalizeForPhrases(s)
		ev, _ = phraseSignal(s, &nt)
		check("phrase", ev.spans)
		ev, _ = shoutSignal(s)
		check("shout", ev.spans)
		if _, err := newSpam().Analyze(context.Background(), []sdk.Comment{{ID: "f", Text: s}}); err != nil {
			t.Fatal(err)
		}
	})
}
