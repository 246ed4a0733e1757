package sdk_test

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
	pb "github.com/moderatorbot/moderator/sdk/proto/moderator/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// rawPlugin is a plugin that does not check its own replies (one written
// without this SDK, or built with an older one): it answers Describe with
// its labels and every Analyze with a canned reply, so the tests see what the
// host side of the SDK makes of a bad reply on its own.
type rawPlugin struct {
	pb.UnimplementedPluginServiceServer
	pb.UnimplementedAnalyzerServiceServer
	labels    []string
	results   []*pb.AnalysisResult
	describes atomic.Int32
}

func (r *rawPlugin) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	r.describes.Add(1)
	return &pb.DescribeResponse{Name: "raw", Version: "1", Kind: pb.PluginKind_PLUGIN_KIND_ANALYZER, ProtocolVersion: sdk.ProtocolVersion, Labels: r.labels}, nil
}

func (r *rawPlugin) Analyze(context.Context, *pb.AnalyzeRequest) (*pb.AnalyzeResponse, error) {
	return &pb.AnalyzeResponse{Analyzer: "raw", Version: "1", Results: r.results}, nil
}

// serveRaw serves srv's services on a loopback gRPC server and returns the
// host's handle on it.
func serveRaw(t *testing.T, register func(*grpc.Server)) *sdk.RemotePlugin {
	t.Helper()
	return serveRawWith(t, nil, nil, register)
}

// serveRawWith is serveRaw with options for the server and the host's
// connection (message size limits, say).
func serveRawWith(t *testing.T, srvOpts []grpc.ServerOption, dialOpts []grpc.DialOption, register func(*grpc.Server)) *sdk.RemotePlugin {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(srvOpts...)
	register(srv)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, dialOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return sdk.NewRemotePluginOn(nil, conn)
}

