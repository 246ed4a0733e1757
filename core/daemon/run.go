package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/core/config"
	"github.com/moderatorbot/moderator/core/ingress"
	"github.com/moderatorbot/moderator/core/internal/redact"
	"github.com/moderatorbot/moderator/core/pipeline"
	"github.com/moderatorbot/moderator/core/pluginhost"
	"github.com/moderatorbot/moderator/core/policy"
	"github.com/moderatorbot/moderator/core/scheduler"
	"github.com/moderatorbot/moderator/core/server"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// OpenStore opens the store in the config's data directory.
func OpenStore(cfg *config.Config, log hclog.Logger) (*store.Store, error) {
	if err := os.MkdirAll(cfg.Moderator.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return store.Open(filepath.Join(cfg.Moderator.DataDir, "db"), store.Options{Logger: log.Named("store"), Retention: cfg.Moderator.Retention})
}

// Run runs the daemon until ctx is done, then shuts everything down: HTTP
// first so nothing new comes in, then the pipeline, the plugins, the store.
func Run(ctx context.Context, cfg *config.Config, log hclog.Logger) error {
	// What plugins answer reaches the log in errors (a poll's error names
	// the URL it called): keep the environment's values out of it.
	log = redact.Logger(log, cfg.Redact)
	st, err := OpenStore(cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", "error", err)
		}
	}()
	token, err := AdminToken(cfg)
	if err != nil {
		return err
	}
	d, err := newApp(cfg, log, st)
	if err != nil {
		return err
	}
	host := d.host
	d.sched = scheduler.New(scheduler.Options{
		Logger: log.Named("scheduler"), Store: st, Intake: d.intake, Connectors: schedConnectors(cfg, host), Targets: d.Targets,
		MinInterval: cfg.Scheduler.MinInterval, MaxInterval: cfg.Scheduler.MaxInterval,
		StopAfter: cfg.Scheduler.StopAfter, DiscoverInterval: cfg.Scheduler.DiscoverInterval, CallTimeout: cfg.Scheduler.CallTimeout,
	})

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		server.PluginCollector{Statuses: host.Statuses}, queueCollector{st})
	d.intake.Register(reg)
	d.pipeline.Metrics().Register(reg)
	d.sched.Metrics().Register(reg)
	// How long the host took over a delivery, from its request to its
	// answer: set beside what a platform reports, it tells the host's share
	// of a slow webhook from the network's.
	webhookTime := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "moderator_webhook_request_seconds",
		Help:    "Time from a webhook request to its answer, by HTTP status.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"code"})
	reg.MustRegister(webhookTime)

	srv, err := server.Start(server.Options{
		Addr: cfg.HTTP.Listen, ReadTimeout: cfg.HTTP.ReadTimeout, WriteTimeout: cfg.HTTP.WriteTimeout,
		AdminToken: token, Logger: log.Named("http"), Gatherer: reg, API: d,
		WebhookPrefix: cfg.HTTP.WebhookPrefix, Webhooks: promhttp.InstrumentHandlerDuration(webhookTime, d.webhooks()),
		Ready:  func() (bool, []string) { return ready(host) },
		Redact: cfg.Redact,
	})
	if err != nil {
		return err
	}
	log.Info("listening", "addr", srv.Addr().String(), "dry_run", cfg.Moderator.DryRun)

	started := time.Now()
	if err := host.Start(ctx); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			log.Error("plugin not running", "error", line)
		}
	}
	if ok, _ := ready(host); ok {
		log.Info("all plugins ready", "plugins", len(host.Instances()), "took", time.Since(started).Round(time.Millisecond).String())
	}
	// What no restart can cure stops the daemon here, where the operator
	// is watching, rather than leaving it up with comments held for ever.
	problems := append(instanceProblems(cfg, host, true), actionProblems(cfg, host)...)
	problems = append(problems, targetProblems(cfg, host)...)
	if problems = append(problems, labelProblems(cfg, host)...); len(problems) > 0 {
		for _, p := range problems.Sorted() {
			log.Error("config", "problem", p.Error())
		}
		shut(srv, host, log)
		return fmt.Errorf("%d problems in %s that no restart cures, logged above (`moderator config check` lists them too)", len(problems), cfg.File)
	}

	work, stopWork := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for name, run := range map[string]func(context.Context) error{"pipeline": d.pipeline.Run, "scheduler": d.sched.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(work); err != nil {
				log.Error(name+" stopped", "error", err)
			}
		}()
	}

	<-ctx.Done()
	log.Info("shutting down")
	shut(srv, nil, log)
	stopWork()
	wg.Wait()
	host.Stop()
	log.Info("stopped")
	return nil
}

