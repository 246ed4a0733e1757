package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/core/internal/lockedbuf"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/moderatorbot/moderator/sdk/plugintest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// helperEnv names the plugin a re-executed test binary serves from TestMain,
// so that tests can cross a real plugin boundary without a go build.
const helperEnv = "PIPELINE_TEST_HELPER_PLUGIN"

func TestMain(m *testing.M) {
	switch name := os.Getenv(helperEnv); name {
	case "":
		os.Exit(m.Run())
	case "fragile":
		sdk.Serve(sdk.Plugin{Info: fragileInfo, Analyzer: fragile{}})
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", helperEnv, name)
		os.Exit(2)
	}
	os.Exit(0)
}

// fragileInfo declares the labels fragile means to emit; its replies to
// "undeclared" carry one it does not declare.
var fragileInfo = sdk.Info{Name: "fragile", Version: "1", Labels: []string{sdk.LabelThreat, sdk.LabelSpam}}

// fragile labels "hurt" as a threat, panics on a comment that says "panic",
// and answers a comment that says "badspan" with a span past its end, one
// that says "splitspan" with a span ending inside its first character, and
// one that says "undeclared" with a label it does not declare.
type fragile struct{}

func (fragile) Analyze(_ context.Context, cs []sdk.Comment) ([]sdk.Result, error) {
	out := make([]sdk.Result, len(cs))
	for i, c := range cs {
		out[i].CommentID = c.ID
		switch {
		case c.Text == "panic":
			panic("analyzer boom")
		case strings.Contains(c.Text, "badspan"):
			out[i].Labels = []sdk.Label{{Name: sdk.LabelSpam, Score: 0.9, Spans: []sdk.Span{{Start: 0, End: 21}}}}
		case strings.Contains(c.Text, "splitspan"):
			out[i].Labels = []sdk.Label{{Name: sdk.LabelSpam, Score: 0.9, Spans: []sdk.Span{{Start: 0, End: 1}}}}
		case strings.Contains(c.Text, "undeclared"):
			out[i].Labels = []sdk.Label{{Name: "fragile.links", Score: 0.9}}
		case strings.Contains(c.Text, "hurt"):
			j := strings.Index(c.Text, "hurt")
			out[i].Labels = []sdk.Label{{Name: sdk.LabelThreat, Score: 0.9, Spans: []sdk.Span{{Start: j, End: j + 4}}}}
		}
	}
	return out, nil
}

// launchFragile runs this test binary as the fragile plugin, in a process of
// its own as the host runs plugins.
func launchFragile(t *testing.T) *plugintest.Process {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	// A race-enabled binary sleeps a second at exit to let reports flush.
	cmd.Env = []string{helperEnv + "=fragile", "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")}
	return plugintest.LaunchCommand(t, cmd)
}

// counted counts the calls to an analyzer, the batch sizes it got and the
// errors of the calls that failed.
type counted struct {
	sdk.Analyzer
	mu      sync.Mutex
	batches []int
	errs    []error
}

func (c *counted) Analyze(ctx context.Context, cs []sdk.Comment) ([]sdk.Result, error) {
	c.mu.Lock()
	c.batches = append(c.batches, len(cs))
	c.mu.Unlock()
	res, err := c.Analyzer.Analyze(ctx, cs)
	if err != nil {
		c.mu.Lock()
		c.errs = append(c.errs, err)
		c.mu.Unlock()
	}
	return res, err
}

func (c *counted) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.batches)
}

// poisonAnalyzer fails any batch with a comment that says "poison" in it,
// with err for the first such comment, and otherwise labels as its
// wordAnalyzer does.
type poisonAnalyzer struct {
	*wordAnalyzer
	err func(c sdk.Comment) error
}

func (a *poisonAnalyzer) Analyze(ctx context.Context, cs []sdk.Comment) ([]sdk.Result, error) {
	for _, c := range cs {
		if strings.Contains(c.Text, "poison") {
			return nil, a.err(c)
		}
	}
	return a.wordAnalyzer.Analyze(ctx, cs)
}

// ceilLog2 is ⌈log2 n⌉.
func ceilLog2(n int) int { return bits.Len(uint(n - 1)) }

