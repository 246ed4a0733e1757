package pipeline

import (
	"github.com/moderatorbot/moderator/core/policy"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the pipeline's Prometheus collectors.
type Metrics struct {
	decisions       *prometheus.CounterVec
	actions         *prometheus.CounterVec
	analyzerLatency *prometheus.HistogramVec
	analyzerErrors  *prometheus.CounterVec
	held            prometheus.Counter
	overrides       *prometheus.CounterVec
}

// NewMetrics makes unregistered collectors; Register adds them to a registry.
func NewMetrics() *Metrics {
	return &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moderator_decisions_total", Help: "Decisions made, by action, rule (empty: none matched) and dry run."},
			[]string{"action", "rule", "dry_run"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moderator_actions_total", Help: "Platform actions attempted, by connector, action and outcome (ok, retry, failed)."},
			[]string{"connector", "action", "outcome"}),
		analyzerLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "moderator_analyzer_seconds", Help: "Time an analyzer took for one batch, retries and splits included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"analyzer"}),
		analyzerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moderator_analyzer_errors_total", Help: "Analyzer batches that failed after retries."}, []string{"analyzer"}),
		held: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "moderator_comments_held_total", Help: "Comments held back because an analyzer with on_failure = \"hold\" failed."}),
		overrides: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moderator_overrides_total", Help: "Decisions a human overrode, by the verdict they chose."}, []string{"verdict"}),
	}
}

// Register adds the collectors to r.
func (m *Metrics) Register(r prometheus.Registerer) {
	r.MustRegister(m.decisions, m.actions, m.analyzerLatency, m.analyzerErrors, m.held, m.overrides)
}

func (m *Metrics) decision(v policy.Verdict) {
	dry := "false"
	if v.DryRun {
		dry = "true"
	}
	m.decisions.WithLabelValues(v.Action, v.Rule, dry).Inc()
}
