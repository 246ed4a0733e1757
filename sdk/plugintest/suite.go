package plugintest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/moderatorbot/moderator/sdk"
)

// callTimeout bounds every call the suites make, so a plugin that hangs fails
// its check instead of the whole test binary timing out with no clue.
const callTimeout = 30 * time.Second

// concurrentCalls is how many Analyze calls the suite makes at once; the host
// batches per analyzer but runs several batches in flight.
const concurrentCalls = 8

// unknownKey is a config key no plugin should accept.
const unknownKey = "plugintest_no_such_key"

// configTypes are the ConfigField.Type values the host understands.
var configTypes = []string{"string", "int", "float", "bool", "duration", "list", "table"}

// BadConfig is a config table that Configure must reject.
type BadConfig struct {
	// Name names the subtest; Field is used when it is empty.
	Name string
	// Config is the whole table sent to Configure.
	Config map[string]any
	// Field is the key a FieldError must name ("min_letters",
	// "lists.words[2]"); a FieldError for a key nested under it counts too.
	// Empty means a FieldError about the table as a whole.
	Field string
}

// AnalyzerSuite configures TestAnalyzer.
type AnalyzerSuite struct {
	// Config is a valid config table (nil: an empty one).
	Config map[string]any
	// BadConfigs are tables Configure must reject.
	BadConfigs []BadConfig
	// Comments are analyzed with the built-in Corpus, after it.
	Comments []sdk.Comment
	// Stateful says the analyzer keeps state (in its KV, say), so analyzing
	// the same comment twice, or alone rather than in a batch, may give
	// another result: the determinism checks are skipped.
	Stateful bool
}

// ConnectorSuite configures TestConnector.
type ConnectorSuite struct {
	// Config is a valid config table (nil: an empty one). Point it at a fake
	// platform: the suite moderates for real.
	Config map[string]any
	// BadConfigs are tables Configure must reject.
	BadConfigs []BadConfig
	// Moderate is a comment the connector can moderate on that platform. When
	// nil, the checks of Moderate's actions are skipped.
	Moderate *sdk.Comment
	// PollPosts are ids of posts on that platform, at least one of them with
	// comments. When the connector polls and PollPosts is empty, the poll
	// checks are skipped.
	PollPosts []string
	// DiscoverTargets are targets on that platform, each of a kind the
	// connector declares and with at least one post. When the connector
	// discovers and DiscoverTargets is empty, the discover checks are skipped.
	DiscoverTargets []sdk.Target
	// Deliveries are webhook deliveries the platform would send, signed for
	// the secret in Config, each sent once; each must be accepted. The check
	// that an unsigned delivery is refused runs without them.
	Deliveries []sdk.WebhookRequest
	// Stateful says Poll keeps state of its own (what it delivered, in its
	// KV say), so polling the same cursors again may find other comments:
	// concurrent polls are then only checked to succeed, not to agree.
	Stateful bool
}

// tester is the part of *testing.T the suites use. It is an interface so the
// suites' own tests can run them against a recorder and assert that a broken
// plugin is reported, which *testing.T cannot do for a subtest that fails.
type tester interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Logf(format string, args ...any)
	Context() context.Context
	run(name string, f func(t tester)) bool
}

// testingT adapts *testing.T to tester.
type testingT struct{ *testing.T }

func (t testingT) run(name string, f func(tester)) bool {
	return t.Run(name, func(t *testing.T) { f(testingT{t}) })
}

// TestAnalyzer checks an analyzer plugin against the protocol's contract, in
// subtests: describe (a consistent Describe), configure (Config accepted,
// unknown keys and each BadConfig rejected with a FieldError naming the key)
// and analyze (empty batch, the Corpus plus s.Comments, determinism unless
// s.Stateful, concurrent calls, a full MaxBatch). The plugin may be in-process
// (Start) or a real process (Launch).
//
// The suite calls Configure several times (with s.Config, an unknown key and
// each BadConfig, then s.Config again before analyzing), each time with a
// fresh sdk.NewMemoryKV, so Configure must accept being called again.
func TestAnalyzer(t *testing.T, p *sdk.RemotePlugin, s AnalyzerSuite) {
	t.Helper()
	analyzerSuite(testingT{t}, p, s)
}

