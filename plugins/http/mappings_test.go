package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
)

// The request and answer examples of the README, one per mapping. The test
// checks that the plugin sends exactly the request and reads the answer
// into the labels the README says.
const (
	perspectiveRequestExample = `{"comment":{"text":"You are an idiot"},"requestedAttributes":{"IDENTITY_ATTACK":{},"INSULT":{},"PROFANITY":{},"SEXUALLY_EXPLICIT":{},"THREAT":{}},"languages":["en"],"doNotStore":true}`
	perspectiveAnswerExample  = `{
  "attributeScores": {
    "INSULT": {"spanScores": [{"begin": 0, "end": 16, "score": {"value": 0.91, "type": "PROBABILITY"}}],
               "summaryScore": {"value": 0.91, "type": "PROBABILITY"}},
    "PROFANITY": {"summaryScore": {"value": 0.32, "type": "PROBABILITY"}},
    "THREAT": {"summaryScore": {"value": 0.008, "type": "PROBABILITY"}},
    "IDENTITY_ATTACK": {"summaryScore": {"value": 0.05, "type": "PROBABILITY"}},
    "SEXUALLY_EXPLICIT": {"summaryScore": {"value": 0.02, "type": "PROBABILITY"}}
  },
  "languages": ["en"],
  "detectedLanguages": ["en"]
}`
	openAIRequestExample = `{"model":"omni-moderation-latest","input":["You are an idiot","I know where you live"]}`
	openAIAnswerExample  = `{
  "id": "modr-5558",
  "model": "omni-moderation-latest",
  "results": [
    {"flagged": true,
     "categories": {"harassment": true, "harassment/threatening": false, "hate": false, "violence": false},
     "category_scores": {"harassment": 0.93, "harassment/threatening": 0.02, "hate": 0.004, "violence": 0.03, "sexual": 0.0001}},
    {"flagged": true,
     "categories": {"harassment": true, "harassment/threatening": true, "violence": true},
     "category_scores": {"harassment": 0.41, "harassment/threatening": 0.77, "violence": 0.62, "some-new-category": 0.9}}
  ]
}`
	huggingFaceRequestExample = `{"inputs":["You are an idiot","Nice work"]}`
	huggingFaceAnswerExample  = `[
  [{"label": "toxic", "score": 0.98}, {"label": "insult", "score": 0.93}, {"label": "obscene", "score": 0.41},
   {"label": "severe_toxic", "score": 0.02}, {"label": "identity_hate", "score": 0.011}, {"label": "threat", "score": 0.003}],
  [{"label": "toxic", "score": 0.001}, {"label": "insult", "score": 0.0004}, {"label": "obscene", "score": 0.0003},
   {"label": "severe_toxic", "score": 0.0001}, {"label": "identity_hate", "score": 0.0001}, {"label": "threat", "score": 0.0001}]
]`
)

// want is the expected result of one comment: "label score" pairs in
// vocabulary order, or an error substring.
type want struct {
	labels []string
	err    string
}