func TestCheckResults(t *testing.T) {
	comments := []sdk.Comment{{ID: "c1", Text: "you idiot"}, {ID: "c2", Text: "é"}}
	declared := []string{sdk.LabelInsult, "words.extra"}
	// An analyzer that does not check its own declaration: what the host
	// gets from a plugin without the SDK.
	sloppy := []string{sdk.LabelInsult, "words.extra", "spam.links", "toxicity", "words."}
	label := func(name string, score float64, spans ...sdk.Span) []sdk.Label {
		return []sdk.Label{{Name: name, Score: score, Spans: spans, Reason: "r"}}
	}
	// Spans on and off the characters of "a é 日本 \xff😀!" (bytes: a=0,
	// é=2-3, 日=5-7, 本=8-10, \xff=12, 😀=13-16, !=17).
	mixed := []sdk.Comment{{ID: "m1", Text: "a é 日本 \xff😀!"}}
	span := func(start, end int) []sdk.Result {
		return []sdk.Result{{CommentID: "m1", Labels: label(sdk.LabelInsult, 1, sdk.Span{Start: start, End: end})}}
	}
	tests := []struct {
		name     string
		declared []string
		comments []sdk.Comment
		results  []sdk.Result
		wantErr  string // "" for a reply that keeps the contract
	}{
		{name: "declared labels", results: []sdk.Result{{CommentID: "c1", Labels: label(sdk.LabelInsult, 0.9, sdk.Span{Start: 4, End: 9})}, {CommentID: "c2", Labels: label("words.extra", 0)}}},
		{name: "no labels at all", results: []sdk.Result{{CommentID: "c1"}, {CommentID: "c2", Err: "could not score"}}},
		{name: "an empty CommentID stands for the comment at its position", results: []sdk.Result{{}, {Labels: label(sdk.LabelInsult, 1)}}},
		{name: "a label not declared", results: []sdk.Result{{CommentID: "c1", Labels: label("insultt", 0.9)}, {CommentID: "c2"}},
			wantErr: `result 0 (comment "c1"): label "insultt" is not declared in Info.Labels (declared: "insult", "words.extra")`},
		{name: "another plugin's label", results: []sdk.Result{{CommentID: "c1"}, {CommentID: "c2", Labels: label("shouting.caps", 0.9)}},
			wantErr: `label "shouting.caps" is not declared`},
		{name: "nothing declared", declared: []string{}, results: []sdk.Result{{CommentID: "c1", Labels: label(sdk.LabelInsult, 0.9)}, {CommentID: "c2"}},
			wantErr: `label "insult" is not declared in Info.Labels (declared: none)`},
		{name: "a label without a name", results: []sdk.Result{{CommentID: "c1", Labels: label("", 0.9)}, {CommentID: "c2"}},
			wantErr: "a label has no name"},
		{name: "score above 1", results: []sdk.Result{{CommentID: "c1", Labels: label(sdk.LabelInsult, 1.5)}, {CommentID: "c2"}},
			wantErr: `label "insult" score 1.5 outside [0,1]`},
		{name: "span past the text", results: []sdk.Result{{CommentID: "c1", Labels: label(sdk.LabelInsult, 1, sdk.Span{Start: 4, End: 10})}, {CommentID: "c2"}},
			wantErr: `span [4,10) outside the text (9 bytes)`},
		{name: "another comment's id", results: []sdk.Result{{CommentID: "c2"}, {CommentID: "c2"}},
			wantErr: `result 0 is for comment "c2", expected "c1"`},
		{name: "a result missing", results: []sdk.Result{{CommentID: "c1"}},
			wantErr: "1 results for 2 comments"},
		{name: "a declared label with another plugin's prefix", declared: sloppy,
			results: []sdk.Result{{CommentID: "c1"}, {CommentID: "c2", Labels: label("spam.links", 0.9)}},
			wantErr: `result 1 (comment "c2"): label "spam.links" has the prefix of another plugin ("spam"): analyzer words may emit the shared vocabulary`},
		{name: "a declared label neither shared nor prefixed", declared: sloppy,
			results: []sdk.Result{{CommentID: "c1", Labels: label("toxicity", 0.9)}, {CommentID: "c2"}},
			wantErr: `result 0 (comment "c1"): label "toxicity" is neither in the shared vocabulary (profanity, insult, threat, identity_attack, sexual, spam, negative) nor prefixed "words."`},
		{name: "a declared label that is the bare prefix", declared: sloppy,
			results: []sdk.Result{{CommentID: "c1", Labels: label("words.", 0.9)}, {CommentID: "c2"}},
			wantErr: `label "words." is neither in the shared vocabulary`},
		{name: "the analyzer's own and shared labels, declared", declared: sloppy,
			results: []sdk.Result{{CommentID: "c1", Labels: label(sdk.LabelInsult, 0.9)}, {CommentID: "c2", Labels: label("words.extra", 0.9)}}},
		{name: "a span around a two-byte letter", results: []sdk.Result{{CommentID: "c1"}, {CommentID: "c2", Labels: label(sdk.LabelInsult, 1, sdk.Span{Start: 0, End: 2})}}},
		{name: "a span ending inside a two-byte letter", results: []sdk.Result{{CommentID: "c1"}, {CommentID: "c2", Labels: label(sdk.LabelInsult, 1, sdk.Span{Start: 0, End: 1})}},
			wantErr: `result 1 (comment "c2"): label "insult" span [0,1) is not on UTF-8 boundaries: offset 1 splits a character`},
		{name: "a span starting inside a two-byte letter", results: []sdk.Result{{CommentID: "c1"}, {CommentID: "c2", Labels: label(sdk.LabelInsult, 1, sdk.Span{Start: 1, End: 2})}},
			wantErr: `label "insult" span [1,2) is not on UTF-8 boundaries: offset 1 splits a character`},
		{name: "an empty span inside a letter", results: []sdk.Result{{CommentID: "c1"}, {CommentID: "c2", Labels: label(sdk.LabelInsult, 1, sdk.Span{Start: 1, End: 1})}},
			wantErr: `span [1,1) is not on UTF-8 boundaries`},
		{name: "three-byte letters, whole", comments: mixed, results: span(5, 11)},
		{name: "inside a three-byte letter, one byte in", comments: mixed, results: span(6, 11), wantErr: `span [6,11) is not on UTF-8 boundaries: offset 6`},
		{name: "inside a three-byte letter, two bytes in", comments: mixed, results: span(5, 10), wantErr: `span [5,10) is not on UTF-8 boundaries: offset 10`},
		{name: "a byte that is not UTF-8 is a character of its own", comments: mixed, results: span(12, 13)},
		{name: "a four-byte letter, whole", comments: mixed, results: span(13, 17)},
		{name: "inside a four-byte letter, three bytes in", comments: mixed, results: span(12, 16), wantErr: `offset 16 splits a character`},
		{name: "the whole text", comments: mixed, results: span(0, 18)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := sdk.Info{Name: "words", Labels: declared}
			if tt.declared != nil {
				info.Labels = tt.declared
			}
			cs := comments
			if tt.comments != nil {
				cs = tt.comments
			}
			err := sdk.CheckResults(info, cs, tt.results)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckResults = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CheckResults = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// The host side refuses a reply with a label the plugin did not declare,
// or declared with another plugin's prefix, and a span that splits a
// character, even from a plugin that does not check its own replies: the
// outsider's "insultt" was stored and the insult approved, and the other
// two were taken as they came.
func TestRemoteAnalyzeRefusesWhatThePluginDidNotDeclare(t *testing.T) {
	result := func(id string, labels ...string) *pb.AnalysisResult {
		r := &pb.AnalysisResult{CommentId: id}
		for _, l := range labels {
			r.Labels = append(r.Labels, &pb.Label{Name: l, Score: 0.9, Reason: "r"})
		}
		return r
	}
	tests := []struct {
		name    string
		labels  []string
		results []*pb.AnalysisResult
		wantErr string
		wantIDs []string // when the reply is accepted
	}{
		{name: "declared", labels: []string{sdk.LabelInsult}, results: []*pb.AnalysisResult{result("a", sdk.LabelInsult), result("b")}, wantIDs: []string{"a", "b"}},
		{name: "a typo of a declared label", labels: []string{sdk.LabelInsult}, results: []*pb.AnalysisResult{result("a", "insultt"), result("b")},
			wantErr: `analyze: invalid reply from plugin: result 0 (comment "a"): label "insultt" is not declared in Info.Labels (declared: "insult")`},
		{name: "empty comment ids are filled in", labels: []string{sdk.LabelInsult}, results: []*pb.AnalysisResult{result(""), result("", sdk.LabelInsult)}, wantIDs: []string{"a", "b"}},
		{name: "its own prefix", labels: []string{sdk.LabelInsult, "raw.rude"}, results: []*pb.AnalysisResult{result("a", "raw.rude"), result("b")}, wantIDs: []string{"a", "b"}},
		{name: "another plugin's prefix, declared", labels: []string{sdk.LabelInsult, "spam.links"}, results: []*pb.AnalysisResult{result("a"), result("b", "spam.links")},
			wantErr: `analyze: invalid reply from plugin: result 1 (comment "b"): label "spam.links" has the prefix of another plugin ("spam")`},
		{name: "a span that splits a character", labels: []string{sdk.LabelInsult},
			results: []*pb.AnalysisResult{result("a"), {CommentId: "b", Labels: []*pb.Label{{Name: sdk.LabelInsult, Score: 0.9, Spans: []*pb.Span{{Start: 0, End: 2}}}}}},
			wantErr: `analyze: invalid reply from plugin: result 1 (comment "b"): label "insult" span [0,2) is not on UTF-8 boundaries: offset 2 splits a character`},
		{name: "a span around a character", labels: []string{sdk.LabelInsult},
			results: []*pb.AnalysisResult{result("a"), {CommentId: "b", Labels: []*pb.Label{{Name: sdk.LabelInsult, Score: 0.9, Spans: []*pb.Span{{Start: 0, End: 3}}}}}},
			wantIDs: []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := &rawPlugin{labels: tt.labels, results: tt.results}
			p := serveRaw(t, func(s *grpc.Server) {
				pb.RegisterPluginServiceServer(s, raw)
				pb.RegisterAnalyzerServiceServer(s, raw)
			})
			// No Describe first: Analyze asks for the labels itself, once.
			for round := range 2 {
				res, err := p.Analyze(t.Context(), []sdk.Comment{{ID: "a", Text: "you idiot"}, {ID: "b", Text: "日本"}})
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("round %d: Analyze = %+v, %v; want an error containing %q", round, res, err, tt.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				for i, id := range tt.wantIDs {
					if res[i].CommentID != id {
						t.Errorf("round %d: result %d is for %q, want %q", round, i, res[i].CommentID, id)
					}
				}
			}
			if n := raw.describes.Load(); n != 1 {
				t.Errorf("the plugin was asked Describe %d times, want once", n)
			}
		})
	}
}

// fixedLabel labels every comment with one label, declared or not.
type fixedLabel struct{ name string }

func (f fixedLabel) Analyze(_ context.Context, cs []sdk.Comment) ([]sdk.Result, error) {
	out := make([]sdk.Result, len(cs))
	for i := range cs {
		// CommentID left empty on purpose: the SDK fills it in.
		out[i].Labels = []sdk.Label{{Name: f.name, Score: 0.95, Reason: "listed word"}}
	}
	return out, nil
}

// Through the whole SDK (Serve's side and the host's), as the daemon runs a
// plugin: the undeclared label is an error that names it and the declared
// ones, the declared one is a result for the right comment.
func TestUndeclaredLabelOverTheWire(t *testing.T) {
	tests := []struct {
		emits   string
		wantErr string
	}{
		{emits: sdk.LabelInsult},
		{emits: "insultt", wantErr: `label "insultt" is not declared in Info.Labels (declared: "insult")`},
	}
	for _, tt := range tests {
		t.Run(tt.emits, func(t *testing.T) {
			p := plugintest.Start(t, sdk.Plugin{Info: sdk.Info{Name: "insult", Version: "1", Labels: []string{sdk.LabelInsult}}, Analyzer: fixedLabel{tt.emits}})
			res, err := p.Analyze(t.Context(), []sdk.Comment{{ID: "c5", Text: "you idiot"}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "analyzer insult") {
					t.Fatalf("Analyze = %+v, %v; want an error from analyzer insult containing %q", res, err, tt.wantErr)
				}
				return
			}
			if err != nil || len(res) != 1 || res[0].CommentID != "c5" || len(res[0].Labels) != 1 || res[0].Labels[0].Name != tt.emits {
				t.Fatalf("Analyze = %+v, %v; want one %s label for c5", res, err, tt.emits)
			}
		})
	}
}

func TestCheckPoll(t *testing.T) {
	asked := []sdk.PostCursor{{PostID: "p1"}, {PostID: "p2", Cursor: []byte("c")}}
	entry := func(post string, comments ...sdk.Comment) sdk.PostComments {
		return sdk.PostComments{PostID: post, Comments: comments, Cursor: []byte("next")}
	}
	tests := []struct {
		name    string
		posts   []sdk.PostCursor
		entries []sdk.PostComments
		wantErr string // "" for a reply that keeps the contract
	}{
		{name: "one entry per post, in any order", entries: []sdk.PostComments{entry("p2"), entry("p1", sdk.Comment{ID: "c1", PostID: "p1"})}},
		{name: "a post that could not be polled", entries: []sdk.PostComments{entry("p1"), {PostID: "p2", Err: "HTTP 500"}}},
		{name: "an empty PostID stands for the entry's post", entries: []sdk.PostComments{entry("p1", sdk.Comment{ID: "c1"}), entry("p2")}},
		{name: "a post asked for twice may have two entries", posts: []sdk.PostCursor{{PostID: "p1"}, {PostID: "p1"}}, entries: []sdk.PostComments{entry("p1"), entry("p1")}},
		{name: "a post missing", entries: []sdk.PostComments{entry("p1")},
			wantErr: `no entry for post "p2" of the 2 asked for: return one per post, with its Err set when it could not be polled`},
		{name: "every post missing", entries: nil, wantErr: `no entry for post "p1", "p2" of the 2 asked for`},
		{name: "a post twice", entries: []sdk.PostComments{entry("p1"), entry("p2"), entry("p1")},
			wantErr: `post "p1" has more than one entry (entry 2)`},
		{name: "a post not asked for", entries: []sdk.PostComments{entry("p1"), entry("p2"), entry("p3")},
			wantErr: `post "p3" was not asked for (entry 2)`},
		{name: "a comment on another post", entries: []sdk.PostComments{entry("p1", sdk.Comment{ID: "c9", PostID: "p2"}), entry("p2")},
			wantErr: `post "p1" comment "c9" is on post "p2": each comment goes in the entry of its own post`},
		{name: "a comment without an id", entries: []sdk.PostComments{entry("p1"), entry("p2", sdk.Comment{Text: "hi"})},
			wantErr: `post "p2" comment 0 has no id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			posts := asked
			if tt.posts != nil {
				posts = tt.posts
			}
			err := sdk.CheckPoll(posts, sdk.PollResponse{Posts: tt.entries})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckPoll = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CheckPoll = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// rawConnector answers every Poll with a canned reply and checks nothing.
type rawConnector struct {
	pb.UnimplementedConnectorServiceServer
	posts []*pb.PostComments
}

func (r *rawConnector) Poll(context.Context, *pb.PollRequest) (*pb.PollResponse, error) {
	return &pb.PollResponse{Posts: r.posts}, nil
}

// The host side refuses the replies the Poller docs forbid, from a plugin
// that does not check them itself: it used to check only posts not asked for.
func TestRemotePollRefusesWhatTheContractForbids(t *testing.T) {
	comment := func(id, post string) *pb.Comment { return &pb.Comment{Id: id, PostId: post, Text: "hi"} }
	tests := []struct {
		name      string
		posts     []*pb.PostComments
		wantErr   string
		wantPosts map[string][]string // post -> the PostIDs of its comments, when accepted
	}{
		{name: "a good reply, an empty PostID filled in",
			posts:     []*pb.PostComments{{PostId: "p1", Comments: []*pb.Comment{comment("c1", ""), comment("c2", "p1")}}, {PostId: "p2", Error: "HTTP 500"}},
			wantPosts: map[string][]string{"p1": {"p1", "p1"}, "p2": nil}},
		{name: "a post missing", posts: []*pb.PostComments{{PostId: "p1"}},
			wantErr: `poll 2 posts: invalid reply from plugin: no entry for post "p2"`},
		{name: "the same post twice", posts: []*pb.PostComments{{PostId: "p1"}, {PostId: "p1"}, {PostId: "p2"}},
			wantErr: `post "p1" has more than one entry`},
		{name: "a comment on another post", posts: []*pb.PostComments{{PostId: "p1", Comments: []*pb.Comment{comment("c1", "p2")}}, {PostId: "p2"}},
			wantErr: `post "p1" comment "c1" is on post "p2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := serveRaw(t, func(s *grpc.Server) { pb.RegisterConnectorServiceServer(s, &rawConnector{posts: tt.posts}) })
			resp, err := p.Poll(t.Context(), []sdk.PostCursor{{PostID: "p1"}, {PostID: "p2"}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Poll = %+v, %v; want an error containing %q", resp, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, pc := range resp.Posts {
				got[pc.PostID] = nil
				for _, c := range pc.Comments {
					got[pc.PostID] = append(got[pc.PostID], c.PostID)
				}
			}
			if !reflect.DeepEqual(got, tt.wantPosts) {
				t.Errorf("posts and their comments' PostIDs %v, want %v", got, tt.wantPosts)
			}
		})
	}
}

// pollFunc is a Poller made of a function.
type pollFunc func([]sdk.PostCursor) sdk.PollResponse

func (f pollFunc) Poll(_ context.Context, posts []sdk.PostCursor) (sdk.PollResponse, error) {
	return f(posts), nil
}

// Through the whole SDK, the plugin's side refuses first, with its name.
func TestBadPollOverTheWire(t *testing.T) {
	tests := []struct {
		name    string
		reply   pollFunc
		wantErr string
	}{
		{name: "comments without their PostID", reply: func(posts []sdk.PostCursor) sdk.PollResponse {
			var r sdk.PollResponse
			for _, p := range posts {
				r.Posts = append(r.Posts, sdk.PostComments{PostID: p.PostID, Comments: []sdk.Comment{{ID: p.PostID + "-c1", Text: "hi"}}, Cursor: []byte("1")})
			}
			return r
		}},
		{name: "the last post left out", reply: func(posts []sdk.PostCursor) sdk.PollResponse {
			return sdk.PollResponse{Posts: []sdk.PostComments{{PostID: posts[0].PostID}}}
		}, wantErr: `connector poller: no entry for post "p2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plugintest.Start(t, sdk.Plugin{Info: sdk.Info{Name: "poller", Version: "1", Platform: "test"}, Connector: tt.reply})
			resp, err := p.Poll(t.Context(), []sdk.PostCursor{{PostID: "p1"}, {PostID: "p2"}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Poll = %+v, %v; want an error containing %q", resp, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, pc := range resp.Posts {
				for _, c := range pc.Comments {
					if c.PostID != pc.PostID {
						t.Errorf("comment %s has PostID %q, want its entry's %q", c.ID, c.PostID, pc.PostID)
					}
				}
			}
		})
	}
}

// rawDiscoverer is a connector without the SDK: it declares kinds and
// expands any target, counting the calls that reach it.
type rawDiscoverer struct {
	pb.UnimplementedPluginServiceServer
	pb.UnimplementedConnectorServiceServer
	kinds []string
	calls atomic.Int32
}

func (r *rawDiscoverer) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	return &pb.DescribeResponse{Name: "rawconn", Version: "1", Kind: pb.PluginKind_PLUGIN_KIND_CONNECTOR, ProtocolVersion: sdk.ProtocolVersion,
		Capabilities: []string{sdk.CapDiscover}, TargetKinds: r.kinds}, nil
}

func (r *rawDiscoverer) Discover(context.Context, *pb.DiscoverRequest) (*pb.DiscoverResponse, error) {
	r.calls.Add(1)
	return &pb.DiscoverResponse{Posts: []*pb.Post{{Id: "p1"}}}, nil
}

// The host side refuses a target of a kind the connector did not declare
// before asking it, as for a label, even when the plugin does not check
// it; a plugin that declares no kinds, built before the SDK asked for
// them, is taken at its word as the host's config check takes it.
func TestRemoteDiscoverRefusesAnUndeclaredTargetKind(t *testing.T) {
	tests := []struct {
		name    string
		kinds   []string
		kind    string
		wantErr string // "" when the call goes through
	}{
		{name: "declared", kinds: []string{sdk.TargetAuthor}, kind: sdk.TargetAuthor},
		{name: "undeclared", kinds: []string{sdk.TargetAuthor}, kind: sdk.TargetQuery,
			wantErr: `discover query x: target kind "query" is not one connector rawconn declares ("author"): unsupported`},
		{name: "nothing declared", kind: sdk.TargetQuery},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := &rawDiscoverer{kinds: tt.kinds}
			p := serveRaw(t, func(s *grpc.Server) {
				pb.RegisterPluginServiceServer(s, raw)
				pb.RegisterConnectorServiceServer(s, raw)
			})
			resp, err := p.Discover(t.Context(), sdk.DiscoverRequest{Target: sdk.Target{Kind: tt.kind, ID: "x"}})
			if tt.wantErr == "" {
				if err != nil || len(resp.Posts) != 1 || raw.calls.Load() != 1 {
					t.Fatalf("Discover = %+v, %v after %d calls; want the plugin's post", resp, err, raw.calls.Load())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, sdk.ErrUnsupported) {
				t.Errorf("Discover = %v, want an error matching ErrUnsupported containing %q", err, tt.wantErr)
			}
			if n := raw.calls.Load(); n != 0 {
				t.Errorf("the plugin was asked %d times", n)
			}
		})
	}
}