func shut(srv *server.Server, host *pluginhost.Host, log hclog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Error("http shutdown", "error", err)
	}
	if host != nil {
		host.Stop()
	}
}

func analyzers(cfg *config.Config, host *pluginhost.Host) []pipeline.Analyzer {
	var out []pipeline.Analyzer
	for _, a := range cfg.Analyzers {
		in := host.Instance(a.Name)
		out = append(out, pipeline.Analyzer{
			Name: a.Name,
			Get: func(ctx context.Context) (sdk.Analyzer, error) {
				p, err := in.Plugin(ctx)
				if err != nil {
					return nil, err
				}
				return p, nil
			},
			Info: func() (string, string) {
				d := in.Description()
				return d.Name, d.Version
			},
			Timeout: a.Timeout, OnFailure: a.OnFailure,
			MaxBatch: func() int { return in.Description().MaxBatch },
		})
	}
	return out
}

func schedConnectors(cfg *config.Config, host *pluginhost.Host) []scheduler.Connector {
	var out []scheduler.Connector
	for _, c := range cfg.Connectors {
		in := host.Instance(c.Name)
		out = append(out, scheduler.Connector{Name: c.Name, Describe: in.Description,
			Get: func(ctx context.Context) (scheduler.Client, error) {
				p, err := in.Plugin(ctx)
				if err != nil {
					return nil, err
				}
				return p, nil
			}})
	}
	return out
}

func connectors(cfg *config.Config, host *pluginhost.Host) []pipeline.Connector {
	var out []pipeline.Connector
	for _, c := range cfg.Connectors {
		in := host.Instance(c.Name)
		out = append(out, pipeline.Connector{Name: c.Name, Get: func(ctx context.Context) (sdk.Moderator, error) {
			p, err := in.Plugin(ctx)
			if err != nil {
				return nil, err
			}
			if !in.Description().Has(sdk.CapModerate) {
				return nil, sdk.Permanent(fmt.Errorf("connector %s cannot moderate: %w", c.Name, sdk.ErrUnsupported))
			}
			return p, nil
		}})
	}
	return out
}

// actionProblems is the run-time half of config check: rules whose action a
// connector in their scope does not declare.
func actionProblems(cfg *config.Config, host *pluginhost.Host) config.Problems {
	var problems config.Problems
	for i, rule := range cfg.Policy.Rules {
		if !platformActions[rule.Action] {
			continue
		}
		for _, c := range connectorsInScope(cfg, rule) {
			d := host.Instance(c.Name).Description()
			if d.Name == "" {
				continue // it did not start; reported elsewhere
			}
			if !d.Has(sdk.CapModerate) || !slices.Contains(d.Actions, rule.Action) {
				can := "nothing"
				if len(d.Actions) > 0 {
					can = strings.Join(d.Actions, ", ")
				}
				problems = append(problems, cfg.At(fmt.Sprintf("rule %q: connector %q (%s) cannot %s comments (it can: %s); limit the rule with when.connectors or when.targets, or choose another action",
					rule.Name, c.Name, d.Name, rule.Action, can), "policy", "rule", i, "action"))
			}
		}
	}
	return problems
}

