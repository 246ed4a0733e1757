package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-plugin"
	pb "github.com/moderatorbot/moderator/sdk/proto/moderator/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RemotePlugin is a host's handle on a running plugin process: what go-plugin
// dispenses under PluginName. It implements Analyzer and every connector
// interface, so host code can hold a remote plugin and a local one alike; what
// the process really supports is in its Describe. Replies are checked against
// the protocol's contract before they reach the caller, so a buggy plugin gives
// a clear error instead of bad data. Plugin authors do not need this type;
// hosts and sdk/plugintest do.
type RemotePlugin struct {
	broker    *plugin.GRPCBroker
	plugin    pb.PluginServiceClient
	analyzer  pb.AnalyzerServiceClient
	connector pb.ConnectorServiceClient

	// mu serializes the first Describe; desc is its answer, read without
	// the lock on every Analyze.
	mu   sync.Mutex
	desc atomic.Pointer[Description]
	// noWebhookBatch: the plugin predates WebhookBatch.
	noWebhookBatch atomic.Bool
}

func newRemotePlugin(broker *plugin.GRPCBroker, c *grpc.ClientConn) *RemotePlugin {
	return &RemotePlugin{
		broker:    broker,
		plugin:    pb.NewPluginServiceClient(c),
		analyzer:  pb.NewAnalyzerServiceClient(c),
		connector: pb.NewConnectorServiceClient(c),
	}
}

// Describe asks the plugin who it is. The answer is cached: it cannot change
// during the life of a process. Analyze checks replies against the labels
// declared here, and asks for them itself when Describe was not called.
func (r *RemotePlugin) Describe(ctx context.Context) (Description, error) {
	if d := r.desc.Load(); d != nil {
		return *d, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if d := r.desc.Load(); d != nil {
		return *d, nil
	}
	resp, err := r.plugin.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return Description{}, fmt.Errorf("describe: %w", fromStatus(err))
	}
	d := descriptionFromPB(resp)
	if d.Name == "" {
		return Description{}, errors.New("describe: the plugin gave no name")
	}
	if d.Kind == "" {
		return Description{}, fmt.Errorf("describe: plugin %s gave no kind", d.Name)
	}
	r.desc.Store(&d)
	return d, nil
}

// ConfigureOptions is what a host hands a plugin instance at start.
type ConfigureOptions struct {
	// Instance is the instance's name in moderator.toml.
	Instance string
	// Config is the instance's `config` table as decoded from TOML.
	Config map[string]any
	// KV, when set, is served to the plugin as its host KV store.
	KV KV
	// ValidateOnly asks the plugin to check the table and reach nothing
	// outside its process (`moderator config check`).
	ValidateOnly bool
	// LogLevel is the level the plugin's logger is set to ("info", "debug"...);
	// empty leaves it as it is.
	LogLevel string
}

// Configure sends the instance its config table and, when opts.KV is set,
// serves the KV to it through the go-plugin broker. Problems with the table
// come back as FieldErrors (nil when there are none); err is for a call that
// failed as a whole.
func (r *RemotePlugin) Configure(ctx context.Context, opts ConfigureOptions) (FieldErrors, error) {
	cfg := opts.Config
	if cfg == nil {
		cfg = map[string]any{}
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("configure: encode config table: %w", err)
	}
	req := &pb.ConfigureRequest{Instance: opts.Instance, ConfigJson: data, ValidateOnly: opts.ValidateOnly, LogLevel: opts.LogLevel}
	if opts.KV != nil && r.broker != nil {
		req.HostBrokerId = r.broker.NextId()
		go r.broker.AcceptAndServe(req.HostBrokerId, registerKV(opts.KV))
	}
	resp, err := r.plugin.Configure(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("configure: %w", fromStatus(err))
	}
	var fe FieldErrors
	for _, e := range resp.FieldErrors {
		fe = append(fe, FieldError{Field: e.Field, Message: e.Message})
	}
	return fe, nil
}

// Analyze sends a batch to an analyzer plugin and checks its reply with
// CheckResults against the labels the plugin declared in Describe: a label
// it did not declare, like a span outside the text, is an error, never a
// result. Empty CommentIDs are filled in (see Result.CommentID).
func (r *RemotePlugin) Analyze(ctx context.Context, comments []Comment) ([]Result, error) {
	d, err := r.Describe(ctx)
	if err != nil {
		return nil, fmt.Errorf("analyze: %w", err)
	}
	resp, err := r.analyzer.Analyze(ctx, &pb.AnalyzeRequest{Comments: commentsToPB(comments)})
	if err != nil {
		return nil, fmt.Errorf("analyze: %w", fromStatus(err))
	}
	results := resultsFromPB(resp.Results)
	fillCommentIDs(comments, results)
	if err := CheckResults(d.Info, comments, results); err != nil {
		return nil, fmt.Errorf("analyze: invalid reply from plugin: %w", err)
	}
	return results, nil
}

