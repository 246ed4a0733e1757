package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
	pb "github.com/moderatorbot/moderator/sdk/proto/moderator/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var resetAt = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// wireErrors are the errors a connector may return, by name: the failing
// connector picks one from its request.
var wireErrors = map[string]error{
	"rate-limited": &sdk.RateLimitedError{
		RateLimit: sdk.RateLimit{Limit: 450, Remaining: 0, Reset: resetAt, Bucket: "search"},
		Err:       errors.New("HTTP 429 Too Many Requests"),
	},
	"usage-cap": &sdk.RateLimitedError{
		RateLimit: sdk.RateLimit{Reset: resetAt, UsageCapExceeded: true},
		Err:       errors.New("UsageCapExceeded: monthly product cap"),
	},
	"rate-limited-bare": fmt.Errorf("search: %w", &sdk.RateLimitedError{}),
	"not-found":         fmt.Errorf("hide comment 42: %w", sdk.ErrNotFound),
	"unsupported":       fmt.Errorf("delete on this platform: %w", sdk.ErrUnsupported),
	"permanent":         sdk.Permanent(errors.New("HTTP 403: not your conversation")),
	"plain":             errors.New("connection reset by peer"),
}

// failing answers every call with wireErrors[name], name taken from the request.
type failing struct{}

func (failing) Discover(_ context.Context, req sdk.DiscoverRequest) (sdk.DiscoverResponse, error) {
	return sdk.DiscoverResponse{}, wireErrors[req.Target.ID]
}

func (failing) Poll(_ context.Context, posts []sdk.PostCursor) (sdk.PollResponse, error) {
	return sdk.PollResponse{}, wireErrors[posts[0].PostID]
}

func (failing) Stream(_ context.Context, req sdk.StreamRequest, _ sdk.StreamSink) error {
	return wireErrors[req.Targets[0].ID]
}

func (failing) Webhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	return sdk.WebhookResponse{}, wireErrors[strings.TrimPrefix(req.Path, "/")]
}

func (failing) Moderate(_ context.Context, req sdk.ModerateRequest) (sdk.ModerateResponse, error) {
	return sdk.ModerateResponse{}, wireErrors[req.Comment.ID]
}

func TestErrorsCrossTheWire(t *testing.T) {
	p := plugintest.Start(t, sdk.Plugin{
		Info:      sdk.Info{Name: "failing", Version: "1", Platform: "test", Actions: []string{sdk.ActionHide}, TargetKinds: []string{sdk.TargetQuery}},
		Connector: failing{},
	})
	calls := []struct {
		name string
		call func(ctx context.Context, errName string) error
	}{
		{"discover", func(ctx context.Context, n string) error {
			_, err := p.Discover(ctx, sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetQuery, ID: n}})
			return err
		}},
		{"poll", func(ctx context.Context, n string) error {
			_, err := p.Poll(ctx, []sdk.PostCursor{{PostID: n}})
			return err
		}},
		{"stream", func(ctx context.Context, n string) error {
			return p.Stream(ctx, sdk.StreamRequest{Targets: []sdk.Target{{Kind: sdk.TargetQuery, ID: n}}}, nopSink{})
		}},
		{"webhook", func(ctx context.Context, n string) error {
			_, err := p.Webhook(ctx, sdk.WebhookRequest{Method: "POST", Path: "/" + n})
			return err
		}},
		{"moderate", func(ctx context.Context, n string) error {
			_, err := p.Moderate(ctx, sdk.ModerateRequest{Comment: sdk.Comment{ID: n}, Action: sdk.ActionHide})
			return err
		}},
	}
	tests := []struct {
		err           string
		notFound      bool
		unsupported   bool
		permanent     bool
		rateLimit     *sdk.RateLimit // nil: not a *RateLimitedError
		messageSuffix string
	}{
		{err: "rate-limited", rateLimit: &sdk.RateLimit{Limit: 450, Reset: resetAt, Bucket: "search"},
			messageSuffix: "rate limited until 2026-03-04T05:06:07Z: HTTP 429 Too Many Requests"},
		{err: "usage-cap", rateLimit: &sdk.RateLimit{Reset: resetAt, UsageCapExceeded: true},
			messageSuffix: "usage cap exceeded until 2026-03-04T05:06:07Z: UsageCapExceeded: monthly product cap"},
		{err: "rate-limited-bare", rateLimit: &sdk.RateLimit{}, messageSuffix: "search: rate limited"},
		{err: "not-found", notFound: true, messageSuffix: "hide comment 42: not found"},
		{err: "unsupported", unsupported: true, permanent: true, messageSuffix: "delete on this platform: unsupported"},
		{err: "permanent", permanent: true, messageSuffix: "HTTP 403: not your conversation"},
		{err: "plain", messageSuffix: "connection reset by peer"},
	}
	for _, c := range calls {
		for _, tt := range tests {
			t.Run(c.name+"/"+tt.err, func(t *testing.T) {
				err := c.call(t.Context(), tt.err)
				if err == nil {
					t.Fatalf("no error")
				}
				if !strings.HasSuffix(err.Error(), tt.messageSuffix) {
					t.Errorf("message %q, want it to end with the plugin's %q", err, tt.messageSuffix)
				}
				if got := errors.Is(err, sdk.ErrNotFound); got != tt.notFound {
					t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, got, tt.notFound)
				}
				if got := errors.Is(err, sdk.ErrUnsupported); got != tt.unsupported {
					t.Errorf("errors.Is(%v, ErrUnsupported) = %v, want %v", err, got, tt.unsupported)
				}
				if got := sdk.IsPermanent(err); got != tt.permanent {
					t.Errorf("IsPermanent(%v) = %v, want %v", err, got, tt.permanent)
				}
				var rl *sdk.RateLimitedError
				switch {
				case errors.As(err, &rl) != (tt.rateLimit != nil):
					t.Errorf("errors.As(%v, *RateLimitedError) = %v, want %v", err, rl != nil, tt.rateLimit != nil)
				case rl != nil && !rateLimitEqual(rl.RateLimit, *tt.rateLimit):
					t.Errorf("RateLimit %+v, want %+v", rl.RateLimit, *tt.rateLimit)
				}
			})
		}
	}
}