// labelProblems finds the labels of rules that no analyzer in the rule's
// scope declares it can emit: such a rule never fires, most often because
// of a typo or an analyzer left out of when.analyzers.
func labelProblems(cfg *config.Config, host *pluginhost.Host) config.Problems {
	var problems config.Problems
	for i, rule := range cfg.Policy.Rules {
		names := rule.When.Analyzers
		if len(names) == 0 {
			for _, a := range cfg.Analyzers {
				names = append(names, a.Name)
			}
		}
		emitted := map[string]bool{}
		known := len(names) > 0 // with no analyzers at all, nothing fires, and that is plain
		for _, name := range names {
			in := host.Instance(name)
			if in == nil || in.Description().Name == "" {
				known = false // not started (reported elsewhere) or not in a partial config
				break
			}
			for _, l := range in.Description().Labels {
				emitted[l] = true
			}
		}
		if !known {
			continue
		}
		for j, label := range rule.When.Labels {
			if emitted[label] {
				continue
			}
			what := "they emit no labels"
			if len(emitted) > 0 {
				what = fmt.Sprintf("they emit %s", strings.Join(slices.Sorted(maps.Keys(emitted)), ", "))
			}
			problems = append(problems, cfg.At(fmt.Sprintf("rule %q: no analyzer it looks at (%s) emits %q, so it never fires; %s",
				rule.Name, strings.Join(names, ", "), label, what), "policy", "rule", i, "when", "labels", j))
		}
	}
	return problems
}

// newApp wires the plugin host (not started) and the pipeline over a store.
func newApp(cfg *config.Config, log hclog.Logger, st *store.Store) (*app, error) {
	pol, err := policy.New(cfg.Policy, cfg.Moderator.DryRun)
	if err != nil {
		return nil, err
	}
	opts := HostOptions(cfg, log)
	opts.KV = st.PluginKV
	host := pluginhost.New(opts, Specs(cfg))
	a := &app{cfg: cfg, log: log, store: st, host: host, intake: ingress.NewIntake(st)}
	a.describe = func(_ context.Context, name string) (sdk.Description, error) {
		if in := host.Instance(name); in != nil {
			return in.Description(), nil
		}
		return sdk.Description{}, nil
	}
	a.pipeline, err = pipeline.New(pipeline.Options{
		Logger: log.Named("pipeline"), Store: st, Policy: pol,
		Analyzers: analyzers(cfg, host), Connectors: connectors(cfg, host),
		BatchSize: cfg.Pipeline.BatchSize, Workers: cfg.Pipeline.Workers,
		AnalyzerRetries: cfg.Pipeline.AnalyzerRetries, ActionRetries: cfg.Pipeline.ActionRetries,
		RetryBackoff: cfg.Pipeline.RetryBackoff, HoldRetry: cfg.Pipeline.HoldRetry,
		PostTargets: st.PostTargets,
	})
	return a, err
}

// app is the running daemon as the admin API sees it.
type app struct {
	cfg      *config.Config
	log      hclog.Logger
	store    *store.Store
	host     *pluginhost.Host
	pipeline *pipeline.Pipeline
	intake   *ingress.Intake
	sched    *scheduler.Scheduler // nil offline
	// describe returns what a connector said in Describe (zero when it is
	// not known yet).
	describe func(ctx context.Context, connector string) (sdk.Description, error)
}

func (d *app) webhooks() *ingress.Webhooks {
	hooks := map[string]func(context.Context) (sdk.WebhookHandler, error){}
	for _, c := range d.cfg.Connectors {
		in := d.host.Instance(c.Name)
		hooks[c.Name] = func(ctx context.Context) (sdk.WebhookHandler, error) {
			p, err := in.Plugin(ctx)
			if err != nil {
				return nil, err
			}
			if !in.Description().Has(sdk.CapWebhook) {
				return nil, fmt.Errorf("connector %s: %w", c.Name, ingress.ErrNoWebhooks)
			}
			return p, nil
		}
	}
	return &ingress.Webhooks{Prefix: d.cfg.HTTP.WebhookPrefix, MaxBody: d.cfg.HTTP.MaxBodyBytes, Logger: d.log.Named("webhook"),
		Intake: d.intake, Connectors: hooks}
}

