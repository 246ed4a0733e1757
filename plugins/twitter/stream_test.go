package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/plugins/twitter/twittertest"
	"github.com/moderatorbot/moderator/sdk"
)

// sinkRecorder records what a stream delivers, for tests to wait on.
type sinkRecorder struct {
	mu       sync.Mutex
	comments []sdk.Comment
	statuses []sdk.StreamStatus
	changed  chan struct{}
}

func newSink() *sinkRecorder { return &sinkRecorder{changed: make(chan struct{}, 1)} }

func (k *sinkRecorder) Comment(c sdk.Comment) error {
	k.mu.Lock()
	k.comments = append(k.comments, c)
	k.mu.Unlock()
	k.poke()
	return nil
}

func (k *sinkRecorder) Status(st sdk.StreamStatus) error {
	k.mu.Lock()
	k.statuses = append(k.statuses, st)
	k.mu.Unlock()
	k.poke()
	return nil
}

func (k *sinkRecorder) poke() {
	select {
	case k.changed <- struct{}{}:
	default:
	}
}

// waitFor waits (generously) until cond holds over what was recorded.
func (k *sinkRecorder) waitFor(t *testing.T, what string, cond func(cs []sdk.Comment, ss []sdk.StreamStatus) bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		k.mu.Lock()
		ok := cond(slices.Clone(k.comments), slices.Clone(k.statuses))
		k.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-k.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			k.mu.Lock()
			defer k.mu.Unlock()
			t.Fatalf("timed out waiting for %s; comments %v, statuses %+v", what, k.comments, k.statuses)
		}
	}
}

func hasComment(id string) func([]sdk.Comment, []sdk.StreamStatus) bool {
	return func(cs []sdk.Comment, _ []sdk.StreamStatus) bool {
		return slices.ContainsFunc(cs, func(c sdk.Comment) bool { return c.ID == id })
	}
}

func countState(ss []sdk.StreamStatus, state string, gap bool) int {
	n := 0
	for _, s := range ss {
		if s.State == state && s.Gap == gap {
			n++
		}
	}
	return n
}

var fastBackoff = backoff{netStep: time.Millisecond, netMax: 10 * time.Millisecond, httpBase: time.Millisecond, httpMax: 10 * time.Millisecond, rateBase: time.Millisecond, rateMax: 10 * time.Millisecond}

// startStream runs tw's Stream until the test ends.
func startStream(t *testing.T, tw *Twitter, targets []sdk.Target) *sinkRecorder {
	t.Helper()
	tw.settings.Load().backoff = fastBackoff
	sink := newSink()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tw.Stream(ctx, sdk.StreamRequest{Targets: targets}, sink) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Stream returned %v after its context ended", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Stream did not return after its context ended")
		}
	})
	return sink
}