// TestConnector checks a connector plugin against the protocol's contract, in
// subtests, without knowing its platform: point s.Config at a fake of the
// platform (an httptest.Server) and name what is on it. The subtests:
//
//   - describe: a consistent Describe;
//   - configure: as in TestAnalyzer;
//   - unsupported: every capability not declared answers sdk.ErrUnsupported;
//   - poll, when the connector polls and s.PollPosts is set: the posts polled
//     from empty cursors, following More, come back without an error or a
//     post's Err, with comments, each post's comments with a cursor; polled
//     again from those cursors, none of them comes back (a cursor moves past
//     what it delivered); a post that does not exist, polled with one that
//     does, gets its own entry and does not fail the call; a batch of
//     exactly MaxBatch posts is taken; concurrent polls agree. The SDK's
//     host side checks every reply's shape on top (see sdk.CheckPoll);
//   - discover, when the connector discovers and s.DiscoverTargets is set:
//     each target's pages end, with posts;
//   - webhook, when the connector takes webhooks: an unsigned delivery is
//     answered 4xx with no comments and no error (an error makes the host
//     answer 503, and the sender retry), and each of s.Deliveries is
//     accepted;
//   - moderate, when the connector moderates and s.Moderate is set: each
//     declared action succeeds twice and the second time reports
//     Changed=false; an undeclared action is refused as unsupported or
//     permanent (sdk.Serve refuses it before Moderate).
//
// It does not cover, and a connector's own tests against its fake should:
// Stream (a long-lived stream, its reconnects and gap reports); that a
// correctly signed delivery is told from a forged one beyond the unsigned
// one; which comments a poll should find, their fields, and edits; how the
// connector meets rate limits (429, sdk.RateLimitedError, UsageCapExceeded)
// and platform errors (sdk.ErrNotFound for a deleted comment, sdk.Permanent
// for a 403); and that Configure with ValidateOnly reaches nothing outside
// the process.
//
// Like TestAnalyzer it calls Configure several times, ending with s.Config.
func TestConnector(t *testing.T, p *sdk.RemotePlugin, s ConnectorSuite) {
	t.Helper()
	connectorSuite(testingT{t}, p, s)
}

func analyzerSuite(t tester, p *sdk.RemotePlugin, s AnalyzerSuite) {
	t.Helper()
	d := describe(t, p)
	t.run("describe", func(t tester) {
		checkInfo(t, d, sdk.KindAnalyzer)
		if !slices.Equal(d.Capabilities, []string{sdk.CapAnalyze}) {
			t.Errorf("capabilities %q, want exactly [%q]", d.Capabilities, sdk.CapAnalyze)
		}
		if len(d.Labels) == 0 {
			t.Errorf("no labels declared: the host cannot write a policy rule for this analyzer")
		}
		for _, l := range d.Labels {
			if !slices.Contains(sdk.Labels, l) && (!strings.HasPrefix(l, d.Name+".") || l == d.Name+".") {
				t.Errorf("label %q is neither in the shared vocabulary %q nor prefixed %q", l, sdk.Labels, d.Name+".")
			}
		}
		if d.MaxBatch < 0 {
			t.Errorf("MaxBatch %d is negative", d.MaxBatch)
		}
	})
	t.run("configure", func(t tester) { configureChecks(t, p, s.Config, s.BadConfigs) })
	t.run("analyze", func(t tester) {
		configure(t, p, s.Config)
		analyzeChecks(t, p, d, s)
	})
}

