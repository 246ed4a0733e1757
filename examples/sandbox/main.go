// Command sandbox is a local stand-in for the platforms moderator watches:
// the X (Twitter) and Medium fakes (plugins/twitter/twittertest,
// plugins/medium/mediumtest) on one loopback address, an X account and a
// Medium writer with a few posts, and a steady stream of comments on them
// (clean, spam and abusive, from corpus/comments.jsonl; now and then an edit
// or a webhook delivered twice), found by poll, stream and webhook alike.
// Medium's webhook deliveries that are not answered 2xx (the daemon is down
// or restarting) are retried with backoff, as real senders do. Medium
// comments go only on the stories its feed lists (the newest 10), so with
// -posts over 10 the older Medium stories get none. It records every
// moderation call the platforms receive, so a person or a test can check
// what the bot did:
//
//	GET  /_sandbox/actions   every hide, unhide and delete X received
//	GET  /_sandbox/comments  every comment written, with what is true of it
//	POST /_sandbox/faults    {"platform":"twitter","fault":"rate_limit"}: rate_limit,
//	                         usage_cap, server_error, timeout, truncated, disconnect;
//	                         {"clear":true} (or with "platform") ends them
//
// A fault replaces the platform's previous one (disconnect, a one-off,
// replaces nothing). "times": N limits server_error, timeout, truncated and
// Medium's rate_limit to the next N requests; any other fault, or clear,
// with times is a 400. Without times, rate_limit spends the rate window
// (429 until the window resets, within 15 minutes, as a real limit lifts),
// and the others last until cleared or replaced. usage_cap and disconnect
// are X's only. A known endpoint asked with the wrong method is a 405 with
// Allow.
//
// The default moderator.toml points at it: `make run` starts both.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8090", "address to serve both platforms on")
	every := fs.Duration("every", 2*time.Second, "how often a comment is written (0: never; POST nothing, just serve)")
	posts := fs.Int("posts", 3, "posts each platform starts with (Medium's feed lists the newest 10: Medium comments go on those only)")
	seed := fs.Uint64("seed", 1, "seed of the comment stream (the same seed writes the same comments)")
	twHook := fs.String("twitter-webhook", "", "also deliver each X reply to this Account Activity webhook URL (moderator's /webhooks/<connector>)")
	mdHook := fs.String("medium-webhook", "", "POST Medium's response events to this URL")
	mdSecret := fs.String("medium-webhook-secret", os.Getenv("SANDBOX_MEDIUM_WEBHOOK_SECRET"), "secret that signs them ($SANDBOX_MEDIUM_WEBHOOK_SECRET)")
	level := fs.String("log-level", "info", "trace, debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *every < 0 {
		return fmt.Errorf("-every %s: must not be negative", *every)
	}
	if *posts < 1 || *posts > 1000 {
		return fmt.Errorf("-posts %d: want 1 to 1000", *posts)
	}
	lvl := hclog.LevelFromString(*level)
	if lvl == hclog.NoLevel {
		return fmt.Errorf("-log-level %q: want trace, debug, info, warn or error", *level)
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "sandbox", Level: lvl})
	sb, err := New(Config{Seed: *seed, Posts: *posts, TwitterWebhook: *twHook, MediumWebhook: *mdHook, MediumWebhookSecret: *mdSecret, Logger: log})
	if err != nil {
		return err
	}
	defer sb.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: sb.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	log.Info("serving X and Medium", "url", "http://"+ln.Addr().String(), "x_account", TwitterAccount, "medium_author", MediumAuthor, "every", *every)
	if *every > 0 {
		go sb.Run(ctx, *every)
	}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
