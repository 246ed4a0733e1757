package plugintest

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/moderatorbot/moderator/sdk"
)

// longTextBytes is about the size of the longest comments platforms allow
// (Medium responses have no short limit), to catch analyzers that are
// quadratic or that assume tweet-sized text.
const longTextBytes = 64 << 10

// Corpus returns the comments TestAnalyzer always analyzes: text that breaks
// naive string handling (empty, whitespace only, emoji, combining marks,
// right-to-left, zero-width joiners, CJK, ~64 KiB, mixed case, newlines and
// bytes that are not UTF-8). Each call returns a fresh copy, with ids prefixed
// "plugintest-", so a test may change it.
func Corpus() []sdk.Comment {
	texts := []struct{ id, text string }{
		{"empty", ""},
		{"whitespace", " \t\n\r\u00a0\u2003\u3000 "},
		{"emoji", "Love this 😀🔥👍🏽 so much!!! 🇫🇷 👨‍👩‍👧‍👦"},
		{"combining", "Cafe\u0301 nai\u0308ve Z\u0351\u0352a\u0300l\u0301g\u0303o\u0308 E\u0301COLE"},
		{"rtl", "مرحبا بالعالم and שלום עולם, then \u202Eevil override\u202C back"},
		{"zero-width", "zero\u200bwidth\u200cnon\u200djoiner \u2060word\ufeff 👩‍💻"},
		{"cjk", "これは日本語のコメントです。中文评论很好。한국어 댓글입니다"},
		{"long", longText()},
		{"mixed-case", "tHiS iS mIxEd CaSe, and THIS PART IS SHOUTING, and this is not"},
		{"newlines", "line one\nLINE TWO\r\nline three\n\n\n\tindented\n"},
		{"invalid-utf8", "bad \xff\xfe bytes \xc3\x28 and a cut \xe2\x82 sequence, ÉCOLE \x80"},
		{"ascii", "A perfectly ordinary comment about the article. Thanks for writing it!"},
		{"caps", "WHY WOULD ANYONE WRITE THIS, IT IS COMPLETELY WRONG"},
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	out := make([]sdk.Comment, len(texts))
	for i, x := range texts {
		out[i] = sdk.Comment{
			Platform: "plugintest", Connector: "plugintest", ID: "plugintest-" + x.id, PostID: "plugintest-post",
			AuthorID: "plugintest-author", AuthorHandle: "plugintest", Text: x.text,
			CreatedAt: created.Add(time.Duration(i) * time.Minute),
		}
	}
	return out
}

// longText repeats a mix of scripts and cases to about longTextBytes, cut on
// a rune boundary so the only invalid UTF-8 in the corpus is deliberate.
func longText() string {
	const chunk = "Ça va? TRÈS BIEN! 日本語のテキスト, some words, SOME CAPS, مرحبا, 🙂 and an ÉCOLE.\n"
	s := strings.Repeat(chunk, longTextBytes/len(chunk)+1)
	s = s[:longTextBytes]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
