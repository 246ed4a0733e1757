package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// progress shows how far a long command has got, on one rewritten line, when
// w is a terminal; piped or redirected, it stays silent so logs and scripts
// see only the result.
type progress struct {
	w     io.Writer
	what  string
	total int
	on    bool
	last  time.Time
}

func newProgress(w io.Writer, what string, total int) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, what: what, total: total, on: ok && term.IsTerminal(int(f.Fd()))}
}

// update reports done items, at most ten times a second.
func (p *progress) update(done int) {
	if !p.on || (done < p.total && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r%s: %d/%d (%d%%)", p.what, done, p.total, done*100/max(p.total, 1))
}

// count reports a count with no known total (bytes written, items done).
func (p *progress) count(done int) {
	if !p.on || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r%s: %d", p.what, done)
}

// countOrNil is count when there is a terminal to show it on, and nil
// otherwise, so that whoever would work to report progress (a daemon
// streaming it) need not.
func (p *progress) countOrNil() func(int) {
	if !p.on {
		return nil
	}
	return p.count
}

// done clears the line.
func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