func rateLimitEqual(a, b sdk.RateLimit) bool {
	return a.Limit == b.Limit && a.Remaining == b.Remaining && a.Reset.Equal(b.Reset) &&
		a.UsageCapExceeded == b.UsageCapExceeded && a.Bucket == b.Bucket
}

type nopSink struct{}

func (nopSink) Comment(sdk.Comment) error     { return nil }
func (nopSink) Status(sdk.StreamStatus) error { return nil }

func TestUndeclaredCapabilityIsUnsupported(t *testing.T) {
	// An analyzer has no connector methods and a connector no Analyze: the
	// host gets ErrUnsupported, which it never retries.
	analyzer := plugintest.Start(t, sdk.Plugin{Info: sdk.Info{Name: "a", Version: "1", Labels: []string{"spam"}}, Analyzer: panicky{}})
	poller := plugintest.Start(t, sdk.Plugin{Info: sdk.Info{Name: "c", Version: "1", Platform: "p"}, Connector: pollOnly{}})
	tests := []struct {
		name string
		call func(context.Context) error
	}{
		{"analyzer discover", func(ctx context.Context) error {
			_, err := analyzer.Discover(ctx, sdk.DiscoverRequest{})
			return err
		}},
		{"analyzer moderate", func(ctx context.Context) error {
			_, err := analyzer.Moderate(ctx, sdk.ModerateRequest{Action: sdk.ActionHide})
			return err
		}},
		{"connector analyze", func(ctx context.Context) error {
			_, err := poller.Analyze(ctx, []sdk.Comment{{ID: "1"}})
			return err
		}},
		{"poller webhook", func(ctx context.Context) error {
			_, err := poller.Webhook(ctx, sdk.WebhookRequest{})
			return err
		}},
		{"poller stream", func(ctx context.Context) error {
			return poller.Stream(ctx, sdk.StreamRequest{}, nopSink{})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(t.Context())
			if !errors.Is(err, sdk.ErrUnsupported) || !sdk.IsPermanent(err) {
				t.Errorf("error %v: want one matching ErrUnsupported, and so permanent", err)
			}
		})
	}
}

type pollOnly struct{}

func (pollOnly) Poll(context.Context, []sdk.PostCursor) (sdk.PollResponse, error) {
	return sdk.PollResponse{}, nil
}

// sizedAnalyzer is a plugin without the SDK that answers Analyze with a
// reason of reasonBytes bytes, or with err.
type sizedAnalyzer struct {
	pb.UnimplementedPluginServiceServer
	pb.UnimplementedAnalyzerServiceServer
	reasonBytes int
	err         error
}

