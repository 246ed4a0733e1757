package cputime

import (
	"os"
	"testing"
	"time"
)

func TestOfGrowsWithWork(t *testing.T) {
	before := Of(os.Getpid())
	x := 0
	for start := time.Now(); Of(os.Getpid()) < before+50*time.Millisecond; {
		for i := range 1_000_000 {
			x += i
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("CPU time stayed at %s after 30s of work", Of(os.Getpid()))
		}
	}
	_ = x
	if got := Of(-1); got != 0 {
		t.Errorf("a process that does not exist used %s", got)
	}
}
