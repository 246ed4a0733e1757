package main

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"github.com/moderatorbot/moderator/plugins/internal/textnorm"
	"github.com/moderatorbot/moderator/sdk"
)

// Every word of these tables is checked against the held-out list
// (TestVariantTestsAvoidHeldOut): the generalisations are proven on words
// the recall figure does not count.

func words(ws ...string) []string { return ws }

var soundKeyTests = []struct {
	rule string
	same []string // all share one key
	not  string   // has another key than same[0], "" for none
}{
	{"ph is f", words("graph", "graf"), ""},
	{"ck, q and a hard c are k", words("bak", "back", "bac"), ""},
	{"q is k", words("qat", "kat", "cat"), ""},
	{"c before e, i, y or h stays c", words("cent"), "kent"},
	{"x is ks", words("sox", "soks", "socks"), ""},
	{"xor at the end is ker", words("haxor", "hacker", "haxxor"), ""},
	{"z at the end is s", words("boyz", "boys"), "boy"},
	{"wh before o is h", words("whole", "hole"), ""},
	{"wh elsewhere is w", words("what", "wat"), "hat"},
	{"kn and wr at the start", words("knight", "night"), ""},
	{"wr at the start", words("wrong", "rong"), ""},
	{"aw before a consonant is o", words("dawg", "dog"), ""},
	{"oa before the last consonant is o", words("groan", "grone"), ""},
	{"oa before a last consonant and a plural", words("groats", "grots"), ""},
	{"oa elsewhere stays", words("roadster"), "rodster"},
	{"doubled letters are single", words("butter", "buter", "buta"), ""},
	{"oo is u", words("fool", "ful"), "fol"},
	{"mn and mb at the end are m", words("condemn", "condem"), ""},
	{"mb at the end", words("dumb", "dum"), ""},
	{"ies is ys", words("kitties", "kittys"), ""},
	{"ing is in", words("running", "runnin"), ""},
	{"ings is ins", words("beatings", "beatins"), ""},
	{"er is a", words("sucker", "sucka", "suckah"), ""},
	{"ers is as", words("suckers", "suckas"), ""},
	{"silent e goes when four letters remain", words("plate", "plat"), ""},
	{"silent e stays on short words", words("rape"), "rap"},
	{"a silent e keeps a short vowel apart: bake is not back", words("bake"), "back"},
	{"ou is not u: mount is not munt", words("mount"), "munt"},
}

func TestSoundKey(t *testing.T) {
	for _, tt := range soundKeyTests {
		t.Run(tt.rule, func(t *testing.T) {
			want := keyOf(tt.same[0], true, true)
			for _, w := range tt.same[1:] {
				if got := keyOf(w, true, true); got != want {
					t.Errorf("key(%q) = %q, key(%q) = %q: want the same", tt.same[0], want, w, got)
				}
			}
			if tt.not != "" {
				if got := keyOf(tt.not, true, true); got == want {
					t.Errorf("key(%q) = key(%q) = %q: want them apart", tt.same[0], tt.not, got)
				}
			}
		})
	}
	// A wildcard's open side keeps its letters: "*whore" is not "*hor".
	if got := keyOf("whore", false, false); got != "hore" {
		t.Errorf("key of the stem whore, both sides open = %q, want %q", got, "hore")
	}
}

var oneEditTests = []struct {
	word, term string
	want       bool
}{
	{"wierd", "weird", true},        // neighbours swapped
	{"hallo", "hello", true},        // a vowel changed
	{"bttle", "bottle", true},       // a vowel dropped
	{"bolleocks", "bollocks", true}, // a vowel added
	{"hello", "hello", false},       // no edit
	{"jello", "hello", false},       // the first letter changed
	{"ello", "hello", false},        // the first letter dropped
	{"hekko", "hello", false},       // a consonant changed
	{"helo", "hello", false},        // a consonant dropped (l)
	{"hellok", "hello", false},      // a consonant added
	{"hollu", "hello", false},       // two edits
	{"hlelo", "hello", true},        // swap after the first letter
	{"chocoate", "chocolate", true}, // a consonant dropped from a stem of seven letters or more
	{"chocolae", "chocolate", true}, // the last one too
	{"bottes", "bottles", false},    // not from a shorter stem (bottle)
}

