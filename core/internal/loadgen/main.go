// Command loadgen sends webhook deliveries to a moderator host at a fixed
// rate and reports how many were acknowledged and how fast. It runs as its own
// process so that the host's measurements are not mixed with the load's
// (scheduling, garbage collection and CPU are separate, as they would be for
// a real platform).
//
// Each delivery is one or more new comments (unique, increasing ids) in the
// synthetic platform's webhook format, signed with -secret the way the
// platform signs them (core/internal/synthetic/platform). The schedule is
// open-loop: delivery i is due at start + i/rate whatever happened to the
// earlier ones, and its latency is measured from that due time, not from
// when a connection was free to send it. A closed loop (send, wait, send)
// slows down exactly when the host does, and so hides the slow answers it
// should be counting (coordinated omission).
//
//	loadgen -url http://127.0.0.1:8080/webhooks/syn -secret S -rate 5000 -duration 10s -json
//
// With -json it prints one object: target_rate, duration_s, sent, ok (2xx
// answers), errors (count by HTTP status, "transport" for no answer),
// elapsed_s (first due time to last answer), rate (ok answers per second of
// elapsed_s), p50_ms, p90_ms, p99_ms and max_ms (over every delivery,
// failures included at the time they failed), first_id and last_id (the
// comment ids sent), and cpu_s (this process's own CPU time while sending, to tell when the
// load generator rather than the host is the limit).
//
// -latencies FILE writes every delivery's due time, latency and status, one
// per line: the percentiles say how many answers were slow, this says when.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/moderatorbot/moderator/core/internal/synthetic/platform"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// clockStarts, when set (by tests), is called once every connection is
// open and before the first delivery is due.
var clockStarts func()

// options are the command line.
type options struct {
	url         string
	secret      string
	rate        float64
	duration    time.Duration
	connections int
	comments    int
	timeout     time.Duration
	firstID     uint64
	post        string
	json        bool
	// latencies, when set, receives every delivery's latency (-latencies).
	latencies io.Writer
}

// Result is what one run measured; -json prints it.
type Result struct {
	TargetRate float64        `json:"target_rate"`
	DurationS  float64        `json:"duration_s"`
	Sent       int            `json:"sent"`
	OK         int            `json:"ok"`
	Errors     map[string]int `json:"errors"`
	ElapsedS   float64        `json:"elapsed_s"`
	Rate       float64        `json:"rate"`
	P50        float64        `json:"p50_ms"`
	P90        float64        `json:"p90_ms"`
	P99        float64        `json:"p99_ms"`
	Max        float64        `json:"max_ms"`
	FirstID    string         `json:"first_id"`
	LastID     string         `json:"last_id"`
	CPUS       float64        `json:"cpu_s"`
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.url, "url", "", "the host's webhook endpoint, e.g. http://127.0.0.1:8080/webhooks/syn")
	fs.StringVar(&o.secret, "secret", "", "the HMAC key deliveries are signed with (the connector's webhook_secret)")
	fs.Float64Var(&o.rate, "rate", 1000, "deliveries per second, on a fixed schedule")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send for")
	fs.IntVar(&o.connections, "connections", 256, "most requests in flight at once")
	fs.IntVar(&o.comments, "comments", 1, "comments per delivery")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "how long one delivery may take before it counts as a transport error")
	fs.Uint64Var(&o.firstID, "first-id", 0, "the first comment id (0: from the clock, so runs against the same host never repeat an id)")
	fs.StringVar(&o.post, "post", "1000", "the post the comments reply to")
	fs.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	latencies := fs.String("latencies", "", "write every delivery's due time, latency and status to this file, one per line (to find when the slow ones happened)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "loadgen: unexpected arguments %q\n", fs.Args())
		return 2
	case o.url == "" || o.secret == "":
		fmt.Fprintln(stderr, "loadgen: -url and -secret are required")
		return 2
	case o.rate <= 0 || o.duration <= 0 || o.connections <= 0 || o.comments <= 0 || o.timeout <= 0:
		fmt.Fprintln(stderr, "loadgen: -rate, -duration, -connections, -comments and -timeout must be positive")
		return 2
	}
	if *latencies != "" {
		f, err := os.Create(*latencies)
		if err != nil {
			fmt.Fprintln(stderr, "loadgen: -latencies:", err)
			return 1
		}
		defer f.Close()
		o.latencies = f
	}
	if o.firstID == 0 {
		// Nanoseconds since the epoch grow faster than any run sends, so
		// consecutive runs against one host never collide (a repeated id
		// would be a duplicate, which the host drops instead of queuing).
		o.firstID = uint64(time.Now().UnixNano())
	}
	res, err := load(context.Background(), o)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 1
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(res); err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stdout, "sent %d at %.0f/s for %s: %d ok (%.0f/s), errors %v\nlatency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (loadgen cpu %.1fs)\n",
		res.Sent, res.TargetRate, o.duration, res.OK, res.Rate, res.Errors, res.P50, res.P90, res.P99, res.Max, res.CPUS)
	return 0
}

