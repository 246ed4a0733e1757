// Command testplugin is an analyzer with switchable failure modes, for the
// host's own tests: it can exit at start-up, record each start, report the
// environment it was given, and count comments per author in the host KV.
//
// Modes come from the environment the host passes (the instance's `env`):
//
//	TESTPLUGIN_MARKER=FILE   append "start PID" to FILE at every start
//	TESTPLUGIN_MODE=exit     exit with status 3 before the handshake
//	TESTPLUGIN_DELAY=300ms   take this long over every Analyze call
//	TESTPLUGIN_BUSY=FILE     append "analyze N" to FILE as each Analyze call starts
//	TESTPLUGIN_POISON=WORD   fail every call whose batch has a comment with WORD in it
//	TESTPLUGIN_FAIL=TEXT     fail every call with TEXT as the error
//	TESTPLUGIN_STDIN=FILE    at start-up, read standard input and write what it
//	                         held into FILE: "EOF" if nothing (what /dev/null
//	                         gives), "BLOCKED" if a read did not return in 2s
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

type counter struct {
	kv sdk.KV
}

type config struct {
	Threshold *float64 `json:"threshold"`
}

func (c *counter) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	var cfg config
	if err := req.Config.Decode(&cfg); err != nil {
		return err
	}
	if cfg.Threshold != nil && (*cfg.Threshold < 0 || *cfg.Threshold > 1) {
		return sdk.FieldErrors{{Field: "threshold", Message: fmt.Sprintf("must be in [0,1], got %v", *cfg.Threshold)}}
	}
	c.kv = req.KV
	return nil
}

// Analyze counts each author's comments in the host KV and reports the count,
// and the names of the environment variables the process was given.
func (c *counter) Analyze(ctx context.Context, comments []sdk.Comment) ([]sdk.Result, error) {
	if f := os.Getenv("TESTPLUGIN_BUSY"); f != "" {
		// Before the delay: a test waits for this to know a batch is in hand.
		if fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintf(fh, "analyze %d\n", len(comments))
			fh.Close()
		}
	}
	if d, err := time.ParseDuration(os.Getenv("TESTPLUGIN_DELAY")); err == nil {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if text := os.Getenv("TESTPLUGIN_FAIL"); text != "" {
		return nil, errors.New(text)
	}
	if w := os.Getenv("TESTPLUGIN_POISON"); w != "" {
		for _, cm := range comments {
			if strings.Contains(cm.Text, w) {
				return nil, fmt.Errorf("choked on comment %s", cm.ID)
			}
		}
	}
	var names []string
	for _, kv := range os.Environ() {
		names = append(names, strings.SplitN(kv, "=", 2)[0])
	}
	sort.Strings(names)
	env := strings.Join(names, ",")
	out := make([]sdk.Result, len(comments))
	for i, cm := range comments {
		key := "count/" + cm.AuthorID
		v, _, err := c.kv.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("kv get %s: %w", key, err)
		}
		n, _ := strconv.Atoi(string(v))
		n++
		if err := c.kv.Set(ctx, key, []byte(strconv.Itoa(n)), 0); err != nil {
			return nil, fmt.Errorf("kv set %s: %w", key, err)
		}
		out[i] = sdk.Result{CommentID: cm.ID, Labels: []sdk.Label{
			{Name: "testplugin.count", Score: min(1, float64(n)/10), Reason: fmt.Sprintf("seen %d times", n)},
			{Name: "testplugin.env", Score: 0, Reason: env},
		}}
	}
	return out, nil
}

func main() {
	if f := os.Getenv("TESTPLUGIN_MARKER"); f != "" {
		fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(fh, "start %d\n", os.Getpid())
			fh.Close()
		}
	}
	if f := os.Getenv("TESTPLUGIN_STDIN"); f != "" {
		_ = os.WriteFile(f, []byte(readStdin()), 0o644)
	}
	if os.Getenv("TESTPLUGIN_MODE") == "exit" {
		fmt.Fprintln(os.Stderr, "testplugin: exiting at start-up as asked")
		os.Exit(3)
	}
	sdk.Serve(sdk.Plugin{
		Info: sdk.Info{
			Name: "testplugin", Version: "1.0.0", Labels: []string{"testplugin.count", "testplugin.env"},
			Config: []sdk.ConfigField{{Name: "threshold", Type: "float"}},
		},
		Analyzer: &counter{},
	})
}

// readStdin returns what one read of standard input gave: the bytes, "EOF"
// or the error. A read of an empty pipe whose writer stays open would block
// for ever, so it is given 2s and then reported as "BLOCKED" (the read is
// left behind; the plugin starts regardless).
func readStdin() string {
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 4096)
		n, err := os.Stdin.Read(buf)
		switch {
		case n > 0:
			got <- string(buf[:n])
		case errors.Is(err, io.EOF):
			got <- "EOF"
		default:
			got <- fmt.Sprintf("error: %v", err)
		}
	}()
	select {
	case s := <-got:
		return s
	case <-time.After(2 * time.Second):
		return "BLOCKED"
	}
}
