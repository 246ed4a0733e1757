package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	pb "github.com/moderatorbot/moderator/sdk/proto/moderator/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Plugin is what a plugin binary serves: its Info and exactly one of an
// Analyzer or a Connector.
type Plugin struct {
	// Info is what Describe says of the plugin.
	Info Info
	// Analyzer makes this an analyzer plugin.
	Analyzer Analyzer
	// Connector makes this a connector plugin. It implements one or more of
	// Discoverer, Poller, Streamer, WebhookHandler and Moderator.
	Connector any
}

// Handshake is the go-plugin handshake shared by the host and every plugin.
// The cookie only tells a user who runs a plugin binary by hand that it is
// not meant to be run that way; it is not a security measure.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "MODERATOR_PLUGIN",
	MagicCookieValue: "d1c7e6b2-moderator-plugin",
}

// PluginName is the name the plugin is dispensed under in go-plugin's plugin set.
const PluginName = "plugin"

// MaxMessageBytes bounds one gRPC message each way between the host and a
// plugin: a batch of comments with their raw platform payloads, or a
// webhook body, fits well inside it. A call over it fails with an error
// matching ErrMessageTooLarge.
const MaxMessageBytes = 64 << 20

var (
	loggerOnce sync.Once
	logger     hclog.Logger
)

// Logger returns the plugin's logger. It writes JSON to stderr, which the host
// reads and forwards into its own log under the instance's name, at the level
// the plugin logged at.
func Logger() hclog.Logger {
	loggerOnce.Do(func() {
		logger = hclog.New(&hclog.LoggerOptions{
			Level:      hclog.Trace,
			Output:     os.Stderr,
			JSONFormat: true,
		})
	})
	return logger
}

// Serve runs the plugin until the host stops it, and exits the process if
// the host disappears without doing so (killed with SIGKILL, say): a plugin
// never outlives its host by more than a couple of seconds. Call it from main.
// Run by hand, the binary prints that it is a plugin and exits with status 1.
func Serve(p Plugin) {
	log := Logger()
	cfg, err := ServeConfig(p, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "moderator plugin:", err)
		os.Exit(1)
	}
	go watchParent(os.Getppid(), time.Second, log, func() { os.Exit(0) })
	plugin.Serve(cfg)
	if c, ok := pluginImpl(p).(io.Closer); ok {
		if err := c.Close(); err != nil {
			log.Error("close", "error", err)
		}
	}
}

// ServeConfig is the go-plugin configuration that Serve runs p with, logging
// to log: the handshake, p's plugin set under this SDK's protocol version,
// and a gRPC server that turns a panic in a call into an error for that
// call. It returns p.Check's error for a Plugin that cannot be served.
// plugintest.Start serves a plugin in-process with it, in go-plugin's test
// mode; a plugin's main calls Serve instead.
func ServeConfig(p Plugin, log hclog.Logger) (*plugin.ServeConfig, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	return &plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{servedProtocolVersion(): pluginSet(p, log)},
		GRPCServer:       grpcServer(log),
		Logger:           log,
	}, nil
}

func servedProtocolVersion() int {
	if v, err := strconv.Atoi(protocolVersionOverride); err == nil {
		return v
	}
	return ProtocolVersion
}

// watchParent calls gone when the process's parent changes, which on Unix
// means the parent died and the process was handed to init or a subreaper.
// Polling is the portable way to notice; Linux's PR_SET_PDEATHSIG is set by
// the host as well, but only a host written against this SDK does that.
func watchParent(parent int, every time.Duration, log hclog.Logger, gone func()) {
	if parent <= 1 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		if os.Getppid() != parent {
			log.Warn("host process is gone; exiting", "host_pid", parent)
			gone()
			return
		}
	}
}

func pluginImpl(p Plugin) any {
	if p.Analyzer != nil {
		return p.Analyzer
	}
	return p.Connector
}

// Describe builds the description Serve reports for p.
func (p Plugin) Describe() Description {
	d := Description{Info: p.Info, ProtocolVersion: servedProtocolVersion(), SDKVersion: Version}
	if p.Analyzer != nil {
		d.Kind = KindAnalyzer
		d.Capabilities = []string{CapAnalyze}
	} else {
		d.Kind = KindConnector
		d.Capabilities = connectorCapabilities(p.Connector)
	}
	return d
}

