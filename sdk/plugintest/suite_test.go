package plugintest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

// mutant is the words analyzer with one thing broken on purpose.
type mutant struct {
	*wordsAnalyzer
	configure func(context.Context, sdk.ConfigureRequest) error
	mutate    func([]sdk.Comment, []sdk.Result) ([]sdk.Result, error)
}

func (m *mutant) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
	if m.configure != nil {
		return m.configure(ctx, req)
	}
	return m.wordsAnalyzer.Configure(ctx, req)
}

func (m *mutant) Analyze(ctx context.Context, comments []sdk.Comment) ([]sdk.Result, error) {
	res, err := m.wordsAnalyzer.Analyze(ctx, comments)
	if err != nil || m.mutate == nil {
		return res, err
	}
	return m.mutate(comments, res)
}

// eachResult applies f to every result, for mutations that break one label.
func eachResult(f func(c sdk.Comment, r *sdk.Result)) func([]sdk.Comment, []sdk.Result) ([]sdk.Result, error) {
	return func(cs []sdk.Comment, rs []sdk.Result) ([]sdk.Result, error) {
		for i := range rs {
			f(cs[i], &rs[i])
		}
		return rs, nil
	}
}

func addLabel(l sdk.Label) func([]sdk.Comment, []sdk.Result) ([]sdk.Result, error) {
	return eachResult(func(_ sdk.Comment, r *sdk.Result) { r.Labels = append(r.Labels, l) })
}

