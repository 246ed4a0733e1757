package mailtext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		subject string
		has     []string // the body contains these
		hasNot  []string // and not these
	}{
		{
			name:    "headers dropped, subject cleaned",
			raw:     "From someone@x Tue Aug  6 11:51:02 2002\nReturn-Path: <a@b>\nReceived: from mx.example.com\n\tby relay\nMessage-Id: <1@x>\nSubject: Re: [ILUG] Fwd: Cheap   stuff\n\nHello there.\n",
			subject: "Cheap stuff",
			has:     []string{"Hello there."},
			hasNot:  []string{"Received", "mx.example.com", "Message-Id", "ILUG"},
		},
		{
			name:    "encoded subject",
			raw:     "Subject: =?iso-8859-1?q?Caf=E9_offer?=\n\nbody",
			subject: "Café offer",
			has:     []string{"body"},
		},
		{
			name: "quoted-printable latin-1",
			raw:  "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nCaf=E9 au lait, soft=\nbreak",
			has:  []string{"Café au lait, softbreak"},
		},
		{
			name: "base64",
			raw:  "Content-Transfer-Encoding: base64\n\nRnJlZSBtb25leSBub3ch\n",
			has:  []string{"Free money now!"},
		},
		{
			name:   "html reduced to text and links",
			raw:    "Content-Type: text/html\n\n<html><head><title>x</title><style>p{}</style></head><body><p>Buy &amp; save</p><a href=\"http://spam.example/buy\">here</a><!-- hidden --></body></html>",
			has:    []string{"Buy & save", "http://spam.example/buy", "here"},
			hasNot: []string{"<p>", "p{}", "hidden", "title"},
		},
		{
			name:   "multipart alternative prefers plain",
			raw:    "Content-Type: multipart/alternative; boundary=\"XX\"\n\npreamble\n--XX\nContent-Type: text/plain\n\nplain words\n--XX\nContent-Type: text/html\n\n<p>html words</p>\n--XX--\nepilogue",
			has:    []string{"plain words"},
			hasNot: []string{"html words", "preamble", "epilogue"},
		},
		{
			name:   "multipart mixed skips attachments",
			raw:    "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst part\n--b\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\nR0lGODlh\n--b\nContent-Type: text/plain\n\nsecond part\n--b--",
			has:    []string{"first part", "second part"},
			hasNot: []string{"R0lG"},
		},
		{
			name:   "mailman footer cut",
			raw:    "\nreal text\n\n_______________________________________________\nSpamassassin-talk mailing list\nSpamassassin-talk@lists.sourceforge.net\nhttps://lists.sourceforge.net/lists/listinfo/spamassassin-talk\n",
			has:    []string{"real text"},
			hasNot: []string{"mailing list", "listinfo", "____"},
		},
		{
			name:   "yahoo groups footer cut",
			raw:    "\nreal text\n\n------------------------ Yahoo! Groups Sponsor ---------------------~-->\n4 DVDs Free\n---------------------------------------------------------------------~->\n\nTo unsubscribe from this group, send an email to:\nx-unsubscribe@egroups.com\n",
			has:    []string{"real text"},
			hasNot: []string{"Yahoo", "unsubscribe", "DVDs"},
		},
		{
			name: "spam's own removal notice kept",
			raw:  "\nBuy now.\n\nIf you wish to be removed from our mailing list, reply with REMOVE.\n",
			has:  []string{"removed from our mailing list"},
		},
		{
			name: "no headers at all",
			raw:  "just a line of text\nand another",
			has:  []string{"just a line of text"},
		},
		{
			name: "html sent as text/plain",
			raw:  "Content-Type: text/plain\n\n<html><body>Hello<br>there</body></html>",
			has:  []string{"Hello", "there"}, hasNot: []string{"<br>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Parse([]byte(tt.raw))
			if m.Subject != tt.subject {
				t.Errorf("subject %q, want %q", m.Subject, tt.subject)
			}
			for _, s := range tt.has {
				if !strings.Contains(m.Body, s) {
					t.Errorf("body %q lacks %q", m.Body, s)
				}
			}
			for _, s := range tt.hasNot {
				if strings.Contains(m.Text(), s) {
					t.Errorf("text %q has %q", m.Text(), s)
				}
			}
		})
	}
}

func TestText(t *testing.T) {
	for _, tt := range []struct {
		m    Message
		want string
	}{
		{Message{Subject: "s", Body: "b"}, "s\n\nb"},
		{Message{Subject: "s"}, "s"},
		{Message{Body: "b"}, "b"},
	} {
		if got := tt.m.Text(); got != tt.want {
			t.Errorf("%+v.Text() = %q, want %q", tt.m, got, tt.want)
		}
	}
}

// FuzzParse: the parser never panics and always returns valid UTF-8.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "Subject: x\n\nbody",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--",
		"Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: multipart/mixed; boundary=c\n\n--c\n\ny\n",
		"Content-Transfer-Encoding: base64\n\n!!!!",
		"Content-Transfer-Encoding: quoted-printable\n\n=ZZ=\n",
		"Content-Type: text/html\n\n<a href=http://x>y</a><script>",
		"Content-Type: message/rfc822\n\nSubject: inner\n\ntext",
		"Subject: =?utf-8?b?!!?=\n\n\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := Parse(raw)
		if !utf8.ValidString(m.Subject) {
			t.Errorf("subject is not UTF-8: %q", m.Subject)
		}
		if !utf8.ValidString(m.Body) {
			t.Errorf("body is not UTF-8: %q", m.Body)
		}
	})
}
