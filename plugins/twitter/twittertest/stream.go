package twittertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Rule is a filtered-stream rule.
type Rule struct {
	ID    string `json:"id"`
	Value string `json:"value"`
	Tag   string `json:"tag,omitempty"`
	q     query
}

// streamConn is one open filtered stream.
type streamConn struct {
	out        chan []byte
	kill       chan struct{}
	killed     bool
	fields     map[string]bool
	expansions map[string]bool
}

// Rules returns the stream rules in effect.
func (s *Server) Rules() []Rule {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rules)
}

// Streams is how many filtered streams are connected.
func (s *Server) Streams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}

// DisconnectStreams sends every connected stream X's operational-disconnect
// error message and closes it, as X does when it restarts a stream server.
func (s *Server) DisconnectStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.streams {
		if !c.killed {
			c.killed = true
			close(c.kill)
		}
	}
}

// operationalDisconnect is X's message before it closes a stream.
var operationalDisconnect = []byte(`{"errors":[{"title":"operational-disconnect","disconnect_type":"OperationalDisconnect","detail":"This stream has been disconnected for operational reasons.","type":"https://api.twitter.com/2/problems/operational-disconnect"}]}`)

// publishLocked sends t to every stream with a matching rule.
func (s *Server) publishLocked(t *Tweet) {
	if len(s.streams) == 0 {
		return
	}
	var matched []map[string]string
	for _, r := range s.rules {
		if r.q.matches(t, s.users[t.InReplyToUserID].Username) {
			matched = append(matched, map[string]string{"id": r.ID, "tag": r.Tag})
		}
	}
	if len(matched) == 0 {
		return
	}
	for c := range s.streams {
		msg := map[string]any{"data": render(t, c.fields), "matching_rules": matched}
		if c.expansions["author_id"] {
			u := s.users[t.AuthorID]
			msg["includes"] = map[string]any{"users": []map[string]string{{"id": u.ID, "name": u.Name, "username": u.Username}}}
		}
		b, _ := json.Marshal(msg)
		select {
		case c.out <- b:
		default:
			// A consumer too slow to keep up is cut off, as on X.
			if !c.killed {
				c.killed = true
				close(c.kill)
			}
		}
	}
}

// streamEndpoint serves GET /2/tweets/search/stream unbuffered: faults
// (a status or a delay), app-only auth, the rate limit, then the stream.
func (s *Server) streamEndpoint() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fault := s.takeFault(EndpointStream)
		if fault.Delay > 0 {
			select {
			case <-time.After(fault.Delay):
			case <-r.Context().Done():
				s.record(r, 0)
				return
			}
		}
		if fault.Status != 0 {
			problem(w, fault.Status, http.StatusText(fault.Status), "Injected fault.", "about:blank")
			s.record(r, fault.Status)
			return
		}
		rec := &statusRecorder{ResponseWriter: w}
		s.serve(rec, r, EndpointStream, authAppOnly, nil, s.stream)
		s.record(r, rec.status)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	if !checkParams(w, q, []string{"backfill_minutes", "expansions", "tweet.fields", "user.fields", "media.fields", "place.fields", "poll.fields"}) {
		return
	}
	fields, ok := listParam(w, q, "tweet.fields", knownTweetFields)
	if !ok {
		return
	}
	expansions, ok := listParam(w, q, "expansions", knownExpansions)
	if !ok {
		return
	}
	if _, ok := listParam(w, q, "user.fields", knownUserFields); !ok {
		return
	}
	c := &streamConn{out: make(chan []byte, 1024), kill: make(chan struct{}), fields: fields, expansions: expansions}
	s.mu.Lock()
	if len(s.streams) > 0 {
		s.mu.Unlock()
		writeJSON(w, http.StatusTooManyRequests, map[string]any{
			"title": "ConnectionException", "detail": "This stream is currently at the maximum allowed connection limit.",
			"connection_issue": "TooManyConnections", "type": "https://api.twitter.com/2/problems/streaming-connection",
		})
		return
	}
	s.streams[c] = true
	keepAlive := s.opts.StreamKeepAlive
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.streams, c)
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	flush()
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			w.Write([]byte("\r\n"))
			flush()
		case msg := <-c.out:
			w.Write(append(msg, '\r', '\n'))
			flush()
		case <-c.kill:
			// X frees the connection slot when it ends the connection, so a
			// client that reconnects on reading the message must get in;
			// the deferred delete would run only after the client saw it.
			s.mu.Lock()
			delete(s.streams, c)
			s.mu.Unlock()
			w.Write(append(operationalDisconnect, '\r', '\n'))
			flush()
			return
		}
	}
}