func TestAnalyzerSuiteCatches(t *testing.T) {
	var calls atomic.Int64
	var busy sync.Mutex
	tests := []struct {
		name      string
		info      func(*sdk.Info)
		configure func(context.Context, sdk.ConfigureRequest) error
		mutate    func([]sdk.Comment, []sdk.Result) ([]sdk.Result, error)
		suite     func(*AnalyzerSuite)
		// want lists what the suite must report; empty means nothing at all.
		want []catch
	}{
		{name: "a correct analyzer passes"},
		{
			name: "a result missing",
			mutate: func(_ []sdk.Comment, rs []sdk.Result) ([]sdk.Result, error) {
				return rs[:max(len(rs)-1, 0)], nil
			},
			want: []catch{{"analyze/corpus", "results for"}},
		},
		{
			name: "results out of order",
			mutate: func(_ []sdk.Comment, rs []sdk.Result) ([]sdk.Result, error) {
				slices.Reverse(rs)
				return rs, nil
			},
			want: []catch{{"analyze/corpus", "is for comment"}},
		},
		{
			name:   "score 1.5",
			mutate: addLabel(sdk.Label{Name: sdk.LabelSpam, Score: 1.5, Reason: "too sure"}),
			want:   []catch{{"analyze/corpus", "outside [0,1]"}},
		},
		{
			name: "span past the end of the text",
			mutate: eachResult(func(c sdk.Comment, r *sdk.Result) {
				r.Labels = append(r.Labels, sdk.Label{Name: sdk.LabelSpam, Score: 1, Reason: "r", Spans: []sdk.Span{{Start: 0, End: len(c.Text) + 1}}})
			}),
			want: []catch{{"analyze/corpus", "outside the text"}},
		},
		{
			name: "span inside a multi-byte letter",
			mutate: eachResult(func(c sdk.Comment, r *sdk.Result) {
				if strings.HasPrefix(c.Text, "É") {
					r.Labels = append(r.Labels, sdk.Label{Name: "words.extra", Score: 1, Reason: "r", Spans: []sdk.Span{{Start: 1, End: 2}}})
				}
			}),
			want: []catch{{"analyze/corpus", "not on UTF-8 boundaries"}},
		},
		{
			name:   "undeclared label",
			mutate: addLabel(sdk.Label{Name: "other.thing", Score: 0.5, Reason: "r"}),
			want:   []catch{{"analyze/corpus", `label "other.thing" is not declared`}},
		},
		{
			name:   "label without a reason",
			mutate: addLabel(sdk.Label{Name: "words.extra", Score: 0.5}),
			want:   []catch{{"analyze/corpus", "no reason"}},
		},
		{
			name:   "label twice in one result",
			mutate: addLabel(sdk.Label{Name: sdk.LabelSpam, Score: 0.5, Reason: "r"}),
			suite: func(s *AnalyzerSuite) {
				s.Config["words"] = []string{"e"} // so most results already have the label
			},
			want: []catch{{"analyze/corpus", "appears twice"}},
		},
		{
			name: "results change between calls",
			mutate: eachResult(func(_ sdk.Comment, r *sdk.Result) {
				r.Labels = append(r.Labels, sdk.Label{Name: "words.extra", Score: float64(calls.Add(1)%10) / 10, Reason: "r"})
			}),
			want: []catch{{"analyze/deterministic", "analyzing the same batch again"}, {"analyze/concurrent", "other results"}},
		},
		{
			name: "changing results are fine when Stateful",
			mutate: eachResult(func(_ sdk.Comment, r *sdk.Result) {
				r.Labels = append(r.Labels, sdk.Label{Name: "words.extra", Score: float64(calls.Add(1)%10) / 10, Reason: "r"})
			}),
			suite: func(s *AnalyzerSuite) { s.Stateful = true },
		},
		{
			name: "result depends on the rest of the batch",
			mutate: func(cs []sdk.Comment, rs []sdk.Result) ([]sdk.Result, error) {
				for i := range rs {
					rs[i].Labels = append(rs[i].Labels, sdk.Label{Name: "words.extra", Score: 1 / float64(len(cs)), Reason: "r"})
				}
				return rs, nil
			},
			want: []catch{{"analyze/alone_equals_batch", "alone it gives"}},
		},
		{
			name: "fails concurrent calls",
			mutate: func(_ []sdk.Comment, rs []sdk.Result) ([]sdk.Result, error) {
				if !busy.TryLock() {
					return nil, errors.New("busy")
				}
				defer busy.Unlock()
				time.Sleep(5 * time.Millisecond)
				return rs, nil
			},
			want: []catch{{"analyze/concurrent", "busy"}},
		},
		{
			name: "cannot take the MaxBatch it declares",
			mutate: func(cs []sdk.Comment, rs []sdk.Result) ([]sdk.Result, error) {
				if len(cs) > 3 {
					return nil, errors.New("too many")
				}
				return rs, nil
			},
			want: []catch{{"analyze/max_batch", "MaxBatch=4"}, {"analyze/corpus", "too many"}},
		},
		{
			name: "fails an empty batch",
			mutate: func(cs []sdk.Comment, rs []sdk.Result) ([]sdk.Result, error) {
				if len(cs) == 0 {
					return nil, errors.New("nothing to do")
				}
				return rs, nil
			},
			want: []catch{{"analyze/empty_batch", "nothing to do"}},
		},
		{
			name: "accepts unknown keys",
			configure: func(_ context.Context, req sdk.ConfigureRequest) error {
				var cfg wordsConfig
				return json.Unmarshal(req.Config.JSON, &cfg)
			},
			want: []catch{{"configure/unknown_key", "accepted"}},
		},
		{
			name: "accepts a bad config",
			configure: func(_ context.Context, req sdk.ConfigureRequest) error {
				var cfg wordsConfig
				return req.Config.Decode(&cfg)
			},
			want: []catch{{"configure/bad/no words", `want a FieldError for "words"`}},
		},
		{
			name: "rejects its own valid config",
			configure: func(context.Context, sdk.ConfigureRequest) error {
				return &sdk.FieldError{Field: "words", Message: "never good enough"}
			},
			want: []catch{{"configure/valid", "rejected the suite's Config"}, {"analyze", "rejected the suite's Config"}},
		},
		{
			name: "fails Configure as a call",
			configure: func(context.Context, sdk.ConfigureRequest) error {
				return errors.New("disk on fire")
			},
			want: []catch{{"configure/bad/no words", "failed as a call"}, {"analyze", "disk on fire"}},
		},
		{
			name: "bad Describe",
			info: func(i *sdk.Info) {
				i.Name = "Words Plugin"
				i.Version = ""
				i.Labels = []string{sdk.LabelSpam, "Words Plugin.caps"}
				i.Config = append(i.Config, sdk.ConfigField{Name: "limit", Type: "number"}, sdk.ConfigField{Name: "words", Type: "list"})
				i.MaxBatch = 0
			},
			// Every mistake is reported, not just the first.
			want: []catch{
				{"describe", "lower case"}, {"describe", "version is empty"},
				{"describe", `type "number"`}, {"describe", `"words" is declared twice`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := wordsInfo()
			if tt.info != nil {
				tt.info(&info)
			}
			p := Start(t, sdk.Plugin{Info: info, Analyzer: &mutant{wordsAnalyzer: &wordsAnalyzer{}, configure: tt.configure, mutate: tt.mutate}})
			suite := wordsSuite()
			if tt.suite != nil {
				tt.suite(&suite)
			}
			rec := newRecorder(t)
			analyzerSuite(rec, p, suite)
			assertCaught(t, rec, tt.want)
			if len(tt.want) == 0 {
				if s := rec.skipped(); len(s) > 0 && !suite.Stateful {
					t.Errorf("checks skipped for a correct analyzer with MaxBatch: %q", s)
				}
			}
		})
	}
}

func TestAnalyzerSuitePassesInProcess(t *testing.T) {
	TestAnalyzer(t, Start(t, wordsPlugin()), wordsSuite())
}

// pollerOnly is a connector without Moderate, to check the suite skips the
// moderation checks and still finds Moderate unsupported.
type pollerOnly struct{ f *fakeConnector }

func (p pollerOnly) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
	return p.f.Configure(ctx, req)
}