// PluginSet is the go-plugin plugin set that serves p, logging to Logger().
// ServeConfig builds the same set with a logger of the caller's choosing.
func PluginSet(p Plugin) plugin.PluginSet { return pluginSet(p, Logger()) }

func pluginSet(p Plugin, log hclog.Logger) plugin.PluginSet {
	return plugin.PluginSet{PluginName: &grpcPlugin{impl: &p, log: log}}
}

// HostPluginSets is the set a host passes as go-plugin's VersionedPlugins:
// every protocol version this SDK's host side speaks.
func HostPluginSets() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{ProtocolVersion: {PluginName: &grpcPlugin{}}}
}

// GRPCDialOptions are the options a host passes as go-plugin's GRPCDialOptions.
func GRPCDialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes), clientCodec())}
}

// grpcServer is the go-plugin GRPCServer factory of a plugin that logs to log.
func grpcServer(log hclog.Logger) func([]grpc.ServerOption) *grpc.Server {
	return func(opts []grpc.ServerOption) *grpc.Server { return newGRPCServer(log, opts) }
}

func newGRPCServer(log hclog.Logger, opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts,
		grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes), serverCodec(),
		// Calls run on goroutines that stay, with their stacks already
		// grown, instead of a new goroutine per call (grpc-go starts one
		// anyway when every worker is busy, so a long stream never blocks
		// a call).
		grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))),
		grpc.ChainUnaryInterceptor(recoverUnary(log)), grpc.ChainStreamInterceptor(recoverStream(log)))
	return grpc.NewServer(opts...)
}

// A panic in plugin code becomes an error for that one call: the host retries
// or records it, instead of restarting a process that lost all its state.
func recoverUnary(log hclog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in plugin", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = status.Errorf(codes.Internal, "plugin panicked in %s: %v", info.FullMethod, r)
			}
		}()
		return h(ctx, req)
	}
}

func recoverStream(log hclog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in plugin", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = status.Errorf(codes.Internal, "plugin panicked in %s: %v", info.FullMethod, r)
			}
		}()
		return h(srv, ss)
	}
}

// grpcPlugin is go-plugin's view of a moderator plugin. The plugin side has
// impl set and serves it; the host side has it nil and only makes clients.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl *Plugin
	log  hclog.Logger
}

func (g *grpcPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	if g.impl == nil {
		return fmt.Errorf("this side of the plugin set has no plugin to serve")
	}
	p := g.impl
	pb.RegisterPluginServiceServer(s, &pluginServer{p: p, broker: broker, log: g.log})
	if p.Analyzer != nil {
		pb.RegisterAnalyzerServiceServer(s, &analyzerServer{p: p, log: g.log})
	} else {
		pb.RegisterConnectorServiceServer(s, &connectorServer{p: p, c: p.Connector, log: g.log})
	}
	return nil
}

func (g *grpcPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return newRemotePlugin(broker, c), nil
}

type pluginServer struct {
	pb.UnimplementedPluginServiceServer
	p      *Plugin
	broker *plugin.GRPCBroker
	log    hclog.Logger
}

func (s *pluginServer) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	return descriptionToPB(s.p.Describe()), nil
}

