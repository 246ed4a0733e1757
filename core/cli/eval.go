package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/moderatorbot/moderator/core/config"
	"github.com/moderatorbot/moderator/core/daemon"
	"github.com/moderatorbot/moderator/core/eval"
	"github.com/moderatorbot/moderator/core/pluginhost"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/spf13/cobra"
)

func (e *env) evalCmd() *cobra.Command {
	var dataset string
	var threshold float64
	var batch int
	cmd := &cobra.Command{
		Use:   "eval --dataset FILE.jsonl",
		Short: "Measure the configured analyzers on labelled comments",
		Long: "Run every [[analyzer]] of the config over a labelled dataset and report, per label,\n" +
			"true/false positives and negatives, precision, recall and F1. A label counts as predicted\n" +
			"when any analyzer scores it at or above --threshold. The dataset is JSON lines:\n\n" +
			"  {\"id\": \"c1\", \"text\": \"buy followers now\", \"labels\": [\"spam\"]}\n\n" +
			"where labels lists every label that is true for the text. Nothing is stored or acted on.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataset == "" {
				return usageError{fmt.Errorf("--dataset is required")}
			}
			if !(threshold > 0 && threshold <= 1) { // NaN too
				return usageError{fmt.Errorf("--threshold must be in (0,1], got %v", threshold)}
			}
			if batch < 1 {
				return usageError{fmt.Errorf("--batch must be at least 1, got %d", batch)}
			}
			f, err := os.Open(dataset)
			if err != nil {
				return err
			}
			examples, err := eval.ReadDataset(f, dataset)
			f.Close()
			if err != nil {
				return err
			}
			cfg, err := e.loadConfig()
			if err != nil {
				return err
			}
			if len(cfg.Analyzers) == 0 {
				return fmt.Errorf("%s has no [[analyzer]] to evaluate", e.configPath)
			}
			analyzers, stop, err := startAnalyzers(cmd, cfg)
			if err != nil {
				return err
			}
			defer stop()
			e.warnUnknownLabels(examples, analyzers)
			p := newProgress(e.stderr, "eval", len(examples))
			predicted, err := eval.Predict(cmd.Context(), examples, analyzers, batch, threshold, p.update)
			p.done()
			if err != nil {
				return err
			}
			report := eval.Score(examples, predicted)
			if e.json {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(report)
			}
			printReport(e.stdout, report, len(examples), threshold)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataset, "dataset", "", "labelled comments, JSON lines")
	cmd.Flags().Float64Var(&threshold, "threshold", 0.5, "score at which a label counts as predicted")
	cmd.Flags().IntVar(&batch, "batch", 100, "comments per Analyze call")
	cmd.Flags().BoolVar(&e.json, "json", false, "print JSON: per label tp, fp, fn, tn, precision, recall, f1")
	return cmd
}

// warnUnknownLabels names the dataset's labels that no analyzer declares:
// their recall is 0 by construction, which is a typo more often than a
// finding.
func (e *env) warnUnknownLabels(examples []eval.Example, analyzers []eval.Analyzer) {
	declared := map[string]bool{}
	for _, a := range analyzers {
		for _, l := range a.Labels {
			declared[l] = true
		}
	}
	warned := map[string]bool{}
	for _, ex := range examples {
		for _, l := range ex.Labels {
			if !declared[l] && !warned[l] {
				warned[l] = true
				fmt.Fprintf(e.stderr, "moderator: warning: the dataset's label %q is declared by none of the analyzers, so nothing can predict it\n", l)
			}
		}
	}
}

// startAnalyzers runs only the config's analyzers, with a throwaway KV: an
// evaluation must not touch the daemon's store (which may be open).
func startAnalyzers(cmd *cobra.Command, cfg *config.Config) ([]eval.Analyzer, func(), error) {
	log := daemon.NewLogger(config.Moderator{LogLevel: "error", LogFormat: cfg.Moderator.LogFormat}, cmd.ErrOrStderr())
	opts := daemon.HostOptions(cfg, log)
	opts.KV = func(string) sdk.KV { return sdk.NewMemoryKV() }
	host := pluginhost.New(opts, daemon.AnalyzerSpecs(cfg))
	if err := host.Start(cmd.Context()); err != nil {
		host.Stop()
		return nil, nil, err
	}
	var out []eval.Analyzer
	for _, in := range host.Instances() {
		p, err := in.Plugin(cmd.Context())
		if err != nil {
			host.Stop()
			return nil, nil, err
		}
		out = append(out, eval.Analyzer{Name: in.Name(), Analyzer: p, MaxBatch: in.Description().MaxBatch, Labels: in.Description().Labels})
	}
	return out, host.Stop, nil
}

func printReport(w io.Writer, r eval.Report, n int, threshold float64) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "LABEL\tTP\tFP\tFN\tTN\tPRECISION\tRECALL\tF1\t")
	for _, l := range r.Labels() {
		c := r[l]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.4f\t%.4f\t%.4f\t\n", l, c.TP, c.FP, c.FN, c.TN, c.Precision, c.Recall, c.F1)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d examples, threshold %.2f\n", n, threshold)
}
