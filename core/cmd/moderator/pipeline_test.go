package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/core/config"
	moddaemon "github.com/moderatorbot/moderator/core/daemon"
	"github.com/moderatorbot/moderator/core/internal/synthetic/platform"
)

// synthSetup is a daemon config for the synthetic platform with the given
// analyzers and rules (dry run off), watching posts 1000..1000+posts-1.
func synthSetup(t *testing.T, plat *platform.Server, posts int, body string) setup {
	var targets strings.Builder
	for i := range posts {
		id := fmt.Sprint(1000 + i)
		plat.AddPost(id, "owner")
		fmt.Fprintf(&targets, "[[target]]\nconnector = \"syn\"\nkind = \"post\"\nid = %q\n", id)
	}
	return newSetup(t, fmt.Sprintf(`
[pipeline]
retry_backoff = "20ms"
hold_retry = "300ms"

[scheduler]
min_interval = "200ms"
max_interval = "500ms"

[[connector]]
name = "syn"
plugin = "synthetic"
  [connector.config]
  base_url = %q
  webhook_secret = "hook-secret"
%s
%s`, plat.URL(), body, targets.String()))
}

// acted waits until n comments have an effective action on the platform.
func acted(t *testing.T, plat *platform.Server, n int, d *daemon) map[string][]string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := map[string][]string{}
		for _, a := range plat.Actions() {
			if a.Changed {
				got[a.CommentID] = append(got[a.CommentID], a.Action)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d comments acted on; log:\n%s", len(got), n, tail(d.stderr.String(), 4000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const flagAll = `
[[analyzer]]
name = "counter"
plugin = "testplugin"
env = ["TESTPLUGIN_DELAY=400ms"]

[[policy.rule]]
name = "flag-all"
action = "flag"
dry_run = false
  [policy.rule.when]
  labels = ["testplugin.count"]
  min_score = 0.0
`

func TestPluginKilledMidBatchLosesNothing(t *testing.T) {
	plat := platform.Start(platform.Options{Secret: "hook-secret"})
	defer plat.Close()
	busy := filepath.Join(t.TempDir(), "busy")
	d := startDaemon(t, synthSetup(t, plat, 1, strings.Replace(flagAll, `env = ["TESTPLUGIN_DELAY=400ms"]`,
		fmt.Sprintf(`env = ["TESTPLUGIN_DELAY=400ms", "TESTPLUGIN_BUSY=%s"]`, busy), 1)))
	d.waitReady(t)
	var ids []string
	for i := range 40 {
		ids = append(ids, plat.AddComment(platform.Comment{PostID: "1000", AuthorID: "a", Text: fmt.Sprint("comment ", i)}).ID)
	}
	// The analyzer takes 400ms a batch: kill it while the first one is in it.
	var pid int
	for _, p := range d.plugins(t) {
		if p.Instance == "counter" {
			pid = p.PID
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		if b, _ := os.ReadFile(busy); len(b) > 0 {
			break // a batch is in the analyzer's hands, for 400ms
		}
		if time.Now().After(deadline) {
			t.Fatal("no batch reached the analyzer")
		}
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	got := acted(t, plat, len(ids), d)
	for _, id := range ids {
		if len(got[id]) != 1 {
			t.Errorf("comment %s acted on %d times", id, len(got[id]))
		}
	}
	for _, p := range d.plugins(t) {
		if p.Instance == "counter" && (p.Restarts != 1 || p.PID == pid) {
			t.Errorf("counter: %+v, want one restart", p)
		}
	}
}

func TestMalformedItemLosesNothing(t *testing.T) {
	plat := platform.Start(platform.Options{Secret: "hook-secret"})
	defer plat.Close()
	s := synthSetup(t, plat, 1, strings.Replace(flagAll, `env = ["TESTPLUGIN_DELAY=400ms"]`, "", 1))
	plat.Faults(platform.Faults{Malformed: 3})
	var ids []string
	for i := range 9 {
		ids = append(ids, plat.AddComment(platform.Comment{PostID: "1000", AuthorID: "a", Text: fmt.Sprint("comment ", i)}).ID)
	}
	d := startDaemon(t, s)
	// The rest of each page goes through while a broken item is refused;
	// the broken one comes again, intact, once the platform stops mangling it.
	got := acted(t, plat, len(ids), d)
	for _, id := range ids {
		if len(got[id]) != 1 {
			t.Errorf("comment %s acted on %d times", id, len(got[id]))
		}
	}
	if !strings.Contains(d.stderr.String(), "could not be polled") {
		t.Errorf("the malformed item was not logged:\n%s", tail(d.stderr.String(), 3000))
	}
}

func TestReplayAfterAThresholdEdit(t *testing.T) {
	plat := platform.Start(platform.Options{Secret: "hook-secret"})
	defer plat.Close()
	s := synthSetup(t, plat, 1, `
[[analyzer]]
name = "caps"
plugin = "shouting"
  [analyzer.config]
  min_letters = 4

# It counts each author's comments in its KV: a replay must not count again.
[[analyzer]]
name = "counter"
plugin = "testplugin"

[[policy.rule]]
name = "hide-shouting"
action = "hide"
dry_run = false
  [policy.rule.when]
  labels = ["shouting.caps"]
  min_score = 0.9
`)
	for _, text := range []string{"ALL CAPS ALL THE TIME", "MOSTLY CAPS here", "quiet words", "half of it LOUD"} {
		plat.AddComment(platform.Comment{PostID: "1000", AuthorID: "a", Text: text})
	}
	d := startDaemon(t, s)
	acted(t, plat, 1, d)
	// Wait until all four are decided.
	deadline := time.Now().Add(30 * time.Second)
	for {
		stdout, _, _ := moderator(t, "decisions", "list", "--json", "--config", s.config)
		var recs []map[string]any
		json.Unmarshal([]byte(stdout), &recs)
		decided := 0
		for _, r := range recs {
			if r["state"] == "decided" || r["state"] == "acted" {
				decided++
			}
		}
		if decided == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not all decided: %s", stdout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A full page from the running daemon (its reply says where the next
	// page starts).
	stdout, stderr, code := moderator(t, "decisions", "list", "--json", "--limit", "2", "--config", s.config)
	var page []map[string]any
	if err := json.Unmarshal([]byte(stdout), &page); code != 0 || err != nil || len(page) != 2 {
		t.Fatalf("decisions list --limit 2 from the daemon: exit %d, %d records (%v) %s", code, len(page), err, stderr)
	}
	// The page after it, from where it ended: the other two.
	stdout, stderr, code = moderator(t, "decisions", "list", "--json", "--limit", "2",
		"--before", page[1]["seen_at"].(string), "--before-id", page[1]["id"].(string), "--config", s.config)
	var next []map[string]any
	if err := json.Unmarshal([]byte(stdout), &next); code != 0 || err != nil || len(next) != 2 {
		t.Fatalf("the next page: exit %d, %d records (%v) %s", code, len(next), err, stderr)
	}
	ids := map[any]bool{page[0]["id"]: true, page[1]["id"]: true, next[0]["id"]: true, next[1]["id"]: true}
	if len(ids) != 4 {
		t.Errorf("two pages of two gave %d distinct decisions; want all 4", len(ids))
	}
	full, _, _ := moderator(t, "decisions", "list", "--limit", "2", "--config", s.config)
	if want := "more: add --before " + page[1]["seen_at"].(string) + " --before-id " + page[1]["id"].(string); !strings.Contains(full, want) {
		t.Errorf("a full page does not say how to get the next one (%q):\n%s", want, full)
	}
	if _, stderr, code := moderator(t, "decisions", "list", "--before-id", "x", "--config", s.config); code != 2 || !strings.Contains(stderr, "--before-id goes with --before") {
		t.Errorf("--before-id alone: exit %d %s", code, stderr)
	}
	before := len(plat.Actions())

	// The operator lowers the threshold and asks what would change: the
	// running daemon replays the edited file, and so does the CLI once the
	// daemon is stopped.
	cfg, _ := os.ReadFile(s.config)
	os.WriteFile(s.config, []byte(strings.Replace(string(cfg), "min_score = 0.9", "min_score = 0.5", 1)), 0o644)
	for _, running := range []bool{true, false} {
		if !running {
			d.cmd.Process.Signal(syscall.SIGTERM)
			d.cmd.Wait()
		}
		stdout, stderr, code = moderator(t, "replay", "--json", "--config", s.config)
		if code != 0 {
			t.Fatalf("replay (daemon running: %v): exit %d %s", running, code, stderr)
		}
		var rep struct {
			Replayed, Changed int
			Changes           []struct {
				OldAction string `json:"old_action"`
				NewAction string `json:"new_action"`
				Comment   struct{ Text string }
			}
		}
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("%v: %s", err, stdout)
		}
		if rep.Replayed != 4 || rep.Changed != 1 || rep.Changes[0].Comment.Text != "MOSTLY CAPS here" ||
			rep.Changes[0].OldAction != "approve" || rep.Changes[0].NewAction != "hide" {
			t.Errorf("replay report (daemon running: %v) %s", running, stdout)
		}
		// On a terminal it shows how far it has got, the daemon's replay
		// too (script(1) gives it one).
		if _, err := exec.LookPath("script"); err == nil {
			out, _ := exec.Command("script", "-qec", bin.moderator+" replay --config "+s.config, "/dev/null").CombinedOutput()
			if !strings.Contains(string(out), "\rreplay: 4") || !strings.Contains(string(out), "4 decisions replayed, 1 would change") {
				t.Errorf("no progress on a terminal (daemon running: %v):\n%q", running, out)
			}
		}
	}
	if after := len(plat.Actions()); after != before {
		t.Errorf("replay acted: %d platform calls, was %d", after, before)
	}
	text, _, _ := moderator(t, "replay", "--config", s.config)
	if !strings.Contains(text, "4 decisions replayed, 1 would change") || !strings.Contains(text, "nothing was acted on") {
		t.Errorf("text report: %s", text)
	}

	// The decision and its explanation, from the CLI.
	list, _, _ := moderator(t, "decisions", "list", "--json", "--action", "hide", "--config", s.config)
	var recs []struct{ ID string }
	json.Unmarshal([]byte(list), &recs)
	if len(recs) != 1 {
		t.Fatalf("hidden decisions: %s", list)
	}
	show, _, _ := moderator(t, "decisions", "show", recs[0].ID, "--config", s.config)
	for _, want := range []string{"ALL CAPS ALL THE TIME", "shouting.caps", "hide-shouting", "platform  changed=true"} {
		if !strings.Contains(show, want) {
			t.Errorf("decisions show lacks %q:\n%s", want, show)
		}
	}
	// Overriding the hide (offline: the CLI starts the connector) unhides it on the platform.
	out, stderr, code := moderator(t, "decisions", "override", recs[0].ID, "--action", "approve", "--reason", "satire", "--config", s.config)
	if code != 0 || !strings.Contains(out, "overridden to approve") {
		t.Fatalf("override: exit %d %s %s", code, out, stderr)
	}
	if st := plat.State(plat.Actions()[0].CommentID); st != platform.StateVisible {
		t.Errorf("after the override the platform shows %s", st)
	}
	// The counter saw the four comments once, in the daemon; the three
	// replays' counting went nowhere.
	loaded, err := config.Load(s.config)
	if err != nil {
		t.Fatal(err)
	}
	st, err := moddaemon.OpenStore(loaded, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if v, _, err := st.PluginKV("counter").Get(context.Background(), "count/a"); err != nil || string(v) != "4" {
		t.Errorf("the counter's KV holds %q (%v), want 4", v, err)
	}
}

func TestEditedCommentIsAnalyzedAgain(t *testing.T) {
	plat := platform.Start(platform.Options{Secret: "hook-secret"})
	defer plat.Close()
	s := synthSetup(t, plat, 1, `
[[analyzer]]
name = "caps"
plugin = "shouting"
  [analyzer.config]
  min_letters = 4

[[policy.rule]]
name = "hide-shouting"
action = "hide"
dry_run = false
  [policy.rule.when]
  labels = ["shouting.caps"]
  min_score = 0.5
`)
	d := startDaemon(t, s)
	d.waitReady(t)
	hook := "http://" + s.addr + "/webhooks/syn"
	c := plat.AddComment(platform.Comment{PostID: "1000", AuthorID: "a", Text: "a perfectly calm first version"})
	if code, err := plat.Deliver(context.Background(), hook, c); err != nil || code != 200 {
		t.Fatalf("deliver: %d %v", code, err)
	}
	// The author edits it into shouting (comment.updated): it is analyzed
	// again as a new version, and hidden.
	edited := plat.AddComment(platform.Comment{ID: c.ID, PostID: "1000", AuthorID: "a", Text: "NOW IT IS ALL SHOUTING"})
	if edited.Version != 1 {
		t.Fatalf("edit: %+v", edited)
	}
	for range 2 { // a retried delivery of the edit changes nothing more
		if code, err := plat.Deliver(context.Background(), hook, edited); err != nil || code != 200 {
			t.Fatalf("deliver edit: %d %v", code, err)
		}
	}
	got := acted(t, plat, 1, d)
	if len(got[c.ID]) != 1 || got[c.ID][0] != "hide" {
		t.Errorf("actions on the edited comment: %v", got[c.ID])
	}
	out, _, _ := moderator(t, "decisions", "list", "--json", "--config", s.config)
	var recs []struct {
		Comment  struct{ ID, Text, Version string }
		Decision struct{ Action string }
	}
	json.Unmarshal([]byte(out), &recs)
	versions := map[string]string{}
	for _, r := range recs {
		if r.Comment.ID == c.ID {
			versions[r.Comment.Version] = r.Decision.Action
		}
	}
	if len(versions) != 2 || versions[""] != "approve" || versions["1"] != "hide" {
		t.Errorf("decisions per version %v (%s)", versions, out)
	}
}

func TestRunRefusesAnActionItsConnectorLacks(t *testing.T) {
	s := newSetup(t, `
[[connector]]
name = "flagonly"
plugin = "testconnector"

[[policy.rule]]
name = "hide-threats"
action = "hide"
  [policy.rule.when]
  labels = ["threat"]
`)
	_, stderr, code := moderator(t, "run", "--config", s.config)
	if code != 1 || !strings.Contains(stderr, "1 problems in "+s.config+" that no restart cures") ||
		!strings.Contains(stderr, `connector \"flagonly\" (testconnector) cannot hide comments`) {
		t.Errorf("exit %d:\n%s", code, tail(stderr, 2000))
	}
}

