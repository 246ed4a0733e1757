package plugintest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

// helperEnv names the plugin a re-executed test binary serves from TestMain,
// so the Launch tests run a real plugin process without a go build.
const helperEnv = "PLUGINTEST_HELPER_PLUGIN"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(Main(m))
	case "words":
		sdk.Serve(wordsPlugin())
		os.Exit(0)
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", helperEnv, os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// wordsAnalyzer is a well-behaved analyzer: it labels occurrences of
// configured words as spam. It declares a small MaxBatch so that the suite's
// batching is exercised.
type wordsAnalyzer struct {
	mu  sync.RWMutex
	cfg wordsConfig
}

type wordsConfig struct {
	Words []string `json:"words"`
	Score float64  `json:"score"`
}

func (w *wordsAnalyzer) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg := wordsConfig{Score: 0.9}
	if err := req.Config.Decode(&cfg); err != nil {
		return err
	}
	var fe sdk.FieldErrors
	if len(cfg.Words) == 0 {
		fe.Add("words", "list at least one word")
	}
	for i, word := range cfg.Words {
		if word == "" {
			fe.Add(fmt.Sprintf("words[%d]", i), "empty word")
		}
	}
	if cfg.Score <= 0 || cfg.Score > 1 {
		fe.Add("score", "must be in (0,1], got %v", cfg.Score)
	}
	if err := fe.Err(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cfg = cfg
	return nil
}

func (w *wordsAnalyzer) Analyze(_ context.Context, comments []sdk.Comment) ([]sdk.Result, error) {
	w.mu.RLock()
	cfg := w.cfg
	w.mu.RUnlock()
	out := make([]sdk.Result, len(comments))
	for i, c := range comments {
		out[i].CommentID = c.ID
		var spans []sdk.Span
		for _, word := range cfg.Words {
			for off := 0; ; {
				j := strings.Index(c.Text[off:], word)
				if j < 0 {
					break
				}
				spans = append(spans, sdk.Span{Start: off + j, End: off + j + len(word)})
				off += j + len(word)
			}
		}
		if len(spans) > 0 {
			out[i].Labels = []sdk.Label{{Name: sdk.LabelSpam, Score: cfg.Score, Spans: spans, Reason: fmt.Sprintf("%d listed words", len(spans))}}
		}
	}
	return out, nil
}

func wordsInfo() sdk.Info {
	return sdk.Info{
		Name: "words", Version: "1.0.0", Description: "Flags listed words.",
		Labels:   []string{sdk.LabelSpam, "words.extra"},
		MaxBatch: 4,
		Config: []sdk.ConfigField{
			{Name: "words", Type: "list", Required: true, Description: "Words to flag."},
			{Name: "score", Type: "float", Default: "0.9", Description: "Score of a match."},
		},
	}
}

func wordsPlugin() sdk.Plugin { return sdk.Plugin{Info: wordsInfo(), Analyzer: &wordsAnalyzer{}} }

func wordsSuite() AnalyzerSuite {
	return AnalyzerSuite{
		Config: map[string]any{"words": []string{"SHOUTING", "É", "日本"}, "score": 0.5},
		BadConfigs: []BadConfig{
			{Name: "no words", Config: map[string]any{"words": []string{}}, Field: "words"},
			{Name: "empty word", Config: map[string]any{"words": []string{"a", ""}}, Field: "words"},
			{Config: map[string]any{"words": []string{"a"}, "score": 2}, Field: "score"},
			{Name: "score not a number", Config: map[string]any{"words": []string{"a"}, "score": "high"}, Field: "score"},
		},
		Comments: []sdk.Comment{{ID: "ecole", Text: "ÉCOLE"}},
	}
}

// failure is one thing a suite reported through the recorder.
type failure struct {
	test, msg string
	skip      bool
}

// recorder is a tester that records failures instead of failing the real
// test, so a test can assert that the suite catches a broken plugin.
type recorder struct {
	name   string
	ctx    context.Context
	parent *recorder
	mu     *sync.Mutex
	log    *[]failure
	failed bool
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{ctx: t.Context(), mu: &sync.Mutex{}, log: &[]failure{}}
}

func (r *recorder) Helper()                  {}
func (r *recorder) Context() context.Context { return r.ctx }
func (r *recorder) Logf(string, ...any)      {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.log = append(*r.log, failure{test: r.name, msg: fmt.Sprintf(format, args...)})
	for x := r; x != nil; x = x.parent {
		x.failed = true
	}
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.mu.Lock()
	*r.log = append(*r.log, failure{test: r.name, msg: fmt.Sprintf(format, args...), skip: true})
	r.mu.Unlock()
	runtime.Goexit()
}

