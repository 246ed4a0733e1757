package sdk

import "time"

// Comment is a reply or response on a platform, in the shape every plugin shares.
type Comment struct {
	Platform string
	// Connector is the connector instance that produced the comment; the host
	// fills it in.
	Connector    string
	ID           string
	PostID       string
	ParentID     string
	AuthorID     string
	AuthorHandle string
	// Text is the comment as the platform has it. Spans index into it.
	// Bytes that are not valid UTF-8 cross the wire as '?', one for one, so
	// offsets stay the same on both sides.
	Text      string
	CreatedAt time.Time
	// Version changes when the comment is edited; empty for unedited comments.
	Version string
	URL     string
	// Raw is the platform's own payload, opaque to the host.
	Raw     []byte
	Deleted bool
	// AuthorCreatedAt is when the author's account was made, when known.
	AuthorCreatedAt time.Time
	// Lang is a BCP 47 language tag, when the platform says.
	Lang     string
	Metadata map[string]string
}

// Post is a thing comments hang off: a tweet, an article.
type Post struct {
	ID        string
	URL       string
	AuthorID  string
	Title     string
	CreatedAt time.Time
}

// Target is what an operator asks the bot to watch.
type Target struct {
	Kind string // TargetPost, TargetAuthor, TargetPublication or TargetQuery
	ID   string
}

// RateLimit is a platform's rate-limit state as a connector last saw it. The
// host paces its calls with it so the platform never has to say 429.
type RateLimit struct {
	Limit     int64
	Remaining int64
	Reset     time.Time
	// UsageCapExceeded means a quota that waiting for Reset does not restore
	// (Twitter's monthly cap): the host pauses the connector and tells the operator.
	UsageCapExceeded bool
	// Bucket names the limit when the platform has several.
	Bucket string
}

// Known reports whether the connector filled the state in.
func (r RateLimit) Known() bool {
	return r.Limit > 0 || r.Remaining > 0 || !r.Reset.IsZero() || r.UsageCapExceeded
}