func TestStream(t *testing.T) {
	srv := newFake(t, twittertest.Options{StreamKeepAlive: 20 * time.Millisecond})
	fan := srv.AddUser("2", "fan")
	owner := srv.Owner()
	a := srv.Post(owner.ID, "watched")
	other := srv.Post(fan.ID, "not watched")
	tw := configure(t, with(configFor(srv), "stream", true))
	sink := startStream(t, tw, []sdk.Target{{Kind: sdk.TargetPost, ID: a.ID}, {Kind: sdk.TargetAuthor, ID: owner.ID}})
	sink.waitFor(t, "the stream to connect", func(_ []sdk.Comment, ss []sdk.StreamStatus) bool {
		return countState(ss, sdk.StreamConnected, false) == 1
	})
	rules := srv.Rules()
	var values []string
	for _, r := range rules {
		if r.Tag != "moderator:twitter-test" {
			t.Errorf("rule %+v is not tagged with the instance", r)
		}
		values = append(values, r.Value)
	}
	if want := []string{"conversation_id:" + a.ID + " OR to:" + owner.ID}; !slices.Equal(values, want) {
		t.Errorf("rules %q, want %q", values, want)
	}
	r1 := srv.Reply(fan.ID, a.ID, "first")
	srv.Post(owner.ID, "a new post is no comment")
	r2 := srv.Reply(fan.ID, other.ID, "elsewhere, not watched")
	sink.waitFor(t, "the reply", hasComment(r1.ID))
	c := func() sdk.Comment {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return sink.comments[0]
	}()
	if c.PostID != a.ID || c.ParentID != a.ID || c.AuthorHandle != "@fan" || c.Text != "first" {
		t.Errorf("comment %+v", c)
	}
	// An operational disconnect: the stream reconnects and reports the gap.
	srv.DisconnectStreams()
	sink.waitFor(t, "a reconnect with a gap", func(_ []sdk.Comment, ss []sdk.StreamStatus) bool {
		return countState(ss, sdk.StreamReconnecting, false) >= 1 && countState(ss, sdk.StreamConnected, true) >= 1
	})
	sink.mu.Lock()
	for _, s := range sink.statuses {
		if s.State == sdk.StreamReconnecting && !strings.Contains(s.Detail, "operational-disconnect") {
			t.Errorf("reconnecting for %q, want the operational-disconnect", s.Detail)
		}
	}
	sink.mu.Unlock()
	r3 := srv.Reply(fan.ID, r1.ID, "after the reconnect")
	sink.waitFor(t, "a reply after the reconnect", hasComment(r3.ID))
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, c := range sink.comments {
		if c.ID == r2.ID || c.ID == a.ID {
			t.Errorf("comment %s should not have come", c.ID)
		}
	}
}

func TestStreamRules(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	owner := srv.Owner()
	a := srv.Post(owner.ID, "a")
	b := srv.Post(owner.ID, "b")
	tw := configure(t, with(configFor(srv), "stream", true))
	s := tw.settings.Load()
	ctx := context.Background()
	// Another app's rule, and a stale one of this instance.
	if err := s.postRules(ctx, map[string]any{"add": []map[string]string{{"value": "to:999", "tag": "someone-else"}, {"value": "conversation_id:1", "tag": s.ruleTag}}}); err != nil {
		t.Fatal(err)
	}
	want := streamRules([]sdk.Target{{Kind: sdk.TargetPost, ID: a.ID}, {Kind: sdk.TargetPost, ID: b.ID}, {Kind: sdk.TargetQuery, ID: "ignored"}}, 64)
	if len(want) != 2 {
		t.Fatalf("rules %q: two 35-character terms do not fit 64 characters together", want)
	}
	for range 2 { // the second time changes nothing
		if err := s.syncRules(ctx, want); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range srv.Rules() {
			got = append(got, r.Tag+"="+r.Value)
		}
		slices.Sort(got)
		exp := []string{s.ruleTag + "=" + want[0], s.ruleTag + "=" + want[1], "someone-else=to:999"}
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("rules %q, want %q", got, exp)
		}
	}
}

func TestStreamReconnects(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(srv *twittertest.Server)
		config map[string]any
		detail string
	}{
		{"stall", nil, map[string]any{"stream_stall_timeout": "1s"}, "not even a keep-alive"},
		{"http_503", func(srv *twittertest.Server) {
			srv.SetFault(twittertest.Fault{Endpoint: twittertest.EndpointStream, Status: 503, Times: 2})
		}, nil, "503"},
		{"rate_429", func(srv *twittertest.Server) { srv.SetRemaining(twittertest.EndpointStream, 0) }, nil, "429"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, twittertest.Options{StreamKeepAlive: time.Hour})
			owner := srv.Owner()
			a := srv.Post(owner.ID, "a")
			if tt.setup != nil {
				tt.setup(srv)
			}
			cfg := with(configFor(srv), "stream", true)
			for k, v := range tt.config {
				cfg[k] = v
			}
			tw := configure(t, cfg)
			sink := startStream(t, tw, []sdk.Target{{Kind: sdk.TargetPost, ID: a.ID}})
			sink.waitFor(t, "a reconnect for "+tt.detail, func(_ []sdk.Comment, ss []sdk.StreamStatus) bool {
				return slices.ContainsFunc(ss, func(s sdk.StreamStatus) bool {
					return s.State == sdk.StreamReconnecting && strings.Contains(s.Detail, tt.detail)
				})
			})
			if tt.name == "rate_429" {
				sink.mu.Lock()
				i := slices.IndexFunc(sink.statuses, func(s sdk.StreamStatus) bool { return s.State == sdk.StreamReconnecting })
				if sink.statuses[i].RateLimit.Reset.IsZero() {
					t.Errorf("a 429 reconnect without the reset: %+v", sink.statuses[i])
				}
				sink.mu.Unlock()
				return
			}
			sink.waitFor(t, "a connection", func(_ []sdk.Comment, ss []sdk.StreamStatus) bool {
				return countState(ss, sdk.StreamConnected, false)+countState(ss, sdk.StreamConnected, true) >= 1
			})
		})
	}
}

