package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/moderatorbot/moderator/sdk"
)

// perspectiveMapping speaks Google's Perspective API
// (POST https://commentanalyzer.googleapis.com/v1alpha1/comments:analyze),
// which scores one comment per request. It asks for the attributes that the
// labels table maps onto the vocabulary, sets doNotStore so Google keeps no
// copy, and passes the comment's language when the platform gave one.
// Perspective's span scores are character offsets of a kind it does not
// document, so labels carry no spans.
type perspectiveMapping struct{}

type perspectiveRequest struct {
	Comment             perspectiveText     `json:"comment"`
	RequestedAttributes map[string]struct{} `json:"requestedAttributes"`
	Languages           []string            `json:"languages,omitempty"`
	DoNotStore          bool                `json:"doNotStore"`
}

type perspectiveText struct {
	Text string `json:"text"`
}

type perspectiveResponse struct {
	AttributeScores *map[string]struct {
		SummaryScore *struct {
			Value *float64 `json:"value"`
		} `json:"summaryScore"`
	} `json:"attributeScores"`
}

func (perspectiveMapping) service() string   { return "Perspective" }
func (perspectiveMapping) defaultBatch() int { return 1 }
func (perspectiveMapping) maxBatch() int     { return 1 }
func (perspectiveMapping) strict() bool      { return false }

// defaultLabels are Perspective's attributes that name a label of the
// vocabulary. TOXICITY and SEVERE_TOXICITY, its best-validated attributes,
// name none: map them yourself (say TOXICITY = "insult") if you want them.
func (perspectiveMapping) defaultLabels() map[string]string {
	return map[string]string{
		"INSULT":            sdk.LabelInsult,
		"PROFANITY":         sdk.LabelProfanity,
		"THREAT":            sdk.LabelThreat,
		"IDENTITY_ATTACK":   sdk.LabelIdentityAttack,
		"SEXUALLY_EXPLICIT": sdk.LabelSexual,
	}
}

// requested is the attributes to ask for: those mapped onto a label.
func (perspectiveMapping) requested(s *settings) []string {
	var attrs []string
	for _, name := range slices.Sorted(maps.Keys(s.labels)) {
		if s.labels[name] != "" {
			attrs = append(attrs, name)
		}
	}
	return attrs
}

func (m perspectiveMapping) encode(s *settings, comments []sdk.Comment) ([]byte, error) {
	if len(comments) != 1 {
		return nil, fmt.Errorf("perspective takes one comment per request, got %d", len(comments))
	}
	req := perspectiveRequest{
		Comment:             perspectiveText{Text: comments[0].Text},
		RequestedAttributes: map[string]struct{}{},
		DoNotStore:          true,
	}
	for _, a := range m.requested(s) {
		req.RequestedAttributes[a] = struct{}{}
	}
	if comments[0].Lang != "" {
		req.Languages = []string{comments[0].Lang}
	}
	return json.Marshal(req)
}

func (m perspectiveMapping) decode(s *settings, comments []sdk.Comment, body []byte) ([]remoteResult, error) {
	var resp perspectiveResponse
	if err := decodeJSON(m.service(), body, &resp); err != nil {
		return nil, err
	}
	if resp.AttributeScores == nil {
		return nil, fmt.Errorf(`Perspective's answer has no "attributeScores": %q`, snippet(body))
	}
	scores := *resp.AttributeScores
	var rr remoteResult
	for _, attr := range m.requested(s) {
		sc, ok := scores[attr]
		if !ok || sc.SummaryScore == nil || sc.SummaryScore.Value == nil {
			return []remoteResult{{err: fmt.Sprintf("Perspective did not score the requested attribute %s", attr)}}, nil
		}
		v := *sc.SummaryScore.Value
		rr.labels = append(rr.labels, remoteLabel{name: attr, score: v, reason: fmt.Sprintf("Perspective %s %.2f", attr, v)})
	}
	return []remoteResult{rr}, nil
}

// openAIMapping speaks OpenAI's moderation endpoint
// (POST https://api.openai.com/v1/moderations): texts in, per text a score
// for each of its categories, in input order.
type openAIMapping struct{}

// defaultOpenAIModel is the model asked for when `model` is not set.
const defaultOpenAIModel = "omni-moderation-latest"

type openAIRequest struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
}

type openAIResponse struct {
	Results *[]struct {
		Flagged        bool                `json:"flagged"`
		CategoryScores *map[string]float64 `json:"category_scores"`
	} `json:"results"`
}

func (openAIMapping) service() string   { return "OpenAI moderation" }
func (openAIMapping) defaultBatch() int { return 32 }
func (openAIMapping) maxBatch() int     { return 0 }

// strict is false: OpenAI adds categories now and then, and a new one must
// not fail every comment until the config names it.
func (openAIMapping) strict() bool { return false }

// defaultLabels places every category OpenAI documents; those with no
// counterpart in the vocabulary map to "" (ignored).
func (openAIMapping) defaultLabels() map[string]string {
	return map[string]string{
		"harassment":             sdk.LabelInsult,
		"harassment/threatening": sdk.LabelThreat,
		"hate":                   sdk.LabelIdentityAttack,
		"hate/threatening":       sdk.LabelIdentityAttack,
		"sexual":                 sdk.LabelSexual,
		"sexual/minors":          sdk.LabelSexual,
		"violence":               "",
		"violence/graphic":       "",
		"self-harm":              "",
		"self-harm/intent":       "",
		"self-harm/instructions": "",
		"illicit":                "",
		"illicit/violent":        "",
	}
}