// Comments that make an analyzer fail whenever they are in its batch are
// singled out: the rest of the batch is decided in the same run with that
// analyzer's labels, and only they meet its on_failure.
func TestPoisonCommentIsSingledOut(t *testing.T) {
	tests := []struct {
		name     string
		texts    []string
		maxBatch int
	}{
		{"one of three in the middle", []string{"nice post", "buy poison now", "I will hurt you"}, 0},
		{"first of five", []string{"poison", "I will hurt you", "nice post", "buy now", "hurt again"}, 0},
		{"last of five", []string{"I will hurt you", "nice post", "buy now", "hurt again", "poison"}, 0},
		{"three of eight, two together", []string{"poison", "poison too", "hurt one", "poison three", "fine", "fine", "I will hurt you", "fine"}, 0},
		// The first four fail before the analyzer has answered anything:
		// they are set aside whole, then split once the rest is answered.
		{"the whole first half", []string{"poison a", "poison b", "poison c", "poison d", "hurt", "fine", "buy it", "fine"}, 0},
		{"in chunks the plugin asks for", []string{"fine", "hurt", "poison", "fine", "fine", "buy", "fine", "poison", "hurt"}, 3},
	}
	for _, tt := range tests {
		for _, onFailure := range []string{"hold", "skip"} {
			t.Run(tt.name+"/"+onFailure, func(t *testing.T) {
				flaky := &counted{Analyzer: &poisonAnalyzer{wordAnalyzer: &wordAnalyzer{word: "hurt", label: "threat"},
					err: func(c sdk.Comment) error { return fmt.Errorf("model choked on %q", c.Text) }}}
				a := local("flaky", flaky, onFailure)
				if tt.maxBatch > 0 {
					a.MaxBatch = func() int { return tt.maxBatch }
				}
				f := newFixture(t, false, a, local("spam", &wordAnalyzer{word: "buy", label: "spam"}, "hold"))
				ids := f.intake(t, tt.texts...)
				f.run(t, f.idle)

				poison := 0
				for i, text := range tt.texts {
					r := f.record(t, ids[i])
					if !strings.Contains(text, "poison") {
						want := map[bool]string{true: "hide", false: "approve"}[strings.Contains(text, "hurt")]
						if strings.Contains(text, "buy") {
							want = "review"
						}
						if r.Decision == nil || r.Decision.Action != want || r.LastError != "" {
							t.Errorf("%q: %s %q, decision %+v; want %s", text, r.State, r.LastError, r.Decision, want)
							continue
						}
						if an := r.Decision.Analyses[0]; an.Analyzer != "flaky" || an.Err != "" || (want == "hide") != (len(an.Labels) == 1) {
							t.Errorf("%q: flaky's analysis %+v", text, an)
						}
						continue
					}
					poison++
					// The record says which analyzer failed, on what, and why.
					why := fmt.Sprintf("analyzer flaky: failed on this comment while it answers others: model choked on %q", text)
					switch onFailure {
					case "hold":
						if r.State != store.StateHeld || r.Decision != nil || r.LastError != why || r.Attempts != 1 {
							t.Errorf("%q: %s, attempts %d, %q, decision %+v; want held: %s", text, r.State, r.Attempts, r.LastError, r.Decision, why)
						}
					case "skip":
						if r.Decision == nil || len(r.Decision.Analyses) != 2 {
							t.Fatalf("%q: %s %+v: want decided without flaky", text, r.State, r.Decision)
						}
						an := r.Decision.Analyses[0]
						if an.Analyzer != "flaky" || an.Err != strings.TrimPrefix(why, "analyzer flaky: ") || an.Labels != nil {
							t.Errorf("%q: flaky's analysis %+v", text, an)
						}
						want := map[bool]string{true: "review", false: "approve"}[strings.Contains(text, "buy")]
						if r.Decision.Action != want {
							t.Errorf("%q: decided %s without flaky, want %s from the others", text, r.Decision.Action, want)
						}
					}
				}
				t.Logf("%d calls: %v", flaky.calls(), flaky.batches)
				retries := f.opts.AnalyzerRetries
				if most := (1 + retries) + 2*poison*ceilLog2(len(tt.texts)); flaky.calls() > most {
					t.Errorf("%d calls (%v), want at most %d", flaky.calls(), flaky.batches, most)
				}
			})
		}
	}
}