func (d *app) Plugins() []pluginhost.Status { return d.host.Statuses() }

func (d *app) Decisions(ctx context.Context, f store.Filter) ([]store.Record, error) {
	return d.store.List(ctx, f)
}

func (d *app) Decision(ctx context.Context, id string) (store.Record, error) {
	return d.store.Get(ctx, id)
}

func (d *app) Override(ctx context.Context, id, action, reason, by string) (store.Record, error) {
	rec, err := d.pipeline.Override(ctx, d.store, id, action, reason, by)
	if err == nil {
		d.log.Info("decision overridden", "id", id, "verdict", action, "by", by, "reason", reason)
	}
	return rec, err
}

// Targets lists the config's targets and those added at run time.
func (d *app) Targets(ctx context.Context) ([]store.Target, error) {
	var out []store.Target
	for _, t := range d.cfg.Targets {
		out = append(out, store.Target{Connector: t.Connector, Kind: t.Kind, ID: t.ID, PollInterval: t.PollInterval, Source: "config"})
	}
	rt, err := d.store.Targets(ctx)
	return append(out, rt...), err
}

// AddTarget watches a target from now on, and across restarts. A kind the
// connector does not declare in Describe is refused; when the connector has
// not described itself yet (the daemon is starting it), the scheduler
// refuses the target instead, and says so in the log. Once it returns, the
// running scheduler watches the target.
func (d *app) AddTarget(ctx context.Context, t store.Target) error {
	if err := CheckTarget(d.cfg, t); err != nil {
		return &server.BadRequest{Err: err}
	}
	for _, ct := range d.cfg.Targets {
		if ct.Connector == t.Connector && ct.Kind == t.Kind && ct.ID == t.ID {
			return fmt.Errorf("target %s %s on %s is in the config: %w", t.Kind, t.ID, t.Connector, store.ErrExists)
		}
	}
	if t.Kind != sdk.TargetPost { // every connector takes posts
		desc, err := d.describe(ctx, t.Connector)
		if err != nil {
			return err
		}
		if desc.Name != "" {
			if err := scheduler.CheckTargetKind(desc, t.Kind); err != nil {
				return &server.BadRequest{Err: fmt.Errorf("target %s %s: connector %q (%s) %w", t.Kind, t.ID, t.Connector, desc.Name, err)}
			}
		}
	}
	if err := d.store.AddTarget(ctx, t); err != nil {
		return err
	}
	if d.sched != nil {
		return d.sched.Apply(ctx)
	}
	return nil
}

// RemoveTarget stops watching a target added at run time. Once it returns,
// the running scheduler no longer polls the posts that target alone brought
// in (the store forgets them, so a restart does not poll them either) and
// queues nothing more from them; comments queued before are still
// moderated.
func (d *app) RemoveTarget(ctx context.Context, connector, kind, id string) error {
	for _, ct := range d.cfg.Targets {
		if ct.Connector == connector && ct.Kind == kind && ct.ID == id {
			return &server.BadRequest{Err: fmt.Errorf("target %s %s on %s comes from %s: remove it there", kind, id, connector, d.cfg.File)}
		}
	}
	if err := d.store.RemoveTarget(ctx, connector, kind, id); err != nil {
		return err
	}
	if d.sched != nil {
		return d.sched.Apply(ctx)
	}
	return nil
}

