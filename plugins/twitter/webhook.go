package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

// signatureHeader carries an Account Activity delivery's signature.
const signatureHeader = "X-Twitter-Webhooks-Signature"

// convTTL is how long the conversation of a tweet delivered by webhook is
// remembered, for replies to it: a little over recent search's 7 days.
const convTTL = 8 * 24 * time.Hour

// Webhook answers X's Account Activity API: a CRC challenge (GET
// ?crc_token=T) with {"response_token":"sha256=<base64 HMAC-SHA256 of T
// with the consumer secret>"}, and a delivery (POST) whose
// x-twitter-webhooks-signature is the same HMAC of the body with the
// tweets it carries. A missing or wrong signature is a 401 with no
// comments; a body that is not an Account Activity payload, a 400.
//
// Only replies become comments (tweets with in_reply_to_status_id). The
// v1.1 tweets of a delivery have no conversation_id, so the comment's
// PostID is the conversation of the tweet it replies to when the connector
// has seen that tweet delivered (kept in the host's key-value store for 8
// days), and otherwise the tweet it replies to: a direct reply to a post
// gets the post. A reply to a reply the connector never saw gets the parent
// reply as its PostID; a poll of the post later finds the same comment id
// under the real conversation.
func (t *Twitter) Webhook(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	s, err := t.current()
	if err != nil {
		return sdk.WebhookResponse{}, err
	}
	if s.consumerSecret == "" {
		return answer(http.StatusUnauthorized, "webhooks are not set up: consumer_secret is not configured, so no signature can be checked"), nil
	}
	switch req.Method {
	case http.MethodGet:
		q, err := url.ParseQuery(req.RawQuery)
		token := q.Get("crc_token")
		if err != nil || token == "" {
			return answer(http.StatusBadRequest, "a GET must be a CRC challenge with a crc_token parameter"), nil
		}
		body, _ := json.Marshal(map[string]string{"response_token": sign(s.consumerSecret, []byte(token))})
		return sdk.WebhookResponse{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}, nil
	case http.MethodPost:
	default:
		resp := answer(http.StatusMethodNotAllowed, "only GET (CRC) and POST (events) are accepted")
		resp.Header.Set("Allow", "GET, POST")
		return resp, nil
	}
	got := header(req.Header, signatureHeader)
	if got == "" {
		return answer(http.StatusUnauthorized, "the x-twitter-webhooks-signature header is missing"), nil
	}
	if !hmac.Equal([]byte(got), []byte(sign(s.consumerSecret, req.Body))) {
		return answer(http.StatusUnauthorized, "the x-twitter-webhooks-signature does not match the body (is consumer_secret the app's API secret?)"), nil
	}
	p, err := decodeWebhook(req.Body)
	if err != nil {
		return answer(http.StatusBadRequest, "not an Account Activity payload: "+err.Error()), nil
	}
	if s.userID != "" && p.ForUserID != s.userID {
		s.log.Warn("ignoring an Account Activity delivery for another account", "for_user_id", p.ForUserID, "user_id", s.userID)
		return sdk.WebhookResponse{Status: http.StatusOK}, nil
	}
	var comments []sdk.Comment
	convs := map[string]string{} // this delivery's tweets: id -> conversation
	var writes []sdk.KVWrite
	for _, ev := range p.events {
		if ev.tweet.InReplyToStatusIDStr == "" {
			convs[ev.tweet.IDStr] = ev.tweet.IDStr // a post: its own conversation
			continue
		}
		parent := ev.tweet.InReplyToStatusIDStr
		conv, ok := convs[parent]
		if !ok {
			conv, ok = s.kvGet(ctx, "conv/"+parent)
		}
		if !ok || !isID(conv) {
			conv = parent
		}
		convs[ev.tweet.IDStr] = conv
		writes = append(writes, sdk.KVWrite{Key: "conv/" + ev.tweet.IDStr, Value: []byte(conv), TTL: convTTL})
		if c := ev.comment(conv); !s.ownReply(c) {
			comments = append(comments, c)
		}
	}
	s.kvSetMany(ctx, writes)
	return sdk.WebhookResponse{Status: http.StatusOK, Comments: comments}, nil
}