func (p pollerOnly) Poll(ctx context.Context, posts []sdk.PostCursor) (sdk.PollResponse, error) {
	return p.f.Poll(ctx, posts)
}

func TestConnectorSuiteCatches(t *testing.T) {
	tests := []struct {
		name      string
		connector func(*fakeConnector) any
		info      func(*sdk.Info)
		fake      func(*fakeConnector)
		suite     func(*ConnectorSuite)
		want      []catch
	}{
		{name: "a correct connector passes"},
		{
			name:      "a correct discovering connector passes",
			connector: func(f *fakeConnector) any { return discoveringConnector{fakeConnector: f} },
			info:      func(i *sdk.Info) { i.TargetKinds = []string{sdk.TargetAuthor} },
		},
		{
			name:      "a poll-only connector passes, moderation skipped",
			connector: func(f *fakeConnector) any { return pollerOnly{f} },
			info:      func(i *sdk.Info) { i.Actions = nil },
		},
		{
			name:  "no comment to moderate skips moderation",
			suite: func(s *ConnectorSuite) { s.Moderate = nil },
		},
		{
			name: "moderation is not idempotent",
			fake: func(f *fakeConnector) { f.notIdempotent = true },
			want: []catch{{"moderate/hide", "Changed=true"}, {"moderate/delete", "Changed=true"}},
		},
		{
			// Serve refuses undeclared actions before Moderate sees them,
			// so a connector that would apply anything passes.
			name: "an undeclared action never reaches Moderate",
			info: func(i *sdk.Info) { i.Actions = []string{sdk.ActionHide, sdk.ActionUnhide} },
			fake: func(f *fakeConnector) { f.undeclared = nil },
		},
		{
			name: "nor does Moderate's own answer to one",
			info: func(i *sdk.Info) { i.Actions = []string{sdk.ActionHide, sdk.ActionUnhide} },
			fake: func(f *fakeConnector) { f.undeclared = errors.New("nope") },
		},
		{
			name: "bad Describe",
			info: func(i *sdk.Info) {
				i.Platform = ""
			},
			want: []catch{{"describe", "platform is empty"}},
		},
		{
			name: "accepts a bad config",
			suite: func(s *ConnectorSuite) {
				s.BadConfigs = append(s.BadConfigs, BadConfig{Name: "negative", Config: map[string]any{"platform_url": "x"}, Field: "platform_url"})
			},
			want: []catch{{"configure/bad/negative", "accepted"}},
		},
		{
			name: "comments without a cursor",
			fake: func(f *fakeConnector) { f.noCursor = true },
			want: []catch{{"poll/from_empty_cursors", `post "p1": 2 comments and no cursor`}},
		},
		{
			name: "a cursor that starts over",
			fake: func(f *fakeConnector) { f.cursorRestarts = true },
			want: []catch{{"poll/resume", `comment "c1" came back when polled from the cursor returned after it`}},
		},
		{
			name: "More that never ends",
			fake: func(f *fakeConnector) { f.neverDone = true },
			want: []catch{{"poll/from_empty_cursors", "still say More after 100 polls"}},
		},
		{
			name: "a post that does not exist fails the whole call",
			fake: func(f *fakeConnector) { f.failsUnknownPost = true },
			want: []catch{{"poll/unknown_post", "failed the whole call"}, {"poll/max_batch", "MaxBatch=3"}},
		},
		{
			name: "a post that does not exist is left out of the reply",
			fake: func(f *fakeConnector) { f.dropsUnknownPost = true },
			want: []catch{{"poll/unknown_post", `no entry for post "plugintest-no-such-post"`}},
		},
		{
			name: "fails concurrent polls",
			fake: func(f *fakeConnector) { f.serial = true },
			want: []catch{{"poll/concurrent", "busy"}},
		},
		{
			name:  "no post with comments to poll",
			suite: func(s *ConnectorSuite) { s.PollPosts = []string{"p2"} },
			want:  []catch{{"poll/from_empty_cursors", "found no comment"}},
		},
		{
			name: "accepts an unsigned delivery",
			fake: func(f *fakeConnector) { f.acceptsUnsigned = true },
			want: []catch{{"webhook/unsigned", "brought 1 comments"}},
		},
		{
			name: "fails the call for an unsigned delivery",
			fake: func(f *fakeConnector) { f.failsUnsigned = true },
			want: []catch{{"webhook/unsigned", "failed the call"}},
		},
		{
			name:  "a delivery not signed for the suite's secret",
			suite: func(s *ConnectorSuite) { s.Deliveries[0].Header.Set("X-Fake-Signature", "sha256=00") },
			want:  []catch{{"webhook/deliveries", "was answered 401"}},
		},
		{
			name:      "Discover pages that never end",
			connector: func(f *fakeConnector) any { return discoveringConnector{fakeConnector: f, endless: true} },
			info:      func(i *sdk.Info) { i.TargetKinds = []string{sdk.TargetAuthor} },
			want:      []catch{{"discover/author/someone", "returned the cursor it was given"}},
		},
		{
			name:      "a target of a kind not declared",
			connector: func(f *fakeConnector) any { return discoveringConnector{fakeConnector: f} },
			info:      func(i *sdk.Info) { i.TargetKinds = []string{sdk.TargetAuthor} },
			suite:     func(s *ConnectorSuite) { s.DiscoverTargets = []sdk.Target{{Kind: sdk.TargetQuery, ID: "q"}} },
			want:      []catch{{"discover/query/q", `kind "query", which the connector does not declare`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := fakeInfo()
			if tt.info != nil {
				tt.info(&info)
			}
			fake := &fakeConnector{platform: newFakePlatform(), actions: info.Actions, undeclared: sdk.ErrUnsupported}
			if tt.fake != nil {
				tt.fake(fake)
			}
			var conn any = fake
			if tt.connector != nil {
				conn = tt.connector(fake)
			}
			suite := fakeSuite()
			if tt.suite != nil {
				tt.suite(&suite)
			}
			rec := newRecorder(t)
			connectorSuite(rec, Start(t, sdk.Plugin{Info: info, Connector: conn}), suite)
			assertCaught(t, rec, tt.want)
			if strings.HasSuffix(tt.name, "skipped") || strings.HasPrefix(tt.name, "no comment") {
				if !slices.Contains(rec.skipped(), "moderate") {
					t.Errorf("moderate checks ran; want them skipped (skipped: %q)", rec.skipped())
				}
			}
			if tt.name == "a correct discovering connector passes" && slices.Contains(rec.skipped(), "discover") {
				t.Errorf("discover checks skipped for a discovering connector")
			}
		})
	}
}

func TestConnectorSuitePassesInProcess(t *testing.T) {
	f := &fakeConnector{platform: newFakePlatform(), actions: fakeInfo().Actions, undeclared: sdk.ErrUnsupported}
	p := Start(t, sdk.Plugin{Info: fakeInfo(), Connector: f})
	TestConnector(t, p, fakeSuite())
	// The suite moderated for real: the comment ends deleted on the platform.
	if !f.platform.deleted["c1"] {
		t.Errorf("comment c1 not deleted on the fake platform after the moderate checks")
	}
}