// The audit's cases through a real plugin process: a panic in Analyze on
// one comment, and a reply that the SDK refuses for the whole call: a span
// outside one comment's text or splitting one of its characters, a label
// it does not declare.
func TestPluginFailingOnOneComment(t *testing.T) {
	tests := []struct {
		name, bad, why string
		texts          []string
	}{
		{"panic", "panic", "plugin panicked in /moderator.v1.AnalyzerService/Analyze: analyzer boom",
			[]string{"nice post", "panic", "I will hurt you"}},
		{"span outside the text", "badspan x", `label "spam" span [0,21) outside the text (9 bytes)`,
			[]string{"nice post", "I will hurt you", "badspan x", "hello", "hurt"}},
		{"span splitting a character", "épée splitspan", `label "spam" span [0,1) is not on UTF-8 boundaries: offset 1 splits a character`,
			[]string{"nice post", "épée splitspan", "I will hurt you", "hello", "hurt"}},
		{"a label it does not declare", "undeclared links", `label "fragile.links" is not declared in Info.Labels`,
			[]string{"I will hurt you", "nice post", "hello", "hurt", "undeclared links"}},
	}
	proc := launchFragile(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			an := &counted{Analyzer: proc.Plugin}
			f := newFixture(t, false, local("fragile", an, "hold"))
			ids := f.intake(t, tt.texts...)
			f.run(t, f.idle)
			for i, text := range tt.texts {
				r := f.record(t, ids[i])
				switch {
				case text == tt.bad:
					if r.State != store.StateHeld || !strings.HasPrefix(r.LastError, "analyzer fragile: failed on this comment while it answers others: ") ||
						!strings.Contains(r.LastError, tt.why) {
						t.Errorf("%q: %s %q, want held: ... %s", text, r.State, r.LastError, tt.why)
					}
				case strings.Contains(text, "hurt"):
					if r.State != store.StateActed || r.Decision.Action != "hide" {
						t.Errorf("%q: %s %+v, want hidden", text, r.State, r.Decision)
					}
				default:
					if r.State != store.StateDecided || r.Decision.Action != "approve" {
						t.Errorf("%q: %s %+v, want approved", text, r.State, r.Decision)
					}
				}
			}
			if n := len(f.plat.Calls()); n != strings.Count(strings.Join(tt.texts, "\n"), "hurt") {
				t.Errorf("%d platform calls", n)
			}
		})
	}
}

// gRPC refuses a message over its size limit with the status code of a rate
// limit. Through a real plugin connection: a batch of large comments that
// together pass the limit goes in calls under it, and a comment over the
// limit on its own fails alone, at once and without retries, while the rest
// of its batch is analyzed. It used to be read as the analyzer rate
// limited: the batch was neither split nor decided, and held for ever.
func TestBatchesOverTheMessageLimit(t *testing.T) {
	large := strings.Repeat("a", sdk.MaxMessageBytes/5) + " hurt"
	huge := strings.Repeat("h", sdk.MaxMessageBytes+1)
	tests := []struct {
		name  string
		texts []string
		// bad is the comment that fails: held, on its own account, for
		// being over the limit; -1 for none.
		bad         int
		failedCalls int
	}{
		{name: "large comments, together over the limit", bad: -1,
			texts: []string{large, large, "hurt", large, large, large, "fine", large, large}},
		{name: "one comment over the limit", bad: 1, failedCalls: 1,
			texts: []string{"I will hurt you", huge, "fine", "hurt"}},
		{name: "one comment over the limit among large ones", bad: 2, failedCalls: 1,
			texts: []string{large, large, huge, large, "hurt"}},
	}
	proc := plugintest.Start(t, sdk.Plugin{Info: fragileInfo, Analyzer: fragile{}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			an := &counted{Analyzer: proc}
			a := local("fragile", an, "hold")
			a.Timeout = time.Minute // tens of MiB per call, under -race, on a busy machine
			f := newFixture(t, false, a)
			p, err := New(f.opts)
			if err != nil {
				t.Fatal(err)
			}
			var cs []sdk.Comment
			for i, text := range tt.texts {
				cs = append(cs, sdk.Comment{ID: fmt.Sprint("c", i), PostID: "p", Text: text})
			}
			analyses, held := p.analyze(t.Context(), cs)
			t.Logf("calls: %v", an.batches)
			for i, text := range tt.texts {
				if i == tt.bad {
					if !held[i].own || !strings.Contains(held[i].why, "failed on this comment while it answers others") ||
						!strings.Contains(held[i].why, "message larger than max") {
						t.Errorf("comment %d (%d bytes): held %+v, want held on its own account for its size", i, len(text), held[i])
					}
					continue
				}
				if held[i].why != "" || len(analyses[i]) != 1 {
					t.Errorf("comment %d (%d bytes): held %q, analyses %d; want analyzed", i, len(text), held[i].why, len(analyses[i]))
					continue
				}
				if got, want := len(analyses[i][0].Labels), strings.Count(text, "hurt"); got != want {
					t.Errorf("comment %d (%d bytes): %d labels, want %d", i, len(text), got, want)
				}
			}
			if len(an.errs) != tt.failedCalls {
				t.Errorf("%d calls failed (%v), want %d", len(an.errs), an.errs, tt.failedCalls)
			}
			for _, err := range an.errs {
				if !errors.Is(err, sdk.ErrMessageTooLarge) {
					t.Errorf("a call failed with %v, want only ErrMessageTooLarge", err)
				}
			}
		})
	}
}