func connectorSuite(t tester, p *sdk.RemotePlugin, s ConnectorSuite) {
	t.Helper()
	d := describe(t, p)
	t.run("describe", func(t tester) {
		checkInfo(t, d, sdk.KindConnector)
		all := []string{sdk.CapDiscover, sdk.CapPoll, sdk.CapStream, sdk.CapWebhook, sdk.CapModerate}
		if len(d.Capabilities) == 0 {
			t.Errorf("no capabilities declared")
		}
		checkSubset(t, "capability", d.Capabilities, all)
		checkSubset(t, "action", d.Actions, []string{sdk.ActionApprove, sdk.ActionFlag, sdk.ActionHide, sdk.ActionUnhide, sdk.ActionDelete})
		checkSubset(t, "target kind", d.TargetKinds, []string{sdk.TargetAuthor, sdk.TargetPublication, sdk.TargetQuery, sdk.TargetPost})
		if d.Has(sdk.CapModerate) && len(d.Actions) == 0 {
			t.Errorf("declares %q but no actions: the host cannot choose one", sdk.CapModerate)
		}
		if !d.Has(sdk.CapModerate) && len(d.Actions) > 0 {
			t.Errorf("declares actions %q but not the %q capability", d.Actions, sdk.CapModerate)
		}
		if d.Has(sdk.CapDiscover) && len(d.TargetKinds) == 0 {
			t.Errorf("declares %q but no target kinds to discover from", sdk.CapDiscover)
		}
		if d.Platform == "" {
			t.Errorf("platform is empty")
		}
		if d.MaxBatch < 0 {
			t.Errorf("MaxBatch %d is negative", d.MaxBatch)
		}
	})
	t.run("configure", func(t tester) { configureChecks(t, p, s.Config, s.BadConfigs) })
	t.run("unsupported", func(t tester) {
		configure(t, p, s.Config)
		unsupportedChecks(t, p, d)
	})
	t.run("poll", func(t tester) {
		switch {
		case !d.Has(sdk.CapPoll):
			t.Skipf("the connector does not declare %q", sdk.CapPoll)
		case len(s.PollPosts) == 0:
			t.Skipf("ConnectorSuite.PollPosts is empty: no post to poll")
		}
		configure(t, p, s.Config)
		pollChecks(t, p, d, s.PollPosts, s.Stateful)
	})
	t.run("discover", func(t tester) {
		switch {
		case !d.Has(sdk.CapDiscover):
			t.Skipf("the connector does not declare %q", sdk.CapDiscover)
		case len(s.DiscoverTargets) == 0:
			t.Skipf("ConnectorSuite.DiscoverTargets is empty: no target to discover")
		}
		configure(t, p, s.Config)
		discoverChecks(t, p, d, s.DiscoverTargets)
	})
	t.run("webhook", func(t tester) {
		if !d.Has(sdk.CapWebhook) {
			t.Skipf("the connector does not declare %q", sdk.CapWebhook)
		}
		configure(t, p, s.Config)
		webhookChecks(t, p, s.Deliveries)
	})
	t.run("moderate", func(t tester) {
		switch {
		case !d.Has(sdk.CapModerate):
			t.Skipf("the connector does not declare %q", sdk.CapModerate)
		case s.Moderate == nil:
			t.Skipf("ConnectorSuite.Moderate is nil: no comment to moderate")
		}
		configure(t, p, s.Config)
		moderateChecks(t, p, d, *s.Moderate)
	})
}

func describe(t tester, p *sdk.RemotePlugin) sdk.Description {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	defer cancel()
	d, err := p.Describe(ctx)
	if err != nil {
		t.Fatalf("Describe failed: %v", err)
	}
	return d
}

