// Package mailtext turns one raw e-mail (as stored in the SpamAssassin public
// corpus) into the text a person would read: the Subject and the decoded
// body, without the transport headers.
//
// It exists so the spam model can be trained on e-mail and still serve on
// comments: a comment has no Received chain, no Message-Id, no mailing-list
// footer, so a model that learned from those would score the mail server, not
// the words. The parser is deliberately forgiving (the corpus is full of
// malformed spam): it never fails, it decodes what it can and drops the rest.
package mailtext

import (
	"bytes"
	"encoding/base64"
	"html"
	"io"
	"mime"
	"mime/quotedprintable"
	"regexp"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds multipart nesting, so a hostile message cannot recurse forever.
const maxDepth = 8

// Message is what Parse keeps of an e-mail.
type Message struct {
	// Subject with mailing-list tags ("[ILUG]") and reply prefixes ("Re:")
	// removed: they name the channel, not the content.
	Subject string
	// Body is the readable text of every text part, HTML reduced to its text
	// and the URLs of its links, mailing-list footers removed.
	Body string
}

// Text is the subject and body as one text, the way the model sees a message.
func (m Message) Text() string {
	switch {
	case m.Subject == "":
		return m.Body
	case m.Body == "":
		return m.Subject
	}
	return m.Subject + "\n\n" + m.Body
}

// Parse reads one raw message. Every header but Subject, Content-Type and
// Content-Transfer-Encoding is dropped; see the package comment for why.
func Parse(raw []byte) Message { return parse(raw, 0) }

func parse(raw []byte, depth int) Message {
	raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	// An mbox "From " separator line comes before the headers.
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			raw = raw[i+1:]
		} else {
			raw = nil
		}
	}
	hdr, body := splitHeader(raw)
	var m Message
	m.Subject = cleanSubject(decodeHeader(hdr.get("subject")))
	var parts []string
	collect(hdr, body, depth, &parts)
	m.Body = stripFooters(strings.TrimSpace(strings.Join(parts, "\n\n")))
	return m
}

// header is a message's or a part's header fields, names lower-cased.
type header map[string]string

func (h header) get(name string) string { return h[name] }

// splitHeader parses the header block up to the first empty line, joining
// folded lines. A block that does not look like headers at all is body.
func splitHeader(raw []byte) (header, []byte) {
	h := header{}
	var head, body []byte
	if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		head, body = raw[:i], raw[i+2:]
	} else {
		head, body = raw, nil
	}
	if len(head) > 0 && !looksLikeHeader(head) {
		return h, raw
	}
	var name string
	var value strings.Builder
	flush := func() {
		if name != "" {
			if _, dup := h[name]; !dup {
				h[name] = strings.TrimSpace(value.String())
			}
		}
		name = ""
		value.Reset()
	}
	for _, line := range strings.Split(string(head), "\n") {
		if line != "" && (line[0] == ' ' || line[0] == '\t') {
			value.WriteByte(' ')
			value.WriteString(strings.TrimSpace(line))
			continue
		}
		flush()
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		name = strings.ToLower(k)
		value.WriteString(v)
	}
	flush()
	return h, body
}

// looksLikeHeader reports whether the first line of b is a header field.
func looksLikeHeader(b []byte) bool {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	k, _, ok := bytes.Cut(line, []byte(":"))
	return ok && len(k) > 0 && !bytes.ContainsAny(k, " \t")
}

var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return strings.NewReader(toUTF8(b, charset)), nil
}}

// decodeHeader decodes RFC 2047 encoded words ("=?iso-8859-1?q?...?="),
// keeping the raw value when they are malformed.
func decodeHeader(v string) string {
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		v = d
	}
	return strings.ToValidUTF8(v, "")
}

var (
	listTag     = regexp.MustCompile(`\[[^\]\n]{1,40}\]`)
	replyPrefix = regexp.MustCompile(`(?i)^\s*((re|fwd?|aw|sv)\s*(\[\d+\])?\s*:\s*)+`)
)

// cleanSubject drops mailing-list tags and reply prefixes: in this corpus
// they say which list a ham message came through (a leak of its source), and
// a comment never has them.
func cleanSubject(s string) string {
	for range 3 {
		s = listTag.ReplaceAllString(s, "")
		s = replyPrefix.ReplaceAllString(s, "")
	}
	return strings.Join(strings.Fields(s), " ")
}

