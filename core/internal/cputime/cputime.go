// Package cputime reads how much CPU processes have used, from /proc, for
// benchmarks that say which process (host, plugin, load generator) spent it.
package cputime

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Of returns the user and system CPU time the processes have used so far.
// A process that is gone, or a system without /proc, counts as zero.
func Of(pids ...int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command name, which may contain spaces: state is
		// the first, utime the 12th and stime the 13th, in clock ticks
		// (100 a second on Linux).
		f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(u+s) * 10 * time.Millisecond
	}
	return total
}
