package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/moderatorbot/moderator/core/daemon"
	"github.com/moderatorbot/moderator/core/pipeline"
	"github.com/moderatorbot/moderator/core/server"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/spf13/cobra"
)

// exactArgs is cobra.ExactArgs with the error marked as a usage error.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%q takes %s", cmd.CommandPath(), names)}
		}
		return nil
	}
}

// withBackend loads the config and connects to the daemon or the store.
// Talking to the daemon needs none of the plugins' secrets, so they need
// not be in the caller's environment; running plugins here does.
func (e *env) withBackend(cmd *cobra.Command, withPlugins bool, fn func(backend) error) error {
	cfg, unset, err := e.loadConfigLenient()
	if err != nil {
		return err
	}
	strict := func() error {
		if unset {
			_, err := e.loadConfig() // reports the unset variables
			return err
		}
		return nil
	}
	b, err := e.connect(cmd.Context(), cfg, withPlugins, strict)
	if err != nil {
		return err
	}
	defer b.Close()
	return fn(b)
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (e *env) decisionsCmd() *cobra.Command {
	var f store.Filter
	var states []string
	var before string
	list := &cobra.Command{
		Use: "list", Short: "List decisions, newest first", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, s := range states {
				f.States = append(f.States, store.State(s))
			}
			if before != "" {
				t, err := time.Parse(time.RFC3339Nano, before)
				if err != nil {
					return usageError{fmt.Errorf("--before %q: want an RFC 3339 time, such as a listed decision's seen_at", before)}
				}
				f.Before = t
			}
			if f.BeforeID != "" && f.Before.IsZero() {
				return usageError{errors.New("--before-id goes with --before: the page starts after the decision seen then with that id")}
			}
			if f.Limit < 1 || f.Limit > store.MaxLimit {
				return usageError{fmt.Errorf("--limit %d: want 1..%d", f.Limit, store.MaxLimit)}
			}
			if err := f.Validate(); err != nil {
				return usageError{fmt.Errorf("--%s", err)}
			}
			return e.withBackend(cmd, false, func(b backend) error {
				recs, err := b.Decisions(cmd.Context(), f)
				if err != nil {
					return err
				}
				if e.json {
					return e.printJSON(nonNil(recs))
				}
				printRecords(e.stdout, recs)
				if n := len(recs); n > 0 && n == f.Limit {
					last := recs[n-1]
					fmt.Fprintf(e.stdout, "more: add --before %s --before-id %s\n", last.SeenAt.Format(time.RFC3339Nano), last.ID)
				}
				return nil
			})
		},
	}
	list.Flags().StringSliceVar(&states, "state", nil, "only these states (seen, held, decided, acted, failed)")
	list.Flags().StringVar(&f.Connector, "connector", "", "only this connector instance")
	list.Flags().StringVar(&f.Action, "action", "", "only this action")
	list.Flags().StringVar(&f.Rule, "rule", "", "only this rule")
	list.Flags().IntVar(&f.Limit, "limit", 50, "at most this many")
	list.Flags().StringVar(&before, "before", "", "the next page: only decisions older than the one seen at this time (its seen_at), as the \"more:\" line gives")
	list.Flags().StringVar(&f.BeforeID, "before-id", "", "with --before: the id of the last decision of the previous page")
	list.Flags().BoolVar(&e.json, "json", false, "print JSON")

	show := &cobra.Command{
		Use: "show ID", Short: "Show a decision with its full explanation", Args: exactArgs(1, "one decision id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(cmd, false, func(b backend) error {
				rec, err := b.Decision(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if e.json {
					return e.printJSON(rec)
				}
				printRecord(e.stdout, rec)
				return nil
			})
		},
	}
	show.Flags().BoolVar(&e.json, "json", false, "print JSON")

	var action, reason, by string
	override := &cobra.Command{
		Use:   "override ID --action approve|flag|hide|delete",
		Short: "Replace a decision's outcome and make the platform match (approving a hidden comment unhides it)",
		Args:  exactArgs(1, "one decision id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if action == "" {
				return usageError{fmt.Errorf("--action is required")}
			}
			if err := pipeline.ValidVerdict(action); err != nil {
				return usageError{fmt.Errorf("--action %q: choose approve, flag, hide or delete", action)}
			}
			if by == "" {
				by = whoAmI()
			}
			return e.withBackend(cmd, true, func(b backend) error {
				rec, err := b.Override(cmd.Context(), args[0], action, reason, by)
				if err != nil {
					return err
				}
				if len(rec.Overrides) == 0 && rec.Decision != nil && rec.Decision.By != "" {
					// It was held: the verdict became its decision.
					d := rec.Decision
					what := "nothing to change on the platform"
					switch {
					case d.Platform != nil && d.Platform.Err != "":
						what = "platform: FAILED: " + d.Platform.Err
					case d.Platform != nil:
						what = "platform: " + d.Platform.Detail
					case rec.State == store.StateDecided && d.Action != sdk.ActionApprove:
						what = "the platform action is still pending: see decisions show"
					}
					fmt.Fprintf(e.stdout, "%s decided by hand: %s (%s)\n", rec.ID, d.Action, what)
					return nil
				}
				o := rec.Overrides[len(rec.Overrides)-1]
				what := "nothing to change on the platform"
				if o.Platform != nil {
					what = "platform: " + o.Platform.Detail
				}
				fmt.Fprintf(e.stdout, "%s overridden to %s (%s)\n", rec.ID, o.Action, what)
				return nil
			})
		},
	}
	override.Flags().StringVar(&action, "action", "", "the verdict: approve, flag, hide or delete")
	override.Flags().StringVar(&reason, "reason", "", "why, for the audit trail")
	override.Flags().StringVar(&by, "by", "", "who (default: $USER)")
	return group("decisions", "Review what moderator decided and why", list, show, override)
}

