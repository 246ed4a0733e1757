// Package batch cuts runs of comments into Analyze calls that the transport
// between host and plugin carries: the pipeline and `moderator eval` both
// send analyzers batches, and a batch of merely large comments must never
// make a call that gRPC refuses for its size.
package batch

import "github.com/moderatorbot/moderator/sdk"

// MaxBytes bounds the comments one Analyze call carries, as Bytes counts
// them: half of gRPC's message limit between host and plugin, which leaves
// room for the framing and for the reply. Only a comment over the limit on
// its own still makes a call the transport refuses (sdk.ErrMessageTooLarge).
const MaxBytes = sdk.MaxMessageBytes / 2

// End is where the call that starts at comments[lo] ends: after at most size
// comments and MaxBytes bytes, and never before taking one comment.
func End(comments []sdk.Comment, lo, size int) int {
	hi, n := lo, 0
	for hi < len(comments) && hi-lo < size {
		n += Bytes(&comments[hi])
		if hi > lo && n > MaxBytes {
			break
		}
		hi++
	}
	return hi
}

// Bytes is about how many bytes c takes in an Analyze request: its strings
// and raw payload, and a little for the framing of its fields.
func Bytes(c *sdk.Comment) int {
	n := 64 + len(c.Platform) + len(c.Connector) + len(c.ID) + len(c.PostID) + len(c.ParentID) + len(c.AuthorID) +
		len(c.AuthorHandle) + len(c.Text) + len(c.Version) + len(c.URL) + len(c.Raw) + len(c.Lang)
	for k, v := range c.Metadata {
		n += 8 + len(k) + len(v)
	}
	return n
}