func (openAIMapping) encode(s *settings, comments []sdk.Comment) ([]byte, error) {
	req := openAIRequest{Model: s.Model, Input: make([]string, len(comments))}
	for i, c := range comments {
		req.Input[i] = c.Text
	}
	return json.Marshal(req)
}

func (m openAIMapping) decode(_ *settings, comments []sdk.Comment, body []byte) ([]remoteResult, error) {
	var resp openAIResponse
	if err := decodeJSON(m.service(), body, &resp); err != nil {
		return nil, err
	}
	if resp.Results == nil {
		return nil, fmt.Errorf(`OpenAI moderation's answer has no "results" list: %q`, snippet(body))
	}
	results := *resp.Results
	if len(results) != len(comments) {
		return nil, fmt.Errorf("OpenAI moderation answered %d results for %d comments", len(results), len(comments))
	}
	out := make([]remoteResult, len(comments))
	for i, r := range results {
		if r.CategoryScores == nil {
			out[i].err = `OpenAI moderation's result has no "category_scores"`
			continue
		}
		for _, cat := range slices.Sorted(maps.Keys(*r.CategoryScores)) {
			v := (*r.CategoryScores)[cat]
			out[i].labels = append(out[i].labels, remoteLabel{name: cat, score: v, reason: fmt.Sprintf("OpenAI moderation: %s %.2f", cat, v)})
		}
	}
	return out, nil
}

// huggingFaceMapping speaks the text-classification task of Hugging Face
// Inference Endpoints and the serverless Inference API (and of
// text-embeddings-inference's /predict): {"inputs": [...]} in, per input a
// list of {label, score} out.
type huggingFaceMapping struct{}

type huggingFaceRequest struct {
	Inputs []string `json:"inputs"`
}

type huggingFaceScore struct {
	Label *string  `json:"label"`
	Score *float64 `json:"score"`
}

func (huggingFaceMapping) service() string   { return "the Hugging Face model" }
func (huggingFaceMapping) defaultBatch() int { return 32 }
func (huggingFaceMapping) maxBatch() int     { return 0 }
func (huggingFaceMapping) strict() bool      { return true }

// defaultLabels covers the Jigsaw toxicity models most used for moderation
// (unitary/toxic-bert, unitary/unbiased-toxic-roberta, martin-ha/toxic-comment-model
// use these names); the general toxicity scores name no label of the
// vocabulary and are ignored until mapped.
func (huggingFaceMapping) defaultLabels() map[string]string {
	return map[string]string{
		"toxic":             "",
		"toxicity":          "",
		"severe_toxic":      "",
		"severe_toxicity":   "",
		"non-toxic":         "",
		"obscene":           sdk.LabelProfanity,
		"insult":            sdk.LabelInsult,
		"threat":            sdk.LabelThreat,
		"identity_hate":     sdk.LabelIdentityAttack,
		"identity_attack":   sdk.LabelIdentityAttack,
		"sexual_explicit":   sdk.LabelSexual,
		"sexually_explicit": sdk.LabelSexual,
	}
}

func (huggingFaceMapping) encode(_ *settings, comments []sdk.Comment) ([]byte, error) {
	req := huggingFaceRequest{Inputs: make([]string, len(comments))}
	for i, c := range comments {
		req.Inputs[i] = c.Text
	}
	return json.Marshal(req)
}

func (m huggingFaceMapping) decode(_ *settings, comments []sdk.Comment, body []byte) ([]remoteResult, error) {
	var raw []json.RawMessage
	if err := decodeJSON(m.service(), body, &raw); err != nil {
		return nil, err
	}
	// Two shapes come back: a list per input ([[{..},{..}],[..]]), or, when
	// the endpoint returns only the top label, one object per input
	// ([{..},{..}]); a single input's full list may also come flat.
	var perInput [][]huggingFaceScore
	if len(raw) > 0 && firstByte(raw[0]) == '{' {
		var flat []huggingFaceScore
		if err := decodeJSON(m.service(), body, &flat); err != nil {
			return nil, err
		}
		switch {
		case len(comments) == 1:
			perInput = [][]huggingFaceScore{flat}
		case len(flat) == len(comments):
			for _, f := range flat {
				perInput = append(perInput, []huggingFaceScore{f})
			}
		default:
			return nil, fmt.Errorf("the Hugging Face model answered %d scores for %d comments", len(flat), len(comments))
		}
	} else if err := decodeJSON(m.service(), body, &perInput); err != nil {
		return nil, err
	}
	if len(perInput) != len(comments) {
		return nil, fmt.Errorf("the Hugging Face model answered %d results for %d comments", len(perInput), len(comments))
	}
	out := make([]remoteResult, len(comments))
	for i, scores := range perInput {
		for _, sc := range scores {
			if sc.Label == nil || *sc.Label == "" || sc.Score == nil {
				out[i] = remoteResult{err: `the Hugging Face model answered a score without "label" or "score"`}
				break
			}
			out[i].labels = append(out[i].labels, remoteLabel{
				name: *sc.Label, score: *sc.Score,
				reason: fmt.Sprintf("Hugging Face model: %s %.2f", *sc.Label, *sc.Score),
			})
		}
	}
	return out, nil
}

// firstByte is the first non-space byte of a JSON value.
func firstByte(v json.RawMessage) byte {
	for _, b := range v {
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return b
	}
	return 0
}