// checkInfo checks what every kind of plugin must get right in Describe.
func checkInfo(t tester, d sdk.Description, kind sdk.Kind) {
	t.Helper()
	if d.Name == "" || d.Name != strings.ToLower(d.Name) || strings.IndexFunc(d.Name, unicode.IsSpace) >= 0 {
		t.Errorf("name %q must be non-empty, lower case and without spaces (it is how moderator.toml refers to the plugin)", d.Name)
	}
	if d.Version == "" {
		t.Errorf("version is empty: decisions record the plugin's version")
	}
	if d.Kind != kind {
		t.Errorf("kind %q, want %q", d.Kind, kind)
	}
	if d.ProtocolVersion != sdk.ProtocolVersion {
		t.Errorf("protocol version %d, want %d", d.ProtocolVersion, sdk.ProtocolVersion)
	}
	if d.SDKVersion == "" {
		t.Errorf("SDK version is empty")
	}
	seen := map[string]bool{}
	for i, f := range d.Config {
		switch {
		case f.Name == "":
			t.Errorf("config field %d has no name", i)
		case seen[f.Name]:
			t.Errorf("config field %q is declared twice", f.Name)
		}
		seen[f.Name] = true
		if !slices.Contains(configTypes, f.Type) {
			t.Errorf("config field %q has type %q, want one of %q", f.Name, f.Type, configTypes)
		}
	}
}

func checkSubset(t tester, what string, got, allowed []string) {
	t.Helper()
	for _, g := range got {
		if !slices.Contains(allowed, g) {
			t.Errorf("unknown %s %q declared; allowed: %q", what, g, allowed)
		}
	}
}

func configureOpts(cfg map[string]any, validateOnly bool) sdk.ConfigureOptions {
	return sdk.ConfigureOptions{Instance: "plugintest", Config: cfg, KV: sdk.NewMemoryKV(), ValidateOnly: validateOnly}
}

// configure sends the valid config table, as the host does at start, and
// stops the test if the plugin refuses it: nothing after it would mean anything.
func configure(t tester, p *sdk.RemotePlugin, cfg map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	defer cancel()
	fe, err := p.Configure(ctx, configureOpts(cfg, false))
	if err != nil {
		t.Fatalf("Configure with the suite's Config failed: %v", err)
	}
	if len(fe) > 0 {
		t.Fatalf("Configure rejected the suite's Config: %v", fe)
	}
}

func configureChecks(t tester, p *sdk.RemotePlugin, cfg map[string]any, bad []BadConfig) {
	t.Helper()
	// Both modes: `moderator config check` validates only, `moderator run`
	// does not, and an error must not depend on which one found it.
	modes := []struct {
		name         string
		validateOnly bool
	}{{"validate_only", true}, {"run", false}}
	t.run("valid", func(t tester) {
		for _, m := range modes {
			ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
			fe, err := p.Configure(ctx, configureOpts(cfg, m.validateOnly))
			cancel()
			if err != nil {
				t.Errorf("Configure (%s) with the suite's Config failed: %v", m.name, err)
			} else if len(fe) > 0 {
				t.Errorf("Configure (%s) rejected the suite's Config: %v", m.name, fe)
			}
		}
	})
	cases := []BadConfig{{Name: "unknown_key", Config: with(cfg, unknownKey, "x"), Field: unknownKey}}
	for _, b := range bad {
		if b.Name == "" {
			b.Name = b.Field
		}
		b.Name = "bad/" + b.Name
		cases = append(cases, b)
	}
	for _, c := range cases {
		t.run(c.Name, func(t tester) {
			for _, m := range modes {
				ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
				fe, err := p.Configure(ctx, configureOpts(c.Config, m.validateOnly))
				cancel()
				switch {
				case err != nil:
					t.Errorf("Configure (%s) of %v failed as a call (%v); a bad table must come back as FieldErrors", m.name, c.Config, err)
				case len(fe) == 0:
					t.Errorf("Configure (%s) accepted %v; want a FieldError for %q", m.name, c.Config, c.Field)
				case !namesField(fe, c.Field):
					t.Errorf("Configure (%s) of %v: FieldErrors %q name no key %q", m.name, c.Config, fe, c.Field)
				}
			}
		})
	}
}

// namesField reports whether one of fe is about field or a key nested under it.
func namesField(fe sdk.FieldErrors, field string) bool {
	for _, e := range fe {
		if e.Field == field || field != "" && (strings.HasPrefix(e.Field, field+".") || strings.HasPrefix(e.Field, field+"[")) {
			return true
		}
	}
	return false
}