func (*sizedAnalyzer) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	return &pb.DescribeResponse{Name: "sized", Version: "1", Kind: pb.PluginKind_PLUGIN_KIND_ANALYZER, ProtocolVersion: sdk.ProtocolVersion, Labels: []string{sdk.LabelSpam}}, nil
}

func (a *sizedAnalyzer) Analyze(_ context.Context, r *pb.AnalyzeRequest) (*pb.AnalyzeResponse, error) {
	if a.err != nil {
		return nil, a.err
	}
	out := &pb.AnalyzeResponse{Analyzer: "sized", Version: "1"}
	for _, c := range r.Comments {
		out.Results = append(out.Results, &pb.AnalysisResult{CommentId: c.Id,
			Labels: []*pb.Label{{Name: sdk.LabelSpam, Score: 0.5, Reason: strings.Repeat("r", a.reasonBytes)}}})
	}
	return out, nil
}

// gRPC reports a message over its size limit with ResourceExhausted, the
// code a rate limit crosses the wire with: the host must not read it as a
// rate limit (it would wait for a reset that cures nothing, and never split
// the batch), whichever side refused the message.
func TestMessageTooLargeIsNotARateLimit(t *testing.T) {
	const limit = 4 << 10
	big := strings.Repeat("x", 2*limit)
	tests := []struct {
		name     string
		srvOpts  []grpc.ServerOption
		dialOpts []grpc.DialOption
		plugin   *sizedAnalyzer
		text     string
		tooLarge bool
		wantMsg  string
	}{
		{name: "a batch over the plugin's limit", srvOpts: []grpc.ServerOption{grpc.MaxRecvMsgSize(limit)},
			plugin: &sizedAnalyzer{}, text: big, tooLarge: true, wantMsg: "grpc: received message larger than max"},
		{name: "a batch over the host's limit", dialOpts: []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(limit))},
			plugin: &sizedAnalyzer{}, text: big, tooLarge: true, wantMsg: "trying to send message larger than max"},
		{name: "a reply over the plugin's limit", srvOpts: []grpc.ServerOption{grpc.MaxSendMsgSize(limit)},
			plugin: &sizedAnalyzer{reasonBytes: 2 * limit}, text: "hi", tooLarge: true, wantMsg: "trying to send message larger than max"},
		{name: "a reply over the host's limit", dialOpts: []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(limit))},
			plugin: &sizedAnalyzer{reasonBytes: 2 * limit}, text: "hi", tooLarge: true, wantMsg: "grpc: received message larger than max"},
		{name: "a rate limit of a plugin without the SDK", plugin: &sizedAnalyzer{err: status.Error(codes.ResourceExhausted, "quota exceeded, try later")},
			text: "hi", wantMsg: "quota exceeded, try later"},
		{name: "a rate limit whose words are gRPC's", plugin: &sizedAnalyzer{err: func() error {
			st, err := status.New(codes.ResourceExhausted, "received message larger than max").WithDetails(&pb.RateLimit{Remaining: 0, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			return st.Err()
		}()}, text: "hi", wantMsg: "received message larger than max"},
		{name: "within the limits", srvOpts: []grpc.ServerOption{grpc.MaxRecvMsgSize(limit)},
			plugin: &sizedAnalyzer{reasonBytes: limit / 2}, text: "hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := serveRawWith(t, tt.srvOpts, tt.dialOpts, func(s *grpc.Server) {
				pb.RegisterPluginServiceServer(s, tt.plugin)
				pb.RegisterAnalyzerServiceServer(s, tt.plugin)
			})
			if _, err := p.Describe(t.Context()); err != nil {
				t.Fatal(err)
			}
			_, err := p.Analyze(t.Context(), []sdk.Comment{{ID: "c1", Text: tt.text}})
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("Analyze: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Analyze: %v, want an error containing %q", err, tt.wantMsg)
			}
			var rl *sdk.RateLimitedError
			if got := errors.Is(err, sdk.ErrMessageTooLarge); got != tt.tooLarge {
				t.Errorf("errors.Is(%v, ErrMessageTooLarge) = %v, want %v", err, got, tt.tooLarge)
			}
			if got := errors.As(err, &rl); got == tt.tooLarge {
				t.Errorf("errors.As(%v, *RateLimitedError) = %v, want %v", err, got, !tt.tooLarge)
			}
		})
	}
}
