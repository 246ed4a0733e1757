package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var (
	t0 = time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)
	rl = sdk.RateLimit{Limit: 300, Remaining: 299, Reset: t0.Add(15 * time.Minute), Bucket: "search"}
)

// fullComment has every field set, so a field the conversions drop shows.
func fullComment(id, postID string) sdk.Comment {
	return sdk.Comment{
		Platform: "echo", Connector: "echo-1", ID: id, PostID: postID, ParentID: postID,
		AuthorID: "u1", AuthorHandle: "@someone", Text: "Hello, ÉCOLE 😀\nbye", CreatedAt: t0,
		Version: "v2", URL: "https://example.com/" + id, Raw: []byte{'{', 0, 0xff, '}'}, Deleted: true,
		AuthorCreatedAt: t0.Add(-24 * time.Hour), Lang: "fr-CA", Metadata: map[string]string{"likes": "3", "ÉTÉ": "été"},
	}
}

// echo is a connector with every capability that answers from its request,
// so the test can check each field of each conversion both ways.
type echo struct {
	mu         sync.Mutex
	moderated  []sdk.ModerateRequest
	discovered []sdk.Target
}

func (e *echo) Discover(_ context.Context, req sdk.DiscoverRequest) (sdk.DiscoverResponse, error) {
	e.mu.Lock()
	e.discovered = append(e.discovered, req.Target)
	e.mu.Unlock()
	return sdk.DiscoverResponse{
		Posts: []sdk.Post{
			{ID: req.Target.Kind + ":" + req.Target.ID, URL: "https://example.com/p", AuthorID: "a1", Title: "Título 1", CreatedAt: t0},
			{ID: "bare"},
		},
		Cursor:    append(append([]byte(nil), req.Cursor...), 0, 1),
		RateLimit: rl,
	}, nil
}

func (*echo) Poll(_ context.Context, posts []sdk.PostCursor) (sdk.PollResponse, error) {
	var out sdk.PollResponse
	for _, p := range posts {
		pc := sdk.PostComments{PostID: p.PostID, Cursor: append(append([]byte(nil), p.Cursor...), '+'), More: true}
		switch p.PostID {
		case "broken":
			pc = sdk.PostComments{PostID: p.PostID, Cursor: p.Cursor, Err: "HTTP 500"}
		case "stranger":
			pc.PostID = "not-asked-for"
		default:
			pc.Comments = []sdk.Comment{fullComment(p.PostID+"-c1", p.PostID)}
		}
		out.Posts = append(out.Posts, pc)
	}
	out.RateLimit = rl
	return out, nil
}

func (*echo) Stream(ctx context.Context, req sdk.StreamRequest, sink sdk.StreamSink) error {
	if len(req.Targets) == 1 && req.Targets[0].ID == "off" {
		return fmt.Errorf("the stream is off in the config: %w", sdk.ErrUnsupported)
	}
	if err := sink.Status(sdk.StreamStatus{State: sdk.StreamConnected}); err != nil {
		return err
	}
	for _, tg := range req.Targets {
		if tg.ID == "block" {
			<-ctx.Done()
			return ctx.Err()
		}
		if err := sink.Comment(fullComment(tg.Kind+":"+tg.ID, "p")); err != nil {
			return err
		}
	}
	return sink.Status(sdk.StreamStatus{State: sdk.StreamReconnecting, Detail: "operational-disconnect", Gap: true, RateLimit: rl})
}

func (*echo) Webhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	h := http.Header{}
	h.Set("X-Method", req.Method)
	h.Set("X-Path", req.Path)
	h.Set("X-Query", req.RawQuery)
	h.Set("X-Remote", req.RemoteAddr)
	for _, v := range req.Header.Values("X-Signature") {
		h.Add("X-Signature", v)
	}
	resp := sdk.WebhookResponse{Header: h, Body: append([]byte("echo:"), req.Body...)}
	if req.Path == "/deliveries" {
		resp.Status = http.StatusAccepted
		resp.Comments = []sdk.Comment{fullComment("w1", "p1"), fullComment("w2", "p1")}
	}
	return resp, nil
}

func (e *echo) Moderate(_ context.Context, req sdk.ModerateRequest) (sdk.ModerateResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.moderated = append(e.moderated, req)
	return sdk.ModerateResponse{Changed: req.Action == sdk.ActionHide, Detail: "did " + req.Action}, nil
}

