package main

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Item field bits, to refuse a key given twice (json.Unmarshal would keep
// the last one; the slow path does that).
const (
	fieldID = 1 << iota
	fieldPostID
	fieldAuthorID
	fieldAuthorHandle
	fieldText
	fieldVersion
	fieldCreatedAt
	fieldURL
)

// fastItem reads a comment item written the way the platform writes it:
// one JSON object without whitespace, only wireComment's keys, each once,
// and a version that is a small non-negative integer. It saves a poll the
// reflection and the validity pass of json.Unmarshal on every item. It
// reports false on anything else, with w in any state: json.Unmarshal then
// decides. When it reports true, w holds what json.Unmarshal would have put
// in a zero wireComment (FuzzFastItem holds it to that).
func fastItem(raw []byte, w *wireComment) bool {
	// One allocation for every field: they are substrings of it.
	all := string(raw)
	end, ok := fastObject(all, 0, w)
	return ok && end == len(all)
}

// fastObject reads an item as fastItem does, starting at s[i]; end is just
// past its closing brace.
func fastObject(all string, i int, w *wireComment) (end int, ok bool) {
	if i+1 >= len(all) || all[i] != '{' {
		return 0, false
	}
	i++
	if all[i] == '}' {
		return i + 1, true
	}
	var seen int
	for {
		key, j, ok := fastKey(all, i)
		if !ok || j >= len(all) || all[j] != ':' {
			return 0, false
		}
		i = j + 1
		var bit int
		var dst *string
		switch key {
		case "id":
			bit, dst = fieldID, &w.ID
		case "post_id":
			bit, dst = fieldPostID, &w.PostID
		case "author_id":
			bit, dst = fieldAuthorID, &w.AuthorID
		case "author_handle":
			bit, dst = fieldAuthorHandle, &w.AuthorHandle
		case "text":
			bit = fieldText
		case "version":
			bit = fieldVersion
		case "created_at":
			bit, dst = fieldCreatedAt, &w.CreatedAt
		case "url":
			bit, dst = fieldURL, &w.URL
		default:
			return 0, false
		}
		if seen&bit != 0 {
			return 0, false
		}
		seen |= bit
		if bit == fieldVersion {
			j = i
			for j < len(all) && all[j] >= '0' && all[j] <= '9' {
				j++
			}
			n := j - i
			if n == 0 || n > 9 || n > 1 && all[i] == '0' {
				return 0, false
			}
			w.Version, _ = strconv.Atoi(all[i:j]) // at most 9 digits: fits
		} else {
			v, j2, ok := fastString(all, i)
			if !ok {
				return 0, false
			}
			j = j2
			if bit == fieldText {
				text := v // only the text escapes to the heap
				w.Text = &text
			} else {
				*dst = v
			}
		}
		i = j
		if i >= len(all) {
			return 0, false
		}
		switch all[i] {
		case ',':
			i++
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// pageStart is how the platform begins every comments page.
const pageStart = `{"data":[`

// fastPage decodes a comments page written the way the platform writes it:
// pageStart, items fastObject reads separated by commas, then the rest of the
// object, which json decodes as usual. Items are read in place: each one's
// Raw is part of body, and its fields substrings of one copy of it. It
// reports false on anything else (a malformed item, whitespace, another key
// order), and decodePage's general path decides; when it reports true, the
// page is what that path gives, with items[i] what json.Unmarshal makes of
// Data[i] (FuzzFastPage holds it to that).
func fastPage(body []byte) (commentsPage, bool) {
	all := string(body)
	if len(all) < len(pageStart) || all[:len(pageStart)] != pageStart {
		return commentsPage{}, false
	}
	i := len(pageStart)
	var p commentsPage
	for {
		if i >= len(all) {
			return commentsPage{}, false
		}
		if all[i] == ']' && len(p.items) == 0 {
			break
		}
		var w wireComment
		end, ok := fastObject(all, i, &w)
		if !ok || end >= len(all) {
			return commentsPage{}, false
		}
		p.Data = append(p.Data, json.RawMessage(body[i:end:end]))
		p.items = append(p.items, w)
		i = end
		if all[i] == ']' {
			break
		}
		if all[i] != ',' {
			return commentsPage{}, false
		}
		i++
	}
	if p.Data == nil {
		p.Data = []json.RawMessage{}
	}
	// What follows the items is the rest of the object: decoded the general
	// way, as an object of its own, which must not name data again.
	i++
	var rest []byte
	switch {
	case i < len(all) && all[i] == '}':
		rest = append([]byte("{"), body[i:]...)
	case i+1 < len(all) && all[i] == ',' && all[i+1] == '"':
		rest = append([]byte("{"), body[i+1:]...)
	default:
		return commentsPage{}, false
	}
	var tail struct {
		Data   json.RawMessage `json:"data"`
		Meta   pageMeta        `json:"meta"`
		Errors []pageError     `json:"errors"`
	}
	if err := decodeWhole(rest, &tail); err != nil || tail.Data != nil {
		return commentsPage{}, false
	}
	p.Meta, p.Errors = tail.Meta, tail.Errors
	return p, true
}

// fastKey reads an object key at s[i:] that is plain ASCII without escapes
// (every key json.Unmarshal matches exactly); j is just past its quote.
func fastKey(s string, i int) (key string, j int, ok bool) {
	if i >= len(s) || s[i] != '"' {
		return "", 0, false
	}
	for j = i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return s[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return "", 0, false
		}
	}
	return "", 0, false
}

// fastString reads the JSON string at s[i:]; j is just past its closing
// quote. A string that needs more than copying (escapes, or bytes that are
// not UTF-8, which json.Unmarshal replaces) is decoded by json.Unmarshal,
// which is then what decides, so that the result is always its own.
func fastString(s string, i int) (v string, j int, ok bool) {
	if i >= len(s) || s[i] != '"' {
		return "", 0, false
	}
	plain, ascii := true, true
	for j = i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			v = s[i+1 : j]
			if !plain || !ascii && !utf8.ValidString(v) {
				var u string
				if json.Unmarshal([]byte(s[i:j+1]), &u) != nil {
					return "", 0, false
				}
				v = u
			}
			return v, j + 1, true
		case c == '\\':
			plain = false
			j++ // whatever it escapes, it does not end the string
		case c < 0x20:
			return "", 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", 0, false
}
