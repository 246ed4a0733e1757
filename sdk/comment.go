package sdk

import "time"

// Comment is a reply or response on a platform, in the shape every plugin shares.
type Comment struct {
	// Platform is the platform's name, as the connector's Info.Platform.
	Platform string `json:"platform"`
	// Connector is the connector instance that produced the comment; the host
	// fills it in.
	Connector string `json:"connector"`
	// ID is the platform's id of the comment, unique on the platform.
	ID string `json:"id"`
	// PostID is the post the comment hangs off. In a Poll reply it may be
	// left empty: the SDK fills in the post of the comment's entry.
	PostID string `json:"post_id"`
	// ParentID is the comment or post it replies to, when the platform says.
	ParentID string `json:"parent_id,omitempty"`
	// AuthorID is the platform's id of the author's account.
	AuthorID string `json:"author_id"`
	// AuthorHandle is the name the author shows ("@someone"), when known.
	AuthorHandle string `json:"author_handle,omitempty"`
	// Text is the comment as the platform has it. Spans index into it.
	// Bytes that are not valid UTF-8 cross the wire as '?', one for one, so
	// offsets stay the same on both sides.
	Text string `json:"text"`
	// CreatedAt is when the comment was written, when known.
	CreatedAt time.Time `json:"created_at,omitzero"`
	// Version changes when the comment is edited; empty for unedited comments.
	Version string `json:"version,omitempty"`
	// URL is where a person can see the comment.
	URL string `json:"url,omitempty"`
	// Raw is the platform's own payload, opaque to the host.
	Raw []byte `json:"raw,omitempty"`
	// Deleted says the platform reports the comment deleted.
	Deleted bool `json:"deleted,omitempty"`
	// AuthorCreatedAt is when the author's account was made, when known.
	AuthorCreatedAt time.Time `json:"author_created_at,omitzero"`
	// Lang is a BCP 47 language tag, when the platform says.
	Lang string `json:"lang,omitempty"`
	// Metadata is anything else the connector wants recorded with the
	// comment (counts, flags), as strings.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Post is a thing comments hang off: a tweet, an article.
type Post struct {
	// ID is the platform's id of the post: what Poll is asked for.
	ID string `json:"id"`
	// URL is where a person can see the post.
	URL string `json:"url,omitempty"`
	// AuthorID is the platform's id of the post's author, when known.
	AuthorID string `json:"author_id,omitempty"`
	// Title is the post's title or first words, when there is one.
	Title string `json:"title,omitempty"`
	// CreatedAt is when the post was published, when known.
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// Target is what an operator asks the bot to watch.
type Target struct {
	// Kind is TargetPost, TargetAuthor, TargetPublication or TargetQuery.
	Kind string
	// ID is the post, the author, the publication or the query text, as
	// written in moderator.toml.
	ID string
}

// RateLimit is a platform's rate-limit state as a connector last saw it. The
// host paces its calls with it so the platform never has to say 429.
type RateLimit struct {
	// Limit is how many calls the window allows (0: not known).
	Limit int64 `json:"limit"`
	// Remaining is how many are left in the window.
	Remaining int64 `json:"remaining"`
	// Reset is when the window starts again (zero: not known).
	Reset time.Time `json:"reset,omitzero"`
	// UsageCapExceeded means a quota that waiting for Reset does not restore
	// (Twitter's monthly cap): the host pauses the connector and tells the operator.
	UsageCapExceeded bool `json:"usage_cap_exceeded,omitempty"`
	// Bucket names the limit when the platform has several.
	Bucket string `json:"bucket,omitempty"`
}

// Known reports whether the connector filled the state in.
func (r RateLimit) Known() bool {
	return r.Limit > 0 || r.Remaining > 0 || !r.Reset.IsZero() || r.UsageCapExceeded
}
