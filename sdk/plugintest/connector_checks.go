package plugintest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sync"

	"github.com/moderatorbot/moderator/sdk"
)

// maxPollRounds bounds how often the suite follows PostComments.More, and
// maxPages how many Discover pages it reads: a connector that never says it
// is done fails its check instead of hanging the test.
const (
	maxPollRounds = 100
	maxPages      = 100
)

// unknownPost is a post id no platform should have.
const unknownPost = "plugintest-no-such-post"

// delivered identifies a comment as delivered: an edit (another Version)
// may come again.
type delivered struct{ id, version string }

func pollChecks(t tester, p *sdk.RemotePlugin, d sdk.Description, posts []string, stateful bool) {
	t.Helper()
	posts = uniq(posts)
	cursors := map[string][]byte{}
	seen := map[delivered]string{} // the comment's post
	var first map[string][]string  // post -> comment ids of the first poll
	t.run("from_empty_cursors", func(t tester) {
		pending := posts
		noCursor := map[string]bool{} // reported
		for round := 0; len(pending) > 0; round++ {
			if round == maxPollRounds {
				t.Fatalf("posts %q still say More after %d polls: More must end once what is ready has been read", pending, maxPollRounds)
			}
			entries, err := pollAll(t, p, cursorsOf(pending, cursors), d.MaxBatch)
			if err != nil {
				t.Fatalf("Poll of %q failed: %v", pending, err)
			}
			if round == 0 {
				first = commentIDs(entries)
			}
			pending = nil
			for _, pc := range entries {
				if pc.Err != "" {
					t.Errorf("post %q could not be polled: %s (PollPosts must name posts on the platform Config points at)", pc.PostID, pc.Err)
					continue
				}
				if len(pc.Comments) > 0 && len(pc.Cursor) == 0 && !noCursor[pc.PostID] {
					noCursor[pc.PostID] = true
					t.Errorf("post %q: %d comments and no cursor: the host keeps the post's old cursor, so every poll brings the same comments again", pc.PostID, len(pc.Comments))
				}
				for _, c := range pc.Comments {
					seen[delivered{c.ID, c.Version}] = pc.PostID
				}
				if len(pc.Cursor) > 0 {
					cursors[pc.PostID] = pc.Cursor
				}
				if pc.More {
					pending = append(pending, pc.PostID)
				}
			}
		}
		if len(seen) == 0 {
			t.Errorf("polling %q from empty cursors found no comment: PollPosts must name at least one post with comments on the platform Config points at", posts)
		}
	})
	t.run("resume", func(t tester) {
		if len(seen) == 0 {
			t.Skipf("needs the comments of poll/from_empty_cursors")
		}
		entries, err := pollAll(t, p, cursorsOf(posts, cursors), d.MaxBatch)
		if err != nil {
			t.Fatalf("Poll from the cursors it returned failed: %v", err)
		}
		for _, pc := range entries {
			for _, c := range pc.Comments {
				if _, ok := seen[delivered{c.ID, c.Version}]; ok {
					t.Errorf("post %q: comment %q came back when polled from the cursor returned after it: a cursor must move past the comments it delivered", pc.PostID, c.ID)
				}
			}
		}
	})
	t.run("unknown_post", func(t tester) {
		req := []sdk.PostCursor{{PostID: posts[0]}, {PostID: unknownPost}}
		entries, err := pollAll(t, p, req, d.MaxBatch)
		if err != nil {
			t.Fatalf("polling a post that does not exist (%q) with one that does failed the whole call: %v; put the problem in that post's Err, so that the other posts still count", unknownPost, err)
		}
		for _, pc := range entries {
			switch {
			case pc.PostID == unknownPost && len(pc.Comments) > 0:
				t.Errorf("post %q does not exist, yet Poll found %d comments on it", unknownPost, len(pc.Comments))
			case pc.PostID == posts[0] && pc.Err != "":
				t.Errorf("post %q could not be polled beside a post that does not exist: %s", pc.PostID, pc.Err)
			}
		}
	})
	t.run("max_batch", func(t tester) {
		if d.MaxBatch <= 0 {
			t.Skipf("MaxBatch is 0: no limit declared")
		}
		var req []sdk.PostCursor
		for i := range d.MaxBatch {
			id := fmt.Sprintf("%s-%d", unknownPost, i)
			if i < len(posts) {
				id = posts[i]
			}
			req = append(req, sdk.PostCursor{PostID: id})
		}
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		defer cancel()
		if _, err := p.Poll(ctx, req); err != nil {
			t.Errorf("Poll of a batch of exactly MaxBatch=%d posts failed: %v", d.MaxBatch, err)
		}
	})
	t.run("concurrent", func(t tester) {
		if first == nil {
			t.Skipf("needs a successful poll/from_empty_cursors")
		}
		var wg sync.WaitGroup
		errs := make([]error, concurrentCalls)
		got := make([]map[string][]string, concurrentCalls)
		for g := range concurrentCalls {
			wg.Go(func() {
				entries, err := pollAll(t, p, cursorsOf(posts, nil), d.MaxBatch)
				errs[g], got[g] = err, commentIDs(entries)
			})
		}
		wg.Wait()
		for g := range concurrentCalls {
			switch {
			case errs[g] != nil:
				t.Errorf("call %d of %d concurrent Poll calls failed: %v", g+1, concurrentCalls, errs[g])
			case stateful:
			case !reflect.DeepEqual(got[g], first):
				t.Errorf("call %d of %d concurrent Poll calls from empty cursors found %v, one call alone %v", g+1, concurrentCalls, got[g], first)
			}
		}
	})
}