func (s *pluginServer) Configure(ctx context.Context, r *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	log := s.log
	if lvl := hclog.LevelFromString(r.LogLevel); lvl != hclog.NoLevel {
		log.SetLevel(lvl)
	}
	c, ok := pluginImpl(*s.p).(Configurer)
	if !ok {
		// A plugin without Configure takes no config: say so for every key
		// given, each by name, so the host can point at the line.
		var fe FieldErrors
		var none struct{}
		if err := (Config{JSON: r.ConfigJson}).Decode(&none); err != nil {
			var keys map[string]json.RawMessage
			if json.Unmarshal(r.ConfigJson, &keys) != nil || len(keys) == 0 {
				keys = map[string]json.RawMessage{"": nil}
			}
			for _, k := range slices.Sorted(maps.Keys(keys)) {
				fe.Add(k, "unknown key: plugin %s takes no config table", s.p.Info.Name)
			}
		}
		return &pb.ConfigureResponse{FieldErrors: fieldErrorsToPB(fe)}, nil
	}
	var kv KV = noKV{}
	if r.HostBrokerId != 0 {
		conn, err := s.broker.Dial(r.HostBrokerId)
		if err != nil {
			return nil, status.Errorf(codes.Unavailable, "dial host services: %v", err)
		}
		kv = kvClient{c: pb.NewHostKVServiceClient(conn)}
	}
	err := c.Configure(ctx, ConfigureRequest{
		Instance: r.Instance, Config: Config{JSON: r.ConfigJson}, KV: kv, ValidateOnly: r.ValidateOnly, Logger: log,
	})
	if err == nil {
		return &pb.ConfigureResponse{}, nil
	}
	var fe FieldErrors
	var one *FieldError
	switch {
	case errors.As(err, &fe):
	case errors.As(err, &one):
		fe = FieldErrors{*one}
	default:
		return nil, toStatus(fmt.Errorf("configure: %w", err))
	}
	return &pb.ConfigureResponse{FieldErrors: fieldErrorsToPB(fe)}, nil
}

func fieldErrorsToPB(fe FieldErrors) []*pb.FieldError {
	out := make([]*pb.FieldError, len(fe))
	for i, e := range fe {
		out[i] = &pb.FieldError{Field: e.Field, Message: e.Message}
	}
	return out
}

type analyzerServer struct {
	pb.UnimplementedAnalyzerServiceServer
	p   *Plugin
	log hclog.Logger
}

func (s *analyzerServer) Analyze(ctx context.Context, r *pb.AnalyzeRequest) (*pb.AnalyzeResponse, error) {
	comments := commentsFromPB(r.Comments)
	results, err := s.p.Analyzer.Analyze(ctx, comments)
	if err != nil {
		return nil, toStatus(err)
	}
	// Fill in what the contract lets authors leave out, then refuse what
	// the host would refuse anyway, with the plugin's name on it.
	fillCommentIDs(comments, results)
	if err := CheckResults(s.p.Info, comments, results); err != nil {
		s.log.Error("analyzer returned an invalid reply", "error", err)
		return nil, status.Errorf(codes.Internal, "analyzer %s: %v", s.p.Info.Name, err)
	}
	return &pb.AnalyzeResponse{Analyzer: s.p.Info.Name, Version: s.p.Info.Version, Results: resultsToPB(results)}, nil
}

type connectorServer struct {
	pb.UnimplementedConnectorServiceServer
	p   *Plugin
	c   any
	log hclog.Logger
}

func unimplemented(capability string) error {
	return status.Errorf(codes.Unimplemented, "this connector does not implement %s: %v", capability, ErrUnsupported)
}

func (s *connectorServer) Discover(ctx context.Context, r *pb.DiscoverRequest) (*pb.DiscoverResponse, error) {
	d, ok := s.c.(Discoverer)
	if !ok {
		return nil, unimplemented(CapDiscover)
	}
	// As for actions, the connector is asked only for what it declares: a
	// target kind it does not list is refused here, with the error the
	// host expects for it.
	t := targetFromPB(r.Target)
	if !slices.Contains(s.p.Info.TargetKinds, t.Kind) {
		return nil, toStatus(fmt.Errorf("discover %s %q: target kind %q is not one connector %s declares in Info.TargetKinds (%s): %w",
			t.Kind, t.ID, t.Kind, s.p.Info.Name, quoteList(s.p.Info.TargetKinds), ErrUnsupported))
	}
	resp, err := d.Discover(ctx, DiscoverRequest{Target: t, Cursor: r.Cursor})
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.DiscoverResponse{Cursor: resp.Cursor, RateLimit: rateLimitToPB(resp.RateLimit), Posts: make([]*pb.Post, len(resp.Posts))}
	for i, p := range resp.Posts {
		out.Posts[i] = postToPB(p)
	}
	return out, nil
}

