// Package diskprobe measures the floor that a synced write puts under any
// latency that waits for it, on the filesystem of a given directory.
//
// The webhook benchmark's p99 is the time from a delivery's due moment to
// its 2xx, and every 2xx waits for a synced commit. On a shared virtual
// disk that sync's own tail moves by a factor of ten from one minute to
// the next, so a latency figure means little without the floor measured
// beside it. The probe replays the same open-loop arrivals into the
// simplest durable log there is (one preallocated file, one writer that
// group-commits whatever arrived while its last sync ran) and reports the
// latencies that alone would give. Nothing can acknowledge durably faster
// on that disk at that moment.
package diskprobe

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Result is what one probe measured.
type Result struct {
	// Records is how many arrivals were written and synced.
	Records int
	// Syncs is how many syncs it took: arrivals that came while a sync ran
	// share the next one.
	Syncs int
	// P50, P99 and Max are latencies from each record's due moment to the
	// end of the sync that made it durable.
	P50, P99, Max time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%d records in %d syncs: p50 %v p99 %v max %v", r.Records, r.Syncs,
		r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond))
}

// Options says what load to replay.
type Options struct {
	// Rate is arrivals per second.
	Rate float64
	// Duration is how long arrivals come.
	Duration time.Duration
	// RecordSize is the bytes written per arrival (default 1 KiB, about a
	// webhook comment's share of a commit).
	RecordSize int
}

// fileSize bounds the log: it is preallocated and written round, so that a
// sync flushes data only, never a file's growth.
const fileSize = 8 << 20

// Run writes arrivals at opts.Rate for opts.Duration into a temporary file
// in dir, syncing in groups, and removes the file when done. It stops
// early, with ctx's error, when ctx ends.
func Run(ctx context.Context, dir string, opts Options) (Result, error) {
	if opts.Rate <= 0 || opts.Duration <= 0 {
		return Result{}, fmt.Errorf("disk probe: rate %g/s for %v: both must be positive", opts.Rate, opts.Duration)
	}
	if opts.RecordSize <= 0 {
		opts.RecordSize = 1 << 10
	}
	if opts.RecordSize > fileSize {
		return Result{}, fmt.Errorf("disk probe: record of %d bytes is larger than the %d-byte log", opts.RecordSize, fileSize)
	}
	f, err := os.CreateTemp(dir, "diskprobe-*")
	if err != nil {
		return Result{}, fmt.Errorf("disk probe: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := prefill(f); err != nil {
		return Result{}, fmt.Errorf("disk probe: prefill %s: %w", filepath.Base(f.Name()), err)
	}

	total := int(opts.Rate * opts.Duration.Seconds())
	if total < 1 {
		total = 1
	}
	interval := time.Duration(float64(time.Second) / opts.Rate)
	start := time.Now()
	due := func(i int) time.Time { return start.Add(time.Duration(i) * interval) }

	rec := make([]byte, opts.RecordSize)
	lat := make([]time.Duration, 0, total)
	var off int64
	syncs := 0
	for next := 0; next < total; {
		// Everything due by now is one group; when nothing is, wait for
		// the next arrival, as a writer idle between deliveries does.
		if wait := time.Until(due(next)); wait > 0 {
			select {
			case <-ctx.Done():
				return Result{}, fmt.Errorf("disk probe: %w", ctx.Err())
			case <-time.After(wait):
			}
		}
		now := time.Now()
		end := next
		for end < total && !due(end).After(now) {
			end++
		}
		for range end - next {
			if off+int64(len(rec)) > fileSize {
				off = 0
			}
			if _, err := f.WriteAt(rec, off); err != nil {
				return Result{}, fmt.Errorf("disk probe: write: %w", err)
			}
			off += int64(len(rec))
		}
		if err := f.Sync(); err != nil {
			return Result{}, fmt.Errorf("disk probe: sync: %w", err)
		}
		syncs++
		done := time.Now()
		for i := next; i < end; i++ {
			lat = append(lat, done.Sub(due(i)))
		}
		next = end
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	return Result{Records: len(lat), Syncs: syncs, P50: q(0.5), P99: q(0.99), Max: lat[len(lat)-1]}, nil
}

// prefill writes the whole log once and syncs it, so that the probe's
// writes land in allocated blocks, as a log's do once it has wrapped.
func prefill(f *os.File) error {
	buf := make([]byte, 1<<20)
	for n := 0; n < fileSize; n += len(buf) {
		if _, err := f.Write(buf); err != nil {
			return err
		}
	}
	return f.Sync()
}