// Discover calls a connector's Discover. A target of a kind the plugin did
// not declare in Describe (Info.TargetKinds) is refused with ErrUnsupported
// without calling it, as Serve refuses it on the plugin's side; a plugin
// that declares no kinds at all, as those built before the SDK asked for
// them, is asked anyway.
func (r *RemotePlugin) Discover(ctx context.Context, req DiscoverRequest) (DiscoverResponse, error) {
	d, err := r.Describe(ctx)
	if err != nil {
		return DiscoverResponse{}, fmt.Errorf("discover %s %s: %w", req.Target.Kind, req.Target.ID, err)
	}
	if len(d.TargetKinds) > 0 && !slices.Contains(d.TargetKinds, req.Target.Kind) {
		return DiscoverResponse{}, fmt.Errorf("discover %s %s: target kind %q is not one connector %s declares (%s): %w",
			req.Target.Kind, req.Target.ID, req.Target.Kind, d.Name, quoteList(d.TargetKinds), ErrUnsupported)
	}
	resp, err := r.connector.Discover(ctx, &pb.DiscoverRequest{Target: targetToPB(req.Target), Cursor: req.Cursor})
	if err != nil {
		return DiscoverResponse{}, fmt.Errorf("discover %s %s: %w", req.Target.Kind, req.Target.ID, fromStatus(err))
	}
	out := DiscoverResponse{Cursor: resp.Cursor, RateLimit: rateLimitFromPB(resp.RateLimit), Posts: make([]Post, len(resp.Posts))}
	for i, p := range resp.Posts {
		if p.Id == "" {
			return DiscoverResponse{}, fmt.Errorf("discover %s %s: invalid reply from plugin: post %d has no id", req.Target.Kind, req.Target.ID, i)
		}
		out.Posts[i] = postFromPB(p)
	}
	return out, nil
}

// Poll calls a connector's Poll and checks its reply with CheckPoll: one
// entry per post asked for, and comments with IDs on their entry's post.
// Empty Comment.PostIDs are filled in with the entry's post.
func (r *RemotePlugin) Poll(ctx context.Context, posts []PostCursor) (PollResponse, error) {
	req := &pb.PollRequest{Posts: make([]*pb.PostCursor, len(posts))}
	for i, p := range posts {
		req.Posts[i] = &pb.PostCursor{PostId: p.PostID, Cursor: p.Cursor}
	}
	resp, err := r.connector.Poll(ctx, req)
	if err != nil {
		return PollResponse{}, fmt.Errorf("poll %d posts: %w", len(posts), fromStatus(err))
	}
	out := PollResponse{RateLimit: rateLimitFromPB(resp.RateLimit), Posts: make([]PostComments, len(resp.Posts))}
	for i, pc := range resp.Posts {
		out.Posts[i] = PostComments{PostID: pc.PostId, Comments: commentsFromPB(pc.Comments), Cursor: pc.Cursor, More: pc.More, Err: pc.Error}
	}
	fillPostIDs(&out)
	if err := CheckPoll(posts, out); err != nil {
		return PollResponse{}, fmt.Errorf("poll %d posts: invalid reply from plugin: %w", len(posts), err)
	}
	return out, nil
}

// Stream runs a connector's stream, delivering to sink until ctx is done or
// the stream ends.
func (r *RemotePlugin) Stream(ctx context.Context, req StreamRequest, sink StreamSink) error {
	preq := &pb.StreamRequest{Targets: make([]*pb.Target, len(req.Targets))}
	for i, t := range req.Targets {
		preq.Targets[i] = targetToPB(t)
	}
	st, err := r.connector.Stream(ctx, preq)
	if err != nil {
		return fmt.Errorf("stream: %w", fromStatus(err))
	}
	for {
		msg, err := st.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("stream: %w", fromStatus(err))
		}
		switch m := msg.Message.(type) {
		case *pb.StreamResponse_Comment:
			if m.Comment.GetId() == "" {
				return errors.New("stream: invalid message from plugin: comment has no id")
			}
			err = sink.Comment(commentFromPB(m.Comment))
		case *pb.StreamResponse_Status:
			err = sink.Status(StreamStatus{State: m.Status.State, Detail: m.Status.Detail, Gap: m.Status.Gap, RateLimit: rateLimitFromPB(m.Status.RateLimit)})
		}
		if err != nil {
			return fmt.Errorf("stream: %w", err)
		}
	}
}

