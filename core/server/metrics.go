package server

import (
	"github.com/moderatorbot/moderator/core/pluginhost"
	"github.com/prometheus/client_golang/prometheus"
)

// PluginCollector exports plugin supervision state, read at scrape time so
// it can never drift from what the supervisor knows.
type PluginCollector struct {
	Statuses func() []pluginhost.Status
}

var (
	pluginUp = prometheus.NewDesc("moderator_plugin_up",
		"1 if the plugin instance is ready, else 0.", []string{"instance", "plugin", "kind", "state"}, nil)
	pluginRestarts = prometheus.NewDesc("moderator_plugin_restarts_total",
		"Times the plugin instance was restarted after a crash.", []string{"instance", "plugin", "kind"}, nil)
)

// Describe implements prometheus.Collector.
func (c PluginCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pluginUp
	ch <- pluginRestarts
}

// Collect implements prometheus.Collector.
func (c PluginCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.Statuses() {
		up := 0.0
		if st.State == pluginhost.StateReady {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(pluginUp, prometheus.GaugeValue, up, st.Instance, st.Plugin, string(st.Kind), string(st.State))
		ch <- prometheus.MustNewConstMetric(pluginRestarts, prometheus.CounterValue, float64(st.Restarts), st.Instance, st.Plugin, string(st.Kind))
	}
}
