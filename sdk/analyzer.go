package sdk

import "context"

// Analyzer scores comments. It is the one method an analyzer plugin must have.
//
// Analyze gets a batch and returns exactly one Result per comment, in the same
// order. Every label is one the plugin declares in Info.Labels, from the
// shared vocabulary or prefixed with the plugin's name; scores are in [0,1];
// spans are byte offsets into the comment's original Text, on the boundaries
// of its UTF-8 characters. Return an error only when the whole batch failed
// (the host retries it); a problem with one comment goes in that Result's
// Err. Analyze may be called concurrently.
//
// A reply that breaks these rules never reaches the policy: Serve and the
// host both check it with CheckResults, and the host treats the batch as
// failed, with an error naming what was wrong.
type Analyzer interface {
	Analyze(ctx context.Context, comments []Comment) ([]Result, error)
}

// Result is what an analyzer found in one comment.
type Result struct {
	// CommentID is the ID of the comment this result is for. Leaving it
	// empty means the comment at the same position in the batch: the SDK
	// fills it in on both sides of the wire (Serve before the reply leaves
	// the plugin, RemotePlugin.Analyze when it reaches the host), so the
	// host always sees it set. When set, it must be that comment's ID;
	// CheckResults refuses any other.
	CommentID string `json:"comment_id"`
	// Labels that apply; none means nothing found.
	Labels []Label `json:"labels,omitempty"`
	// Err is set when this one comment could not be analyzed.
	Err string `json:"error,omitempty"`
}

// Label is one finding: a name from the vocabulary, how sure, where, and why.
type Label struct {
	// Name is one of the labels the plugin declares in Info.Labels: from the
	// shared vocabulary (Labels) or its own, prefixed with its name
	// ("shouting.caps"). Any other name fails the batch.
	Name string `json:"name"`
	// Score is how sure, in [0,1]; policy rules compare it with min_score.
	Score float64 `json:"score"`
	// Spans are the parts of the text that triggered the label, if any.
	Spans []Span `json:"spans,omitempty"`
	// Reason says why, in words a moderator reviewing the decision reads.
	Reason string `json:"reason,omitempty"`
}

// Span is the byte range [Start, End) of the original comment text that
// triggered a label.
type Span struct {
	// Start is the offset of the span's first byte.
	Start int `json:"start"`
	// End is the offset just past its last byte.
	End int `json:"end"`
}

// Label returns the label with the given name, if the result has it.
func (r Result) Label(name string) (Label, bool) {
	for _, l := range r.Labels {
		if l.Name == name {
			return l, true
		}
	}
	return Label{}, false
}
