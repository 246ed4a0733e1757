package sdk

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// CheckResults reports the first way results break the Analyze contract for
// comments, given the labels the analyzer declared (its Info.Labels, as
// Describe reports them): one result per comment, in order, each for its
// comment (an empty CommentID stands for the comment at its position, see
// Result.CommentID), and every label named, among the declared ones, scored
// in [0,1] and with its spans inside the text.
//
// Serve checks every reply with it before the reply leaves the plugin, and
// RemotePlugin.Analyze checks it again when it reaches the host, against the
// labels the plugin declared in Describe: a plugin bug shows as an error
// naming what was wrong, never as data the host acts on.
func CheckResults(declared []string, comments []Comment, results []Result) error {
	if len(results) != len(comments) {
		return fmt.Errorf("%d results for %d comments", len(results), len(comments))
	}
	for i, r := range results {
		c := &comments[i]
		if r.CommentID != "" && r.CommentID != c.ID {
			return fmt.Errorf("result %d is for comment %q, expected %q", i, r.CommentID, c.ID)
		}
		for _, l := range r.Labels {
			switch {
			case l.Name == "":
				return fmt.Errorf("result %d (comment %q): a label has no name", i, c.ID)
			case !slices.Contains(declared, l.Name):
				return fmt.Errorf("result %d (comment %q): label %q is not declared in Info.Labels (declared: %s)", i, c.ID, l.Name, quoteList(declared))
			case math.IsNaN(l.Score) || l.Score < 0 || l.Score > 1:
				return fmt.Errorf("result %d (comment %q): label %q score %v outside [0,1]", i, c.ID, l.Name, l.Score)
			}
			for _, sp := range l.Spans {
				if sp.Start < 0 || sp.End < sp.Start || sp.End > len(c.Text) {
					return fmt.Errorf("result %d (comment %q): label %q span [%d,%d) outside the text (%d bytes)", i, c.ID, l.Name, sp.Start, sp.End, len(c.Text))
				}
			}
		}
	}
	return nil
}

// fillCommentIDs sets each empty Result.CommentID to the ID of the comment
// at its position, as Result.CommentID documents.
func fillCommentIDs(comments []Comment, results []Result) {
	for i := range min(len(comments), len(results)) {
		if results[i].CommentID == "" {
			results[i].CommentID = comments[i].ID
		}
	}
}

// quoteList formats names for an error message: "a", "b", or none.
func quoteList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