// load runs the schedule and measures it.
func load(ctx context.Context, o options) (Result, error) {
	n := int(math.Round(o.rate * o.duration.Seconds()))
	if n < 1 {
		return Result{}, errors.New("-rate times -duration is less than one delivery")
	}
	if uint64(n)*uint64(o.comments) > math.MaxUint64-o.firstID {
		return Result{}, errors.New("-first-id leaves no room for the comment ids of this run")
	}

	u, err := url.Parse(o.url)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return Result{}, fmt.Errorf("-url %q: want http://host:port/path", o.url)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}

	// A platform Server is what signs and encodes deliveries (the
	// comment's wire form and signature), so the load is byte for byte
	// what the synthetic connector verifies in tests. It listens on a
	// loopback port nobody calls; that is the price of not copying the
	// format here.
	plat := platform.Start(platform.Options{Secret: o.secret})
	defer plat.Close()

	// Every delivery is encoded, signed and written out as HTTP/1.1 bytes
	// before the clock starts, and each worker writes them to its own
	// kept-alive connection and reads the answer on the same goroutine, as
	// wrk does. Going through net/http's client instead (a connection's
	// read and write loops, a request's goroutine hand-offs, JSON and HMAC
	// per request) cost about 75 µs of CPU per delivery on the cores the
	// host under test shares: the generator would measure itself.
	interval := float64(time.Second) / o.rate
	created := time.Now()
	wire := make([][]byte, n)
	batch := make([]platform.Comment, o.comments)
	var buf bytes.Buffer
	for i := range n {
		for j := range batch {
			id := o.firstID + uint64(i)*uint64(o.comments) + uint64(j)
			batch[j] = platform.Comment{
				ID: strconv.FormatUint(id, 10), PostID: o.post,
				AuthorID: strconv.Itoa(i % 997), Handle: "loadgen",
				Text:      fmt.Sprintf("load test comment %d, a calm and ordinary reply", id),
				CreatedAt: created.Add(time.Duration(float64(i) * interval)),
			}
		}
		req, err := plat.DeliveryRequest(ctx, o.url, batch...)
		if err != nil {
			return Result{}, err
		}
		buf.Reset()
		if err := req.Write(&buf); err != nil {
			return Result{}, fmt.Errorf("encode delivery %d: %w", i, err)
		}
		wire[i] = bytes.Clone(buf.Bytes())
	}
	// Every connection is open before the clock starts, as wrk does: a
	// platform's connections to a busy host are warm, and 256 handshakes
	// in the first few milliseconds measure the handshakes.
	conns := make([]*conn, o.connections)
	for i := range conns {
		c, err := dial(addr, o.timeout)
		if err != nil {
			for _, c := range conns[:i] {
				c.Close()
			}
			return Result{}, fmt.Errorf("connect to %s: %w", addr, err)
		}
		conns[i] = c
	}
	if clockStarts != nil {
		clockStarts()
	}
	cpuBefore := cpuSeconds()

	// Each worker is one request in flight at a time: -connections workers
	// bound the concurrency. A free worker claims the next delivery and
	// sleeps until it is due; a delivery that finds every worker busy waits
	// until one is free, and that wait is part of its latency, as it would
	// be for a platform sending on its own schedule.
	lat := make([]time.Duration, n)
	status := make([]int, n) // 0: no answer
	var next atomic.Int64
	start := time.Now()
	at := func(i int) time.Time { return start.Add(time.Duration(float64(i) * interval)) }
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				when := at(i)
				time.Sleep(time.Until(when))
				if c == nil {
					var err error
					if c, err = dial(addr, o.timeout); err != nil {
						lat[i] = time.Since(when)
						continue
					}
				}
				code, keep, err := c.roundTrip(wire[i], o.timeout)
				lat[i] = time.Since(when)
				if err == nil {
					status[i] = code
				}
				if err != nil || !keep {
					c.Close()
					c = nil
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	res := Result{
		TargetRate: o.rate, DurationS: o.duration.Seconds(), Sent: n, Errors: map[string]int{},
		ElapsedS: elapsed.Seconds(),
		FirstID:  strconv.FormatUint(o.firstID, 10),
		LastID:   strconv.FormatUint(o.firstID+uint64(n)*uint64(o.comments)-1, 10),
		CPUS:     cpuSeconds() - cpuBefore,
	}
	for _, code := range status {
		switch {
		case code >= 200 && code < 300:
			res.OK++
		case code == 0:
			res.Errors["transport"]++
		default:
			res.Errors[strconv.Itoa(code)]++
		}
	}
	res.Rate = float64(res.OK) / elapsed.Seconds()
	if o.latencies != nil {
		if err := writeLatencies(o.latencies, start, interval, lat, status); err != nil {
			return Result{}, fmt.Errorf("-latencies: %w", err)
		}
	}
	slices.Sort(lat)
	res.P50, res.P90, res.P99 = ms(percentile(lat, 0.50)), ms(percentile(lat, 0.90)), ms(percentile(lat, 0.99))
	res.Max = ms(lat[n-1])
	return res, nil
}

// conn is one kept-alive HTTP/1.1 connection to the host.
type conn struct {
	net.Conn
	r *bufio.Reader
}

func dial(addr string, timeout time.Duration) (*conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, r: bufio.NewReader(c)}, nil
}

// roundTrip writes one prepared request and reads its answer, body and all;
// keep is false when the connection cannot carry another request.
func (c *conn) roundTrip(req []byte, timeout time.Duration) (code int, keep bool, err error) {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return 0, false, err
	}
	if _, err := c.Write(req); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0, false, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, false, err
	}
	return resp.StatusCode, !resp.Close, nil
}

// percentile is the nearest-rank percentile of sorted, which is not empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	k := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cpuSeconds is the user and system CPU time this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// writeLatencies writes one line per delivery, in schedule order: when it
// was due (ms after the first was) and how long its answer took (ms), and
// the HTTP status (0: no answer), tab-separated, after a header that gives
// the first due time on the wall clock, to line the slow ones up with the
// host's logs.
func writeLatencies(w io.Writer, start time.Time, interval float64, lat []time.Duration, status []int) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# first due %s\n# due_ms\tlatency_ms\tstatus\n", start.UTC().Format(time.RFC3339Nano))
	for i, l := range lat {
		fmt.Fprintf(bw, "%.3f\t%.3f\t%d\n", float64(i)*interval/1e6, ms(l), status[i])
	}
	return bw.Flush()
}