// run runs f in its own goroutine, as testing does, so that Fatalf and Skipf
// (runtime.Goexit) end only that subtest.
func (r *recorder) run(name string, f func(tester)) bool {
	child := &recorder{name: strings.TrimPrefix(r.name+"/"+name, "/"), ctx: r.ctx, parent: r, mu: r.mu, log: r.log}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(child)
	}()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	return !child.failed
}

// failures returns what was reported, skips left out.
func (r *recorder) failures() []failure {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(*r.log), func(f failure) bool { return f.skip })
}

func (r *recorder) skipped() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, f := range *r.log {
		if f.skip {
			out = append(out, f.test)
		}
	}
	return out
}

// catch is a failure a suite must report: in subtest test, with text in
// its message.
type catch struct{ test, text string }

// assertCaught fails t unless the recorder got every failure in want; with
// want empty, unless it got none at all.
func assertCaught(t *testing.T, rec *recorder, want []catch) {
	t.Helper()
	got := rec.failures()
	if len(want) == 0 {
		for _, f := range got {
			t.Errorf("unexpected failure in %s: %s", f.test, f.msg)
		}
		return
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(f failure) bool { return f.test == w.test && strings.Contains(f.msg, w.text) }) {
			t.Errorf("no failure in %s containing %q", w.test, w.text)
		}
	}
	if t.Failed() {
		t.Logf("the suite reported %d failures:", len(got))
		for _, f := range got {
			t.Logf("  %s: %s", f.test, f.msg)
		}
	}
}

// fakePlatform is the state of comments on a made-up platform that the test
// connectors poll and moderate: post p1 has five comments, p2 none.
type fakePlatform struct {
	mu       sync.Mutex
	comments map[string][]sdk.Comment
	hidden   map[string]bool
	flagged  map[string]bool
	deleted  map[string]bool
}

func newFakePlatform() *fakePlatform {
	p := &fakePlatform{comments: map[string][]sdk.Comment{"p2": nil}, hidden: map[string]bool{}, flagged: map[string]bool{}, deleted: map[string]bool{}}
	for i := range 5 {
		p.comments["p1"] = append(p.comments["p1"], sdk.Comment{Platform: "fake", ID: fmt.Sprintf("c%d", i+1), PostID: "p1", Text: fmt.Sprintf("comment %d", i+1)})
	}
	return p
}

// fakePage is how many comments the fake connector returns per post and call.
const fakePage = 2

// fakeSecret signs the fake platform's webhook deliveries.
const fakeSecret = "s3cret"