// An analyzer that fails on everything is not called once per comment: the
// calls per batch stay about 2·log2(n), and the comments are held for the
// analyzer's sake (retried at hold_retry, not backed off).
func TestBrokenAnalyzerCostsFewCalls(t *testing.T) {
	const n = 100
	retries := 1 // the fixture's analyzer_retries
	tests := []struct {
		name string
		fail func(cs []sdk.Comment) ([]sdk.Result, error)
		// most is the most calls allowed: the batch's tries, then one path down.
		most int
	}{
		{"an error", func([]sdk.Comment) ([]sdk.Result, error) { return nil, errors.New("model not loaded") },
			1 + retries + 2*ceilLog2(n)},
		{"a permanent error", func([]sdk.Comment) ([]sdk.Result, error) {
			return nil, sdk.Permanent(errors.New("401 bad api key"))
		}, 1 + 2*ceilLog2(n)},
		{"a reply one short", func(cs []sdk.Comment) ([]sdk.Result, error) { return make([]sdk.Result, len(cs)-1), nil },
			1 + retries + 2*ceilLog2(n)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			an := &counted{Analyzer: analyzerFunc(func(_ context.Context, cs []sdk.Comment) ([]sdk.Result, error) { return tt.fail(cs) })}
			f := newFixture(t, false, local("broken", an, "hold"))
			f.opts.BatchSize = n
			var texts []string
			for i := range n {
				texts = append(texts, fmt.Sprint("comment ", i))
			}
			ids := f.intake(t, texts...)
			f.run(t, f.idle)
			t.Logf("%d calls: %v", an.calls(), an.batches)
			if c := an.calls(); c > tt.most || c <= 1+retries {
				t.Errorf("%d calls for a batch of %d (%v), want more than the batch's %d and at most %d", c, n, an.batches, 1+retries, tt.most)
			}
			for _, id := range ids {
				r := f.record(t, id)
				if r.State != store.StateHeld || strings.Contains(r.LastError, "answers others") || !strings.HasPrefix(r.LastError, "analyzer broken: ") {
					t.Fatalf("%s: %s %q", r.Comment.Text, r.State, r.LastError)
				}
				if wait := r.RetryAt.Sub(r.UpdatedAt); wait > f.opts.HoldRetry {
					t.Fatalf("%s: retried in %s, want hold_retry (%s)", r.Comment.Text, wait, f.opts.HoldRetry)
				}
			}
		})
	}
}

// An analyzer that fails on a great many comments (half of them) is split
// within a budget, not into every comment; what the budget did not reach
// is held with the analyzer's error, and the poison is never decided.
func TestSplittingHasABudget(t *testing.T) {
	const n = 64
	an := &counted{Analyzer: &poisonAnalyzer{wordAnalyzer: &wordAnalyzer{word: "hurt", label: "threat"},
		err: func(sdk.Comment) error { return errors.New("choked") }}}
	f := newFixture(t, false, local("flaky", an, "hold"))
	f.opts.BatchSize = n
	var texts []string
	for i := range n {
		texts = append(texts, map[bool]string{true: "poison", false: "fine"}[i%2 == 1]+fmt.Sprint(" ", i))
	}
	ids := f.intake(t, texts...)
	f.run(t, f.idle)
	most := 1 + f.opts.AnalyzerRetries + splitBudget(n)
	if c := an.calls(); c > most || most >= 2*n-1 {
		t.Errorf("%d calls, want at most %d (splitting all of it takes %d)", c, most, 2*n-1)
	}
	decided := 0
	for i, id := range ids {
		r := f.record(t, id)
		switch {
		case r.State == store.StateDecided:
			decided++
			if i%2 == 1 {
				t.Errorf("%s decided: %+v", texts[i], r.Decision)
			}
		case r.State != store.StateHeld:
			t.Errorf("%s: %s", texts[i], r.State)
		}
	}
	if decided == 0 {
		t.Error("nothing decided: the budget singled out nobody")
	}
}

