package daemon

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/core/config"
	"github.com/moderatorbot/moderator/core/ingress"
	"github.com/moderatorbot/moderator/core/internal/benchanalyzer"
	"github.com/moderatorbot/moderator/core/internal/cputime"
	"github.com/moderatorbot/moderator/core/internal/synthetic/platform"
	"github.com/moderatorbot/moderator/core/pipeline"
	"github.com/moderatorbot/moderator/core/pluginhost"
	"github.com/moderatorbot/moderator/core/policy"
	"github.com/moderatorbot/moderator/core/scheduler"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
)

// countingIntake counts new comments as they reach the store.
type countingIntake struct {
	*ingress.Intake
	n     atomic.Int64
	spent atomic.Int64
}

func (c *countingIntake) Queue(ctx context.Context, connector, source string, cs []sdk.Comment, cur []store.CursorUpdate) (store.IntakeResult, error) {
	t0 := time.Now()
	res, err := c.Intake.Queue(ctx, connector, source, cs, cur)
	c.n.Add(int64(len(res.New)))
	c.spent.Add(int64(time.Since(t0)))
	return res, err
}

// BenchmarkEndToEnd measures comments per second through the whole host:
// the scheduler polls the synthetic platform through the synthetic connector
// plugin, the comments are queued durably, two analyzers score them, the
// policy decides, and the connector flags the 5% that say "spam" on the
// platform, every state synced to disk. "plugins" runs the analyzers as
// plugin processes, "inprocess" calls the same analyzer code directly.
//
//	go test -run '^$' -bench EndToEnd -benchtime 1x ./core/daemon
func BenchmarkEndToEnd(b *testing.B) {
	// Long enough (3-4 s here) that start-up, the first poll and warming up
	// are not a quarter of the run, as they were at 20,000.
	const comments, posts = 60000, 100
	dir := b.TempDir()
	buildPlugins(b, dir, "synthetic", "benchanalyzer", "spam")
	// spam: the spam analyzer alone, as the default config runs it, with its
	// near-duplicate store in the host's KV; comments are a dozen varied
	// words, every 20th a copy of one campaign.
	for _, mode := range []string{"plugins", "inprocess", "spam"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				rate := runEndToEnd(b, dir, mode, comments, posts)
				b.ReportMetric(rate, "comments/s")
			}
		})
	}
}

// TestSpamThroughTheHostKV runs the spam analyzer as a plugin process, its
// near-duplicate store in the host's Badger KV served over the broker,
// through the whole pipeline: runEndToEnd checks that every copy of the
// campaign from the third on is flagged on the platform, which only the
// duplicate signal does, so lookups and records went through the host and
// came back, across batches and within them.
func TestSpamThroughTheHostKV(t *testing.T) {
	dir := t.TempDir()
	buildPlugins(t, dir, "synthetic", "spam")
	runEndToEnd(t, dir, "spam", 1200, 12)
}

// buildPlugins builds the named plugins into dir.
func buildPlugins(tb testing.TB, dir string, names ...string) {
	tb.Helper()
	pkgs := map[string]string{"synthetic": "../internal/synthetic", "benchanalyzer": "../internal/benchanalyzer/cmd/benchanalyzer", "spam": "../../plugins/spam"}
	for _, name := range names {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkgs[name]).CombinedOutput(); err != nil {
			tb.Fatalf("build %s: %v\n%s", pkgs[name], err, out)
		}
	}
}