func startEcho(t *testing.T) (*sdk.RemotePlugin, *echo) {
	e := &echo{}
	info := sdk.Info{
		Name: "echo", Version: "1.2.3", Description: "Echoes.", Platform: "echo",
		Actions: []string{sdk.ActionHide, sdk.ActionFlag}, TargetKinds: []string{sdk.TargetAuthor, sdk.TargetQuery},
		Config:   []sdk.ConfigField{{Name: "token", Type: "string", Required: true, Secret: true, Description: "API token.", Default: "x"}},
		MaxBatch: 50,
	}
	return plugintest.Start(t, sdk.Plugin{Info: info, Connector: e}), e
}

func TestDescribeRoundTrip(t *testing.T) {
	p, _ := startEcho(t)
	d, err := p.Describe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.Description{
		Info: sdk.Info{
			Name: "echo", Version: "1.2.3", Description: "Echoes.", Platform: "echo",
			Actions: []string{sdk.ActionHide, sdk.ActionFlag}, TargetKinds: []string{sdk.TargetAuthor, sdk.TargetQuery},
			Config:   []sdk.ConfigField{{Name: "token", Type: "string", Required: true, Secret: true, Description: "API token.", Default: "x"}},
			MaxBatch: 50,
		},
		Kind: sdk.KindConnector, ProtocolVersion: sdk.ProtocolVersion, SDKVersion: sdk.Version,
		Capabilities: []string{sdk.CapDiscover, sdk.CapPoll, sdk.CapStream, sdk.CapWebhook, sdk.CapModerate},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("Describe\n%+v\nwant\n%+v", d, want)
	}
}

func TestDiscoverRoundTrip(t *testing.T) {
	p, _ := startEcho(t)
	got, err := p.Discover(t.Context(), sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetAuthor, ID: "@me"}, Cursor: []byte{9}})
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.DiscoverResponse{
		Posts:     []sdk.Post{{ID: "author:@me", URL: "https://example.com/p", AuthorID: "a1", Title: "Título 1", CreatedAt: t0}, {ID: "bare"}},
		Cursor:    []byte{9, 0, 1},
		RateLimit: rl,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Discover\n%+v\nwant\n%+v", got, want)
	}
}

func TestPollRoundTrip(t *testing.T) {
	p, _ := startEcho(t)
	tests := []struct {
		name    string
		posts   []sdk.PostCursor
		want    []sdk.PostComments
		wantErr string
	}{
		{
			name:  "many posts at once, one failing",
			posts: []sdk.PostCursor{{PostID: "p1"}, {PostID: "broken", Cursor: []byte("old")}, {PostID: "p2", Cursor: []byte("c")}},
			want: []sdk.PostComments{
				{PostID: "p1", Comments: []sdk.Comment{fullComment("p1-c1", "p1")}, Cursor: []byte("+"), More: true},
				{PostID: "broken", Comments: []sdk.Comment{}, Cursor: []byte("old"), Err: "HTTP 500"},
				{PostID: "p2", Comments: []sdk.Comment{fullComment("p2-c1", "p2")}, Cursor: []byte("c+"), More: true},
			},
		},
		{
			name:    "a post not asked for",
			posts:   []sdk.PostCursor{{PostID: "stranger"}},
			wantErr: `post "not-asked-for" was not asked for`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Poll(t.Context(), tt.posts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Poll error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Posts, tt.want) {
				t.Errorf("Poll posts\n%+v\nwant\n%+v", got.Posts, tt.want)
			}
			if !reflect.DeepEqual(got.RateLimit, rl) {
				t.Errorf("RateLimit %+v, want %+v", got.RateLimit, rl)
			}
		})
	}
}

// collect is a StreamSink that keeps what it gets.
type collect struct {
	mu       sync.Mutex
	comments []sdk.Comment
	statuses []sdk.StreamStatus
}

func (c *collect) Comment(x sdk.Comment) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.comments = append(c.comments, x)
	return nil
}

func (c *collect) Status(s sdk.StreamStatus) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statuses = append(c.statuses, s)
	return nil
}

func TestStreamRoundTrip(t *testing.T) {
	p, _ := startEcho(t)
	sink := &collect{}
	err := p.Stream(t.Context(), sdk.StreamRequest{Targets: []sdk.Target{{Kind: sdk.TargetQuery, ID: "q1"}, {Kind: sdk.TargetAuthor, ID: "a1"}}}, sink)
	if err != nil {
		t.Fatalf("a stream that ends by itself: %v", err)
	}
	if want := []sdk.Comment{fullComment("query:q1", "p"), fullComment("author:a1", "p")}; !reflect.DeepEqual(sink.comments, want) {
		t.Errorf("comments\n%+v\nwant\n%+v", sink.comments, want)
	}
	wantStatus := []sdk.StreamStatus{
		{State: sdk.StreamConnected},
		{State: sdk.StreamReconnecting, Detail: "operational-disconnect", Gap: true, RateLimit: rl},
	}
	if !reflect.DeepEqual(sink.statuses, wantStatus) {
		t.Errorf("statuses\n%+v\nwant\n%+v", sink.statuses, wantStatus)
	}
}

