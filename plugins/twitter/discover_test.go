package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/plugins/twitter/twittertest"
	"github.com/moderatorbot/moderator/sdk"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func discoverAll(t *testing.T, tw *Twitter, author string) []sdk.Post {
	t.Helper()
	var posts []sdk.Post
	var cur []byte
	for page := 0; ; page++ {
		if page == 20 {
			t.Fatalf("Discover pages never end")
		}
		resp, err := tw.Discover(context.Background(), sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetAuthor, ID: author}, Cursor: cur})
		if err != nil {
			t.Fatal(err)
		}
		if !resp.RateLimit.Known() {
			t.Errorf("page %d: no rate-limit state", page)
		}
		posts = append(posts, resp.Posts...)
		if len(resp.Cursor) == 0 {
			return posts
		}
		cur = resp.Cursor
	}
}

func TestDiscoverAuthor(t *testing.T) {
	clk := &clock{now: time.Now().Add(-10 * 24 * time.Hour)}
	srv := newFake(t, twittertest.Options{Now: clk.Now})
	fan := srv.AddUser("2", "fan")
	owner := srv.Owner()
	srv.Post(owner.ID, "too old for recent search")
	clk.Set(time.Now())
	want := map[string]bool{}
	for range 120 {
		p := srv.Post(owner.ID, "post")
		want[p.ID] = true
		srv.Reply(owner.ID, p.ID, "my own reply is no post")
		srv.Reply(fan.ID, p.ID, "neither is theirs")
	}
	srv.Post(fan.ID, "someone else's post")
	tw := configure(t, configFor(srv))
	posts := discoverAll(t, tw, owner.ID)
	if len(posts) != len(want) {
		t.Errorf("%d posts, want %d", len(posts), len(want))
	}
	for _, p := range posts {
		if !want[p.ID] || p.AuthorID != owner.ID || p.CreatedAt.IsZero() || p.URL == "" {
			t.Errorf("post %+v", p)
		}
		delete(want, p.ID)
	}
	// The next walk asks only for newer posts.
	newer := srv.Post(owner.ID, "new")
	posts = discoverAll(t, tw, owner.ID)
	if len(posts) != 1 || posts[0].ID != newer.ID {
		t.Errorf("second walk: %v, want only %s", posts, newer.ID)
	}
	reqs := srv.Requests()
	if last := reqs[len(reqs)-1].Query; last.Get("since_id") == "" || last.Get("start_time") == "" || last.Get("exclude") != "replies,retweets" {
		t.Errorf("second walk's request %v: want since_id, start_time and exclude", last)
	}
}

func TestDiscoverErrors(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	tw := configure(t, configFor(srv))
	_, err := tw.Discover(context.Background(), sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetAuthor, ID: "@no such name"}})
	if !sdk.IsPermanent(err) {
		t.Errorf("a target that is neither an id nor a @username: %v, want a permanent error", err)
	}
	_, err = tw.Discover(context.Background(), sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetAuthor, ID: "@nobody"}})
	if !sdk.IsPermanent(err) || !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("an unknown @username: %v, want a permanent sdk.ErrNotFound", err)
	}
	_, err = tw.Discover(context.Background(), sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetAuthor, ID: "424242"}})
	if !errors.Is(err, sdk.ErrNotFound) || !sdk.IsPermanent(err) {
		t.Errorf("an unknown user: %v, want a permanent sdk.ErrNotFound", err)
	}
	srv.SetUsageCapped(true)
	_, err = tw.Discover(context.Background(), sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetAuthor, ID: srv.Owner().ID}})
	var rle *sdk.RateLimitedError
	if !errors.As(err, &rle) || !rle.RateLimit.UsageCapExceeded {
		t.Errorf("usage cap: %v", err)
	}
}

func TestDiscoverByUsername(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	post := srv.Post(srv.Owner().ID, "hello")
	tw := configure(t, configFor(srv))
	posts := discoverAll(t, tw, "@"+srv.Owner().Username)
	if len(posts) != 1 || posts[0].ID != post.ID {
		t.Errorf("posts %v, want [%s]", posts, post.ID)
	}
	if posts := discoverAll(t, tw, "@"+srv.Owner().Username); len(posts) != 0 {
		t.Errorf("second walk: %v, want nothing new", posts)
	}
	lookups := 0
	for _, r := range srv.Requests() {
		if strings.HasPrefix(r.Path, "/2/users/by/username/") {
			lookups++
		}
	}
	if lookups != 1 {
		t.Errorf("%d username lookups for two walks, want 1 (the id is remembered)", lookups)
	}
}

// The newest post seen is kept from a walk's first page: the host stops a
// walk at the first page with nothing new to it, so a walk that once ended
// early would otherwise never save it, and every later walk would read the
// author's week again.
func TestDiscoverRemembersNewestFromFirstPage(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	owner := srv.Owner()
	for range 150 {
		srv.Post(owner.ID, "post")
	}
	tw := configure(t, configFor(srv))
	target := sdk.Target{Kind: sdk.TargetAuthor, ID: owner.ID}
	first, err := tw.Discover(context.Background(), sdk.DiscoverRequest{Target: target})
	if err != nil || len(first.Cursor) == 0 || len(first.Posts) == 0 {
		t.Fatalf("first page: %d posts, cursor %q, %v", len(first.Posts), first.Cursor, err)
	}
	// The walk ends here (the host failed, or restarted); the next walk
	// starts from the top.
	if _, err := tw.Discover(context.Background(), sdk.DiscoverRequest{Target: target}); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if got := reqs[len(reqs)-1].Query.Get("since_id"); got != first.Posts[0].ID {
		t.Errorf("the next walk asked with since_id %q, want %s, the newest post of the first page", got, first.Posts[0].ID)
	}
}