func answer(status int, msg string) sdk.WebhookResponse {
	body, _ := json.Marshal(map[string]string{"error": msg})
	return sdk.WebhookResponse{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
}

// header finds a header whatever the case of the map's keys.
func header(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, vs := range h {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// sign is "sha256=" + base64(HMAC-SHA256(secret, body)).
func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// v11Tweet is the v1.1 tweet that tweet_create_events carry.
type v11Tweet struct {
	IDStr                string `json:"id_str"`
	Text                 string `json:"text"`
	CreatedAt            string `json:"created_at"`
	InReplyToStatusIDStr string `json:"in_reply_to_status_id_str"`
	InReplyToUserIDStr   string `json:"in_reply_to_user_id_str"`
	Lang                 string `json:"lang"`
	User                 struct {
		IDStr      string `json:"id_str"`
		ScreenName string `json:"screen_name"`
		CreatedAt  string `json:"created_at"`
	} `json:"user"`
	ExtendedTweet *struct {
		FullText string `json:"full_text"`
	} `json:"extended_tweet"`
}

type webhookEvent struct {
	tweet v11Tweet
	raw   []byte
}

type webhookPayload struct {
	ForUserID string
	events    []webhookEvent
}

// decodeWebhook reads an Account Activity payload. It never panics.
func decodeWebhook(body []byte) (webhookPayload, error) {
	var p struct {
		ForUserID *string           `json:"for_user_id"`
		Events    []json.RawMessage `json:"tweet_create_events"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&p); err != nil {
		return webhookPayload{}, fmt.Errorf("malformed JSON: %v", err)
	}
	if dec.More() {
		return webhookPayload{}, errors.New("malformed JSON: data after the payload")
	}
	if p.ForUserID == nil {
		return webhookPayload{}, errors.New(`"for_user_id" is missing`)
	}
	out := webhookPayload{ForUserID: *p.ForUserID}
	for i, raw := range p.Events {
		var tw v11Tweet
		if err := json.Unmarshal(raw, &tw); err != nil {
			return webhookPayload{}, fmt.Errorf("tweet_create_events[%d]: %v", i, err)
		}
		if !isID(tw.IDStr) {
			return webhookPayload{}, fmt.Errorf("tweet_create_events[%d]: id_str %.40q is not a tweet id", i, tw.IDStr)
		}
		if tw.InReplyToStatusIDStr != "" && !isID(tw.InReplyToStatusIDStr) {
			return webhookPayload{}, fmt.Errorf("tweet_create_events[%d]: in_reply_to_status_id_str %.40q is not a tweet id", i, tw.InReplyToStatusIDStr)
		}
		out.events = append(out.events, webhookEvent{tweet: tw, raw: append([]byte(nil), raw...)})
	}
	return out, nil
}

// v11Time is the v1.1 created_at layout.
const v11Time = "Mon Jan 02 15:04:05 -0700 2006"

func (ev webhookEvent) comment(conv string) sdk.Comment {
	tw := ev.tweet
	text := tw.Text
	if tw.ExtendedTweet != nil && tw.ExtendedTweet.FullText != "" {
		text = tw.ExtendedTweet.FullText
	}
	c := sdk.Comment{
		Platform: "twitter", ID: tw.IDStr, PostID: conv, ParentID: tw.InReplyToStatusIDStr,
		AuthorID: tw.User.IDStr, Text: text, Lang: tw.Lang, Raw: ev.raw, URL: tweetURL(tw.User.ScreenName, tw.IDStr),
	}
	if tw.User.ScreenName != "" {
		c.AuthorHandle = "@" + tw.User.ScreenName
	}
	if t, err := time.Parse(v11Time, tw.CreatedAt); err == nil {
		c.CreatedAt = t.UTC()
	}
	if t, err := time.Parse(v11Time, tw.User.CreatedAt); err == nil {
		c.AuthorCreatedAt = t.UTC()
	}
	if tw.InReplyToUserIDStr != "" {
		c.Metadata = map[string]string{"in_reply_to_user_id": tw.InReplyToUserIDStr}
	}
	return c
}