// whoAmI names the operator for the audit trail: $USER, else the account's
// login name (services and containers often run without $USER).
func whoAmI() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (e *env) reviewCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use: "review", Short: "List the comments waiting for a human (resolve them with decisions override)", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withBackend(cmd, false, func(b backend) error {
				recs, err := b.Decisions(cmd.Context(), store.Filter{Review: true, Limit: 1000})
				if err != nil {
					return err
				}
				if e.json {
					return e.printJSON(nonNil(recs))
				}
				if len(recs) == 0 {
					fmt.Fprintln(e.stdout, "The review queue is empty.")
					return nil
				}
				printRecords(e.stdout, recs)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&e.json, "json", false, "print JSON")
	return cmd
}

func (e *env) replayCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Re-run the config's analyzers and policy over stored comments and report what would change",
		Long: "Re-run the analyzers and policy of --config over every stored decision and report the ones that\n" +
			"would come out differently: edit a threshold or a word list, replay, then restart the daemon\n" +
			"with it. With the daemon running, the daemon replays the file as it is now (its secrets come\n" +
			"from the daemon's environment). The analyzers run in instances of their own whose writes are\n" +
			"dropped: nothing is acted on and nothing is written.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withBackend(cmd, false, func(b backend) error {
				var rep pipeline.ReplayReport
				var err error
				if off, ok := b.(*daemon.Offline); ok {
					// The analyzers start here: they need their secrets.
					if _, err := e.loadConfig(); err != nil {
						return err
					}
					p := newProgress(e.stderr, "replay", 0)
					rep, err = off.ReplayProgress(cmd.Context(), p.count)
					p.done()
				} else {
					// The daemon replays this file's analyzers and policy,
					// not its own: the point is to try an edit before
					// restarting with it.
					text, rerr := os.ReadFile(e.configPath)
					if rerr != nil {
						return rerr
					}
					abs, _ := filepath.Abs(e.configPath)
					p := newProgress(e.stderr, "replay", 0)
					rep, err = b.Replay(cmd.Context(), server.ReplayRequest{Config: string(text), File: abs}, p.countOrNil())
					p.done()
				}
				if err != nil {
					return err
				}
				if e.json {
					rep.Changes = nonNil(rep.Changes)
					return e.printJSON(rep)
				}
				return printReplay(e.stdout, rep)
			})
		},
	}
	cmd.Flags().BoolVar(&e.json, "json", false, "print JSON")
	return cmd
}