// TestEditEntry: which edits a term's entry in the edit index allows, by
// the length of its stem.
func TestEditEntry(t *testing.T) {
	for _, tt := range editEntryTests {
		var eb editBuilder
		eb.add(tt.term, use{})
		if got := eb.entries[0].matches([]byte(tt.word)); got != tt.want {
			t.Errorf("%s: %q for %q = %v, want %v", tt.name, tt.word, tt.term, got, tt.want)
		}
	}
}

var editEntryTests = []struct {
	name, term, word string
	want             bool
}{
	{"a short stem: neighbours swapped", "band", "bnad", true},
	{"a short stem: the last two swapped", "band", "badn", true},
	{"a short stem: no vowel changed", "band", "bend", false},
	{"a short stem: no vowel added", "band", "baond", false},
	{"a long stem: two vowels changed", "chocolate", "chacolete", true},
	{"a long stem: not three", "chocolate", "chacalete", false},
	{"a long stem: not a vowel and a consonant", "chocolate", "chacolade", false},
	{"a long stem: not the first letter", "ornament", "arnamant", false},
	{"a stem of seven: no two vowels", "custard", "castird", false},
}

func TestOneEdit(t *testing.T) {
	for _, tt := range oneEditTests {
		if got := oneEdit([]byte(tt.word), []byte(tt.term)); got != tt.want {
			t.Errorf("oneEdit(%q, %q) = %v, want %v", tt.word, tt.term, got, tt.want)
		}
	}
}

