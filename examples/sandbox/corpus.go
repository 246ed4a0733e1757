package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
)

// corpusJSONL is what the sandbox's commenters say: clean, spam and abusive
// comments, each labelled with what a good moderator would find in it.
// corpus/SOURCE.md says where each comes from; TestCorpusIsDerived keeps it
// in step with those files.
//
//go:embed corpus/comments.jsonl
var corpusJSONL []byte

// sample is one comment text and the labels that are true of it (none: a
// clean comment), in the dataset format of `moderator eval`.
type sample struct {
	ID     string   `json:"id"`
	Text   string   `json:"text"`
	Labels []string `json:"labels"`
}

// clean reports whether nothing is wrong with the comment.
func (s sample) clean() bool { return len(s.Labels) == 0 }

func parseCorpus(data []byte) ([]sample, error) {
	var out []sample
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var s sample
		if err := json.Unmarshal(line, &s); err != nil {
			return nil, fmt.Errorf("corpus line %d: %w", i+1, err)
		}
		if s.ID == "" || s.Text == "" {
			return nil, fmt.Errorf("corpus line %d: id and text are required", i+1)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("corpus is empty")
	}
	return out, nil
}
