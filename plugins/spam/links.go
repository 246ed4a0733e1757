package main

import (
	"fmt"
	"net"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/moderatorbot/moderator/sdk"
)

// link is one URL found in a comment.
type link struct {
	Start, End int    // byte offsets into the original text
	Host       string // lower case, without port or trailing dot
}

// bareTLDs are the top-level domains for which a host written without
// http:// or www. ("bit.ly/x", "cheap-pills.xyz") still counts as a link.
// Spam writes links that way to dodge linkifiers; the list is kept short so
// "Node.js" or "e.g." never count.
var bareTLDs = map[string]bool{
	"com": true, "net": true, "org": true, "info": true, "biz": true, "io": true, "co": true,
	"me": true, "ly": true, "gl": true, "gd": true, "cc": true, "tv": true, "to": true,
	"ws": true, "xyz": true, "top": true, "site": true, "online": true, "club": true,
	"shop": true, "store": true, "app": true, "link": true, "click": true, "live": true,
	"icu": true, "buzz": true, "ru": true, "cn": true, "tk": true, "ml": true, "ga": true,
	"cf": true, "gq": true, "pw": true, "su": true, "uk": true, "us": true, "de": true,
	"eu": true, "ee": true, "bio": true, "ai": true, "at": true, "be": true, "id": true,
}

// findLinks returns every link in text, in order: URLs with a scheme
// (http, https), URLs starting with www., and bare host names under a
// common top-level domain, or any host known says it knows (a blocked
// domain is a link however it ends), with or without a path. Links written
// defanged, so that nothing makes them clickable and filters miss them
// ("spam[.]example", "site(dot)com", "hxxps://"), count as written
// plainly; their spans cover what was written.
func findLinks(text string, known func(host string) bool) []link {
	if clean, off := undefang(text); off != nil {
		links := scanLinks(clean, known)
		for i := range links {
			links[i].Start, links[i].End = off[links[i].Start], off[links[i].End]
		}
		return links
	}
	return scanLinks(text, known)
}

// defangs are the ways of writing a dot that keep a host from being a
// link, lower case.
var defangs = []string{"[.]", "(.)", "{.}", "[dot]", "(dot)", "{dot}"}

// undefang rewrites defanged dots as dots and "hxxp" as "http". It returns
// nil when there was nothing to rewrite, and otherwise, for every byte of
// the rewritten text and one past its end, the offset in text it came from.
func undefang(text string) (string, []int) {
	if !strings.ContainsAny(text, "[({xX") {
		return text, nil
	}
	lower := strings.ToLower(text)
	var b strings.Builder
	var off []int
	changed := false
	for i := 0; i < len(text); {
		from, n, to := i, 1, text[i:i+1]
		for _, d := range defangs {
			if strings.HasPrefix(lower[i:], d) && i > 0 && isHostByte(text[i-1]) && i+len(d) < len(text) && isHostByte(text[i+len(d)]) {
				n, to = len(d), "."
				break
			}
		}
		if n == 1 && strings.HasPrefix(lower[i:], "hxxp") && (i == 0 || !isHostByte(text[i-1])) {
			n, to = 4, "http"
		}
		if n > 1 {
			changed = true
		}
		b.WriteString(to)
		for range to {
			off = append(off, from)
		}
		i += n
	}
	if !changed {
		return text, nil
	}
	return b.String(), append(off, len(text))
}

// isHostByte reports whether c may be part of a host name.
func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

// scanLinks is findLinks on text with plain dots.
func scanLinks(text string, known func(host string) bool) []link {
	var out []link
	for i := 0; i < len(text); {
		if !linkCanStart(text, i) {
			_, size := utf8.DecodeRuneInString(text[i:])
			i += size
			continue
		}
		if l, ok := linkAt(text, i, known); ok {
			out = append(out, l)
			i = l.End
			continue
		}
		i++
	}
	return out
}

// linkCanStart: a link starts at an ASCII letter or digit that does not
// continue a word, an e-mail address or a host name.
func linkCanStart(text string, i int) bool {
	c := text[i]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
		return false
	}
	if i == 0 {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '@' || r == '.' || r == '-' || r == '_' || r == '/')
}