// printReplay writes a replay's report as a table: for each change, what
// stood (the policy's action, and a human's verdict that overrode it) and
// what the replayed policy would decide.
func printReplay(w io.Writer, rep pipeline.ReplayReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(rep.Changes) > 0 {
		fmt.Fprintln(tw, "ID\tWAS\tWOULD BE\tRULE\tTEXT")
	}
	for _, c := range rep.Changes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Was(), c.NewAction, dash(c.NewRule), excerpt(c.Comment.Text, 50))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d decisions replayed, %d would change, %d could not be analyzed now; nothing was acted on\n", rep.Replayed, rep.Changed, rep.Held)
	return err
}

func (e *env) targetsCmd() *cobra.Command {
	list := &cobra.Command{
		Use: "list", Short: "List targets from the config and those added at run time", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withBackend(cmd, false, func(b backend) error {
				ts, err := b.Targets(cmd.Context())
				if err != nil {
					return err
				}
				if e.json {
					return e.printJSON(nonNil(ts))
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "CONNECTOR\tKIND\tID\tPOLL INTERVAL\tSOURCE")
				for _, t := range ts {
					iv := "-"
					if t.PollInterval > 0 {
						iv = t.PollInterval.String()
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Connector, t.Kind, t.ID, iv, t.Source)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().BoolVar(&e.json, "json", false, "print JSON")
	var interval time.Duration
	add := &cobra.Command{
		Use: "add CONNECTOR KIND ID", Short: "Watch a post, author, publication or query (kept across restarts)",
		Long: "Watch a post, author, publication or query (kept across restarts). Every connector takes post\n" +
			"targets; author, publication and query targets only when the connector says in its Describe that\n" +
			"it can discover them. Another kind is refused, and nothing is stored.",
		Args: exactArgs(3, "CONNECTOR KIND ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			t := store.Target{Connector: args[0], Kind: args[1], ID: args[2], PollInterval: interval}
			cfg, unset, err := e.loadConfigLenient()
			if err != nil {
				return err
			}
			if err := daemon.CheckTarget(cfg, t); err != nil {
				return usageError{err}
			}
			return e.withBackend(cmd, false, func(b backend) error {
				if _, offline := b.(*daemon.Offline); offline && unset && t.Kind != sdk.TargetPost {
					// The connector is started here to say which kinds
					// it takes: it needs its secrets.
					if _, err := e.loadConfig(); err != nil {
						return err
					}
				}
				if err := b.AddTarget(cmd.Context(), t); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "watching %s %s on %s\n", t.Kind, t.ID, t.Connector)
				return nil
			})
		},
	}
	add.Flags().DurationVar(&interval, "poll-interval", 0, "poll this target at this interval instead of adaptively")
	remove := &cobra.Command{
		Use: "remove CONNECTOR KIND ID", Short: "Stop watching a target added at run time", Args: exactArgs(3, "CONNECTOR KIND ID"),
		Long: "Stop watching a target added at run time (a [[target]] of the config is removed by editing the file\n" +
			"and restarting, with the same effect). Once the command returns, the posts this target brought in are\n" +
			"no longer polled, in the running daemon and after restarts, and nothing more is queued from them: a\n" +
			"poll in flight drops what it brought for them. A post that another target also brought in (its own\n" +
			"post target, or another author, publication or query) stays watched. Comments queued before the\n" +
			"removal are still analyzed and acted on.",
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withBackend(cmd, false, func(b backend) error {
				if err := b.RemoveTarget(cmd.Context(), args[0], args[1], args[2]); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "no longer watching %s %s on %s\n", args[1], args[2], args[0])
				return nil
			})
		},
	}
	return group("targets", "Manage what moderator watches", add, list, remove)
}

func (e *env) backupCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use: "backup --out FILE", Short: "Write a consistent snapshot of the state (works while the daemon runs)", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{fmt.Errorf("--out is required (use - for stdout)")}
			}
			return e.withBackend(cmd, false, func(b backend) error {
				var w io.Writer = e.stdout
				var f *os.File
				if out != "-" {
					var err error
					if f, err = os.OpenFile(out+".partial", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600); err != nil {
						return err
					}
					defer os.Remove(out + ".partial")
					w = f
				}
				p := newProgress(e.stderr, "backup", 0)
				err := b.Backup(cmd.Context(), &countingWriter{w: w, p: p})
				p.done()
				if f != nil {
					if err == nil {
						err = f.Sync()
					}
					if err == nil {
						// The daemon's answer was 200 before it streamed the
						// backup: only its end marker says it all arrived.
						err = verifyFile(out + ".partial")
					}
					if cerr := f.Close(); err == nil {
						err = cerr
					}
					if err == nil {
						err = os.Rename(out+".partial", out)
					}
				}
				return err
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (- for stdout)")
	return cmd
}

func (e *env) restoreCmd() *cobra.Command {
	var in string
	var force bool
	cmd := &cobra.Command{
		Use: "restore --in FILE", Short: "Load a backup into an empty data directory (the daemon must be stopped)", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in == "" {
				return usageError{fmt.Errorf("--in is required")}
			}
			cfg, err := e.loadConfig()
			if err != nil {
				return err
			}
			if rc, err := newRemote(cfg); err == nil && rc.ping(cmd.Context()) == nil {
				return fmt.Errorf("the daemon is running on %s: stop it before restoring", cfg.HTTP.Listen)
			}
			f, err := os.Open(in)
			if err != nil {
				return err
			}
			defer f.Close()
			// Check the whole file before a byte of it is loaded, so that a
			// file that is not a whole backup changes nothing.
			if err := store.VerifyBackup(f); err != nil {
				return fmt.Errorf("%s: %w", in, err)
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			off, err := daemon.OpenOffline(cmd.Context(), cfg, daemon.NewLogger(cfg.Moderator, e.stderr), false)
			if err != nil {
				return err
			}
			defer off.Close()
			st, _ := f.Stat()
			p := newProgress(e.stderr, "restore", int(st.Size()))
			err = off.Restore(&countingReader{r: f, p: p}, force)
			p.done()
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "restored %s into %s\n", in, cfg.Moderator.DataDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "backup file")
	cmd.Flags().BoolVar(&force, "force", false, "restore into a data directory that already holds state")
	return cmd
}

func verifyFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := store.VerifyBackup(f); err != nil {
		return fmt.Errorf("the backup did not arrive whole: %w", err)
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	p *progress
	n int
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += n
	c.p.count(c.n)
	return n, err
}

type countingReader struct {
	r io.Reader
	p *progress
	n int
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	c.p.update(c.n)
	return n, err
}

func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func printRecords(w io.Writer, recs []store.Record) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEEN\tSTATE\tACTION\tRULE\tCONNECTOR\tAUTHOR\tTEXT")
	for _, r := range recs {
		action, rule := "-", "-"
		if r.Decision != nil {
			action, rule = r.Decision.Action, dash(r.Decision.Rule)
			if r.Decision.DryRun {
				action += " (dry run)"
			}
			if r.Decision.By != "" {
				action += " (by hand)"
			}
		}
		if len(r.Overrides) > 0 {
			action = fmt.Sprintf("%s → %s", action, r.Overrides[len(r.Overrides)-1].Action)
		}
		author := r.Comment.AuthorHandle
		if author == "" {
			author = r.Comment.AuthorID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.SeenAt.Local().Format("01-02 15:04:05"), r.State, action, rule,
			r.Comment.Connector, dash(author), excerpt(r.Comment.Text, 40))
	}
	tw.Flush()
}

func printRecord(w io.Writer, r store.Record) {
	c := r.Comment
	fmt.Fprintf(w, "Decision %s\n", r.ID)
	fmt.Fprintf(w, "  comment   %s on post %s (%s, via %s)\n", c.ID, c.PostID, c.Connector, r.Source)
	if c.URL != "" {
		fmt.Fprintf(w, "  url       %s\n", c.URL)
	}
	fmt.Fprintf(w, "  author    %s %s\n", c.AuthorID, c.AuthorHandle)
	if c.Version != "" {
		fmt.Fprintf(w, "  version   %s\n", c.Version)
	}
	fmt.Fprintf(w, "  text      %q\n", c.Text)
	fmt.Fprintf(w, "  state     %s (seen %s, updated %s)\n", r.State, r.SeenAt.Format(time.RFC3339), r.UpdatedAt.Format(time.RFC3339))
	if r.LastError != "" {
		fmt.Fprintf(w, "  error     %s\n", r.LastError)
	}
	d := r.Decision
	if d == nil {
		if r.InReview {
			fmt.Fprintf(w, "  review    waiting for a human: the analyzers cannot decide it (decisions override decides it)\n")
		}
		return
	}
	if len(d.Analyses) > 0 {
		fmt.Fprintf(w, "\nAnalyses\n")
	}
	for _, a := range d.Analyses {
		fmt.Fprintf(w, "  %s (%s %s, %.1f ms)\n", a.Analyzer, a.Plugin, a.Version, a.DurationMS)
		if a.Err != "" {
			fmt.Fprintf(w, "    FAILED, decided without it: %s\n", a.Err)
		}
		for _, l := range a.Labels {
			var spans []string
			for _, sp := range l.Spans {
				if sp.Start >= 0 && sp.End <= len(c.Text) && sp.Start <= sp.End {
					spans = append(spans, fmt.Sprintf("%q", c.Text[sp.Start:sp.End]))
				}
			}
			fmt.Fprintf(w, "    %-16s %.2f  %s", l.Name, l.Score, l.Reason)
			if len(spans) > 0 {
				fmt.Fprintf(w, "  [%s]", strings.Join(spans, ", "))
			}
			fmt.Fprintln(w)
		}
	}
	dry := ""
	if d.DryRun {
		dry = " (dry run: not applied)"
	}
	decided := d.At.Format(time.RFC3339)
	if d.By != "" {
		decided += " by " + d.By + ", by hand"
	}
	fmt.Fprintf(w, "\nDecision\n  rule      %s\n  action    %s%s\n  reason    %s\n  decided   %s\n", dash(d.Rule), d.Action, dry, d.Reason, decided)
	if p := d.Platform; p != nil {
		if p.Err != "" {
			fmt.Fprintf(w, "  platform  FAILED: %s\n", p.Err)
		} else {
			fmt.Fprintf(w, "  platform  changed=%v %s (%s)\n", p.Changed, p.Detail, p.At.Format(time.RFC3339))
		}
	}
	if r.InReview {
		fmt.Fprintf(w, "  review    waiting for a human\n")
	}
	for _, o := range r.Overrides {
		fmt.Fprintf(w, "\nOverride %s by %s: %s (%s)\n", o.At.Format(time.RFC3339), dash(o.By), o.Action, dash(o.Reason))
		if o.Platform != nil {
			fmt.Fprintf(w, "  platform  changed=%v %s\n", o.Platform.Changed, o.Platform.Detail)
		}
	}
}
