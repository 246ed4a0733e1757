package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/moderatorbot/moderator/sdk"
)

// signatureHeader carries hex(HMAC-SHA256(webhook_secret, body)), as in the
// Medium tracking guide; a "sha256=" prefix is accepted too.
const signatureHeader = "X-Medium-Signature"

// Event types a delivery may carry. Others are answered 200 and skipped, so
// the sender can add events without breaking the connector.
const (
	eventCreated = "response.created"
	eventUpdated = "response.updated"
	eventDeleted = "response.deleted"
)

// Webhook verifies one delivery and decodes the response it carries. A
// delivery that is not a POST gets 405; with webhooks off, 404; with a
// missing or wrong signature, 401; with a body that is not a well-formed
// event, 400 saying what is wrong. None of them brings a comment: nothing
// unverified or half-read is queued. The host refuses oversized bodies
// (413) before they reach the plugin. A response.updated is the same
// comment with a new Version; a response.deleted is acknowledged and
// brings nothing (there is nothing left to moderate).
func (m *Medium) Webhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	s, err := m.current()
	if err != nil {
		return sdk.WebhookResponse{}, err
	}
	if req.Method != http.MethodPost {
		resp := reply(http.StatusMethodNotAllowed, "deliveries are POST requests")
		resp.Header.Set("Allow", http.MethodPost)
		return resp, nil
	}
	if !s.webhooks {
		return reply(http.StatusNotFound, "webhooks are off for this connector (set webhooks = true and webhook_secret)"), nil
	}
	if !validSignature(s.secret, req.Header.Get(signatureHeader), req.Body) {
		return reply(http.StatusUnauthorized, "missing or invalid "+signatureHeader), nil
	}
	comments, err := decodeEvent(req.Body)
	if err != nil {
		return reply(http.StatusBadRequest, err.Error()), nil
	}
	resp := reply(http.StatusOK, "")
	resp.Body = fmt.Appendf(nil, `{"status":"ok","received":%d}`, len(comments))
	resp.Comments = comments
	return resp, nil
}

// reply is a JSON answer with an error message (none for "").
func reply(status int, msg string) sdk.WebhookResponse {
	resp := sdk.WebhookResponse{Status: status, Header: http.Header{"Content-Type": {"application/json"}}}
	if msg != "" {
		resp.Body, _ = json.Marshal(map[string]string{"error": msg})
	}
	return resp
}

// validSignature checks header against the HMAC of the raw body in constant
// time. With no secret nothing is valid.
func validSignature(secret []byte, header string, body []byte) bool {
	if len(secret) == 0 {
		return false
	}
	h := strings.TrimSpace(header)
	h = strings.TrimPrefix(h, "sha256=")
	sig, err := hex.DecodeString(h)
	if err != nil || len(sig) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(sig, mac.Sum(nil))
}

// decodeEvent decodes {"type": ..., "data": response}. Anything malformed
// fails the delivery as a whole, with a message saying what.
func decodeEvent(body []byte) ([]sdk.Comment, error) {
	var e struct {
		Type *string         `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("malformed delivery: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("malformed delivery: more than one JSON value")
	}
	if e.Type == nil {
		return nil, errors.New(`malformed delivery: no "type"`)
	}
	switch *e.Type {
	case eventCreated, eventUpdated:
	default:
		return nil, nil // response.deleted, or an event this connector does not know
	}
	if len(e.Data) == 0 || string(e.Data) == "null" {
		return nil, fmt.Errorf(`malformed delivery: %s without "data"`, *e.Type)
	}
	c, err := decodeResponse(e.Data)
	if err != nil {
		return nil, fmt.Errorf("malformed delivery: %s: %v", *e.Type, err)
	}
	return []sdk.Comment{c}, nil
}
