package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/moderatorbot/moderator/sdk"
)

// Mapping names, as written in `mapping = "..."`.
const (
	mappingModerator   = "moderator"
	mappingPerspective = "perspective"
	mappingOpenAI      = "openai"
	mappingHuggingFace = "huggingface"
)

// mapping is a service's request and response shapes.
type mapping interface {
	// service names the service in reasons ("Perspective").
	service() string
	// defaultBatch is the batch size when batch_size is not set; maxBatch
	// is the most the service takes (0: no limit of its own).
	defaultBatch() int
	maxBatch() int
	// defaultLabels maps the service's usual label names onto the
	// vocabulary; config.Labels is merged over it.
	defaultLabels() map[string]string
	// strict: a label name neither in the table nor in the vocabulary is an
	// error for its comment. Services with an open-ended set of names
	// (yours, a model's) are strict, so a name nobody mapped cannot
	// silently approve a comment; a service with a fixed list of
	// categories that grows over time (OpenAI) is not.
	strict() bool
	// encode builds the request body for a batch.
	encode(s *settings, comments []sdk.Comment) ([]byte, error)
	// decode reads the answer for a batch: one remoteResult per comment, in
	// order, or an error when the answer as a whole cannot be trusted.
	decode(s *settings, comments []sdk.Comment, body []byte) ([]remoteResult, error)
}

var mappings = map[string]mapping{
	mappingModerator:   moderatorMapping{},
	mappingPerspective: perspectiveMapping{},
	mappingOpenAI:      openAIMapping{},
	mappingHuggingFace: huggingFaceMapping{},
}

// remoteResult is the service's answer for one comment, in its own terms.
type remoteResult struct {
	labels []remoteLabel
	// err: the service could not score this comment, or what it said about
	// it is unusable.
	err string
}

type remoteLabel struct {
	name   string
	score  float64
	spans  []sdk.Span
	reason string
}

// maxReasonBytes bounds a reason taken from the service.
const maxReasonBytes = 500

// translate turns a remote result into the comment's sdk.Result: names
// mapped onto the vocabulary, scores and spans checked against the text,
// labels under min_score dropped, and for each vocabulary label the
// highest-scored remote label that maps to it. Any unusable label makes the
// whole comment an error, not a partial answer that could approve it.
func translate(s *settings, m mapping, c *sdk.Comment, rr remoteResult) sdk.Result {
	res := sdk.Result{CommentID: c.ID}
	if rr.err != "" {
		res.Err = rr.err
		return res
	}
	best := map[string]sdk.Label{}
	var bounds []bool
	for _, l := range rr.labels {
		if math.IsNaN(l.score) || l.score < 0 || l.score > 1 {
			res.Err = fmt.Sprintf("%s gave label %q the score %v, outside [0,1]", m.service(), l.name, l.score)
			return res
		}
		for _, sp := range l.spans {
			if sp.Start < 0 || sp.End < sp.Start || sp.End > len(c.Text) {
				res.Err = fmt.Sprintf("%s gave label %q the span [%d,%d), outside the text (%d bytes)", m.service(), l.name, sp.Start, sp.End, len(c.Text))
				return res
			}
			if bounds == nil {
				bounds = runeBoundaries(c.Text)
			}
			if !bounds[sp.Start] || !bounds[sp.End] {
				res.Err = fmt.Sprintf("%s gave label %q the span [%d,%d), which splits a UTF-8 character: spans are byte offsets, not character offsets", m.service(), l.name, sp.Start, sp.End)
				return res
			}
		}
		to, ok := s.labels[l.name]
		if !ok {
			switch {
			case slices.Contains(sdk.Labels, l.name):
				to = l.name
			case m.strict():
				res.Err = fmt.Sprintf("%s answered label %q, which is not in moderator's vocabulary; map it in the labels table (\"\" to ignore it)", m.service(), l.name)
				return res
			default:
				continue
			}
		}
		if to == "" || l.score < s.MinScore {
			continue
		}
		reason := strings.TrimSpace(l.reason)
		if reason == "" {
			reason = fmt.Sprintf("%s scored %s %.2f", m.service(), l.name, l.score)
		}
		if prev, ok := best[to]; !ok || l.score > prev.Score {
			best[to] = sdk.Label{Name: to, Score: l.score, Spans: l.spans, Reason: truncate(reason, maxReasonBytes)}
		}
	}
	// In vocabulary order, so equal answers give equal results.
	for _, name := range sdk.Labels {
		if l, ok := best[name]; ok {
			res.Labels = append(res.Labels, l)
		}
	}
	return res
}

// runeBoundaries marks the offsets a span may start or end at: where a range
// loop over s stops, and len(s).
func runeBoundaries(s string) []bool {
	b := make([]bool, len(s)+1)
	for i := range s {
		b[i] = true
	}
	b[len(s)] = true
	return b
}