func with(cfg map[string]any, key string, value any) map[string]any {
	out := maps.Clone(cfg)
	if out == nil {
		out = map[string]any{}
	}
	out[key] = value
	return out
}

func analyzeChecks(t tester, p *sdk.RemotePlugin, d sdk.Description, s AnalyzerSuite) {
	t.Helper()
	t.run("empty_batch", func(t tester) {
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		defer cancel()
		res, err := p.Analyze(ctx, nil)
		switch {
		case err != nil:
			t.Errorf("Analyze of an empty batch failed: %v", err)
		case len(res) != 0:
			t.Errorf("Analyze of an empty batch returned %d results, want none", len(res))
		}
	})

	comments := append(Corpus(), s.Comments...)
	var baseline []sdk.Result
	t.run("corpus", func(t tester) {
		res, err := analyzeAll(t.Context(), p, comments, d.MaxBatch)
		if err != nil {
			t.Fatalf("Analyze of the corpus failed: %v", err)
		}
		if checkResults(t, d, comments, res) {
			baseline = res
		}
	})
	needBaseline := func(t tester) {
		t.Helper()
		if baseline == nil {
			t.Skipf("needs a valid corpus analysis; see analyze/corpus")
		}
	}

	t.run("deterministic", func(t tester) {
		if s.Stateful {
			t.Skipf("AnalyzerSuite.Stateful: results may depend on what was analyzed before")
		}
		needBaseline(t)
		res, err := analyzeAll(t.Context(), p, comments, d.MaxBatch)
		if err != nil {
			t.Fatalf("second Analyze of the corpus failed: %v", err)
		}
		for i := range comments {
			if i < len(res) && !reflect.DeepEqual(res[i], baseline[i]) {
				t.Errorf("comment %q: analyzing the same batch again gave\n%+v\nafter\n%+v", comments[i].ID, res[i], baseline[i])
			}
		}
	})

	t.run("alone_equals_batch", func(t tester) {
		if s.Stateful {
			t.Skipf("AnalyzerSuite.Stateful: results may depend on what was analyzed before")
		}
		needBaseline(t)
		for i, c := range comments {
			ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
			res, err := p.Analyze(ctx, []sdk.Comment{c})
			cancel()
			switch {
			case err != nil:
				t.Errorf("comment %q analyzed alone: %v", c.ID, err)
			case len(res) != 1:
				t.Errorf("comment %q analyzed alone: %d results, want 1", c.ID, len(res))
			case !reflect.DeepEqual(res[0], baseline[i]):
				t.Errorf("comment %q: alone it gives\n%+v\nin a batch\n%+v", c.ID, res[0], baseline[i])
			}
		}
	})

	t.run("concurrent", func(t tester) {
		needBaseline(t)
		var wg sync.WaitGroup
		errs := make([]error, concurrentCalls)
		results := make([][]sdk.Result, concurrentCalls)
		for g := range concurrentCalls {
			wg.Go(func() { results[g], errs[g] = analyzeAll(t.Context(), p, comments, d.MaxBatch) })
		}
		wg.Wait()
		for g := range concurrentCalls {
			switch {
			case errs[g] != nil:
				t.Errorf("call %d of %d concurrent Analyze calls failed: %v", g+1, concurrentCalls, errs[g])
			case s.Stateful:
			case !reflect.DeepEqual(results[g], baseline):
				t.Errorf("call %d of %d concurrent Analyze calls gave other results than one call alone", g+1, concurrentCalls)
			}
		}
	})

	t.run("max_batch", func(t tester) {
		if d.MaxBatch <= 0 {
			t.Skipf("MaxBatch is 0: no limit declared")
		}
		batch := fullBatch(comments, d.MaxBatch)
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		defer cancel()
		res, err := p.Analyze(ctx, batch)
		if err != nil {
			t.Fatalf("Analyze of a batch of exactly MaxBatch=%d comments failed: %v", d.MaxBatch, err)
		}
		checkResults(t, d, batch, res)
	})
}