func TestStreamOff(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	tw := configure(t, configFor(srv))
	err := tw.Stream(t.Context(), sdk.StreamRequest{Targets: []sdk.Target{{Kind: sdk.TargetAuthor, ID: srv.Owner().ID}}}, newSink())
	if !errors.Is(err, sdk.ErrUnsupported) || !strings.Contains(err.Error(), "stream = false") {
		t.Errorf("Stream with the stream off: %v, want ErrUnsupported saying stream = false", err)
	}
	if srv.Streams() != 0 || len(srv.Rules()) != 0 {
		t.Errorf("a stream that is off reached X")
	}
}

func FuzzDecodeStreamLine(f *testing.F) {
	f.Add([]byte(`{"data":{"id":"12","text":"hi","conversation_id":"10","author_id":"2"},"includes":{"users":[{"id":"2","username":"fan"}]},"matching_rules":[{"id":"1","tag":"t"}]}`))
	f.Add([]byte(`{"data":{"id":"12","text":"hi","conversation_id":"10","author_id":"2"},"matching_rules":[{"id":"1","tag":"other"}]}`))
	f.Add([]byte(`{"errors":[{"title":"operational-disconnect","disconnect_type":"OperationalDisconnect"}]}`))
	f.Add([]byte(`{"data":null}`))
	f.Add([]byte(`{"data":{"id":12}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		c, ok, err := decodeStreamLine(line, "t")
		if ok && (err != nil || !isID(c.ID) || !isID(c.PostID) || c.ID == c.PostID) {
			t.Fatalf("comment %+v, err %v", c, err)
		}
	})
}

// waits records the stream's reconnect waits instead of waiting, and ends
// the stream's context after n of them.
type waits struct {
	mu     sync.Mutex
	got    []time.Duration
	n      int
	cancel context.CancelFunc
}

func (w *waits) sleep(ctx context.Context, d time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, d)
	if len(w.got) >= w.n {
		w.cancel()
		return false
	}
	return ctx.Err() == nil
}

func (w *waits) list() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.got)
}

// runStream runs tw's Stream with X's real backoff but recorded waits (n of
// them at most), and returns what it delivered and what Stream returned.
func runStream(t *testing.T, tw *Twitter, targets []sdk.Target, n int, sink sdk.StreamSink) (*waits, context.CancelFunc, chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	w := &waits{n: n, cancel: cancel}
	tw.settings.Load().sleep = w.sleep
	done := make(chan error, 1)
	go func() { done <- tw.Stream(ctx, sdk.StreamRequest{Targets: targets}, sink) }()
	return w, cancel, done
}

// clockSink advances a clock when the stream reports its nth connection.
type clockSink struct {
	*sinkRecorder
	clk       *clock
	connected int
	advanceAt int
}

func (k *clockSink) Status(st sdk.StreamStatus) error {
	if st.State == sdk.StreamConnected {
		k.connected++
		if k.connected == k.advanceAt {
			k.clk.Set(k.clk.Now().Add(2 * time.Minute)) // the connection stays up a while
		}
	}
	return k.sinkRecorder.Status(st)
}

// A stream that X accepts (200) and drops at once is reconnected with X's
// growing backoff (250 ms more each time), not at once, forever: the
// backoff starts over only after a connection stayed up a minute or brought
// a tweet. And the rules are set once, not on every reconnect.
func TestStreamReconnectBackoff(t *testing.T) {
	const tag = "moderator:twitter-test"
	var conns, ruleCalls atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/2/tweets/search/stream/rules":
			ruleCalls.Add(1)
			w.Write([]byte(`{"data":[{"id":"1","value":"to:1000","tag":"` + tag + `"}],"meta":{"result_count":1}}`))
		case "/2/tweets/search/stream":
			w.WriteHeader(http.StatusOK)
			if conns.Add(1) == 6 {
				w.Write([]byte(`{"data":{"id":"12","text":"hi","conversation_id":"10","author_id":"2"},"matching_rules":[{"id":"1","tag":"` + tag + `"}]}` + "\r\n"))
				return
			}
			w.Write([]byte(`{"errors":[{"title":"operational-disconnect","disconnect_type":"OperationalDisconnect","detail":"x","type":"https://api.twitter.com/2/problems/operational-disconnect"}]}` + "\r\n"))
		}
	}))
	defer ts.Close()
	tw := configure(t, map[string]any{"api_base_url": ts.URL, "bearer_token": "b", "read_only": true, "stream": true})
	clk := &clock{now: time.Now()}
	tw.settings.Load().now = clk.Now
	sink := &clockSink{sinkRecorder: newSink(), clk: clk, advanceAt: 4}
	w, _, done := runStream(t, tw, []sdk.Target{{Kind: sdk.TargetAuthor, ID: "1000"}}, 6, sink)
	<-done
	ms := time.Millisecond
	want := []time.Duration{250 * ms, 500 * ms, 750 * ms, 250 * ms /* up 2 min */, 500 * ms, 250 * ms /* a tweet came */}
	if got := w.list(); !slices.Equal(got, want) {
		t.Errorf("waits between connections %v, want %v", got, want)
	}
	if n := ruleCalls.Load(); n != 1 {
		t.Errorf("%d rules requests over %d connections, want 1", n, conns.Load())
	}
}

// The filtered stream is one per app: an instance delivers only what its
// own rules (its tag in matching_rules) matched, not another instance's.
func TestStreamKeepsOnlyItsOwnMatches(t *testing.T) {
	srv := newFake(t, twittertest.Options{StreamKeepAlive: 20 * time.Millisecond})
	fan := srv.AddUser("2", "fan")
	other := srv.AddUser("3", "otheraccount")
	pa := srv.Post(srv.Owner().ID, "a's post")
	pb := srv.Post(other.ID, "b's post")
	a := configureAs(t, "a", with(configFor(srv), "stream", true))
	b := configureAs(t, "b", with(configFor(srv), "stream", true, "read_only", true, "user_id", other.ID, "access_token", nil))
	if err := b.settings.Load().syncRules(context.Background(), streamRules([]sdk.Target{{Kind: sdk.TargetPost, ID: pb.ID}}, 512)); err != nil {
		t.Fatal(err)
	}
	sink := startStream(t, a, []sdk.Target{{Kind: sdk.TargetPost, ID: pa.ID}})
	sink.waitFor(t, "connect", func(_ []sdk.Comment, ss []sdk.StreamStatus) bool {
		return countState(ss, sdk.StreamConnected, false) == 1
	})
	rb := srv.Reply(fan.ID, pb.ID, "reply to b's post")
	ra := srv.Reply(fan.ID, pa.ID, "reply to a's post")
	sink.waitFor(t, "a's reply", hasComment(ra.ID))
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, c := range sink.comments {
		if c.ID == rb.ID {
			t.Errorf("instance a delivered %s (post %s, matched only by instance b's rule) as its own comment", c.ID, c.PostID)
		}
	}
}

func configureAs(t *testing.T, instance string, cfg map[string]any) *Twitter {
	t.Helper()
	data, _ := json.Marshal(cfg)
	tw := &Twitter{}
	if err := tw.Configure(context.Background(), sdk.ConfigureRequest{Instance: instance, Config: sdk.Config{JSON: data}, KV: sdk.NewMemoryKV()}); err != nil {
		t.Fatal(err)
	}
	return tw
}

// What waiting does not cure is not retried in a loop: a usage cap waits an
// hour at least and says the stream is down; a rule X refuses is reported,
// and X is not asked again in this session.
func TestStreamUncurable(t *testing.T) {
	tests := []struct {
		name   string
		opts   twittertest.Options
		setup  func(t *testing.T, srv *twittertest.Server)
		detail string
		// retried: the stream waits (at least minWait) and tries again;
		// otherwise it waits for its context and returns a permanent error.
		retried bool
		minWait time.Duration
	}{
		{
			name:    "usage_cap",
			setup:   func(_ *testing.T, srv *twittertest.Server) { srv.SetUsageCapped(true) },
			detail:  "usage cap",
			retried: true, minWait: time.Hour,
		},
		{
			name: "rule_refused",
			opts: twittertest.Options{MaxRules: 1},
			setup: func(t *testing.T, srv *twittertest.Server) {
				other := configureAs(t, "other", with(configFor(srv), "stream", true))
				if err := other.settings.Load().syncRules(context.Background(), []string{"to:3"}); err != nil {
					t.Fatal(err)
				}
			},
			detail: "RulesCapExceeded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, tt.opts)
			p := srv.Post(srv.Owner().ID, "p")
			tt.setup(t, srv)
			before := len(srv.Requests())
			tw := configure(t, with(configFor(srv), "stream", true))
			sink := newSink()
			w, cancel, done := runStream(t, tw, []sdk.Target{{Kind: sdk.TargetPost, ID: p.ID}}, 1, sink)
			sink.waitFor(t, "a disconnected status", func(_ []sdk.Comment, ss []sdk.StreamStatus) bool {
				return slices.ContainsFunc(ss, func(s sdk.StreamStatus) bool { return s.State == sdk.StreamDisconnected })
			})
			cancel()
			err := <-done
			sink.mu.Lock()
			i := slices.IndexFunc(sink.statuses, func(s sdk.StreamStatus) bool { return s.State == sdk.StreamDisconnected })
			if !strings.Contains(sink.statuses[i].Detail, tt.detail) {
				t.Errorf("status %+v, want it to say %q", sink.statuses[i], tt.detail)
			}
			sink.mu.Unlock()
			got := w.list()
			if tt.retried {
				if len(got) != 1 || got[0] < tt.minWait {
					t.Errorf("waits %v, want one of at least %s", got, tt.minWait)
				}
				return
			}
			if len(got) != 0 || !sdk.IsPermanent(err) {
				t.Errorf("waits %v and Stream returned %v, want no retry and a permanent error", got, err)
			}
			if n := len(srv.Requests()) - before; n != 2 {
				t.Errorf("%d requests to X, want 2 (the rules, the refused add)", n)
			}
		})
	}
}

func TestORGroups(t *testing.T) {
	for _, tt := range []struct {
		terms []string
		max   int
		want  [][]string
	}{
		{nil, 10, nil},
		{[]string{"aaa", "bbb"}, 10, [][]string{{"aaa", "bbb"}}},     // "aaa OR bbb" is exactly 10
		{[]string{"aaa", "bbbb"}, 10, [][]string{{"aaa"}, {"bbbb"}}}, // 11
		{[]string{"toolongterm", "a", "b"}, 6, [][]string{{"toolongterm"}, {"a", "b"}}},
		{[]string{"a", "b", "c"}, 6, [][]string{{"a", "b"}, {"c"}}},
	} {
		if got := orGroups(tt.terms, tt.max); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("orGroups(%q, %d) = %q, want %q", tt.terms, tt.max, got, tt.want)
		}
	}
}
