// Command benchanalyzer serves one of the benchmark analyzers as a plugin;
// BENCH_ANALYZER (passed through the instance's env) picks "caps" or "words".
package main

import (
	"os"

	"github.com/moderatorbot/moderator/core/internal/benchanalyzer"
	"github.com/moderatorbot/moderator/sdk"
)

func main() {
	var a sdk.Analyzer = benchanalyzer.Words{}
	labels := []string{sdk.LabelSpam}
	if os.Getenv("BENCH_ANALYZER") == "caps" {
		a, labels = benchanalyzer.Caps{}, []string{"bench.caps"}
	}
	sdk.Serve(sdk.Plugin{Info: sdk.Info{Name: "bench", Version: "1.0.0", Labels: labels}, Analyzer: a})
}