// analyzeAll analyzes comments in batches of at most max (0: one batch), as
// the host does for an analyzer that declares MaxBatch.
func analyzeAll(ctx context.Context, p *sdk.RemotePlugin, comments []sdk.Comment, max int) ([]sdk.Result, error) {
	if max <= 0 {
		max = len(comments)
	}
	var out []sdk.Result
	for batch := range slices.Chunk(comments, max) {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		res, err := p.Analyze(cctx, batch)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("batch of %d from %q: %w", len(batch), batch[0].ID, err)
		}
		out = append(out, res...)
	}
	return out, nil
}

// fullBatch makes n comments with distinct ids from the short ones in pool,
// so a large MaxBatch does not multiply the 64 KiB comment.
func fullBatch(pool []sdk.Comment, n int) []sdk.Comment {
	var short []sdk.Comment
	for _, c := range pool {
		if len(c.Text) < 1<<10 {
			short = append(short, c)
		}
	}
	out := make([]sdk.Comment, n)
	for i := range out {
		out[i] = short[i%len(short)]
		out[i].ID = fmt.Sprintf("plugintest-max-%d", i)
	}
	return out
}

// checkResults reports every way res breaks the Analyze contract for
// comments, and whether it kept it. The host side of the SDK checks most of
// this too and turns it into an error; the suite checks again so that what it
// reports does not depend on that.
func checkResults(t tester, d sdk.Description, comments []sdk.Comment, res []sdk.Result) bool {
	t.Helper()
	ok := true
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format, args...)
		ok = false
	}
	if len(res) != len(comments) {
		fail("%d results for %d comments, want exactly one per comment", len(res), len(comments))
	}
	for i := range min(len(res), len(comments)) {
		c, r := comments[i], res[i]
		if r.CommentID != c.ID {
			fail("result %d is for comment %q, want %q (results must be in the order of the batch)", i, r.CommentID, c.ID)
		}
		var bounds []bool // computed once, on the first span
		names := map[string]bool{}
		for _, l := range r.Labels {
			if !slices.Contains(d.Labels, l.Name) {
				fail("comment %q: label %q is not declared in Describe (declared: %q)", c.ID, l.Name, d.Labels)
			}
			if names[l.Name] {
				fail("comment %q: label %q appears twice in one result", c.ID, l.Name)
			}
			names[l.Name] = true
			if math.IsNaN(l.Score) || l.Score < 0 || l.Score > 1 {
				fail("comment %q: label %q has score %v, outside [0,1]", c.ID, l.Name, l.Score)
			}
			if l.Reason == "" {
				fail("comment %q: label %q has no reason; a moderator reads it to review the decision", c.ID, l.Name)
			}
			for _, sp := range l.Spans {
				if sp.Start < 0 || sp.End < sp.Start || sp.End > len(c.Text) {
					fail("comment %q: label %q span [%d,%d) is outside the text (%d bytes)", c.ID, l.Name, sp.Start, sp.End, len(c.Text))
					continue
				}
				if bounds == nil {
					bounds = runeBoundaries(c.Text)
				}
				for _, off := range []int{sp.Start, sp.End} {
					if !bounds[off] {
						fail("comment %q: label %q span [%d,%d) is not on UTF-8 boundaries: offset %d splits a character in %q", c.ID, l.Name, sp.Start, sp.End, off, around(c.Text, off))
						break
					}
				}
			}
		}
	}
	return ok
}

// runeBoundaries marks the byte offsets a range loop over s stops at, and
// len(s): the only places a span may start or end. Decoding the way range
// does means each invalid byte is a boundary of its own.
func runeBoundaries(s string) []bool {
	b := make([]bool, len(s)+1)
	for i := range s {
		b[i] = true
	}
	b[len(s)] = true
	return b
}

// around is the bytes near off, for a failure message that fits a line.
func around(s string, off int) string {
	return s[max(off-8, 0):min(off+8, len(s))]
}

