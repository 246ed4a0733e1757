package main

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/moderatorbot/moderator/plugins/twitter/twittertest"
	"github.com/moderatorbot/moderator/sdk"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// FuzzWebhookPayload feeds signed bodies through Webhook: whatever the body,
// the answer is a 200 or a 400, never an error or a panic, and a 400
// carries no comments.
func FuzzWebhookPayload(f *testing.F) {
	srv := twittertest.NewServer(twittertest.Options{})
	defer srv.Close()
	fan := srv.AddUser("2", "fan")
	root := srv.Post(srv.Owner().ID, "post")
	reply := srv.Reply(fan.ID, root.ID, "reply")
	f.Add(srv.WebhookPayload(srv.Owner().ID, root, reply))
	f.Add([]byte(`{"for_user_id":"1000","tweet_create_events":[{"id_str":"5","in_reply_to_status_id_str":"4","user":{"id_str":"2"},"extended_tweet":{"full_text":"x"}}]}`))
	f.Add([]byte(`{"for_user_id":"1000","favorite_events":[{}]}`))
	f.Add([]byte(`{"for_user_id":"1000","tweet_create_events":[{"id_str":"x"}]}`))
	f.Add([]byte(`{"for_user_id":1000}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"for_user_id":"1000"} trailing`))
	f.Add([]byte{0xff, 0xfe})
	secret := srv.Options().ConsumerSecret
	tw := &Twitter{}
	if err := configureErr(tw, map[string]any{"bearer_token": "b", "read_only": true, "consumer_secret": secret, "user_id": "1000"}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := tw.Webhook(context.Background(), sdk.WebhookRequest{Method: http.MethodPost, Header: http.Header{"X-Twitter-Webhooks-Signature": {twittertest.Sign(secret, body)}}, Body: body})
		if err != nil {
			t.Fatalf("error %v", err)
		}
		if resp.Status != 200 && resp.Status != 400 {
			t.Fatalf("status %d %q", resp.Status, resp.Body)
		}
		if resp.Status == 400 && len(resp.Comments) > 0 {
			t.Fatalf("a refused body brought comments")
		}
		for _, c := range resp.Comments {
			if !isID(c.ID) || !isID(c.PostID) || c.ParentID == "" {
				t.Fatalf("comment %+v", c)
			}
		}
	})
}

// FuzzDecodeSearch: the recent-search decoder never panics, and what it
// accepts has tweet ids only.
func FuzzDecodeSearch(f *testing.F) {
	f.Add([]byte(`{"data":[{"id":"12","text":"hi","conversation_id":"10","author_id":"2","created_at":"2030-01-01T00:00:00.000Z","referenced_tweets":[{"type":"replied_to","id":"10"}]}],"includes":{"users":[{"id":"2","username":"fan"}]},"meta":{"newest_id":"12","oldest_id":"12","result_count":1,"next_token":"abc"}}`))
	f.Add([]byte(`{"meta":{"result_count":0}}`))
	f.Add([]byte(`{"data":[{"id":12}]}`))
	f.Add([]byte(`{"data":[{"id":"1`))
	f.Add([]byte(`{"data":null,"meta":{"next_token":"x"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		page, tweets, err := decodeSearch(body)
		if err != nil {
			return
		}
		if len(tweets) != len(page.Data) {
			t.Fatalf("%d tweets of %d", len(tweets), len(page.Data))
		}
		for i, tw := range tweets {
			if !isID(tw.ID) {
				t.Fatalf("tweet %d id %q", i, tw.ID)
			}
			_ = toComment(tw, "h", page.Data[i])
		}
	})
}
