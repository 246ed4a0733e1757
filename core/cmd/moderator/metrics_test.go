package main

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/core/internal/synthetic/platform"
)

// TestOperatorMetricsMove: the metrics the operator surface promises exist
// and move on a real run: comments in by source, decisions by action and
// rule, analyzer latency, plugin restarts and quarantine, queue depth, and
// the rate limit each connector reports.
func TestOperatorMetricsMove(t *testing.T) {
	const limit = 1000
	plat := platform.Start(platform.Options{Secret: "hook-secret", RateLimit: limit})
	defer plat.Close()
	s := synthSetup(t, plat, 2, strings.Replace(flagAll, `env = ["TESTPLUGIN_DELAY=400ms"]`, "", 1)+`
[[analyzer]]
name = "crashy"
plugin = "testplugin"
on_failure = "skip"
env = ["TESTPLUGIN_MODE=exit"]
`)
	d := startDaemon(t, s)
	d.waitListening(t)
	for i := range 5 {
		plat.AddComment(platform.Comment{PostID: "1000", AuthorID: "a", Text: fmt.Sprint("polled ", i)})
	}
	// A comment on a post no target polls arrives by webhook only.
	plat.AddPost("2000", "owner")
	c := plat.AddComment(platform.Comment{PostID: "2000", AuthorID: "a", Text: "delivered"})
	if code, err := plat.Deliver(context.Background(), "http://"+s.addr+"/webhooks/syn", c); err != nil || code != 200 {
		t.Fatalf("deliver: %d %v", code, err)
	}
	acted(t, plat, 6, d)

	var counter int
	for _, p := range d.plugins(t) {
		if p.Instance == "counter" {
			counter = p.PID
		}
	}
	if err := syscall.Kill(counter, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	const restarted = `moderator_plugin_restarts_total{instance="counter",kind="analyzer",plugin="testplugin"}`
	const up = `moderator_plugin_up{instance="counter",kind="analyzer",plugin="testplugin",state="ready"}`
	for deadline := time.Now().Add(20 * time.Second); metric(t, d, restarted) != 1 || metric(t, d, up) != 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after the analyzer was killed: %s = %g, want 1; up %g", restarted, metric(t, d, restarted), metric(t, d, up))
		}
	}

	series := map[string]bool{}
	scrape(t, d, func(name, _ string) { series[name] = true })
	for name, ok := range map[string]func(float64) bool{
		`moderator_comments_in_total{connector="syn",source="poll"}`:                                     func(v float64) bool { return v == 5 },
		`moderator_comments_in_total{connector="syn",source="webhook"}`:                                  func(v float64) bool { return v == 1 },
		`moderator_decisions_total{action="flag",dry_run="false",rule="flag-all"}`:                       func(v float64) bool { return v == 6 },
		`moderator_analyzer_seconds_count{analyzer="counter"}`:                                           func(v float64) bool { return v >= 1 },
		`moderator_plugin_up{instance="crashy",kind="analyzer",plugin="testplugin",state="quarantined"}`: func(v float64) bool { return v == 0 },
		`moderator_plugin_restarts_total{instance="crashy",kind="analyzer",plugin="testplugin"}`:         func(v float64) bool { return v == 2 },
		`moderator_queue_depth{kind="queued"}`:                                                           func(v float64) bool { return v == 0 },
		`moderator_queue_depth{kind="held"}`:                                                             func(v float64) bool { return v == 0 },
		`moderator_rate_limit_remaining{connector="syn"}`:                                                func(v float64) bool { return v > 0 && v < limit },
	} {
		if v := metric(t, d, name); !series[name] || !ok(v) {
			t.Errorf("%s = %g (exposed: %v)", name, v, series[name])
		}
	}
}
