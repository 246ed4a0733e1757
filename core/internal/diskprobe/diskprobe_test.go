package diskprobe

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunWritesEveryArrivalAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	r, err := Run(context.Background(), dir, Options{Rate: 1000, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Records != 200 {
		t.Errorf("records = %d, want 200 (1000/s for 200ms)", r.Records)
	}
	if r.Syncs < 1 || r.Syncs > r.Records {
		t.Errorf("syncs = %d for %d records", r.Syncs, r.Records)
	}
	if !(0 < r.P50 && r.P50 <= r.P99 && r.P99 <= r.Max) {
		t.Errorf("latencies out of order: %v", r)
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("the probe left %v behind", left)
	}
}

func TestRunGroupsArrivalsThatWaitedForASync(t *testing.T) {
	// At 100,000/s no disk syncs once per arrival: whatever came while a
	// sync ran must share the next one.
	r, err := Run(context.Background(), t.TempDir(), Options{Rate: 100_000, Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Records != 10_000 || r.Syncs >= r.Records {
		t.Errorf("%v: want 10000 records in fewer syncs", r)
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		dir  string
		opts Options
		want string
	}{
		{"no rate", "", Options{Duration: time.Second}, "must be positive"},
		{"no duration", "", Options{Rate: 10}, "must be positive"},
		{"huge record", "", Options{Rate: 10, Duration: time.Second, RecordSize: fileSize + 1}, "larger than"},
		{"missing dir", filepath.Join(t.TempDir(), "nope"), Options{Rate: 10, Duration: time.Second}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			if dir == "" {
				dir = t.TempDir()
			}
			_, err := Run(context.Background(), dir, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestRunStopsWithTheContext(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// One arrival a second for an hour: only the context can end it.
	_, err := Run(ctx, dir, Options{Rate: 1, Duration: time.Hour})
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("the probe left %v behind", left)
	}
}