// collect appends the readable text of one entity (the message or a part).
func collect(h header, body []byte, depth int, out *[]string) {
	if depth > maxDepth {
		return
	}
	mediaType, params, err := mime.ParseMediaType(h.get("content-type"))
	if err != nil || mediaType == "" {
		mediaType, params = "text/plain", map[string]string{}
		if ct := strings.ToLower(h.get("content-type")); strings.HasPrefix(ct, "text/html") {
			mediaType = "text/html"
		}
	}
	switch {
	case strings.HasPrefix(mediaType, "multipart/"):
		parts := splitMultipart(body, params["boundary"])
		if parts == nil {
			// No usable boundary: treat the whole thing as text.
			*out = append(*out, textOf("text/plain", decodeBody(body, h.get("content-transfer-encoding")), ""))
			return
		}
		if mediaType == "multipart/alternative" {
			parts = preferPlain(parts)
		}
		for _, p := range parts {
			ph, pb := splitHeader(p)
			if len(ph) == 0 {
				// A part with no header is text/plain by default (RFC 2046).
				ph = header{"content-type": "text/plain"}
				pb = bytes.TrimLeft(p, "\n")
			}
			collect(ph, pb, depth+1, out)
		}
	case mediaType == "message/rfc822":
		inner := parse(body, depth+1)
		*out = append(*out, inner.Text())
	case mediaType == "text/plain" || mediaType == "text/html" || mediaType == "text/enriched":
		dec := decodeBody(body, h.get("content-transfer-encoding"))
		if t := textOf(mediaType, dec, params["charset"]); strings.TrimSpace(t) != "" {
			*out = append(*out, t)
		}
	}
	// Anything else (images, signatures, attachments) has no text to read.
}

// preferPlain keeps the text/plain alternative when there is one, else all.
func preferPlain(parts [][]byte) [][]byte {
	for _, p := range parts {
		ph, _ := splitHeader(p)
		mt, _, _ := mime.ParseMediaType(ph.get("content-type"))
		if mt == "text/plain" || (len(ph) == 0 && len(bytes.TrimSpace(p)) > 0) {
			return [][]byte{p}
		}
	}
	return parts
}

// splitMultipart cuts body at its boundary lines; nil when the boundary is
// missing or never appears. Malformed ends (no closing boundary) are fine.
func splitMultipart(body []byte, boundary string) [][]byte {
	if boundary == "" {
		return nil
	}
	delim := []byte("--" + boundary)
	var parts [][]byte
	var cur []byte
	in := false
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i+1], body[i+1:]
		} else {
			body = nil
		}
		trimmed := bytes.TrimRight(line, " \t\n")
		if bytes.HasPrefix(trimmed, delim) {
			rest := trimmed[len(delim):]
			if len(rest) == 0 || bytes.Equal(rest, []byte("--")) {
				if in {
					parts = append(parts, cur)
				}
				cur, in = nil, len(rest) == 0
				if !in {
					break
				}
				continue
			}
		}
		if in {
			cur = append(cur, line...)
		}
	}
	if in && len(cur) > 0 {
		parts = append(parts, cur)
	}
	if len(parts) == 0 {
		return nil
	}
	return parts
}

// decodeBody undoes a Content-Transfer-Encoding, keeping whatever decoded
// before an error: half a message is better than none.
func decodeBody(body []byte, cte string) []byte {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		out, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		return out
	case "base64":
		clean := make([]byte, 0, len(body))
		for _, c := range body {
			if c == '+' || c == '/' || c == '=' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
				clean = append(clean, c)
			}
		}
		if i := bytes.IndexByte(clean, '='); i >= 0 {
			clean = clean[:i]
		}
		out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
		n, _ := base64.RawStdEncoding.Decode(out, clean[:len(clean)/4*4])
		return out[:n]
	}
	return body
}

// textOf converts a decoded part to UTF-8 text, reducing HTML to its text.
func textOf(mediaType string, b []byte, charset string) string {
	s := toUTF8(b, charset)
	if mediaType == "text/html" || mediaType == "text/plain" && looksLikeHTML(s) {
		s = HTMLText(s)
	}
	return s
}

// looksLikeHTML catches the many spam messages that send HTML as text/plain.
func looksLikeHTML(s string) bool {
	head := strings.ToLower(s[:min(len(s), 2048)])
	return strings.Contains(head, "<html") || strings.Contains(head, "<body") || strings.Count(head, "<br") > 3 || strings.Contains(head, "<p>") && strings.Contains(head, "</")
}

