package scheduler

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the scheduler's Prometheus collectors.
type Metrics struct {
	calls     *prometheus.CounterVec
	remaining *prometheus.GaugeVec
	paused    *prometheus.CounterVec
}

// NewMetrics makes unregistered collectors.
func NewMetrics() *Metrics {
	return &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moderator_connector_calls_total", Help: "Poll and discover calls, by connector, kind and outcome."},
			[]string{"connector", "kind", "outcome"}),
		remaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "moderator_rate_limit_remaining", Help: "Calls left in the platform's rate-limit window, as the connector last reported."},
			[]string{"connector"}),
		paused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moderator_connector_pauses_total", Help: "Times a connector was paused, by reason (rate_limit, usage_cap)."},
			[]string{"connector", "reason"}),
	}
}

// Register adds the collectors to r.
func (m *Metrics) Register(r prometheus.Registerer) { r.MustRegister(m.calls, m.remaining, m.paused) }