// analyzerFunc is an sdk.Analyzer made of a function.
type analyzerFunc func(context.Context, []sdk.Comment) ([]sdk.Result, error)

func (f analyzerFunc) Analyze(ctx context.Context, cs []sdk.Comment) ([]sdk.Result, error) {
	return f(ctx, cs)
}

// An analyzer that is not there, or does not answer, is not split for:
// calling it again with less would only wait on it or hammer it.
func TestUnavailableAnalyzerIsNotSplit(t *testing.T) {
	failWith := func(err error) sdk.Analyzer {
		return analyzerFunc(func(context.Context, []sdk.Comment) ([]sdk.Result, error) { return nil, err })
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, a *Analyzer, an *counted)
		calls int
		err   string
	}{
		{"not running", func(_ *testing.T, a *Analyzer, _ *counted) {
			a.Get = func(context.Context) (sdk.Analyzer, error) {
				return nil, errors.New("plugin flaky: quarantined after repeated crashes")
			}
		}, 0, "quarantined"},
		{"gone during the call", func(_ *testing.T, _ *Analyzer, an *counted) {
			an.Analyzer = failWith(fmt.Errorf("analyze: %w", status.Error(codes.Unavailable, "error reading from server: EOF")))
		}, 2, "EOF"},
		{"timed out", func(_ *testing.T, a *Analyzer, an *counted) {
			an.Analyzer = &wordAnalyzer{word: "x", label: "spam", delay: time.Hour}
			a.Timeout = 10 * time.Millisecond
		}, 2, "deadline exceeded"},
		{"rate limited", func(_ *testing.T, _ *Analyzer, an *counted) {
			an.Analyzer = failWith(&sdk.RateLimitedError{Err: errors.New("429 from the scoring service")})
		}, 1, "429"},
		{"without Analyze", func(_ *testing.T, _ *Analyzer, an *counted) {
			an.Analyzer = failWith(fmt.Errorf("analyze: %w", sdk.ErrUnsupported))
		}, 1, "unsupported"},
		{"plugin process killed", func(t *testing.T, _ *Analyzer, an *counted) {
			proc := launchFragile(t)
			if err := proc.Kill(); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); !proc.Exited(); time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the killed plugin did not exit")
				}
			}
			an.Analyzer = proc.Plugin
		}, 2, "analyze: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			an := &counted{}
			a := local("flaky", an, "hold")
			tt.setup(t, &a, an)
			f := newFixture(t, false, a)
			ids := f.intake(t, "one", "two", "three", "four", "five", "six", "seven", "eight")
			f.run(t, f.idle)
			if c := an.calls(); c != tt.calls {
				t.Errorf("%d calls (%v), want %d: the batch's tries and no split", c, an.batches, tt.calls)
			}
			for _, id := range ids {
				r := f.record(t, id)
				if r.State != store.StateHeld || !strings.Contains(r.LastError, tt.err) || strings.Contains(r.LastError, "answers others") {
					t.Errorf("%s: %s %q, want held with %q", r.Comment.Text, r.State, r.LastError, tt.err)
				}
			}
		})
	}
}

