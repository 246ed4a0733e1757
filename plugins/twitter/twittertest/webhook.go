package twittertest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// Account Activity API webhooks, as X sends them.

// SignatureHeader carries a delivery's signature.
const SignatureHeader = "x-twitter-webhooks-signature"

// Sign is the value of SignatureHeader for body:
// "sha256=" + base64(HMAC-SHA256(consumer secret, body)).
func Sign(consumerSecret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(consumerSecret))
	mac.Write(body)
	return "sha256=" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// CRCResponseToken is the response_token a webhook must answer a CRC
// challenge crcToken with.
func CRCResponseToken(consumerSecret, crcToken string) string {
	return Sign(consumerSecret, []byte(crcToken))
}

// CRC challenges the webhook at webhookURL as X does when it is registered
// and every half hour: GET ?crc_token=T, and the answer must be 200 with
// {"response_token":"sha256=..."} for the app's consumer secret.
func (s *Server) CRC(ctx context.Context, webhookURL string) error {
	var nonce [24]byte
	rand.Read(nonce[:])
	token := base64.RawURLEncoding.EncodeToString(nonce[:])
	u, err := url.Parse(webhookURL)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("crc_token", token)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("CRC answered %d: %.200s", res.StatusCode, body)
	}
	var ans struct {
		ResponseToken string `json:"response_token"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return fmt.Errorf("CRC answer is not JSON: %.200s", body)
	}
	if want := CRCResponseToken(s.opts.ConsumerSecret, token); !hmac.Equal([]byte(ans.ResponseToken), []byte(want)) {
		return fmt.Errorf("CRC response_token %q is wrong", ans.ResponseToken)
	}
	return nil
}

// v11User and v11Tweet are the v1.1 shapes Account Activity events carry.
type v11User struct {
	ID         int64  `json:"id"`
	IDStr      string `json:"id_str"`
	Name       string `json:"name"`
	ScreenName string `json:"screen_name"`
}

type v11Tweet struct {
	CreatedAt            string  `json:"created_at"`
	ID                   int64   `json:"id"`
	IDStr                string  `json:"id_str"`
	Text                 string  `json:"text"`
	Truncated            bool    `json:"truncated"`
	InReplyToStatusID    *int64  `json:"in_reply_to_status_id"`
	InReplyToStatusIDStr *string `json:"in_reply_to_status_id_str"`
	InReplyToUserID      *int64  `json:"in_reply_to_user_id"`
	InReplyToUserIDStr   *string `json:"in_reply_to_user_id_str"`
	InReplyToScreenName  *string `json:"in_reply_to_screen_name"`
	User                 v11User `json:"user"`
	TimestampMS          string  `json:"timestamp_ms"`
	ExtendedTweet        *struct {
		FullText string `json:"full_text"`
	} `json:"extended_tweet,omitempty"`
}

// WebhookPayload is the body X posts for tweets (an Account Activity
// tweet_create_events delivery) for the account forUserID.
func (s *Server) WebhookPayload(forUserID string, tweets ...Tweet) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	events := make([]v11Tweet, 0, len(tweets))
	for _, t := range tweets {
		u := s.users[t.AuthorID]
		id, _ := strconv.ParseInt(t.ID, 10, 64)
		uid, _ := strconv.ParseInt(u.ID, 10, 64)
		ev := v11Tweet{
			CreatedAt: t.CreatedAt.UTC().Format("Mon Jan 02 15:04:05 +0000 2006"),
			ID:        id, IDStr: t.ID, Text: t.Text,
			User:        v11User{ID: uid, IDStr: u.ID, Name: u.Name, ScreenName: u.Username},
			TimestampMS: strconv.FormatInt(t.CreatedAt.UnixMilli(), 10),
		}
		if len([]rune(t.Text)) > 140 {
			ev.Truncated = true
			ev.Text = string([]rune(t.Text)[:139]) + "…"
			ev.ExtendedTweet = &struct {
				FullText string `json:"full_text"`
			}{t.Text}
		}
		if t.InReplyToID != "" {
			pid, _ := strconv.ParseInt(t.InReplyToID, 10, 64)
			puid, _ := strconv.ParseInt(t.InReplyToUserID, 10, 64)
			pidStr, puidStr, name := t.InReplyToID, t.InReplyToUserID, s.users[t.InReplyToUserID].Username
			ev.InReplyToStatusID, ev.InReplyToStatusIDStr = &pid, &pidStr
			ev.InReplyToUserID, ev.InReplyToUserIDStr, ev.InReplyToScreenName = &puid, &puidStr, &name
		}
		events = append(events, ev)
	}
	body, _ := json.Marshal(map[string]any{"for_user_id": forUserID, "tweet_create_events": events})
	return body
}

// Deliver posts tweets to webhookURL as a signed tweet_create_events
// delivery for the owner's account, and returns the answer's status and body.
func (s *Server) Deliver(ctx context.Context, webhookURL string, tweets ...Tweet) (int, []byte, error) {
	body := s.WebhookPayload(s.opts.UserID, tweets...)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(s.opts.ConsumerSecret, body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	ans, err := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	return res.StatusCode, ans, err
}