// toUTF8 decodes the Latin charsets that make up nearly all of the corpus;
// for any other charset the valid UTF-8 is kept and the rest dropped.
func toUTF8(b []byte, charset string) string {
	cs := strings.ToLower(strings.Trim(charset, `"' `))
	if utf8.Valid(b) {
		return string(b)
	}
	switch cs {
	case "", "us-ascii", "iso-8859-1", "iso-8859-15", "latin1", "windows-1252", "cp1252", "default":
		var sb strings.Builder
		sb.Grow(len(b))
		for _, c := range b {
			if c >= 0x80 && c < 0xa0 {
				sb.WriteRune(cp1252[c-0x80])
				continue
			}
			sb.WriteRune(rune(c))
		}
		return sb.String()
	}
	return strings.ToValidUTF8(string(b), " ")
}

// cp1252 maps windows-1252's 0x80..0x9f to Unicode (undefined ones to space).
var cp1252 = [32]rune{
	'€', ' ', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', ' ', 'Ž', ' ',
	' ', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', ' ', 'ž', 'Ÿ',
}

var (
	htmlDrop   = regexp.MustCompile(`(?is)<(script|style|head|title)\b.*?</(script|style|head|title)\s*>|<!--.*?-->`)
	htmlHref   = regexp.MustCompile(`(?i)\bhref\s*=\s*["']?([^"'\s>]+)`)
	htmlBreak  = regexp.MustCompile(`(?i)<\s*/?\s*(br|p|div|tr|li|h[1-6]|table|blockquote)\b[^>]*>`)
	htmlTag    = regexp.MustCompile(`(?s)<[^<>]{0,1000}>`)
	blankLines = regexp.MustCompile(`\n[ \t\p{Zs}]*(\n[ \t\p{Zs}]*)+`)
	spaces     = regexp.MustCompile(`[ \t\p{Zs}]+`)
)

// HTMLText reduces HTML to its readable text plus the URLs its links point
// to (kept because a link is often the only content of an HTML spam), with
// entities decoded.
func HTMLText(s string) string {
	s = htmlDrop.ReplaceAllString(s, " ")
	s = htmlHref.ReplaceAllStringFunc(s, func(m string) string {
		u := htmlHref.FindStringSubmatch(m)[1]
		if strings.HasPrefix(strings.ToLower(u), "http") {
			return "> " + u + " <"
		}
		return m
	})
	s = htmlBreak.ReplaceAllString(s, "\n")
	s = htmlTag.ReplaceAllString(s, " ")
	s = html.UnescapeString(s)
	s = spaces.ReplaceAllString(s, " ")
	s = blankLines.ReplaceAllString(s, "\n\n")
	return strings.TrimSpace(s)
}

// footers are where mailing-list software starts the text it appends to
// every message: a mailman rule line followed by "List-name mailing list",
// Yahoo! Groups' sponsor block, SourceForge's sponsor line, ILUG's trailer.
var footers = []*regexp.Regexp{
	regexp.MustCompile(`(?m)^_{16,}[ \t]*\n[^\n]{0,60}(mailing list|@lists\.|listinfo)`),
	regexp.MustCompile(`(?m)^-{3,} ?Yahoo! Groups Sponsor`),
	regexp.MustCompile(`(?m)^To unsubscribe from this group, send an email to:`),
	regexp.MustCompile(`(?m)^-{16,}[ \t]*\nThis sf\.net email is sponsored by`),
	regexp.MustCompile(`(?m)^Irish Linux Users' Group: ilug@linux\.ie`),
}

// footerWindow is how far from the end a footer may start.
const footerWindow = 3000

// stripFooters removes the footers mailing-list software appends. They name
// the list a message came through, not what its author wrote, and would let
// a model learn "came through this list" instead of "is spam".
func stripFooters(s string) string {
	for {
		from := max(len(s)-footerWindow, 0)
		cut := -1
		for _, re := range footers {
			if loc := re.FindStringIndex(s[from:]); loc != nil && (cut < 0 || from+loc[0] < cut) {
				cut = from + loc[0]
			}
		}
		if cut < 0 {
			return s
		}
		s = strings.TrimSpace(s[:cut])
	}
}
