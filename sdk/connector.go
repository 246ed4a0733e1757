package sdk

import (
	"context"
	"net/http"
)

// A connector implements one or more of the interfaces below; Serve derives
// its capabilities from the ones it implements, so Describe can never claim
// what the plugin cannot do. Each method may be called concurrently.

// Discoverer expands a target (an author, a publication, a query) into posts.
type Discoverer interface {
	Discover(ctx context.Context, req DiscoverRequest) (DiscoverResponse, error)
}

// Poller fetches comments newer than each post's cursor, for many posts in one
// call where the platform allows it (Twitter can OR conversation ids into one
// search). Return one PostComments per requested post, in any order; a
// problem with one post goes in its Err, so the others still count. Return
// an error only when the call failed as a whole (the platform is down, a
// 429: a *RateLimitedError).
//
// A reply with no entry for a post asked for, an entry for a post not asked
// for or two for one post, or a comment filed under another post's entry
// fails the whole call, on both sides of the wire (see CheckPoll). A comment
// may leave PostID empty: the SDK fills in its entry's post.
type Poller interface {
	Poll(ctx context.Context, posts []PostCursor) (PollResponse, error)
}

// Streamer holds a long-lived platform stream open and sends what arrives to
// the sink until ctx is done. It owns the platform's reconnect rules and
// reports a disconnect that may have lost comments with StreamStatus.Gap, so
// the host can run a gap-filling poll.
type Streamer interface {
	Stream(ctx context.Context, req StreamRequest, sink StreamSink) error
}

// WebhookHandler verifies and decodes one HTTP delivery that the host
// received on `{webhook_prefix}/{instance}`. It answers signature failures
// with 401 and no comments, and challenge requests (Twitter's CRC) with the
// platform's expected body.
//
// Under load the host sends the deliveries that arrived together in one
// call; Serve hands them to Webhook one each, several at once, so Webhook
// must be safe for concurrent use. An error or a panic fails only the
// delivery it came from: the host answers that one 503 and the platform
// sends it again.
type WebhookHandler interface {
	Webhook(ctx context.Context, req WebhookRequest) (WebhookResponse, error)
}

// Moderator applies an action to a comment on the platform. It must be
// idempotent: the host retries after crashes and timeouts, and applying the
// same action twice must leave the platform as applying it once.
//
// Moderate is only called with an action listed in Info.Actions: Serve
// answers any other with an error matching ErrUnsupported, which the host
// treats as a configuration error and never retries, so Moderate needs no
// check of its own. A connector that implements Moderator must declare at
// least one action (see Plugin.Check).
type Moderator interface {
	Moderate(ctx context.Context, req ModerateRequest) (ModerateResponse, error)
}

// DiscoverRequest asks for the posts of a target, one page at a time.
type DiscoverRequest struct {
	Target Target
	// Cursor is empty on the first call, then the previous response's Cursor.
	Cursor []byte
}

// DiscoverResponse is one page of posts.
type DiscoverResponse struct {
	Posts     []Post
	Cursor    []byte
	RateLimit RateLimit
}

// PostCursor is a post and the opaque cursor of its last poll.
type PostCursor struct {
	PostID string
	Cursor []byte // empty the first time
}

// PollResponse is what one Poll call found.
type PollResponse struct {
	Posts     []PostComments
	RateLimit RateLimit
}

// PostComments is what one Poll call found for one post.
type PostComments struct {
	PostID   string
	Comments []Comment
	// Cursor is stored by the host only after Comments are durably queued.
	Cursor []byte
	// More means more comments are ready now: poll again without waiting.
	More bool
	// Err is set when this post could not be polled, or only in part. The
	// host stores Cursor together with whatever Comments came back (both or
	// neither), so the cursor must not pass a comment that was not returned;
	// leave it empty to keep the post's old cursor.
	Err string
}

// StreamRequest says what a stream should follow.
type StreamRequest struct {
	Targets []Target
}

// StreamSink receives what a stream produces. Its methods return an error
// when the host is gone; the Streamer should then return.
type StreamSink interface {
	Comment(Comment) error
	Status(StreamStatus) error
}

// Stream states for StreamStatus.State.
const (
	StreamConnected    = "connected"
	StreamReconnecting = "reconnecting"
	StreamDisconnected = "disconnected"
)

// StreamStatus reports the stream's connection state to the host.
type StreamStatus struct {
	State  string
	Detail string
	// Gap means comments may have been missed.
	Gap       bool
	RateLimit RateLimit
}

// WebhookRequest is an HTTP delivery forwarded by the host.
type WebhookRequest struct {
	Method string
	// Path is what follows `{webhook_prefix}/{instance}` ("" or "/...").
	Path       string
	RawQuery   string
	Header     http.Header
	Body       []byte
	RemoteAddr string
}

// WebhookResponse is the HTTP answer and the comments the delivery carried.
// The host sends the answer only after the comments are durably queued.
type WebhookResponse struct {
	Status   int
	Header   http.Header
	Body     []byte
	Comments []Comment
}

// ModerateRequest asks for an action on one comment.
type ModerateRequest struct {
	Comment Comment
	Action  string
	Reason  string
	// IdempotencyKey is the same for every retry of one decision.
	IdempotencyKey string
}

// ModerateResponse records what the platform did.
type ModerateResponse struct {
	// Changed is false when the comment was already in the requested state.
	Changed bool
	// Detail is the platform's answer, for the audit trail.
	Detail string
}

// connectorCapabilities lists what c implements, in protocol order.
func connectorCapabilities(c any) []string {
	var caps []string
	if _, ok := c.(Discoverer); ok {
		caps = append(caps, CapDiscover)
	}
	if _, ok := c.(Poller); ok {
		caps = append(caps, CapPoll)
	}
	if _, ok := c.(Streamer); ok {
		caps = append(caps, CapStream)
	}
	if _, ok := c.(WebhookHandler); ok {
		caps = append(caps, CapWebhook)
	}
	if _, ok := c.(Moderator); ok {
		caps = append(caps, CapModerate)
	}
	return caps
}