func runEndToEnd(b testing.TB, dir, mode string, comments, posts int) float64 {
	report := func(v float64, unit string) {
		if bb, ok := b.(*testing.B); ok {
			bb.ReportMetric(v, unit)
		}
	}
	plat := platform.Start(platform.Options{PageSize: 100, Secret: "s"})
	defer plat.Close()
	var targets strings.Builder
	for i := range posts {
		id := fmt.Sprint(1000 + i)
		plat.AddPost(id, "owner")
		fmt.Fprintf(&targets, "[[target]]\nconnector = \"syn\"\nkind = \"post\"\nid = %q\n", id)
	}
	words := strings.Fields("the article reply really interesting read learned good bad think agree disagree point author wrote about this that why how when people time year world work life day way thing government company system program question group problem fact chart data")
	campaign := map[string]bool{} // the ids of the campaign's copies
	for i := range comments {
		text := fmt.Sprintf("an ordinary reply, number %d", i)
		if i%20 == 0 {
			text = fmt.Sprintf("buy my spam, number %d", i)
		}
		if mode == "spam" {
			r := rand.New(rand.NewPCG(uint64(i), 1))
			var sb strings.Builder
			for range 12 {
				if r.IntN(2) == 0 {
					sb.WriteString(words[r.IntN(len(words))])
				} else {
					fmt.Fprintf(&sb, "%c%c%c%c", 'a'+r.IntN(26), 'a'+r.IntN(26), 'a'+r.IntN(26), 'a'+r.IntN(26))
				}
				sb.WriteByte(' ')
			}
			text = sb.String()
			if i%20 == 0 {
				text = "I made so much this month with the program my cousin showed me, ask me how"
			}
		}
		author := "a"
		if mode == "spam" {
			author = fmt.Sprint("a", i%97) // a campaign's copies come from many accounts
		}
		added := plat.AddComment(platform.Comment{PostID: fmt.Sprint(1000 + i%posts), AuthorID: author, Text: text})
		if mode == "spam" && i%20 == 0 {
			campaign[added.ID] = true
		}
	}
	analyzerTOML := `
[[analyzer]]
name = "caps"
plugin = "benchanalyzer"
env = ["BENCH_ANALYZER=caps"]
[[analyzer]]
name = "words"
plugin = "benchanalyzer"
env = ["BENCH_ANALYZER=words"]
`
	flagMinScore := 0.0
	switch mode {
	case "inprocess":
		analyzerTOML = ""
	case "spam":
		analyzerTOML = "\n[[analyzer]]\nname = \"spam\"\nplugin = \"spam\"\n"
		flagMinScore = 0.9 // as the default config: the spam label comes with every comment the model knows
	}
	src := fmt.Sprintf(`
[moderator]
data_dir = %q
dry_run = false
[plugins]
dir = %q
[pipeline]
batch_size = 500
workers = 2
[[connector]]
name = "syn"
plugin = "synthetic"
  [connector.config]
  base_url = %q
  max_pages = 50
%s
[[policy.rule]]
name = "flag-spam"
action = "flag"
  [policy.rule.when]
  labels = ["spam"]
  min_score = %g
[[policy.rule]]
name = "review-caps"
action = "review"
  [policy.rule.when]
  labels = ["bench.caps"]
%s`, filepath.Join(b.TempDir(), "data"), dir, plat.URL(), analyzerTOML, flagMinScore, targets.String())
	cfg, err := config.Parse("bench.toml", []byte(src), os.LookupEnv)
	if err != nil {
		b.Fatal(err)
	}
	log := hclog.NewNullLogger()
	st, err := OpenStore(cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	hopts := HostOptions(cfg, log)
	hopts.KV = st.PluginKV // as the daemon serves it
	host := pluginhost.New(hopts, Specs(cfg))
	if err := host.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer host.Stop()
	pol, _ := policy.New(cfg.Policy, false)
	as := analyzers(cfg, host)
	if mode == "inprocess" {
		direct := func(name string, a sdk.Analyzer) pipeline.Analyzer {
			return pipeline.Analyzer{Name: name, Get: func(context.Context) (sdk.Analyzer, error) { return a, nil }, Timeout: 10 * time.Second, OnFailure: "hold"}
		}
		as = []pipeline.Analyzer{direct("caps", benchanalyzer.Caps{}), direct("words", benchanalyzer.Words{})}
	}
	p, err := pipeline.New(pipeline.Options{Store: st, Policy: pol, Analyzers: as, Connectors: connectors(cfg, host),
		BatchSize: cfg.Pipeline.BatchSize, Workers: cfg.Pipeline.Workers, RetryBackoff: cfg.Pipeline.RetryBackoff, HoldRetry: cfg.Pipeline.HoldRetry})
	if err != nil {
		b.Fatal(err)
	}
	in := &countingIntake{Intake: ingress.NewIntake(st)}
	sch := scheduler.New(scheduler.Options{Store: st, Intake: in, Connectors: schedConnectors(cfg, host),
		MinInterval: 100 * time.Millisecond, MaxInterval: 100 * time.Millisecond,
		Targets: func(context.Context) ([]store.Target, error) {
			var ts []store.Target
			for _, t := range cfg.Targets {
				ts = append(ts, store.Target{Connector: t.Connector, Kind: t.Kind, ID: t.ID})
			}
			return ts, nil
		}})

	var pids []int
	for _, st := range host.Statuses() {
		pids = append(pids, st.PID)
	}
	selfBefore, pluginsBefore := cputime.Of(os.Getpid()), cputime.Of(pids...)
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	done := make(chan struct{}, 2)
	go func() { p.Run(ctx); done <- struct{}{} }()
	go func() { sch.Run(ctx); done <- struct{}{} }()
	deadline := time.Now().Add(5 * time.Minute)
	var inTook time.Duration
	for {
		if inTook == 0 && in.n.Load() == int64(comments) {
			inTook = time.Since(start)
		}
		q, h, _ := st.Depth()
		if in.n.Load() == int64(comments) && q == 0 && h == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("timed out: %d taken in, %d queued, %d held", in.n.Load(), q, h)
		}
		time.Sleep(20 * time.Millisecond) // Depth scans the queue: don't let the benchmark's own checks cost much
	}
	took := time.Since(start)
	// Who spent the CPU: this process is the host and the fake platform;
	// the plugins are the connector and (with "plugins") the analyzers.
	report((cputime.Of(os.Getpid()) - selfBefore).Seconds(), "host+platform-cpu-s")
	report((cputime.Of(pids...) - pluginsBefore).Seconds(), "plugin-cpu-s")
	report(inTook.Seconds(), "intake-s")
	report(time.Duration(in.spent.Load()).Seconds(), "store-s")
	cancel()
	<-done
	<-done
	flagged, copies := 0, 0
	for _, a := range plat.Actions() {
		if a.Changed {
			flagged++
			if campaign[a.CommentID] {
				copies++
			}
		}
	}
	switch {
	case mode != "spam" && flagged != comments/20:
		b.Fatalf("%d comments flagged on the platform, want %d", flagged, comments/20)
	case mode == "spam" && (copies < len(campaign)-4 || flagged != copies):
		// Only the duplicate signal flags the campaign. Analyzed one at a
		// time, its first two copies are under the threshold of three and
		// the evidence grows with each copy past it, to 0.9 from the fifth
		// on; copies in batches analyzed at once may count each other too.
		b.Fatalf("flagged %d of the campaign's %d copies and %d other comments, want every copy from the fifth on and nothing else", copies, len(campaign), flagged-copies)
	}
	return float64(comments) / took.Seconds()
}