// One comment arriving on its own cannot be split from anything: its failure
// is its own when the analyzer answers other comments, and the analyzer's
// when it has answered none lately.
func TestLoneCommentFailure(t *testing.T) {
	for _, answeredBefore := range []bool{true, false} {
		t.Run(fmt.Sprint("answered before: ", answeredBefore), func(t *testing.T) {
			an := &poisonAnalyzer{wordAnalyzer: &wordAnalyzer{word: "hurt", label: "threat"}, err: func(sdk.Comment) error { return errors.New("choked") }}
			f := newFixture(t, false, local("flaky", an, "hold"))
			f.opts.Linger = -1
			stop := f.start(t)
			defer stop()
			wait := func(id string, state store.State) {
				t.Helper()
				for deadline := time.Now().Add(10 * time.Second); f.record(t, id).State != state; time.Sleep(2 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("%s is %s, want %s", id, f.record(t, id).State, state)
					}
				}
			}
			if answeredBefore {
				wait(f.intake(t, "nice post")[0], store.StateDecided)
			}
			res, err := f.store.Intake(context.Background(), "x", "webhook", []sdk.Comment{{ID: "z", PostID: "p", Text: "poison"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			wait(res.New[0], store.StateHeld)
			if got := strings.Contains(f.record(t, res.New[0]).LastError, "while it answers others"); got != answeredBefore {
				t.Errorf("record %q: its own failure: %v, want %v", f.record(t, res.New[0]).LastError, got, answeredBefore)
			}
		})
	}
}

func TestHoldDelay(t *testing.T) {
	opts := newFixture(t, false).opts
	opts.HoldRetry = time.Minute
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		own      bool
		attempts int
		want     time.Duration
	}{
		{false, 1, time.Minute},
		{false, 9, time.Minute},
		{true, 1, time.Minute},
		{true, 2, 2 * time.Minute},
		{true, 3, 4 * time.Minute},
		{true, 7, 64 * time.Minute},
		{true, 8, 64 * time.Minute},
		{true, 1 << 20, 64 * time.Minute},
	}
	for _, tt := range tests {
		if got := p.holdDelay(tt.own, tt.attempts); got != tt.want {
			t.Errorf("holdDelay(own %v, attempt %d) = %s, want %s", tt.own, tt.attempts, got, tt.want)
		}
	}
}

// A comment the analyzer keeps failing on alone comes round less and less
// often, and the record counts its attempts.
func TestPoisonBacksOff(t *testing.T) {
	an := &poisonAnalyzer{wordAnalyzer: &wordAnalyzer{word: "hurt", label: "threat"}, err: func(sdk.Comment) error { return errors.New("choked") }}
	f := newFixture(t, false, local("flaky", an, "hold"))
	ids := f.intake(t, "poison", "fine")
	defer f.start(t)()
	for attempt := 1; attempt <= 3; attempt++ {
		var r store.Record
		for deadline := time.Now().Add(10 * time.Second); r.State != store.StateHeld || r.Attempts != attempt; r = f.record(t, ids[0]) {
			if time.Now().After(deadline) {
				t.Fatalf("attempt %d: %s, attempts %d", attempt, r.State, r.Attempts)
			}
			time.Sleep(2 * time.Millisecond)
		}
		want := f.opts.HoldRetry << (attempt - 1)
		if wait := r.RetryAt.Sub(r.UpdatedAt); wait > want || wait < want-time.Minute {
			t.Fatalf("attempt %d: retry in %s, want %s (%q)", attempt, wait, want, r.LastError)
		}
		// Its time has come.
		if n, err := f.store.Requeue(context.Background(), r.RetryAt.Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("requeued %d: %v", n, err)
		}
	}
}

// The log says once that an analyzer is failing, not once per batch or per
// comment held while it is down.
func TestBrokenAnalyzerLogsOnce(t *testing.T) {
	var buf lockedbuf.Buffer
	an := analyzerFunc(func(context.Context, []sdk.Comment) ([]sdk.Result, error) {
		return nil, status.Error(codes.Unavailable, "connection refused")
	})
	f := newFixture(t, false, local("down", an, "hold"))
	f.opts.Logger = hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Info})
	f.opts.BatchSize = 3
	ids := f.intake(t, "1", "2", "3", "4", "5", "6", "7", "8", "9")
	f.run(t, f.idle)
	for _, id := range ids {
		if r := f.record(t, id); r.State != store.StateHeld {
			t.Fatalf("%s: %s", id, r.State)
		}
	}
	logged := buf.String()
	if n := strings.Count(logged, "[ERROR] analyzer failed"); n != 1 {
		t.Errorf("%d error lines for 3 failed batches, want 1:\n%s", n, logged)
	}
	if strings.Contains(logged, "comment held") {
		t.Errorf("held comments logged one by one:\n%s", logged)
	}
}