// Replay runs the analyzers and policy of a config over the stored
// decisions and reports what would change: those of req.Config, the text of
// the operator's edited file (read as if it were at req.File), or the
// daemon's own when it is empty.
func (d *app) Replay(ctx context.Context, req server.ReplayRequest, progress func(int)) (pipeline.ReplayReport, error) {
	cfg := d.cfg
	if req.Config != "" {
		c, err := config.Parse(cmp.Or(req.File, d.cfg.File), []byte(req.Config), os.LookupEnv)
		if err != nil {
			return pipeline.ReplayReport{}, &server.BadRequest{Err: fmt.Errorf("the config to replay:\n%w", err)}
		}
		if err := replayCheck(d.cfg, c); err != nil {
			return pipeline.ReplayReport{}, &server.BadRequest{Err: fmt.Errorf("the config to replay: %w", err)}
		}
		cfg = c
	}
	return d.ReplayWith(ctx, cfg, progress)
}

// ReplayWith runs cfg's analyzers and policy over the stored decisions. The
// analyzers run as plugin instances of their own, started for the replay,
// whose KV reads the store and keeps their writes in memory: a replay
// changes nothing, not even an analyzer's memory of what it has seen.
func (d *app) ReplayWith(ctx context.Context, cfg *config.Config, progress func(int)) (pipeline.ReplayReport, error) {
	pol, err := policy.New(cfg.Policy, cfg.Moderator.DryRun)
	if err != nil {
		return pipeline.ReplayReport{}, &server.BadRequest{Err: err}
	}
	opts := HostOptions(cfg, d.log)
	opts.NoRestart = true
	opts.KV = func(instance string) sdk.KV { return newOverlayKV(d.store.PluginKV(instance)) }
	host := pluginhost.New(opts, AnalyzerSpecs(cfg))
	defer host.Stop()
	if err := host.Start(ctx); err != nil {
		return pipeline.ReplayReport{}, fmt.Errorf("start the analyzers to replay: %w", err)
	}
	p, err := pipeline.New(pipeline.Options{
		Logger: d.log.Named("replay"), Store: d.store, Policy: pol, Analyzers: analyzers(cfg, host),
		BatchSize: cfg.Pipeline.BatchSize, AnalyzerRetries: cfg.Pipeline.AnalyzerRetries, RetryBackoff: cfg.Pipeline.RetryBackoff,
		PostTargets: d.store.PostTargets,
	})
	if err != nil {
		return pipeline.ReplayReport{}, err
	}
	return p.Replay(ctx, d.store, progress)
}

func (d *app) Backup(_ context.Context, w io.Writer) error { return d.store.Backup(w) }

// CheckTarget validates a target against the config.
func CheckTarget(cfg *config.Config, t store.Target) error {
	if _, ok := cfg.Instance(t.Connector); !ok || !slices.ContainsFunc(cfg.Connectors, func(c config.Instance) bool { return c.Name == t.Connector }) {
		return fmt.Errorf("no connector named %q in %s", t.Connector, cfg.File)
	}
	switch t.Kind {
	case sdk.TargetPost, sdk.TargetAuthor, sdk.TargetPublication, sdk.TargetQuery:
	default:
		return fmt.Errorf("target kind %q: choose post, author, publication or query", t.Kind)
	}
	if strings.TrimSpace(t.ID) == "" {
		return errors.New("target id is empty")
	}
	if t.PollInterval != 0 && t.PollInterval < time.Second {
		return fmt.Errorf("poll interval %s is below 1s", t.PollInterval)
	}
	return nil
}

// queueCollector reports the work queue's depth at scrape time.
type queueCollector struct{ st *store.Store }

var queueDepth = prometheus.NewDesc("moderator_queue_depth", "Comment versions waiting for a step, by kind (queued, held).", []string{"kind"}, nil)

func (q queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDepth }

func (q queueCollector) Collect(ch chan<- prometheus.Metric) {
	queued, held, err := q.st.Depth()
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, float64(queued), "queued")
	ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, float64(held), "held")
}
