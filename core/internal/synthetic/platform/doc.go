// Package platform is "synthetic", a fake social platform served over real
// HTTP on 127.0.0.1, for tests and benchmarks of the moderation pipeline. A
// test starts one the way it would start a net/http/httptest server, points
// the synthetic connector at Server.URL, adds posts and comments, injects
// faults, and afterwards counts what the bot did with Actions, State and
// Requests. Its behaviour is the contract that the exactly-once proof relies
// on, so it is documented here in full.
//
// # Ids
//
// Comment ids are canonical decimal strings (no sign, no leading zeros) that
// fit in 64 bits and only ever increase, like tweet ids, so "newer than" is
// well defined: AddComment assigns the next one, or checks that a given one is
// larger than every id before it. Post and user ids are any non-empty strings
// without ',', ':' or '/' (the list syntax of the API below).
//
// # HTTP API
//
// All bodies are JSON. When Options.Token is set, every request needs
// "Authorization: Bearer <token>" (else 401). Errors are problem objects,
// {"title": "...", "detail": "...", "status": N}.
//
//	GET /v1/comments?posts=P1,P2,...&since=P1:ID,...&until=P1:ID,...&page_token=T
//
// The comments on up to Options.MaxPosts posts in one call, newest first
// across all of them, Options.PageSize a page. since and until are optional
// per-post bounds (exclusive): only comments with since < id < until are
// listed, so one call resumes many posts from their own cursors. page_token is
// the meta.next_token of the previous page of the same query (keyset paging:
// comments added between pages never shift it). Deleted comments are not
// listed; hidden and flagged ones are, as on most platforms. Answer:
//
//	{"data": [{"id": "1700000000000000001", "post_id": "p1", "author_id": "u1",
//	           "author_handle": "alice", "text": "...", "version": 0,
//	           "created_at": "2026-01-02T15:04:05Z", "url": "http://.../p/p1/c/1700..."}],
//	 "meta": {"result_count": 1, "newest_id": "...", "oldest_id": "...", "next_token": "..."},
//	 "errors": [{"post_id": "p9", "title": "Not Found", "detail": "..."}]}
//
// version counts edits (0: never edited). next_token is absent on the last
// page. errors lists requested posts that do not exist; the others are
// served as usual. A malformed query (no posts, too many, a bad bound, a
// bound for a post not in posts, a bad page_token) is a 400.
//
//	GET /v1/users/{id}/posts?page_token=T
//
// The posts of one author, newest first, Options.PageSize a page:
// {"data": [{"id", "author_id", "title", "url", "created_at"}], "meta":
// {"result_count", "next_token"}}. An author with no posts has an empty list.
//
//	PUT /v1/comments/{id}/moderation   {"action": "hide"|"unhide"|"delete"|"flag"}
//
// Needs an Idempotency-Key header (else 400). Answers 200 with
// {"id", "action", "changed", "state"}; changed is false when the action was
// already in effect, so repeating an action is harmless. hide and unhide set
// and clear the hidden mark, flag sets the flagged mark, delete removes the
// comment: deleting it again answers changed false, any other action on it 410
// Gone. An unknown comment is a 404, an unknown action a 400, and an
// Idempotency-Key reused for another comment or action a 422. Every call that
// gets this far is recorded (Server.Actions), whatever its answer.
//
// # Rate limits
//
// Every response carries x-rate-limit-limit, x-rate-limit-remaining and
// x-rate-limit-reset (unix seconds, rounded up) from one fixed-window counter
// shared by all endpoints: Options.RateLimit requests per Options.RateWindow,
// the window starting at the first request after the previous one ended.
// Over the limit a request is refused with 429 {"title": "Too Many Requests"}
// and not counted; it does nothing. Requests refused for a bad token are not
// counted either.
//
// # Faults
//
// Server.Faults switches fault injection at run time. Faults are checked in
// this order, before a request is acted on: the usage cap (429 with title
// "UsageCapExceeded", for as long as it is on: waiting for the reset does not
// help), forced window limits (429 "Too Many Requests" with remaining 0),
// server errors (503, the request is not acted on). After the request was
// acted on: slow responses (the answer is held back, so a client that times
// out has had its action applied anyway, the case idempotent moderation
// exists for), truncated bodies (a 200 whose JSON is cut in half) and
// malformed items (one item in the middle of a comments page is corrupted,
// the rest of the page is fine; see MalformedKind). Counted faults (N
// requests) are used up one per request they hit.
//
// # Webhooks
//
// The platform answers no webhook requests itself; Server.Deliver sends one
// to a URL (the host's webhook endpoint): POST {"events": [{"type":
// "comment.created" or "comment.updated", "comment": {item as above}}]} with
// X-Synthetic-Signature: sha256=<hex HMAC-SHA256(Options.Secret, body)> and an
// X-Synthetic-Delivery id. A comment with a version above 0 is sent as
// comment.updated. Calling Deliver twice with the same comments is a duplicate
// delivery, as platforms send when they retry.
package platform