func (s *connectorServer) Poll(ctx context.Context, r *pb.PollRequest) (*pb.PollResponse, error) {
	p, ok := s.c.(Poller)
	if !ok {
		return nil, unimplemented(CapPoll)
	}
	posts := make([]PostCursor, len(r.Posts))
	for i, pc := range r.Posts {
		posts[i] = PostCursor{PostID: pc.PostId, Cursor: pc.Cursor}
	}
	resp, err := p.Poll(ctx, posts)
	if err != nil {
		return nil, toStatus(err)
	}
	fillPostIDs(&resp)
	if err := CheckPoll(posts, resp); err != nil {
		s.log.Error("connector returned an invalid poll reply", "error", err)
		return nil, status.Errorf(codes.Internal, "connector %s: %v", s.p.Info.Name, err)
	}
	out := &pb.PollResponse{RateLimit: rateLimitToPB(resp.RateLimit), Posts: make([]*pb.PostComments, len(resp.Posts))}
	for i, pc := range resp.Posts {
		out.Posts[i] = &pb.PostComments{PostId: pc.PostID, Comments: commentsToPB(pc.Comments), Cursor: pc.Cursor, More: pc.More, Error: pc.Err}
	}
	return out, nil
}

type streamSink struct {
	s  pb.ConnectorService_StreamServer
	mu sync.Mutex // grpc streams allow one sender at a time
}

func (k *streamSink) Comment(c Comment) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.s.Send(&pb.StreamResponse{Message: &pb.StreamResponse_Comment{Comment: commentToPB(new(pb.Comment), &c)}})
}

func (k *streamSink) Status(st StreamStatus) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.s.Send(&pb.StreamResponse{Message: &pb.StreamResponse_Status{Status: &pb.StreamStatus{
		State: st.State, Detail: st.Detail, Gap: st.Gap, RateLimit: rateLimitToPB(st.RateLimit)}}})
}

func (s *connectorServer) Stream(r *pb.StreamRequest, srv pb.ConnectorService_StreamServer) error {
	st, ok := s.c.(Streamer)
	if !ok {
		return unimplemented(CapStream)
	}
	req := StreamRequest{Targets: make([]Target, len(r.Targets))}
	for i, t := range r.Targets {
		req.Targets[i] = targetFromPB(t)
	}
	return toStatus(st.Stream(srv.Context(), req, &streamSink{s: srv}))
}

func (s *connectorServer) Webhook(ctx context.Context, r *pb.WebhookRequest) (*pb.WebhookResponse, error) {
	w, ok := s.c.(WebhookHandler)
	if !ok {
		return nil, unimplemented(CapWebhook)
	}
	return webhookOne(ctx, w, r)
}

func webhookOne(ctx context.Context, w WebhookHandler, r *pb.WebhookRequest) (*pb.WebhookResponse, error) {
	resp, err := w.Webhook(ctx, WebhookRequest{
		Method: r.Method, Path: r.Path, RawQuery: r.RawQuery, Header: headerFromPB(r.Headers), Body: r.Body, RemoteAddr: r.RemoteAddr,
	})
	if err != nil {
		return nil, toStatus(err)
	}
	if resp.Status == 0 {
		resp.Status = 200
	}
	return &pb.WebhookResponse{Status: int32(resp.Status), Headers: headerToPB(resp.Header), Body: resp.Body, Comments: commentsToPB(resp.Comments)}, nil
}

// webhookWorkers bounds how many deliveries of one batch are handled at
// once: verifying a signature and decoding a body use the CPU, so more than
// a few at a time only queue for it.
const webhookWorkers = 8