// pollAll polls req in batches of at most max posts (0: one batch), as the
// host does for a connector that declares MaxBatch, and checks each call's
// rate-limit state.
func pollAll(t tester, p *sdk.RemotePlugin, req []sdk.PostCursor, max int) ([]sdk.PostComments, error) {
	if max <= 0 {
		max = len(req)
	}
	var out []sdk.PostComments
	for batch := range slices.Chunk(req, max) {
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		resp, err := p.Poll(ctx, batch)
		cancel()
		if err != nil {
			return nil, err
		}
		checkRateLimit(t, "Poll", resp.RateLimit)
		out = append(out, resp.Posts...)
	}
	return out, nil
}

func checkRateLimit(t tester, call string, rl sdk.RateLimit) {
	t.Helper()
	if rl.Remaining < 0 || rl.Limit < 0 || rl.Limit > 0 && rl.Remaining > rl.Limit {
		t.Errorf("%s reported a rate limit of %d with %d remaining: the host paces its calls with it", call, rl.Limit, rl.Remaining)
	}
}

func cursorsOf(posts []string, cursors map[string][]byte) []sdk.PostCursor {
	out := make([]sdk.PostCursor, len(posts))
	for i, id := range posts {
		out[i] = sdk.PostCursor{PostID: id, Cursor: cursors[id]}
	}
	return out
}

// commentIDs maps each post to its comments' ids, sorted.
func commentIDs(entries []sdk.PostComments) map[string][]string {
	out := map[string][]string{}
	for _, pc := range entries {
		ids := []string{}
		for _, c := range pc.Comments {
			ids = append(ids, c.ID)
		}
		slices.Sort(ids)
		out[pc.PostID] = append(out[pc.PostID], ids...)
	}
	return out
}

func uniq(ids []string) []string {
	set := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !set[id] {
			set[id] = true
			out = append(out, id)
		}
	}
	return out
}

func discoverChecks(t tester, p *sdk.RemotePlugin, d sdk.Description, targets []sdk.Target) {
	t.Helper()
	for _, tg := range targets {
		t.run(tg.Kind+"/"+tg.ID, func(t tester) {
			if !slices.Contains(d.TargetKinds, tg.Kind) {
				t.Fatalf("ConnectorSuite.DiscoverTargets has a target of kind %q, which the connector does not declare (TargetKinds %q)", tg.Kind, d.TargetKinds)
			}
			var cursor []byte
			posts := 0
			for page := 0; ; page++ {
				if page == maxPages {
					t.Fatalf("Discover still returns a cursor after %d pages: a cursor must end (empty) on the last page", maxPages)
				}
				ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
				resp, err := p.Discover(ctx, sdk.DiscoverRequest{Target: tg, Cursor: cursor})
				cancel()
				if err != nil {
					t.Fatalf("Discover page %d failed: %v", page+1, err)
				}
				checkRateLimit(t, "Discover", resp.RateLimit)
				posts += len(resp.Posts)
				if len(resp.Cursor) == 0 {
					break
				}
				if page > 0 && bytes.Equal(resp.Cursor, cursor) {
					t.Fatalf("Discover page %d returned the cursor it was given (%q): its pages would never end", page+1, cursor)
				}
				cursor = resp.Cursor
			}
			if posts == 0 {
				t.Errorf("Discover found no post: DiscoverTargets must name targets with posts on the platform Config points at")
			}
		})
	}
}

func webhookChecks(t tester, p *sdk.RemotePlugin, deliveries []sdk.WebhookRequest) {
	t.Helper()
	t.run("unsigned", func(t tester) {
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		defer cancel()
		resp, err := p.Webhook(ctx, sdk.WebhookRequest{
			Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}},
			Body: []byte(`{"plugintest": "an unsigned delivery"}`), RemoteAddr: "192.0.2.1:4321",
		})
		switch {
		case err != nil:
			t.Errorf("an unsigned delivery failed the call (%v): answer it with a 4xx (401 for a missing or wrong signature) and no comments; an error makes the host answer 503, and the sender deliver it again", err)
		case len(resp.Comments) > 0:
			t.Errorf("an unsigned delivery brought %d comments: anyone who can reach the webhook URL could feed the bot comments", len(resp.Comments))
		case resp.Status < 400 || resp.Status > 499:
			t.Errorf("an unsigned delivery was answered %d, want a 4xx (401 for a missing or wrong signature)", resp.Status)
		}
	})
	t.run("deliveries", func(t tester) {
		if len(deliveries) == 0 {
			t.Skipf("ConnectorSuite.Deliveries is empty: no signed delivery to send")
		}
		for i, req := range deliveries {
			ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
			resp, err := p.Webhook(ctx, req)
			cancel()
			switch {
			case err != nil:
				t.Errorf("delivery %d (%s %s) failed: %v", i, req.Method, req.Path, err)
			case resp.Status < 200 || resp.Status > 299:
				t.Errorf("delivery %d (%s %s) was answered %d %q, want a 2xx: is it signed for the secret in Config?", i, req.Method, req.Path, resp.Status, resp.Body)
			}
		}
	})
}
