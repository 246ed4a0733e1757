package twittertest

import (
	"fmt"
	"strings"
)

// query is a parsed search query: the fake understands the subset of X's
// query language that the connector speaks, conversation_id:ID terms OR-ed
// together, optionally in parentheses, and refuses anything else with the
// 400 a real malformed query gets.
type query struct {
	conversations map[string]bool
	to            map[string]bool // to:ID or to:username: replies to that user
}

// matches reports whether t matches q; username is the name of the user t
// replies to.
func (q query) matches(t *Tweet, username string) bool {
	return q.conversations[t.ConversationID] || t.InReplyToUserID != "" && (q.to[t.InReplyToUserID] || username != "" && q.to[strings.ToLower(username)])
}

// parseQuery parses q: term (OR term)*, where a term is conversation_id:DIGITS
// or a parenthesised group of the same shape.
func parseQuery(q string, maxLen int) (query, error) {
	if strings.TrimSpace(q) == "" {
		return query{}, fmt.Errorf("query must not be empty")
	}
	if n := len([]rune(q)); n > maxLen {
		return query{}, fmt.Errorf("query is %d characters long; the maximum is %d", n, maxLen)
	}
	p := &parser{toks: tokenize(q)}
	out := query{conversations: map[string]bool{}, to: map[string]bool{}}
	if err := p.expr(out, 0); err != nil {
		return query{}, err
	}
	if p.pos != len(p.toks) {
		return query{}, fmt.Errorf("unexpected %q at token %d", p.toks[p.pos], p.pos+1)
	}
	return out, nil
}

func tokenize(q string) []string {
	var toks []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for _, r := range q {
		switch r {
		case ' ', '\t', '\n', '\r':
			flush()
		case '(', ')':
			flush()
			toks = append(toks, string(r))
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return toks
}

type parser struct {
	toks []string
	pos  int
}

func (p *parser) expr(into query, depth int) error {
	if depth > 10 {
		return fmt.Errorf("too many nested parentheses")
	}
	for {
		if err := p.term(into, depth); err != nil {
			return err
		}
		if p.pos < len(p.toks) && p.toks[p.pos] == "OR" {
			p.pos++
			if p.pos == len(p.toks) {
				return fmt.Errorf("ambiguous use of OR: nothing follows it")
			}
			continue
		}
		return nil
	}
}

func (p *parser) term(into query, depth int) error {
	if p.pos == len(p.toks) {
		return fmt.Errorf("a term is missing at the end of the query")
	}
	tok := p.toks[p.pos]
	switch {
	case tok == "(":
		p.pos++
		if err := p.expr(into, depth+1); err != nil {
			return err
		}
		if p.pos == len(p.toks) || p.toks[p.pos] != ")" {
			return fmt.Errorf("missing closing parenthesis")
		}
		p.pos++
		return nil
	case tok == "OR":
		return fmt.Errorf("ambiguous use of OR at token %d", p.pos+1)
	case tok == ")":
		return fmt.Errorf("unbalanced parenthesis at token %d", p.pos+1)
	}
	op, val, ok := strings.Cut(tok, ":")
	if !ok {
		return fmt.Errorf("the fake supports only conversation_id: and to: terms, got keyword %q", tok)
	}
	switch op {
	case "conversation_id":
		if !isID(val) {
			return fmt.Errorf("invalid value %q for conversation_id: must be a tweet id (digits)", val)
		}
		into.conversations[val] = true
	case "to":
		if val == "" || len(val) > 19 || strings.ContainsAny(val, "@\"") {
			return fmt.Errorf("invalid value %q for to: must be a user id or a username without @", val)
		}
		into.to[strings.ToLower(val)] = true
	default:
		return fmt.Errorf("the fake does not support the operator %q", op+":")
	}
	p.pos++
	return nil
}

// isID reports whether s is a tweet or user id: 1 to 19 digits.
func isID(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