func TestMappings(t *testing.T) {
	tests := []struct {
		name     string
		cfg      map[string]any
		texts    []string
		requests []string // the bodies the service must receive, in order
		answers  []string // its answers; "400:..." answers that status
		want     []want
	}{
		{
			name: "perspective", cfg: map[string]any{"mapping": "perspective"},
			texts: []string{"You are an idiot"}, requests: []string{perspectiveRequestExample}, answers: []string{perspectiveAnswerExample},
			want: []want{{labels: []string{"profanity 0.32", "insult 0.91", "identity_attack 0.05", "sexual 0.02"}}},
		},
		{
			name:  "perspective sends one request per comment; a refused comment is its own error",
			cfg:   map[string]any{"mapping": "perspective", "labels": map[string]any{"TOXICITY": "insult", "PROFANITY": "", "THREAT": "", "IDENTITY_ATTACK": "", "SEXUALLY_EXPLICIT": ""}},
			texts: []string{"a", "b", "c"},
			requests: []string{
				`{"comment":{"text":"a"},"requestedAttributes":{"INSULT":{},"TOXICITY":{}},"languages":["en"],"doNotStore":true}`,
				`{"comment":{"text":"b"},"requestedAttributes":{"INSULT":{},"TOXICITY":{}},"languages":["en"],"doNotStore":true}`,
				`{"comment":{"text":"c"},"requestedAttributes":{"INSULT":{},"TOXICITY":{}},"languages":["en"],"doNotStore":true}`,
			},
			answers: []string{
				`{"attributeScores":{"TOXICITY":{"summaryScore":{"value":0.7}},"INSULT":{"summaryScore":{"value":0.4}}}}`,
				`400:{"error":{"code":400,"message":"Attribute TOXICITY does not support request languages: xx","status":"INVALID_ARGUMENT"}}`,
				`{"attributeScores":{"TOXICITY":{"summaryScore":{"value":0.1}}}}`,
			},
			want: []want{
				{labels: []string{"insult 0.70"}},
				{err: "Perspective refused the comment: answered 400 Bad Request: {\"error\":{\"code\":400,\"message\":\"Attribute TOXICITY does not support request languages: xx\""},
				{err: "Perspective did not score the requested attribute INSULT"},
			},
		},
		{
			name: "openai", cfg: map[string]any{"mapping": "openai"},
			texts: []string{"You are an idiot", "I know where you live"}, requests: []string{openAIRequestExample}, answers: []string{openAIAnswerExample},
			// hate 0.004 and sexual 0.0001 are under min_score; violence maps
			// to nothing; the new category is ignored.
			want: []want{{labels: []string{"insult 0.93", "threat 0.02"}}, {labels: []string{"insult 0.41", "threat 0.77"}}},
		},
		{
			name: "openai result without scores", cfg: map[string]any{"mapping": "openai", "model": "text-moderation-stable"},
			texts:    []string{"a", "b"},
			requests: []string{`{"model":"text-moderation-stable","input":["a","b"]}`},
			answers:  []string{`{"results":[{"flagged":false},{"category_scores":{"harassment":0.6}}]}`},
			want:     []want{{err: `OpenAI moderation's result has no "category_scores"`}, {labels: []string{"insult 0.60"}}},
		},
		{
			name: "openai count mismatch fails the batch", cfg: map[string]any{"mapping": "openai"},
			texts: []string{"a", "b"}, requests: []string{`{"model":"omni-moderation-latest","input":["a","b"]}`},
			answers: []string{`{"results":[{"category_scores":{}}]}`},
			want:    []want{{err: "batch: OpenAI moderation answered 1 results for 2 comments"}},
		},
		{
			name: "huggingface", cfg: map[string]any{"mapping": "huggingface"},
			texts: []string{"You are an idiot", "Nice work"}, requests: []string{huggingFaceRequestExample}, answers: []string{huggingFaceAnswerExample},
			want: []want{{labels: []string{"profanity 0.41", "insult 0.93", "identity_attack 0.01"}}, {}},
		},
		{
			name: "huggingface top label only, one per input", cfg: map[string]any{"mapping": "huggingface"},
			texts: []string{"a", "b"}, requests: []string{`{"inputs":["a","b"]}`},
			answers: []string{`[{"label":"insult","score":0.8},{"label":"toxic","score":0.6}]`},
			want:    []want{{labels: []string{"insult 0.80"}}, {}},
		},
		{
			name: "huggingface single input, flat list", cfg: map[string]any{"mapping": "huggingface"},
			texts: []string{"a"}, requests: []string{`{"inputs":["a"]}`},
			answers: []string{`[{"label":"threat","score":0.7},{"label":"insult","score":0.2}]`},
			want:    []want{{labels: []string{"insult 0.20", "threat 0.70"}}},
		},
		{
			name: "huggingface model with its own label names", cfg: map[string]any{"mapping": "huggingface", "labels": map[string]any{"LABEL_1": "insult", "LABEL_0": ""}},
			texts: []string{"a", "b"}, requests: []string{`{"inputs":["a","b"]}`},
			answers: []string{`[[{"label":"LABEL_1","score":0.9},{"label":"LABEL_0","score":0.1}],[{"label":"LABEL_2","score":0.9}]]`},
			want:    []want{{labels: []string{"insult 0.90"}}, {err: `the Hugging Face model answered label "LABEL_2", which is not in moderator's vocabulary; map it in the labels table`}},
		},
		{
			name: "huggingface score without a label", cfg: map[string]any{"mapping": "huggingface"},
			texts: []string{"a"}, requests: []string{`{"inputs":["a"]}`},
			answers: []string{`[[{"score":0.9}]]`},
			want:    []want{{err: `the Hugging Face model answered a score without "label" or "score"`}},
		},
		{
			name: "huggingface wrong count of flat scores", cfg: map[string]any{"mapping": "huggingface"},
			texts: []string{"a", "b"}, requests: []string{`{"inputs":["a","b"]}`},
			answers: []string{`[{"label":"insult","score":0.8},{"label":"toxic","score":0.6},{"label":"threat","score":0.1}]`},
			want:    []want{{err: "batch: the Hugging Face model answered 3 scores for 2 comments"}},
		},
		{
			name: "huggingface error object", cfg: map[string]any{"mapping": "huggingface"},
			texts: []string{"a"}, requests: []string{`{"inputs":["a"]}`},
			answers: []string{`{"error":"Model is currently loading","estimated_time":20}`},
			want:    []want{{err: "batch: the Hugging Face model answered JSON of the wrong shape: the answer is object, want a list"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.script(func(n int64, w http.ResponseWriter, _ *http.Request, _ []byte) {
				answer := tt.answers[min(int(n), len(tt.answers))-1]
				status := 200
				if s, rest, ok := strings.Cut(answer, ":"); ok && len(s) == 3 && s[0] == '4' {
					fmt.Sscan(s, &status)
					answer = rest
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_, _ = w.Write([]byte(answer))
			})
			cfg := map[string]any{"url": f.URL, "concurrency": 1}
			for k, v := range tt.cfg {
				cfg[k] = v
			}
			a := configured(t, cfg, nil)
			res, err := a.Analyze(context.Background(), comments(tt.texts...))
			bodies, _, _ := f.recorded()
			if len(bodies) != len(tt.requests) {
				t.Fatalf("%d requests, want %d", len(bodies), len(tt.requests))
			}
			for i := range bodies {
				if string(bodies[i]) != tt.requests[i] {
					t.Errorf("request %d\n%s\nwant\n%s", i, bodies[i], tt.requests[i])
				}
			}
			if batchErr, ok := strings.CutPrefix(tt.want[0].err, "batch: "); ok {
				if err == nil || !strings.Contains(err.Error(), batchErr) {
					t.Errorf("error %v, want it to contain %q", err, batchErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.want {
				var got []string
				for _, l := range res[i].Labels {
					got = append(got, fmt.Sprintf("%s %.2f", l.Name, l.Score))
					if l.Reason == "" {
						t.Errorf("comment %d label %s has no reason", i, l.Name)
					}
				}
				if strings.Join(got, ", ") != strings.Join(w.labels, ", ") || !strings.Contains(res[i].Err, w.err) || (w.err == "") != (res[i].Err == "") {
					t.Errorf("comment %d: labels %q, Err %q; want %q, Err containing %q", i, got, res[i].Err, w.labels, w.err)
				}
			}
		})
	}
}

func TestMappingReasons(t *testing.T) {
	f := newFake(t)
	f.script(func(_ int64, w http.ResponseWriter, _ *http.Request, _ []byte) {
		_, _ = w.Write([]byte(openAIAnswerExample))
	})
	a := configured(t, map[string]any{"url": f.URL, "mapping": "openai"}, nil)
	res, err := a.Analyze(context.Background(), comments("You are an idiot", "I know where you live"))
	if err != nil {
		t.Fatal(err)
	}
	l, _ := res[1].Label(sdk.LabelThreat)
	if l.Reason != "OpenAI moderation: harassment/threatening 0.77" {
		t.Errorf("reason %q", l.Reason)
	}
}