func (s *Server) getRules(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	if !checkParams(w, q, []string{"ids", "max_results", "pagination_token"}) {
		return
	}
	s.mu.Lock()
	rules := slices.Clone(s.rules)
	s.mu.Unlock()
	out := map[string]any{"meta": map[string]any{"sent": s.opts.Now().UTC().Format(time.RFC3339Nano), "result_count": len(rules)}}
	if len(rules) > 0 {
		out["data"] = rules
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) postRules(w http.ResponseWriter, r *http.Request, body []byte) {
	q := r.URL.Query()
	if !checkParams(w, q, []string{"dry_run", "delete_all"}) {
		return
	}
	dry := q.Get("dry_run") == "true"
	var req struct {
		Add []struct {
			Value string `json:"value"`
			Tag   string `json:"tag"`
		} `json:"add"`
		Delete *struct {
			IDs    []string `json:"ids"`
			Values []string `json:"values"`
		} `json:"delete"`
	}
	if err := json.Unmarshal(body, &req); err != nil || (req.Add == nil) == (req.Delete == nil) {
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"errors": []map[string]string{{"message": "Request body must have exactly one of add or delete"}},
			"title":  "Invalid Request", "detail": "One or more parameters to your request was invalid.",
			"type": "https://api.twitter.com/2/problems/invalid-request",
		})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	meta := map[string]any{"sent": s.opts.Now().UTC().Format(time.RFC3339Nano)}
	out := map[string]any{"meta": meta}
	var errs []map[string]any
	if req.Delete != nil {
		deleted, notDeleted := 0, 0
		keep := s.rules[:0:0]
		for _, rule := range s.rules {
			if slices.Contains(req.Delete.IDs, rule.ID) || slices.Contains(req.Delete.Values, rule.Value) {
				deleted++
				if dry {
					keep = append(keep, rule)
				}
				continue
			}
			keep = append(keep, rule)
		}
		notDeleted = len(req.Delete.IDs) + len(req.Delete.Values) - deleted
		if !dry {
			s.rules = keep
		}
		meta["summary"] = map[string]int{"deleted": deleted, "not_deleted": notDeleted}
		writeJSON(w, http.StatusOK, out)
		return
	}
	var created []Rule
	invalid := 0
	for _, add := range req.Add {
		parsed, err := parseQuery(add.Value, s.opts.MaxQueryLength)
		dup := slices.ContainsFunc(s.rules, func(r Rule) bool { return r.Value == add.Value }) || slices.ContainsFunc(created, func(r Rule) bool { return r.Value == add.Value })
		switch {
		case err != nil:
			invalid++
			errs = append(errs, map[string]any{"value": add.Value, "details": []string{err.Error()}, "title": "UnprocessableEntity", "type": "https://api.twitter.com/2/problems/invalid-rules"})
		case dup:
			invalid++
			errs = append(errs, map[string]any{"value": add.Value, "id": s.ruleIDLocked(add.Value), "title": "DuplicateRule", "type": "https://api.twitter.com/2/problems/duplicate-rules"})
		case len(s.rules)+len(created) >= s.opts.MaxRules:
			invalid++
			errs = append(errs, map[string]any{"value": add.Value, "title": "RulesCapExceeded", "detail": fmt.Sprintf("Rule count exceeds the limit of %d.", s.opts.MaxRules), "type": "https://api.twitter.com/2/problems/rule-cap"})
		default:
			s.nextRuleID++
			created = append(created, Rule{ID: strconv.FormatUint(1900000000000000000+s.nextRuleID, 10), Value: add.Value, Tag: add.Tag, q: parsed})
		}
	}
	if !dry {
		s.rules = append(s.rules, created...)
	}
	if len(created) > 0 {
		out["data"] = created
	}
	if len(errs) > 0 {
		out["errors"] = errs
	}
	meta["summary"] = map[string]int{"created": len(created), "not_created": len(req.Add) - len(created), "valid": len(created), "invalid": invalid}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) ruleIDLocked(value string) string {
	for _, r := range s.rules {
		if r.Value == value {
			return r.ID
		}
	}
	return ""
}
