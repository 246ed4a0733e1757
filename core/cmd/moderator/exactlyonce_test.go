package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/core/internal/synthetic/platform"
)

// TestExactlyOnce is the proof behind moderator's central guarantee. A
// synthetic platform receives comments while the real moderator binary, with
// real plugin processes, takes them in by webhook (each delivery sent twice)
// and by polling (which finds the webhook's comments too), and is killed with
// SIGKILL at random moments, round after round. In the end the platform's own
// record must show every comment acted on exactly once and none missing.
//
// MODERATOR_SOAK=1 runs the long version (make soak).
func TestExactlyOnce(t *testing.T) {
	comments, rounds := 1500, 6
	if os.Getenv("MODERATOR_SOAK") != "" {
		comments, rounds = 20000, 40
	}
	if testing.Short() {
		comments, rounds = 300, 2
	}
	const posts = 20
	plat := platform.Start(platform.Options{Secret: "hook-secret", PageSize: 50})
	defer plat.Close()
	s := synthSetup(t, plat, posts, `
[[analyzer]]
name = "caps"
plugin = "shouting"
  [analyzer.config]
  min_letters = 4

[[analyzer]]
name = "counter"
plugin = "testplugin"

[[policy.rule]]
name = "hide-shouting"
action = "hide"
dry_run = false
  [policy.rule.when]
  labels = ["shouting.caps"]
  min_score = 0.5

[[policy.rule]]
name = "flag-the-rest"
action = "flag"
dry_run = false
  [policy.rule.when]
  labels = ["testplugin.count"]
  min_score = 0.0
`)
	// The test's setup header logs at debug; a SIGKILL soak only needs errors.
	cfg, _ := os.ReadFile(s.config)
	os.WriteFile(s.config, []byte(strings.Replace(string(cfg), `log_level = "debug"`, `log_level = "warn"`, 1)), 0o644)
	hook := "http://" + s.addr + "/webhooks/syn"

	// The feeder: comments arrive all through the rounds, half of them
	// announced by webhook (twice, and retried until the host answers 2xx,
	// as platforms do), half left for polling to find.
	want := map[string]string{} // comment id -> expected action
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for i := range comments {
			text := fmt.Sprintf("a calm reply, number %d", i)
			action := "flag"
			if i%3 == 0 {
				text, action = fmt.Sprintf("THIS IS SHOUTING NUMBER %d", i), "hide"
			}
			c := plat.AddComment(platform.Comment{PostID: fmt.Sprint(1000 + i%posts), AuthorID: strconv.Itoa(i % 17), Handle: "user", Text: text})
			mu.Lock()
			want[c.ID] = action
			mu.Unlock()
			if i%2 == 0 {
				for range 2 {
					for ctx.Err() == nil {
						dctx, dcancel := context.WithTimeout(ctx, 2*time.Second)
						code, err := plat.Deliver(dctx, hook, c)
						dcancel()
						if err == nil && code/100 == 2 {
							break
						}
						time.Sleep(20 * time.Millisecond)
					}
				}
			}
			if i%50 == 0 {
				time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
			}
		}
	}()
	defer cancel()

	for round := range rounds {
		d := startDaemon(t, s)
		time.Sleep(time.Duration(300+rand.IntN(1700)) * time.Millisecond)
		d.cmd.Process.Signal(syscall.SIGKILL)
		d.cmd.Wait()
		t.Logf("round %d: killed after %d actions", round, len(plat.Actions()))
	}
	// One last run, to the end; the feeder finishes against it.
	d := startDaemon(t, s)
	<-fed
	deadline := time.Now().Add(3 * time.Minute)
	for {
		done := map[string]bool{}
		for _, a := range plat.Actions() {
			if a.Changed {
				done[a.CommentID] = true
			}
		}
		if len(done) >= comments {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d comments acted on; daemon log:\n%s", len(done), comments, tail(d.stderr.String(), 3000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let anything still in flight land
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()

	effective := map[string][]string{}
	calls := 0
	for _, a := range plat.Actions() {
		calls++
		if a.Changed {
			effective[a.CommentID] = append(effective[a.CommentID], a.Action)
		}
	}
	missing, twice, wrong := 0, 0, 0
	for id, action := range want {
		got := effective[id]
		switch {
		case len(got) == 0:
			missing++
		case len(got) > 1:
			twice++
			t.Errorf("comment %s acted on %d times: %v", id, len(got), got)
		case got[0] != action:
			wrong++
			t.Errorf("comment %s: %s, want %s", id, got[0], action)
		}
	}
	if len(effective) != len(want) || missing > 0 {
		t.Errorf("%d comments, %d acted on, %d missing", len(want), len(effective), missing)
	}
	st := plat.Requests()
	t.Logf("%d comments over %d SIGKILL rounds: %d effective actions, %d moderation calls (%d idempotent repeats), %d missing, %d twice, %d wrong; platform saw %d poll requests and %d webhook deliveries",
		len(want), rounds, len(effective), calls, calls-len(effective), missing, twice, wrong, st.Comments, st.Deliveries)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