// TestRunRefusesWhatNoRestartCures: a plugin that refuses its config table
// would stay failed for good, holding every comment; run says so at the
// field and stops, as config check would.
func TestRunRefusesWhatNoRestartCures(t *testing.T) {
	s := newSetup(t, `
[[analyzer]]
name = "caps"
plugin = "shouting"
  [analyzer.config]
  colour = "red"
`)
	_, stderr, code := moderator(t, "run", "--config", s.config)
	if code != 1 || !strings.Contains(stderr, "1 problems in "+s.config+" that no restart cures") ||
		!strings.Contains(stderr, `moderator.toml:17:12: analyzer \"caps\": config.colour: unknown key`) {
		t.Errorf("exit %d:\n%s", code, tail(stderr, 2000))
	}
}

// The webhook metrics count what happened: each answered request by its
// status, each batch by its size and stages.
func TestWebhookMetrics(t *testing.T) {
	plat := platform.Start(platform.Options{Secret: "hook-secret"})
	defer plat.Close()
	forger := platform.Start(platform.Options{Secret: "not-the-secret"})
	defer forger.Close()
	plat.AddPost("1000", "owner")
	s := synthSetup(t, plat, 0, "") // no targets: comments come by webhook only
	d := startDaemon(t, s)
	d.waitReady(t)
	hook := "http://" + s.addr + "/webhooks/syn"
	for i := range 3 {
		c := plat.AddComment(platform.Comment{PostID: "1000", AuthorID: "a", Text: fmt.Sprint("reply ", i)})
		if code, err := plat.Deliver(context.Background(), hook, c); err != nil || code != 200 {
			t.Fatalf("deliver: %d %v", code, err)
		}
	}
	if code, err := forger.Deliver(context.Background(), hook, platform.Comment{ID: "999", PostID: "1000", AuthorID: "a", Text: "forged"}); err != nil || code != 401 {
		t.Fatalf("forged delivery: %d %v", code, err)
	}
	for series, want := range map[string]float64{
		`moderator_webhook_request_seconds_count{code="200"}`:                      3,
		`moderator_webhook_request_seconds_count{code="401"}`:                      1,
		`moderator_webhook_batch_deliveries_sum{connector="syn"}`:                  4,
		`moderator_webhook_batch_seconds_count{connector="syn",stage="connector"}`: metric(t, d, `moderator_webhook_batch_deliveries_count{connector="syn"}`),
		`moderator_comments_in_total{connector="syn",source="webhook"}`:            3,
	} {
		if got := metric(t, d, series); got != want || want == 0 {
			t.Errorf("%s = %g, want %g", series, got, want)
		}
	}
	// Only batches with accepted comments reach the store.
	if n := metric(t, d, `moderator_webhook_batch_seconds_count{connector="syn",stage="store"}`); n < 1 || n > 3 {
		t.Errorf("%g durable writes for 3 accepted deliveries", n)
	}
}