// fakeSign is the fake platform's signature of a webhook body.
func fakeSign(body []byte) string {
	mac := hmac.New(sha256.New, []byte(fakeSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// fakeConnector polls, takes webhooks from and moderates fakePlatform: a
// correct connector, unless one of its flags breaks it on purpose.
type fakeConnector struct {
	platform *fakePlatform
	actions  []string
	// notIdempotent reports Changed=true every time.
	notIdempotent bool
	// undeclared is what Moderate answers for an action it does not declare;
	// nil means it applies it anyway.
	undeclared error
	// Poll mistakes.
	noCursor, cursorRestarts, neverDone, failsUnknownPost, dropsUnknownPost, serial bool
	// Webhook mistakes.
	acceptsUnsigned, failsUnsigned bool
	// busy is held by a Poll of a serial connector.
	busy sync.Mutex
}

func (f *fakeConnector) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	var cfg struct {
		URL    string `json:"platform_url"`
		Secret string `json:"webhook_secret"`
	}
	if err := req.Config.Decode(&cfg); err != nil {
		return err
	}
	if cfg.URL == "" {
		return &sdk.FieldError{Field: "platform_url", Message: "required"}
	}
	return nil
}

// Poll returns up to fakePage comments per post after its cursor (the number
// of comments delivered before), with More while there are others.
func (f *fakeConnector) Poll(_ context.Context, posts []sdk.PostCursor) (sdk.PollResponse, error) {
	if f.serial {
		if !f.busy.TryLock() {
			return sdk.PollResponse{}, errors.New("busy")
		}
		defer f.busy.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	p := f.platform
	p.mu.Lock()
	defer p.mu.Unlock()
	out := sdk.PollResponse{RateLimit: sdk.RateLimit{Limit: 100, Remaining: 99}}
	for _, pc := range posts {
		comments, ok := p.comments[pc.PostID]
		if !ok {
			switch {
			case f.failsUnknownPost:
				return sdk.PollResponse{}, fmt.Errorf("post %s: %w", pc.PostID, sdk.ErrNotFound)
			case f.dropsUnknownPost:
				continue
			}
			out.Posts = append(out.Posts, sdk.PostComments{PostID: pc.PostID, Err: "no such post"})
			continue
		}
		from, _ := strconv.Atoi(string(pc.Cursor))
		to := min(from+fakePage, len(comments))
		e := sdk.PostComments{PostID: pc.PostID, Comments: slices.Clone(comments[from:to]), Cursor: []byte(strconv.Itoa(to)), More: to < len(comments)}
		switch {
		case f.noCursor:
			e.Cursor = nil
		case f.cursorRestarts:
			e.Cursor, e.More = []byte("0"), false
		case f.neverDone:
			e.More = true
		}
		out.Posts = append(out.Posts, e)
	}
	return out, nil
}

// Webhook takes deliveries signed with fakeSecret, each carrying a comment.
func (f *fakeConnector) Webhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	if !hmac.Equal([]byte(req.Header.Get("X-Fake-Signature")), []byte(fakeSign(req.Body))) {
		switch {
		case f.failsUnsigned:
			return sdk.WebhookResponse{}, errors.New("bad signature")
		case !f.acceptsUnsigned:
			return sdk.WebhookResponse{Status: http.StatusUnauthorized}, nil
		}
	}
	var c sdk.Comment
	if err := json.Unmarshal(req.Body, &c); err != nil || c.ID == "" {
		c = sdk.Comment{ID: "from-the-body", PostID: "p1", Text: string(req.Body)}
	}
	return sdk.WebhookResponse{Status: http.StatusOK, Comments: []sdk.Comment{c}}, nil
}

func (f *fakeConnector) Moderate(_ context.Context, req sdk.ModerateRequest) (sdk.ModerateResponse, error) {
	if !slices.Contains(f.actions, req.Action) && f.undeclared != nil {
		return sdk.ModerateResponse{}, fmt.Errorf("action %q: %w", req.Action, f.undeclared)
	}
	p := f.platform
	p.mu.Lock()
	defer p.mu.Unlock()
	id := req.Comment.ID
	if p.deleted[id] && req.Action != sdk.ActionDelete {
		return sdk.ModerateResponse{}, fmt.Errorf("comment %s: %w", id, sdk.ErrNotFound)
	}
	set := func(m map[string]bool, v bool) sdk.ModerateResponse {
		changed := m[id] != v || f.notIdempotent
		m[id] = v
		return sdk.ModerateResponse{Changed: changed, Detail: req.Action}
	}
	switch req.Action {
	case sdk.ActionHide:
		return set(p.hidden, true), nil
	case sdk.ActionUnhide:
		return set(p.hidden, false), nil
	case sdk.ActionFlag:
		return set(p.flagged, true), nil
	case sdk.ActionApprove:
		return set(p.flagged, false), nil
	case sdk.ActionDelete:
		return set(p.deleted, true), nil
	}
	return sdk.ModerateResponse{}, sdk.Permanent(errors.New("no such action on this platform"))
}

// discoveringConnector adds Discover, to give a connector another capability
// set: an author's posts, two pages of one post each.
type discoveringConnector struct {
	*fakeConnector
	endless bool // every page has a cursor
}

func (c discoveringConnector) Discover(_ context.Context, req sdk.DiscoverRequest) (sdk.DiscoverResponse, error) {
	if len(req.Cursor) == 0 {
		return sdk.DiscoverResponse{Posts: []sdk.Post{{ID: "p1"}}, Cursor: []byte("page2")}, nil
	}
	resp := sdk.DiscoverResponse{Posts: []sdk.Post{{ID: "p2"}}}
	if c.endless {
		resp.Cursor = req.Cursor
	}
	return resp, nil
}

func fakeInfo() sdk.Info {
	return sdk.Info{
		Name: "fake", Version: "0.1.0", Platform: "fake",
		Actions:  []string{sdk.ActionFlag, sdk.ActionHide, sdk.ActionUnhide, sdk.ActionDelete},
		MaxBatch: 3,
		Config: []sdk.ConfigField{
			{Name: "platform_url", Type: "string", Required: true},
			{Name: "webhook_secret", Type: "string", Secret: true},
		},
	}
}

func fakeSuite() ConnectorSuite {
	delivery := []byte(`{"id": "w1", "post_id": "p1", "text": "by webhook"}`)
	return ConnectorSuite{
		Config:          map[string]any{"platform_url": "http://127.0.0.1:1", "webhook_secret": fakeSecret},
		BadConfigs:      []BadConfig{{Name: "no url", Config: map[string]any{}, Field: "platform_url"}},
		Moderate:        &sdk.Comment{Platform: "fake", ID: "c1", PostID: "p1", Text: "hello"},
		PollPosts:       []string{"p1", "p2"},
		DiscoverTargets: []sdk.Target{{Kind: sdk.TargetAuthor, ID: "someone"}},
		Deliveries: []sdk.WebhookRequest{{
			Method: http.MethodPost, Header: http.Header{"X-Fake-Signature": {fakeSign(delivery)}}, Body: delivery,
		}},
	}
}