// WebhookBatch handles each delivery with the plugin's own WebhookHandler,
// a few at a time; a delivery that fails (or panics) fails alone.
func (s *connectorServer) WebhookBatch(ctx context.Context, r *pb.WebhookBatchRequest) (*pb.WebhookBatchResponse, error) {
	w, ok := s.c.(WebhookHandler)
	if !ok {
		return nil, unimplemented(CapWebhook)
	}
	out := &pb.WebhookBatchResponse{Outcomes: make([]*pb.WebhookOutcome, len(r.Deliveries))}
	one := func(i int) {
		o := &pb.WebhookOutcome{}
		defer func() {
			if p := recover(); p != nil {
				o.Response, o.Error = nil, fmt.Sprintf("plugin panicked: %v", p)
			}
			out.Outcomes[i] = o
		}()
		resp, err := webhookOne(ctx, w, r.Deliveries[i])
		if err != nil {
			o.Error = err.Error()
			if st, ok := status.FromError(err); ok {
				o.Error = st.Message()
			}
			return
		}
		o.Response = resp
	}
	// The call's own goroutine and a few more take the deliveries in turn
	// rather than a goroutine each: a fresh goroutine grows its stack
	// again for every delivery (decoding JSON goes deep), which cost more
	// than the decoding.
	var next atomic.Int64
	work := func() {
		for i := int(next.Add(1) - 1); i < len(r.Deliveries); i = int(next.Add(1) - 1) {
			one(i)
		}
	}
	var wg sync.WaitGroup
	for range min(webhookWorkers, len(r.Deliveries)) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	return out, nil
}

func (s *connectorServer) Moderate(ctx context.Context, r *pb.ModerateRequest) (*pb.ModerateResponse, error) {
	m, ok := s.c.(Moderator)
	if !ok {
		return nil, unimplemented(CapModerate)
	}
	var c Comment
	if r.Comment != nil {
		c = commentFromPB(r.Comment)
	}
	// The connector is asked only for what it declares: an action it does
	// not list is refused here, with the error the host expects for it.
	if !slices.Contains(s.p.Info.Actions, r.Action) {
		return nil, toStatus(fmt.Errorf("moderate %s: action %q is not one connector %s declares in Info.Actions (%s): %w",
			c.ID, r.Action, s.p.Info.Name, quoteList(s.p.Info.Actions), ErrUnsupported))
	}
	resp, err := m.Moderate(ctx, ModerateRequest{Comment: c, Action: r.Action, Reason: r.Reason, IdempotencyKey: r.IdempotencyKey})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ModerateResponse{Changed: resp.Changed, Detail: resp.Detail}, nil
}

func descriptionToPB(d Description) *pb.DescribeResponse {
	out := &pb.DescribeResponse{
		Name: d.Name, Version: d.Version, ProtocolVersion: int32(d.ProtocolVersion), SdkVersion: d.SDKVersion,
		Description: d.Info.Description, Capabilities: d.Capabilities, Actions: d.Actions, Labels: d.Labels,
		TargetKinds: d.TargetKinds, Platform: d.Platform, MaxBatch: int32(d.MaxBatch),
	}
	switch d.Kind {
	case KindAnalyzer:
		out.Kind = pb.PluginKind_PLUGIN_KIND_ANALYZER
	case KindConnector:
		out.Kind = pb.PluginKind_PLUGIN_KIND_CONNECTOR
	}
	for _, f := range d.Config {
		out.Config = append(out.Config, &pb.ConfigField{Name: f.Name, Type: f.Type, Required: f.Required, Description: f.Description, Secret: f.Secret, Default: f.Default})
	}
	return out
}

func descriptionFromPB(r *pb.DescribeResponse) Description {
	d := Description{
		Info: Info{Name: r.Name, Version: r.Version, Description: r.Description, Labels: r.Labels, Platform: r.Platform,
			Actions: r.Actions, TargetKinds: r.TargetKinds, MaxBatch: int(r.MaxBatch)},
		ProtocolVersion: int(r.ProtocolVersion), SDKVersion: r.SdkVersion, Capabilities: r.Capabilities,
	}
	switch r.Kind {
	case pb.PluginKind_PLUGIN_KIND_ANALYZER:
		d.Kind = KindAnalyzer
	case pb.PluginKind_PLUGIN_KIND_CONNECTOR:
		d.Kind = KindConnector
	}
	for _, f := range r.Config {
		d.Config = append(d.Config, ConfigField{Name: f.Name, Type: f.Type, Required: f.Required, Description: f.Description, Secret: f.Secret, Default: f.Default})
	}
	return d
}