func unsupportedChecks(t tester, p *sdk.RemotePlugin, d sdk.Description) {
	t.Helper()
	calls := []struct {
		capability string
		call       func(ctx context.Context) error
	}{
		{sdk.CapDiscover, func(ctx context.Context) error {
			_, err := p.Discover(ctx, sdk.DiscoverRequest{Target: sdk.Target{Kind: sdk.TargetQuery, ID: "plugintest"}})
			return err
		}},
		{sdk.CapPoll, func(ctx context.Context) error {
			_, err := p.Poll(ctx, []sdk.PostCursor{{PostID: "plugintest-post"}})
			return err
		}},
		{sdk.CapStream, func(ctx context.Context) error {
			return p.Stream(ctx, sdk.StreamRequest{Targets: []sdk.Target{{Kind: sdk.TargetQuery, ID: "plugintest"}}}, discardSink{})
		}},
		{sdk.CapWebhook, func(ctx context.Context) error {
			_, err := p.Webhook(ctx, sdk.WebhookRequest{Method: "POST", Body: []byte("{}")})
			return err
		}},
		{sdk.CapModerate, func(ctx context.Context) error {
			_, err := p.Moderate(ctx, sdk.ModerateRequest{Comment: sdk.Comment{ID: "plugintest"}, Action: sdk.ActionFlag, IdempotencyKey: "plugintest"})
			return err
		}},
	}
	for _, c := range calls {
		if d.Has(c.capability) {
			continue
		}
		t.run(c.capability, func(t tester) {
			ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
			defer cancel()
			err := c.call(ctx)
			switch {
			case err == nil:
				t.Errorf("%s is not declared, yet the call succeeded", c.capability)
			case !errors.Is(err, sdk.ErrUnsupported):
				t.Errorf("%s is not declared; the call failed with %v, want an error matching sdk.ErrUnsupported", c.capability, err)
			}
		})
	}
}

type discardSink struct{}

func (discardSink) Comment(sdk.Comment) error     { return nil }
func (discardSink) Status(sdk.StreamStatus) error { return nil }

func moderateChecks(t tester, p *sdk.RemotePlugin, d sdk.Description, c sdk.Comment) {
	t.Helper()
	moderate := func(t tester, action, key string) (sdk.ModerateResponse, error) {
		ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
		defer cancel()
		return p.Moderate(ctx, sdk.ModerateRequest{Comment: c, Action: action, Reason: "plugintest", IdempotencyKey: key})
	}
	// sdk.Actions runs from mild to severe, so delete comes last and the
	// comment still exists for every other action.
	for _, action := range sdk.Actions {
		if !slices.Contains(d.Actions, action) {
			continue
		}
		t.run(action, func(t tester) {
			// Distinct keys: the second call must find the platform already
			// in the requested state, not merely a cached answer for the key.
			if _, err := moderate(t, action, "plugintest-"+action+"-1"); err != nil {
				t.Fatalf("first %s of comment %q failed: %v", action, c.ID, err)
			}
			resp, err := moderate(t, action, "plugintest-"+action+"-2")
			switch {
			case err != nil:
				t.Errorf("%s applied a second time failed: %v; Moderate must be idempotent", action, err)
			case resp.Changed:
				t.Errorf("%s applied a second time reported Changed=true; the comment was already in that state", action)
			}
		})
	}
	t.run("undeclared", func(t tester) {
		undeclared := []string{"plugintest-no-such-action"}
		for _, a := range []string{sdk.ActionDelete, sdk.ActionHide, sdk.ActionUnhide, sdk.ActionFlag, sdk.ActionApprove} {
			if !slices.Contains(d.Actions, a) {
				undeclared = append(undeclared, a)
			}
		}
		for _, action := range undeclared {
			resp, err := moderate(t, action, "plugintest-"+action)
			switch {
			case err == nil:
				t.Errorf("action %q is not declared, yet Moderate succeeded (%+v)", action, resp)
			case !errors.Is(err, sdk.ErrUnsupported) && !sdk.IsPermanent(err):
				t.Errorf("action %q is not declared; Moderate failed with %v, want sdk.ErrUnsupported or a Permanent error (the host would retry this one)", action, err)
			}
		}
	})
}
