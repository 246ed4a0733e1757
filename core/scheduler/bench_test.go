package scheduler

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/core/ingress"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
)

// BenchmarkTrack100k loads 100,000 tracked posts from a durable store and
// lets the scheduler run while none is due, reporting the process's resident
// memory and the CPU the idle scheduler uses.
//
//	go test -run '^$' -bench Track100k -benchtime 1x ./core/scheduler
func BenchmarkTrack100k(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		st, err := store.Open(b.TempDir(), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		posts := make([]store.Post, 0, n)
		now := time.Now()
		for i := range n {
			posts = append(posts, store.Post{Connector: "x", ID: fmt.Sprintf("%019d", 1700000000000000000+i), Targets: []string{"author:a"}, CreatedAt: now})
		}
		if err := st.SavePosts(context.Background(), posts); err != nil {
			b.Fatal(err)
		}
		posts = nil
		conn := &fakeConn{clock: &clock{t: now}, comments: map[string][]string{}}
		s := New(Options{
			Store: st, Intake: ingress.NewIntake(st), MinInterval: time.Hour, MaxInterval: time.Hour,
			Connectors: []Connector{{Name: "x", Get: func(context.Context) (Client, error) { return conn, nil },
				Describe: func() sdk.Description {
					return sdk.Description{Info: sdk.Info{Name: "fake", MaxBatch: 100}, Capabilities: []string{sdk.CapPoll}}
				}}},
			// The author whose posts they are: a post no target watches is
			// forgotten at start.
			Targets: func(context.Context) ([]store.Target, error) {
				return []store.Target{{Connector: "x", Kind: sdk.TargetAuthor, ID: "a"}}, nil
			},
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		for s.Statuses() == nil || len(s.Statuses()) == 0 || s.Statuses()[0].Posts < n {
			time.Sleep(10 * time.Millisecond)
		}
		// What a long-running daemon holds: the garbage of loading is gone.
		debug.FreeOSMemory()
		cpu0 := cpuTime()
		wall := 5 * time.Second
		time.Sleep(wall)
		idle := float64(cpuTime()-cpu0) / float64(wall) * 100
		rss := rssMB()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		cancel()
		<-done
		st.Close()
		b.ReportMetric(rss, "rss-MB")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		b.ReportMetric(idle, "idle-cpu-%")
		b.ReportMetric(float64(conn.calls()), "polls-while-idle")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func rssMB() float64 {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