// Webhook forwards one HTTP delivery to a connector.
func (r *RemotePlugin) Webhook(ctx context.Context, req WebhookRequest) (WebhookResponse, error) {
	resp, err := r.connector.Webhook(ctx, webhookToPB(req))
	if err != nil {
		return WebhookResponse{}, fmt.Errorf("webhook: %w", fromStatus(err))
	}
	return webhookFromPB(resp)
}

func webhookToPB(req WebhookRequest) *pb.WebhookRequest {
	return &pb.WebhookRequest{
		Method: req.Method, Path: req.Path, RawQuery: req.RawQuery, Headers: headerToPB(req.Header), Body: req.Body, RemoteAddr: req.RemoteAddr,
	}
}

// webhookFromPB checks a plugin's answer to a delivery.
func webhookFromPB(resp *pb.WebhookResponse) (WebhookResponse, error) {
	if resp == nil {
		return WebhookResponse{}, errors.New("webhook: invalid reply from plugin: no response")
	}
	if resp.Status < 100 || resp.Status > 599 {
		return WebhookResponse{}, fmt.Errorf("webhook: invalid reply from plugin: HTTP status %d", resp.Status)
	}
	out := WebhookResponse{Status: int(resp.Status), Header: headerFromPB(resp.Headers), Body: resp.Body, Comments: commentsFromPB(resp.Comments)}
	for i, c := range out.Comments {
		if c.ID == "" {
			return WebhookResponse{}, fmt.Errorf("webhook: invalid reply from plugin: comment %d has no id", i)
		}
	}
	return out, nil
}

// WebhookOutcome is what became of one delivery of a WebhookBatch: the
// connector's answer, or why there is none.
type WebhookOutcome struct {
	// Response is the connector's answer, when Err is nil.
	Response WebhookResponse
	// Err is why the delivery has no answer: the host answers it 503, so
	// that the platform delivers it again.
	Err error
}

// WebhookBatch forwards deliveries that arrived together in one call and
// returns one outcome per delivery, in order. The error is for the call as
// a whole (the plugin is gone, say); a delivery the connector could not
// handle has its own Err. A plugin built with an SDK that predates the
// batch call gets the deliveries one Webhook call at a time.
func (r *RemotePlugin) WebhookBatch(ctx context.Context, reqs []WebhookRequest) ([]WebhookOutcome, error) {
	out := make([]WebhookOutcome, len(reqs))
	if !r.noWebhookBatch.Load() {
		in := &pb.WebhookBatchRequest{Deliveries: make([]*pb.WebhookRequest, len(reqs))}
		for i, req := range reqs {
			in.Deliveries[i] = webhookToPB(req)
		}
		resp, err := r.connector.WebhookBatch(ctx, in)
		switch {
		case status.Code(err) == codes.Unimplemented:
			// An older SDK (or no webhook capability at all, which the
			// single calls will report per delivery): one at a time.
			r.noWebhookBatch.Store(true)
		case err != nil:
			return nil, fmt.Errorf("webhook batch: %w", fromStatus(err))
		case len(resp.Outcomes) != len(reqs):
			return nil, fmt.Errorf("webhook batch: invalid reply from plugin: %d outcomes for %d deliveries", len(resp.Outcomes), len(reqs))
		default:
			for i, o := range resp.Outcomes {
				if o.GetError() != "" {
					out[i].Err = fmt.Errorf("webhook: %s", o.Error)
					continue
				}
				out[i].Response, out[i].Err = webhookFromPB(o.GetResponse())
			}
			return out, nil
		}
	}
	for i, req := range reqs {
		out[i].Response, out[i].Err = r.Webhook(ctx, req)
	}
	return out, nil
}

// Moderate asks a connector to apply an action.
func (r *RemotePlugin) Moderate(ctx context.Context, req ModerateRequest) (ModerateResponse, error) {
	resp, err := r.connector.Moderate(ctx, &pb.ModerateRequest{Comment: commentToPB(new(pb.Comment), &req.Comment), Action: req.Action, Reason: req.Reason, IdempotencyKey: req.IdempotencyKey})
	if err != nil {
		return ModerateResponse{}, fmt.Errorf("moderate %s %s: %w", req.Action, req.Comment.ID, fromStatus(err))
	}
	return ModerateResponse{Changed: resp.Changed, Detail: resp.Detail}, nil
}