// TestStreamOffCrossesTheWire: the host tells a stream that is off in the
// instance's config from one that failed by ErrUnsupported, so it must
// survive gRPC.
func TestStreamOffCrossesTheWire(t *testing.T) {
	p, _ := startEcho(t)
	err := p.Stream(t.Context(), sdk.StreamRequest{Targets: []sdk.Target{{Kind: sdk.TargetQuery, ID: "off"}}}, &collect{})
	if !errors.Is(err, sdk.ErrUnsupported) || !strings.Contains(err.Error(), "the stream is off in the config") {
		t.Errorf("Stream = %v, want ErrUnsupported with the plugin's reason", err)
	}
}

func TestStreamEndsWithTheContext(t *testing.T) {
	p, _ := startEcho(t)
	ctx, cancel := context.WithCancel(t.Context())
	sink := &sinkFunc{onStatus: func(sdk.StreamStatus) { cancel() }}
	done := make(chan error, 1)
	go func() {
		done <- p.Stream(ctx, sdk.StreamRequest{Targets: []sdk.Target{{Kind: sdk.TargetQuery, ID: "block"}}}, sink)
	}()
	select {
	case err := <-done:
		if status.Code(err) != codes.Canceled {
			t.Errorf("Stream after cancel = %v, want a Canceled error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stream still running 5s after its context was canceled")
	}
}

func TestStreamSinkErrorStopsTheStream(t *testing.T) {
	p, _ := startEcho(t)
	refuse := errors.New("queue full")
	sink := &sinkFunc{onComment: func(sdk.Comment) error { return refuse }}
	err := p.Stream(t.Context(), sdk.StreamRequest{Targets: []sdk.Target{{Kind: sdk.TargetQuery, ID: "q"}}}, sink)
	if !errors.Is(err, refuse) {
		t.Errorf("Stream = %v, want the sink's error", err)
	}
}

type sinkFunc struct {
	onComment func(sdk.Comment) error
	onStatus  func(sdk.StreamStatus)
}

func (s *sinkFunc) Comment(c sdk.Comment) error {
	if s.onComment != nil {
		return s.onComment(c)
	}
	return nil
}

func (s *sinkFunc) Status(st sdk.StreamStatus) error {
	if s.onStatus != nil {
		s.onStatus(st)
	}
	return nil
}

func TestWebhookRoundTrip(t *testing.T) {
	p, _ := startEcho(t)
	tests := []struct {
		name         string
		req          sdk.WebhookRequest
		wantStatus   int
		wantComments []sdk.Comment
	}{
		{
			name: "delivery with comments",
			req: sdk.WebhookRequest{
				Method: "POST", Path: "/deliveries", RawQuery: "a=1&b=%20", RemoteAddr: "203.0.113.9:4444",
				Header: http.Header{"X-Signature": {"sha256=abc", "sha256=def"}}, Body: []byte{'{', 0, 0xfe, '}'},
			},
			wantStatus:   http.StatusAccepted,
			wantComments: []sdk.Comment{fullComment("w1", "p1"), fullComment("w2", "p1")},
		},
		{
			name:       "status left 0 becomes 200",
			req:        sdk.WebhookRequest{Method: "GET", RawQuery: "crc_token=T", Header: http.Header{}},
			wantStatus: http.StatusOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Webhook(t.Context(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.wantStatus {
				t.Errorf("status %d, want %d", got.Status, tt.wantStatus)
			}
			wantHeader := http.Header{
				"X-Method": {tt.req.Method}, "X-Path": {tt.req.Path}, "X-Query": {tt.req.RawQuery}, "X-Remote": {tt.req.RemoteAddr},
			}
			if v := tt.req.Header.Values("X-Signature"); v != nil {
				wantHeader["X-Signature"] = v
			}
			if !reflect.DeepEqual(got.Header, wantHeader) {
				t.Errorf("header %v, want %v", got.Header, wantHeader)
			}
			if want := append([]byte("echo:"), tt.req.Body...); string(got.Body) != string(want) {
				t.Errorf("body %q, want %q", got.Body, want)
			}
			if len(got.Comments) != len(tt.wantComments) || len(tt.wantComments) > 0 && !reflect.DeepEqual(got.Comments, tt.wantComments) {
				t.Errorf("comments\n%+v\nwant\n%+v", got.Comments, tt.wantComments)
			}
		})
	}
}

func TestModerateRoundTrip(t *testing.T) {
	p, e := startEcho(t)
	req := sdk.ModerateRequest{Comment: fullComment("c9", "p1"), Action: sdk.ActionHide, Reason: "rule shouting: 92% capitals", IdempotencyKey: "dec-17"}
	got, err := p.Moderate(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if want := (sdk.ModerateResponse{Changed: true, Detail: "did hide"}); got != want {
		t.Errorf("Moderate = %+v, want %+v", got, want)
	}
	if len(e.moderated) != 1 || !reflect.DeepEqual(e.moderated[0], req) {
		t.Errorf("the plugin received\n%+v\nwant\n%+v", e.moderated, req)
	}
}

// Serve refuses an action the connector does not declare before Moderate
// sees it, with the error the host never retries; each connector used to
// write that check itself, and one that forgot applied anything.
func TestUndeclaredActionNeverReachesModerate(t *testing.T) {
	p, e := startEcho(t) // declares hide and flag, and answers anything
	tests := []struct {
		action  string
		wantErr string // "" for a declared action
	}{
		{action: sdk.ActionHide},
		{action: sdk.ActionDelete, wantErr: `moderate c1: action "delete" is not one connector echo declares in Info.Actions ("hide", "flag"): unsupported`},
		{action: "hyde", wantErr: `action "hyde" is not one connector echo declares`},
		{action: sdk.ActionReview, wantErr: `action "review" is not one connector echo declares`},
		{action: "", wantErr: `action "" is not one connector echo declares`},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			e.mu.Lock()
			before := len(e.moderated)
			e.mu.Unlock()
			_, err := p.Moderate(t.Context(), sdk.ModerateRequest{Comment: sdk.Comment{ID: "c1"}, Action: tt.action})
			e.mu.Lock()
			reached := len(e.moderated) > before
			e.mu.Unlock()
			if tt.wantErr == "" {
				if err != nil || !reached {
					t.Fatalf("declared action: err %v, reached Moderate %v; want it applied", err, reached)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Moderate(%q) = %v, want an error containing %q", tt.action, err, tt.wantErr)
			}
			if !errors.Is(err, sdk.ErrUnsupported) || !sdk.IsPermanent(err) {
				t.Errorf("Moderate(%q) = %v, want it to match sdk.ErrUnsupported (never retried)", tt.action, err)
			}
			if reached {
				t.Errorf("Moderate(%q) reached the connector's Moderate", tt.action)
			}
		})
	}
}

// A target of a kind the connector does not declare in Info.TargetKinds
// never reaches its Discover, as an undeclared action never reaches
// Moderate: the error names the kind and the declared ones, and matches
// sdk.ErrUnsupported (never retried). Each connector used to write that
// check itself.
func TestUndeclaredTargetKindNeverReachesDiscover(t *testing.T) {
	p, e := startEcho(t) // declares author and query, and expands anything
	tests := []struct {
		kind    string
		wantErr string // "" for a declared kind
	}{
		{kind: sdk.TargetAuthor},
		{kind: sdk.TargetQuery},
		{kind: sdk.TargetPublication, wantErr: `discover publication x: target kind "publication" is not one connector echo declares ("author", "query"): unsupported`},
		{kind: sdk.TargetPost, wantErr: `target kind "post" is not one connector echo declares`},
		{kind: "auther", wantErr: `target kind "auther" is not one connector echo declares`},
		{kind: "", wantErr: `target kind "" is not one connector echo declares`},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			e.mu.Lock()
			before := len(e.discovered)
			e.mu.Unlock()
			_, err := p.Discover(t.Context(), sdk.DiscoverRequest{Target: sdk.Target{Kind: tt.kind, ID: "x"}})
			e.mu.Lock()
			reached := len(e.discovered) > before
			e.mu.Unlock()
			if tt.wantErr == "" {
				if err != nil || !reached {
					t.Fatalf("declared kind: err %v, reached Discover %v; want it expanded", err, reached)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Discover(%q) = %v, want an error containing %q", tt.kind, err, tt.wantErr)
			}
			if !errors.Is(err, sdk.ErrUnsupported) || !sdk.IsPermanent(err) {
				t.Errorf("Discover(%q) = %v, want it to match sdk.ErrUnsupported (never retried)", tt.kind, err)
			}
			if reached {
				t.Errorf("Discover(%q) reached the connector's Discover", tt.kind)
			}
		})
	}
}
