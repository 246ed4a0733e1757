package mediumtest

import (
	"net/http"
	"strings"
	"time"
)

// cdata wraps s in CDATA sections, as Medium writes every text in its feeds,
// splitting any "]]>" inside it.
func cdata(s string) string {
	return "<![CDATA[" + strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>") + "]]>"
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

// feed serves /feed/@user and /feed/{publication}: RSS 2.0 in Medium's
// shape, the newest FeedItems stories, newest first.
func (s *Server) feed(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := r.PathValue("name")
	var title, link, self string
	var keep func(*Article) bool
	if username, ok := strings.CutPrefix(name, "@"); ok {
		u, ok := s.users[username]
		if !ok {
			http.Error(w, "Not Found", http.StatusNotFound)
			return
		}
		title = "Stories by " + u.Name + " on Medium"
		link = PublicURL + "/@" + u.Username + "?source=rss-" + u.ID[:12] + "------2"
		self = PublicURL + "/@" + u.Username + "/feed"
		keep = func(a *Article) bool { return a.Author == username }
	} else {
		p, ok := s.pubs[name]
		if !ok {
			http.Error(w, "Not Found", http.StatusNotFound)
			return
		}
		title = p.Name + " - Medium"
		link = PublicURL + "/" + p.Slug + "?source=rss----" + p.ID + "---4"
		self = PublicURL + "/feed/" + p.Slug
		keep = func(a *Article) bool { return a.Publication == name }
	}
	items := s.newestFirst(keep)
	if len(items) > FeedItems {
		items = items[:FeedItems]
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:atom="http://www.w3.org/2005/Atom" version="2.0" xmlns:cc="http://cyber.law.harvard.edu/rss/creativeCommonsRssModule.html">`)
	b.WriteString(`<channel><title>` + cdata(title) + `</title><description>` + cdata("Latest stories on Medium") + `</description>`)
	b.WriteString(`<link>` + xmlEscaper.Replace(link) + `</link><generator>Medium</generator>`)
	b.WriteString(`<lastBuildDate>` + s.opts.Now().UTC().Format(http.TimeFormat) + `</lastBuildDate>`)
	b.WriteString(`<atom:link href="` + xmlEscaper.Replace(self) + `" rel="self" type="application/rss+xml"/>`)
	b.WriteString(`<webMaster>` + cdata("yourfriends@medium.com") + `</webMaster><atom:link href="http://medium.superfeedr.com" rel="hub"/>`)
	for _, a := range items {
		u := s.users[a.Author]
		b.WriteString(`<item><title>` + cdata(a.Title) + `</title>`)
		b.WriteString(`<link>` + xmlEscaper.Replace(articleURL(a)+"?source=rss-"+u.ID[:12]+"------2") + `</link>`)
		b.WriteString(`<guid isPermaLink="false">` + PublicURL + `/p/` + a.ID + `</guid>`)
		for _, c := range a.Categories {
			b.WriteString(`<category>` + cdata(c) + `</category>`)
		}
		b.WriteString(`<dc:creator>` + cdata(u.Name) + `</dc:creator>`)
		b.WriteString(`<pubDate>` + a.PublishedAt.UTC().Format(http.TimeFormat) + `</pubDate>`)
		b.WriteString(`<atom:updated>` + a.PublishedAt.UTC().Format(time.RFC3339Nano) + `</atom:updated>`)
		b.WriteString(`<content:encoded>` + cdata(a.Content) + `</content:encoded></item>`)
	}
	b.WriteString(`</channel></rss>`)
	w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
	w.Write([]byte(b.String()))
}
