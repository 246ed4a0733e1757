package cputime

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
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

// TestWaitedGrowsUnderContention runs more busy threads than there are
// CPUs, so some must wait for one.
func TestWaitedGrowsUnderContention(t *testing.T) {
	if _, err := os.Stat("/proc/self/task/" + strconv.Itoa(syscall.Gettid()) + "/schedstat"); err != nil {
		t.Skip("no schedstat on this system:", err)
	}
	before := Waited(os.Getpid())
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 * runtime.NumCPU() {
		wg.Go(func() {
			runtime.LockOSThread()
			for x := 0; !stop.Load(); x++ {
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()
	for start := time.Now(); Waited(os.Getpid()) <= before; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("run-queue wait stayed at %s with %d threads spinning on %d CPUs", before, 2*runtime.NumCPU(), runtime.NumCPU())
		}
	}
	if got := Waited(-1); got != 0 {
		t.Errorf("a process that does not exist waited %s", got)
	}
}
