package sdk

import (
	"context"
	"net/http"
)

// A connector implements one or more of the interfaces below; Serve derives
// its capabilities from the ones it implements, so Describe can never claim
// what the plugin cannot do. Each method may be called concurrently.

// Discoverer expands a target (an author, a publication, a query) into posts.
// It is called only with a target of a kind the plugin declares in
// Info.TargetKinds: Serve refuses any other with ErrUnsupported before
// Discover runs, so Discover needs no check of its own. A connector that
// implements Discoverer must declare at least one kind (see Plugin.Check).
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
// the host can run a gap-filling poll. A Streamer that cannot stream as its
// instance is configured (the stream is an option that is off) returns an
// error matching ErrUnsupported at once: the host then leaves that instance
// to its polls and webhooks and does not call Stream again, where any other
// error is restarted with backoff.
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
//
// The host walks a target's pages every discover interval: it asks with an
// empty Cursor, then at once with each page's Cursor, until a page comes back
// with no Cursor or with no post the host did not already know; the next
// walk starts again with an empty Cursor. So list posts newest first, as the
// platforms do: new posts are on the first page, and a walk stops where the
// known ones begin. A connector that can ask the platform for posts newer
// than some id keeps that id itself (in the host's KV, say), not in Cursor.
type DiscoverRequest struct {
	// Target is what to expand, of a kind in Info.TargetKinds.
	Target Target
	// Cursor is empty on a walk's first call, then the previous page's
	// Cursor.
	Cursor []byte
}

// DiscoverResponse is one page of posts.
type DiscoverResponse struct {
	// Posts are this page's posts.
	Posts []Post
	// Cursor is where the next page starts; empty on the last page.
	Cursor []byte
	// RateLimit is the platform's state after the call, when it says.
	RateLimit RateLimit
}

// PostCursor is a post and the opaque cursor of its last poll.
type PostCursor struct {
	// PostID is the post to poll.
	PostID string
	// Cursor is what the last poll of the post returned; empty the first time.
	Cursor []byte
}

// PollResponse is what one Poll call found.
type PollResponse struct {
	// Posts has one entry per post asked for, in any order.
	Posts []PostComments
	// RateLimit is the platform's state after the call, when it says.
	RateLimit RateLimit
}

// PostComments is what one Poll call found for one post.
type PostComments struct {
	// PostID is the post asked for.
	PostID string
	// Comments are the post's comments newer than its cursor, each on this
	// post (an empty Comment.PostID is filled in).
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
	// Targets are what the stream follows.
	Targets []Target
}

// StreamSink receives what a stream produces. Its methods return an error
// when the host is gone; the Streamer should then return.
type StreamSink interface {
	// Comment hands the host one comment.
	Comment(Comment) error
	// Status tells the host the stream's state.
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
	// State is StreamConnected, StreamReconnecting or StreamDisconnected.
	State string
	// Detail says why, for the host's log (the platform's message).
	Detail string
	// Gap means comments may have been missed.
	Gap bool
	// RateLimit is the platform's state, when it says.
	RateLimit RateLimit
}

// WebhookRequest is an HTTP delivery forwarded by the host.
type WebhookRequest struct {
	// Method is the HTTP method ("GET" for a challenge, "POST" for events).
	Method string
	// Path is what follows `{webhook_prefix}/{instance}` ("" or "/...").
	Path string
	// RawQuery is the URL's query, without the '?'.
	RawQuery string
	// Header is the request's headers.
	Header http.Header
	// Body is the request's body, byte for byte, for signature checks.
	Body []byte
	// RemoteAddr is the sender's address as the host saw it.
	RemoteAddr string
}

// WebhookResponse is the HTTP answer and the comments the delivery carried.
// The host sends the answer only after the comments are durably queued.
type WebhookResponse struct {
	// Status is the HTTP status to answer (0 means 200).
	Status int
	// Header is the answer's headers.
	Header http.Header
	// Body is the answer's body (a challenge's response token, say).
	Body []byte
	// Comments are the comments the delivery carried.
	Comments []Comment
}

// ModerateRequest asks for an action on one comment.
type ModerateRequest struct {
	// Comment is the comment to act on, as the connector delivered it.
	Comment Comment
	// Action is one of the connector's Info.Actions.
	Action string
	// Reason is why, from the policy rule, for platforms that record one.
	Reason string
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
