package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	gojson "github.com/goccy/go-json"
	"github.com/moderatorbot/moderator/sdk"
)

// signatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body.
const signatureHeader = "X-Synthetic-Signature"

// Event types a delivery may carry; others are skipped, so the platform can
// add events without breaking the connector.
const (
	eventCreated = "comment.created"
	eventUpdated = "comment.updated"
)

// Webhook verifies one delivery and decodes the comments it carries. A
// delivery that is not a POST gets 405, one whose signature is missing or
// wrong (or any, when no webhook_secret is set) 401, and one whose body is
// not a well-formed delivery 400, all with no comments: nothing unverified or
// half-read is queued. An edit (comment.updated) is the same comment id
// with a new Version.
func (c *Synthetic) Webhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	s, err := c.current()
	if err != nil {
		return sdk.WebhookResponse{}, err
	}
	if req.Method != http.MethodPost {
		resp := answer(http.StatusMethodNotAllowed, "deliveries are POST requests")
		resp.Header.Set("Allow", http.MethodPost)
		return resp, nil
	}
	if len(s.secret) == 0 {
		return answer(http.StatusUnauthorized, "no webhook_secret is configured, so no delivery can be verified"), nil
	}
	if !validSignature(s.secret, req.Header.Get(signatureHeader), req.Body) {
		return answer(http.StatusUnauthorized, "missing or invalid "+signatureHeader), nil
	}
	comments, err := decodeDelivery(req.Body)
	if err != nil {
		return answer(http.StatusBadRequest, err.Error()), nil
	}
	resp := answer(http.StatusOK, "")
	resp.Body = fmt.Appendf(nil, `{"received":%d}`, len(comments))
	resp.Comments = comments
	return resp, nil
}

// answer is a JSON response with an error message (none for "").
func answer(status int, msg string) sdk.WebhookResponse {
	resp := sdk.WebhookResponse{Status: status, Header: http.Header{"Content-Type": {"application/json"}}}
	if msg != "" {
		resp.Body, _ = json.Marshal(map[string]string{"error": msg})
	}
	return resp
}

// validSignature checks header against the HMAC of the raw body, in
// constant time.
func validSignature(secret []byte, header string, body []byte) bool {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	sig, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(sig, mac.Sum(nil))
}

// decodeDelivery decodes {"events": [{"type": ..., "comment": {...}}]}. Any
// malformed part fails the whole delivery: the platform is told (400) and
// nothing of it is queued.
func decodeDelivery(body []byte) ([]sdk.Comment, error) {
	var d struct {
		Events *[]struct {
			Type    string            `json:"type"`
			Comment gojson.RawMessage `json:"comment"`
		} `json:"events"`
	}
	// One Unmarshal, which also refuses anything after the object; the
	// same library as the comments, for the same reason (speed).
	if err := gojson.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("malformed delivery: %w", err)
	}
	if d.Events == nil {
		return nil, errors.New(`malformed delivery: no "events" list`)
	}
	var out []sdk.Comment
	for i, e := range *d.Events {
		if e.Type != eventCreated && e.Type != eventUpdated {
			continue
		}
		c, err := decodeComment(e.Comment)
		if err != nil {
			return nil, fmt.Errorf("malformed delivery: event %d (%s): %w", i+1, e.Type, err)
		}
		out = append(out, c)
	}
	return out, nil
}