func linkAt(text string, i int, known func(host string) bool) (link, bool) {
	rest := text[i:]
	lower := strings.ToLower(rest[:min(len(rest), 8)])
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		n := urlEnd(rest)
		schemeLen := strings.Index(rest, "//") + 2
		host := hostOf(rest[schemeLen:n])
		if host == "" {
			return link{}, false
		}
		return link{Start: i, End: i + n, Host: host}, true
	case strings.HasPrefix(lower, "www."):
		n := urlEnd(rest)
		host := hostOf(rest[:n])
		if !strings.Contains(strings.TrimPrefix(host, "www."), ".") {
			return link{}, false
		}
		return link{Start: i, End: i + n, Host: host}, true
	}
	// A bare host: labels of letters, digits and hyphens joined by dots.
	n := 0
	for n < len(rest) {
		c := rest[n]
		if isHostByte(c) || c == '.' {
			n++
			continue
		}
		break
	}
	hostText := strings.TrimRight(rest[:n], ".-")
	n = len(hostText)
	if n < len(rest) && (rest[n] == '@' || rest[n] == '_') {
		return link{}, false // the local part of an e-mail address
	}
	dot := strings.LastIndexByte(hostText, '.')
	if dot <= 0 || strings.Contains(hostText, "..") {
		return link{}, false
	}
	tld := strings.ToLower(hostText[dot+1:])
	if known != nil && known(strings.ToLower(hostText)) {
		// A domain the config names: a link whatever its TLD or case.
	} else if !bareTLDs[tld] || hostText == strings.ToUpper(hostText) && (n >= len(rest) || rest[n] != '/') {
		// An unknown TLD, or an all-capitals word pair such as "ASP.NET".
		return link{}, false
	}
	if n < len(rest) && rest[n] == '/' {
		n = urlEnd(rest)
	}
	return link{Start: i, End: i + n, Host: strings.ToLower(hostText)}, true
}

// urlEnd is the length of the URL at the start of s: up to white space, a
// quote or an angle bracket, less trailing punctuation that ends a sentence.
func urlEnd(s string) int {
	n := strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '"' || r == '<' || r == '>' || r == '\'' || r == '`' || r == utf8.RuneError || r < 0x20
	})
	if n < 0 {
		n = len(s)
	}
	for n > 0 && strings.ContainsRune(".,;:!?)]}*", rune(s[n-1])) {
		n--
	}
	return n
}

// hostOf extracts the host from "user@host:port/path?query#frag".
func hostOf(s string) string {
	if i := strings.IndexAny(s, "/?#\\"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	s = strings.Trim(strings.ToLower(s), ".[]")
	return s
}

// Link evidence, in log-odds. A blocked domain is the operator's own word
// and settles the matter; the others are hints that need company.
const (
	wBlocked      = 8.0
	wAnyLink      = 0.5
	wShortener    = 1.5
	wShortenerMax = 2.5
	wIPHost       = 1.5
	wLinkFlood    = 2.0
	wLinkFloodMax = 3.5
	wordsPerLink  = 40
)

// linkSignal weighs the links of a comment of the given number of words
// against the config.
// A link flood is more than max_links links at a density of more than one
// link per wordsPerLink words: a long article that cites five sources is
// not a flood, a short comment that is mostly links is.
func (s *state) linkSignal(text string, words int) (evidence, bool) {
	links := findLinks(text, func(host string) bool {
		return s.blocked.match(host) != "" || s.shorteners.match(host) != "" || s.allowed.match(host) != ""
	})
	var counted []link
	blocked := map[string]int{}
	var shortened, ipHosts []link
	for _, l := range links {
		if s.allowed.match(l.Host) != "" {
			continue
		}
		counted = append(counted, l)
		switch {
		case s.blocked.match(l.Host) != "":
			blocked[s.blocked.match(l.Host)]++
		case s.shorteners.match(l.Host) != "":
			shortened = append(shortened, l)
		case net.ParseIP(l.Host) != nil:
			ipHosts = append(ipHosts, l)
		}
	}
	if len(counted) == 0 {
		return evidence{}, false
	}
	ev := evidence{label: labelLinks, weight: wAnyLink}
	var reasons []string
	if len(blocked) > 0 {
		n := 0
		var names []string
		for d, k := range blocked {
			n += k
			names = append(names, d)
		}
		ev.weight += wBlocked
		reasons = append(reasons, fmt.Sprintf("%s to blocked domain %s", plural(n, "link"), strings.Join(sortedUnique(names), ", ")))
	}
	if len(shortened) > 0 {
		ev.weight += min(wShortener+0.5*float64(len(shortened)-1), wShortenerMax)
		var hosts []string
		for _, l := range shortened {
			hosts = append(hosts, l.Host)
		}
		reasons = append(reasons, fmt.Sprintf("%s through URL shortener %s", plural(len(shortened), "link"), strings.Join(sortedUnique(hosts), ", ")))
	}
	if len(ipHosts) > 0 {
		ev.weight += wIPHost
		reasons = append(reasons, fmt.Sprintf("%s to a bare IP address (%s)", plural(len(ipHosts), "link"), ipHosts[0].Host))
	}
	if extra := len(counted) - s.cfg.MaxLinks; extra > 0 && words < wordsPerLink*len(counted) {
		ev.weight += min(wLinkFlood+0.5*float64(extra-1), wLinkFloodMax)
		reasons = append(reasons, fmt.Sprintf("%s in %s (more than %d)", plural(len(counted), "link"), plural(words, "word"), s.cfg.MaxLinks))
	}
	if len(reasons) == 0 {
		reasons = append(reasons, fmt.Sprintf("%s (%s)", plural(len(counted), "link"), counted[0].Host))
	}
	ev.reason = strings.Join(reasons, "; ")
	for _, l := range counted {
		ev.spans = append(ev.spans, sdk.Span{Start: l.Start, End: l.End})
	}
	return ev, true
}

// plural writes "1 link", "3 links".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