func TestStem(t *testing.T) {
	for in, want := range map[string]string{"tards": "tard", "bitches": "bitch", "boxes": "box", "pussies": "pussie", "ass": "ass", "bus": "bu", "fuck": "fuck"} {
		if got := stem(in); got != want {
			t.Errorf("stem(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestVariants: each generalisation, through the built-in lexicons, on
// spellings no lexicon lists: the label, the score one notch (0.05) below
// the term's, the reason naming the term, the span on the original text.
var variantTests = []struct {
	name, text, label, span, of string
	score                       float64
}{
	{"ph is f", "what a clusterphuck", "profanity", "clusterphuck", "clusterfuck", 0.75},
	{"ck is k", "total bolloks", "profanity", "bolloks", "bollock", 0.75},
	{"x is ks", "nice kox", "sexual", "kox", "cock", 0.75},
	{"z at the end is s", "you twatz", "profanity", "twatz", "twat", 0.75},
	{"wh before o is h", "a crackhore", "insult", "crackhore", "crackwhore", 0.75},
	{"kn at the start is n", "you nobend", "insult", "nobend", "knobend", 0.75},
	{"aw before a consonant is o", "bawlocks to that", "profanity", "bawlocks", "bollock", 0.75},
	{"oo is u", "what a sloot", "insult", "sloot", "slut", 0.75},
	{"silent e", "such a douch", "insult", "douch", "douche", 0.75},
	{"plural of a listed word", "you dickweeds", "insult", "dickweeds", "dickweed", 0.75},
	{"8 after a letter is ate", "go masturb8", "sexual", "masturb8", "masturbate", 0.55},
	{"l3 at the start is b", "l3ollocks to you", "profanity", "l3ollocks", "bollock", 0.75},
	{"a stretched letter may stand for two", "what a slooooot", "insult", "slooooot", "slut", 0.75},
	{"normalisation first, then the key", "total b0ll\u200b0ks", "profanity", "b0ll\u200b0ks", "bollock", 0.75},
	{"neighbours swapped", "what bullsiht", "profanity", "bullsiht", "bullshit", 0.75},
	{"a vowel changed", "a clusterfack", "profanity", "clusterfack", "clusterfuck", 0.75},
	{"a vowel dropped", "you douchbag", "insult", "douchbag", "douchebag", 0.75},
	{"a vowel added", "bolleocks to that", "profanity", "bolleocks", "bollocks", 0.75},
	{"one edit, aimed at someone", "you are an idoit", "insult", "idoit", "idiot", 0.75},
	{"a high-severity four-letter stem: neighbours swapped", "you cutn", "profanity", "cutn", "cunt", 0.9},
	{"oa before the last consonant", "an asshoal", "profanity", "asshoal", "asshole", 0.75},
	{"a consonant dropped from a long stem", "go mastubate", "sexual", "mastubate", "masturbate", 0.55},
	{"two vowels changed in a long stem", "a deuchebog", "insult", "deuchebog", "douchebag", 0.75},
	{"a term's key and a listed compound's tail", "you dikpounder", "sexual", "dikpounder", "dick", 0.75},
}

func TestVariants(t *testing.T) {
	r := defaultAnalyzer(t)
	for _, tt := range variantTests {
		t.Run(tt.name, func(t *testing.T) {
			res := analyzeOne(t, r, sdk.Comment{Text: tt.text})
			l, ok := res.Label(tt.label)
			if !ok {
				t.Fatalf("%q: labels %+v, want %s", tt.text, res.Labels, tt.label)
			}
			if l.Score != tt.score {
				t.Errorf("%q: %s score %v, want %v (the term's severity less %v)", tt.text, tt.label, l.Score, tt.score, variantDiscount)
			}
			if want := `as a variant of "` + tt.of; !strings.Contains(l.Reason, want) {
				t.Errorf("%q: reason %q, want it to say %s", tt.text, l.Reason, want)
			}
			if got := spanTexts(tt.text, l); !contains(got, tt.span) {
				t.Errorf("%q: spans cover %q, want %q", tt.text, got, tt.span)
			}
		})
	}
}

// TestNoVariants: what must not be taken for a variant.
var noVariantTests = []struct{ name, text string }{
	{"English words are never variants", "botch the bigger, faster cutter; wrapping packer Fletcher of Nigeria"},
	{"the first letter counts", "Rickman was kitchy"},
	{"a consonant changed", "a raver"},
	{"a consonant dropped", "he wore crocs"},
	{"stems under five letters: no edits", "twet shti"},
	{"threat phrases match as written", "i will kil you"},
	{"identity terms are context, as written", "i am a gey blak womon"},
	{"a short key", "as is"},
	{"a word without a vowel is an abbreviation", "sqrt sltt thx"},
	{"forms derive.mjs made up match as written", "Bubba"},
	{"no edit on top of a key", "a bloke in the blocker"},
	{"a four-letter stem: no vowel changed, even a high-severity one", "Fick and Fock"},
	{"a g-dropped English word is English", "saggin pants"},
	{"oa only before the last consonant", "i gots it"},
	{"an English word leads no compound", "bootpounder"},
	{"a term and a short English word are no compound", "Prichard"},
}

// guardNeeded are English words that take a variant without the guard,
// and words that are variants without it because of an English word in
// them ("saggin" is "sagging", "bootpounder" starts with "boot").
var guardNeeded = []string{"botch", "bigger", "faster", "cutter", "packer", "wrapping", "fletcher", "nigeria", "saggin", "bootpounder"}

func TestNoVariants(t *testing.T) {
	r := defaultAnalyzer(t)
	for _, tt := range noVariantTests {
		t.Run(tt.name, func(t *testing.T) {
			res := analyzeOne(t, r, sdk.Comment{Text: tt.text})
			if len(res.Labels) > 0 {
				t.Errorf("%q: labels %+v, want none", tt.text, res.Labels)
			}
		})
	}
	// The English guard is what keeps the first case clean.
	e := unguardedEngine(t)
	for _, w := range guardNeeded {
		if len(variantsOf(e, w)) == 0 {
			t.Errorf("%q: no variant even without the English guard; pick a word the guard is needed for", w)
		}
	}
	// "cheeks" follows a term in a listed compound ("butt" + "cheeks"):
	// the guard keeps English words out of the tails.
	if !e.variants.compounds.tails.has("cheeks") {
		t.Error(`without the guard, "cheeks" is no tail: pick a tail the guard is needed for`)
	}
	g := defaultAnalyzer(t).engine.Load().variants.compounds.tails
	for w, want := range map[string]bool{"cheeks": false, "hard": false, "pounder": true, "muncher": true, "ilingus": false} {
		if got := g.has(w); got != want {
			t.Errorf("tail %q: %v, want %v", w, got, want)
		}
	}
}

var userRuleTexts = []string{"bazuka", "bazookas", "clusterphuck"}

func TestVariantsConfig(t *testing.T) {
	// The built-in variant index is built once and shared.
	a, b := configure(t, ``).engine.Load(), configure(t, `{"allow": ["x"]}`).engine.Load()
	if a.variants == nil || a.variants != b.variants {
		t.Errorf("variant indexes %p and %p: want one, shared", a.variants, b.variants)
	}
	// Slurs get sound keys, not edits (short, name-like words).
	for _, e := range a.variants.edits.entries {
		if a.rules[e.u.rule].name == "slur" {
			t.Fatalf("slur %q has one-edit variants", e.form)
		}
	}
	text := "what a clusterphuck"
	if res := analyzeOne(t, configure(t, `{"variants": false}`), sdk.Comment{Text: text}); len(res.Labels) > 0 {
		t.Errorf(`variants = false: %q gave %+v, want nothing`, text, res.Labels)
	}
	// A user's terms match as written: the rule says what it means.
	r := configure(t, `{"defaults": false, "rules": [{"label": "spam", "words": ["bazooka", "clusterfuck"]}]}`)
	for _, text := range userRuleTexts {
		if res := analyzeOne(t, r, sdk.Comment{Text: text}); len(res.Labels) > 0 {
			t.Errorf("user rule: %q gave %+v, want nothing", text, res.Labels)
		}
	}
}

// TestExactTerms: a lexicon line "term<TAB>severity<TAB>exact" has no
// variants; its neighbour without the mark has.
func TestExactTerms(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, d := range defaultRules {
		fsys["lexicons/"+d.terms] = &fstest.MapFile{Data: []byte("zzzz\tlow\n")}
		if d.near != "" {
			fsys["lexicons/"+d.near] = &fstest.MapFile{Data: []byte("zzzz\n")}
		}
	}
	fsys["lexicons/profanity.txt"] = &fstest.MapFile{Data: []byte("bollocks\tmedium\texact\nclusterfuck\tmedium\n")}
	fsys["lexicons/allow.txt"] = &fstest.MapFile{Data: []byte("zzzz\n")}
	b := newBuilder()
	b.variants = true
	if err := b.addDefaultsFS(fsys); err != nil {
		t.Fatal(err)
	}
	e := b.build()
	for text, want := range map[string]bool{"bolloks": false, "bollocks": false, "clusterphuck": true} {
		if got := len(variantsOf(e, text)) > 0; got != want {
			t.Errorf("%q: variant %v, want %v", text, got, want)
		}
	}
	if res := e.analyze(&sdk.Comment{ID: "x", Text: "bollocks"}); len(res.Labels) != 1 {
		t.Errorf("an exact term must still match as written: %+v", res.Labels)
	}
	if _, err := parseLexicon("x.txt", strings.NewReader("term\tlow\tfuzzy\n")); err == nil {
		t.Error(`a third column other than "exact" must be refused`)
	}
}

func TestWordSet(t *testing.T) {
	s := newWordSet([]string{"pitch", "rapper", "cafe"})
	for w, want := range map[string]bool{"pitch": true, "rapper": true, "cafe": true, "pitc": false, "pitchy": false, "": false, "bitch": false} {
		if got := s.has(w); got != want {
			t.Errorf("has(%q) = %v, want %v", w, got, want)
		}
	}
}

func TestVariantTestsAvoidHeldOut(t *testing.T) {
	var all []string
	for _, tt := range soundKeyTests {
		all = append(append(all, tt.same...), tt.not)
	}
	for _, tt := range oneEditTests {
		all = append(all, tt.word, tt.term)
	}
	for _, tt := range editEntryTests {
		all = append(all, tt.word, tt.term)
	}
	all = append(all, "cheeks", "hard", "pounder", "muncher", "ilingus")
	for _, tt := range variantTests {
		all = append(all, strings.Fields(tt.text)...)
	}
	for _, tt := range noVariantTests {
		all = append(all, strings.Fields(tt.text)...)
	}
	all = append(append(append(all, guardNeeded...), userRuleTexts...), strings.Fields(analyzeVariantsText)...)
	held := map[string]bool{}
	for _, line := range readLines(t, "testdata/heldout_badwords.tsv") {
		term, _, _ := strings.Cut(line, "\t")
		held[term] = true
		held[textnorm.Fold(term)] = true
	}
	for _, w := range all {
		w = strings.ToLower(strings.Trim(w, ",.;"))
		if held[w] || held[textnorm.Fold(w)] {
			t.Errorf("%q is in the held-out list: prove the generalisation on another word", w)
		}
	}
}

// FuzzTextKey: whatever the text, the key maps back inside the folded text
// in order, every key word is a run of ASCII letters, and a word of plain
// letters keys the same way as a term does, so terms and text meet.
func FuzzTextKey(f *testing.F) {
	for _, s := range []string{"", "phuck", "l3itch m8", "gr8 b8 h8", "fooooook", "sh!+ a$$", "bolloks to you", "13 |3 l3",
		"x xor haxor", "ѕһіt", "a b c", "whore wr kn", "\xff\xfe", "日本語 fuck"} {
		f.Add(s)
	}
	v := unguardedEngine(f).variants
	f.Fuzz(func(t *testing.T, s string) {
		tx := textnorm.Normalize(s)
		var k textKey
		v.spellWords(&tx, &k)
		for _, doubled := range []bool{false, true} {
			k.build(s, &tx, doubled)
			if len(k.from) != len(k.key) || len(k.to) != len(k.key) {
				t.Fatalf("%q: key %q with %d/%d offsets", s, k.key, len(k.from), len(k.to))
			}
			for i := range k.key {
				if k.from[i] < 0 || k.from[i] >= k.to[i] || int(k.to[i]) > len(tx.Folded) || i > 0 && k.from[i] < k.from[i-1] {
					t.Fatalf("%q: key byte %d maps to [%d,%d) of %q", s, i, k.from[i], k.to[i], tx.Folded)
				}
			}
			for _, w := range k.words {
				for _, c := range k.key[w[0]:w[1]] {
					if !isLower(c) {
						t.Fatalf("%q: key word %q has a non-letter", s, k.key[w[0]:w[1]])
					}
				}
			}
			for _, v := range findAll(v, s, &tx) {
				if a, b := tx.Original(int(v.start), int(v.end)); a >= b || b > len(s) || utf8.ValidString(s) && (!utf8.RuneStart(s[a]) || b < len(s) && !utf8.RuneStart(s[b])) {
					t.Fatalf("%q: variant span [%d,%d) is not whole runes of the text", s, a, b)
				}
			}
		}
		// Plain words: the text's key is the term's key.
		if plainWord(tx.Folded) && !strings.ContainsAny(s, "0123456789|!@$+") && !hasStretch(&tx) {
			k.build(s, &tx, false)
			if got, want := strings.TrimSuffix(string(k.key), " "), keyOf(tx.Folded, true, true); got != want {
				t.Fatalf("%q: text key %q, term key %q", s, got, want)
			}
		}
	})
}

func findAll(v *variantIndex, s string, tx *textnorm.Text) []variantHit {
	var k textKey
	return v.find(s, tx, &k, nil)
}

func hasStretch(tx *textnorm.Text) bool {
	for i := range len(tx.Folded) {
		if tx.Stretched(i) {
			return true
		}
	}
	return false
}

// TestVariantsInAnalyze: the variant passes keep every existing guarantee:
// spans in the original text, labels once each and sorted.
const analyzeVariantsText = "ʏᴏᴜ are a clusterphuck and b0ll\u200b0ks, phuckin d0uch"

func TestVariantsInAnalyze(t *testing.T) {
	text := analyzeVariantsText
	res, err := defaultAnalyzer(t).Analyze(context.Background(), []sdk.Comment{{ID: "a", Text: text}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range res[0].Labels {
		names = append(names, l.Name)
		for _, sp := range l.Spans {
			if !utf8.ValidString(text[sp.Start:sp.End]) || sp.Start >= sp.End {
				t.Errorf("%s span %v is not whole runes", l.Name, sp)
			}
		}
	}
	if strings.Join(names, ",") != "insult,profanity,sexual" {
		t.Errorf("labels %q, want insult, profanity and sexual once each, sorted", names)
	}
	p, _ := res[0].Label("profanity")
	if got := spanTexts(text, p); !contains(got, "clusterphuck") || !contains(got, "phuckin") {
		t.Errorf("profanity spans %q, want clusterphuck and phuckin", got)
	}
}