// A comment the analyzer keeps failing on reaches the review queue after
// its third attempt, and an operator decides it from there with the CLI:
// one hide on the platform, and the record says who decided it.
func TestHeldCommentDecidedFromTheReviewQueue(t *testing.T) {
	plat := platform.Start(platform.Options{Secret: "hook-secret"})
	defer plat.Close()
	s := synthSetup(t, plat, 1, strings.Replace(flagAll, `env = ["TESTPLUGIN_DELAY=400ms"]`, `env = ["TESTPLUGIN_POISON=pill"]`, 1))
	d := startDaemon(t, s)
	// The analyzer answers first, so what it later fails on is the
	// comment's own trouble.
	plat.AddComment(platform.Comment{PostID: "1000", AuthorID: "a", Text: "fine"})
	acted(t, plat, 1, d)
	poison := plat.AddComment(platform.Comment{PostID: "1000", AuthorID: "a", Text: "a poison pill"}).ID

	var queue []map[string]any
	for deadline := time.Now().Add(60 * time.Second); len(queue) == 0; time.Sleep(100 * time.Millisecond) {
		// Other comments keep coming, which the analyzer answers: the
		// pipeline sees the failure as the comment's, not the analyzer's
		// being down (then it would hold the comment without asking a
		// human).
		plat.AddComment(platform.Comment{PostID: "1000", AuthorID: "b", Text: "more"})
		if time.Now().After(deadline) {
			t.Fatalf("the review queue stayed empty; log:\n%s", tail(d.stderr.String(), 4000))
		}
		stdout, stderr, code := moderator(t, "review", "--json", "--config", s.config)
		if code != 0 {
			t.Fatalf("review: %d %s", code, stderr)
		}
		queue = nil
		if err := json.Unmarshal([]byte(stdout), &queue); err != nil {
			t.Fatalf("review --json: %v: %s", err, stdout)
		}
	}
	id, _ := queue[0]["id"].(string)
	if len(queue) != 1 || queue[0]["state"] != "held" || !strings.Contains(fmt.Sprint(queue[0]["last_error"]), "choked on comment "+poison) {
		t.Fatalf("review queue %v", queue)
	}
	stdout, stderr, code := moderator(t, "decisions", "override", id, "--action", "hide", "--reason", "a known troll", "--by", "ops", "--config", s.config)
	if code != 0 || !strings.Contains(stdout, id+" decided by hand: hide (platform: ") {
		t.Fatalf("override: %d %q %q", code, stdout, stderr)
	}
	stdout, _, _ = moderator(t, "decisions", "show", id, "--config", s.config)
	for _, want := range []string{"state     acted", "action    hide", "reason    a known troll", "by ops, by hand", "error     analyzer counter: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("decisions show lacks %q:\n%s", want, stdout)
		}
	}
	if stdout, _, _ := moderator(t, "decisions", "list", "--state", "acted", "--config", s.config); !strings.Contains(stdout, "hide (by hand)") {
		t.Errorf("decisions list does not say the hide was by hand:\n%s", stdout)
	}
	if stdout, _, _ := moderator(t, "review", "--config", s.config); !strings.Contains(stdout, "The review queue is empty.") {
		t.Errorf("review after the override:\n%s", stdout)
	}
	// However long the daemon runs on, the comment is acted on once.
	time.Sleep(2 * time.Second)
	var calls []string
	for _, a := range plat.Actions() {
		if a.CommentID == poison {
			calls = append(calls, a.Action)
		}
	}
	if len(calls) != 1 || calls[0] != "hide" {
		t.Errorf("platform calls for the poison comment: %q", calls)
	}
}