// truncate cuts s to at most n bytes on a character boundary, marking the cut.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// decodeJSON unmarshals an answer, turning encoding/json's errors into
// messages that say what was wrong with the answer.
func decodeJSON(service string, body []byte, v any) error {
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return fmt.Errorf("%s answered with an empty body, not JSON", service)
	case errors.As(err, &syn): // truncated answers too

		return fmt.Errorf("%s answered something that is not JSON (%v): %q", service, err, snippet(body))
	case errors.As(err, &typ):
		where := typ.Field
		if where == "" {
			where = "the answer"
		}
		return fmt.Errorf("%s answered JSON of the wrong shape: %s is %s, want %s", service, where, typ.Value, jsonKind(typ.Type.Kind().String()))
	}
	return fmt.Errorf("%s answered JSON that cannot be read: %v", service, err)
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "a number"
	case k == "slice", k == "array":
		return "a list"
	case k == "map", k == "struct":
		return "an object"
	case k == "string":
		return "a string"
	case k == "bool":
		return "true or false"
	}
	return "a " + k
}

// moderatorMapping is moderator's own schema (README, "The moderator
// schema"): every comment's id, text, author, post and language go out;
// per comment, labels with score, spans and reason come back, matched by id.
type moderatorMapping struct{}

type modRequest struct {
	Comments []modComment `json:"comments"`
}

type modComment struct {
	ID       string `json:"id"`
	Text     string `json:"text"`
	AuthorID string `json:"author_id"`
	PostID   string `json:"post_id"`
	Lang     string `json:"lang"`
}

type modResponse struct {
	Results *[]modResult `json:"results"`
}

type modResult struct {
	ID     *string    `json:"id"`
	Labels []modLabel `json:"labels"`
	Error  string     `json:"error"`
}

type modLabel struct {
	Name   string      `json:"name"`
	Score  *float64    `json:"score"`
	Spans  [][]float64 `json:"spans"`
	Reason string      `json:"reason"`
}

func (moderatorMapping) service() string                  { return "the service" }
func (moderatorMapping) defaultBatch() int                { return 32 }
func (moderatorMapping) maxBatch() int                    { return 0 }
func (moderatorMapping) defaultLabels() map[string]string { return nil }
func (moderatorMapping) strict() bool                     { return true }

func (moderatorMapping) encode(_ *settings, comments []sdk.Comment) ([]byte, error) {
	req := modRequest{Comments: make([]modComment, len(comments))}
	for i, c := range comments {
		req.Comments[i] = modComment{ID: c.ID, Text: c.Text, AuthorID: c.AuthorID, PostID: c.PostID, Lang: c.Lang}
	}
	return json.Marshal(req)
}

func (m moderatorMapping) decode(_ *settings, comments []sdk.Comment, body []byte) ([]remoteResult, error) {
	var resp modResponse
	if err := decodeJSON(m.service(), body, &resp); err != nil {
		return nil, err
	}
	if resp.Results == nil {
		return nil, fmt.Errorf(`the service's answer has no "results" list: %q`, snippet(body))
	}
	results := *resp.Results
	if len(results) != len(comments) {
		return nil, fmt.Errorf("the service answered %d results for %d comments", len(results), len(comments))
	}
	// Match by id, in any order; a batch may hold one id twice (an edited
	// comment and its new version), whose results then go in order.
	pending := map[string][]int{}
	for i := range comments {
		pending[comments[i].ID] = append(pending[comments[i].ID], i)
	}
	out := make([]remoteResult, len(comments))
	for ri, r := range results {
		if r.ID == nil {
			return nil, fmt.Errorf("the service's result %d has no id", ri)
		}
		slots, known := pending[*r.ID]
		switch {
		case !known:
			return nil, fmt.Errorf("the service's result %d is for id %q, which is not in the request", ri, *r.ID)
		case len(slots) == 0:
			return nil, fmt.Errorf("the service answered twice for id %q", *r.ID)
		}
		i := slots[0]
		pending[*r.ID] = slots[1:]
		out[i] = modRemoteResult(m.service(), r)
	}
	return out, nil
}

// modRemoteResult checks what can be checked without the text.
func modRemoteResult(service string, r modResult) remoteResult {
	if r.Error != "" {
		return remoteResult{err: fmt.Sprintf("%s could not score it: %s", service, truncate(r.Error, maxReasonBytes))}
	}
	rr := remoteResult{labels: make([]remoteLabel, 0, len(r.Labels))}
	for li, l := range r.Labels {
		switch {
		case l.Name == "":
			return remoteResult{err: fmt.Sprintf("%s answered a label with no name (label %d)", service, li)}
		case l.Score == nil:
			return remoteResult{err: fmt.Sprintf("%s answered label %q with no score", service, l.Name)}
		}
		rl := remoteLabel{name: l.Name, score: *l.Score, reason: l.Reason}
		for _, sp := range l.Spans {
			if len(sp) != 2 || sp[0] != math.Trunc(sp[0]) || sp[1] != math.Trunc(sp[1]) || math.Abs(sp[0]) > 1<<40 || math.Abs(sp[1]) > 1<<40 {
				return remoteResult{err: fmt.Sprintf("%s answered label %q with the span %v; a span is [start, end], two whole byte offsets", service, l.Name, sp)}
			}
			rl.spans = append(rl.spans, sdk.Span{Start: int(sp[0]), End: int(sp[1])})
		}
		rr.labels = append(rr.labels, rl)
	}
	return rr
}
