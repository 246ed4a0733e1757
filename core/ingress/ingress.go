// Package ingress is how comments get into moderator: webhook deliveries
// forwarded to their connector for verification and decoding, and an intake
// that counts what every path (webhook, stream, poll) brings in before it is
// durably queued.
package ingress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
	"github.com/prometheus/client_golang/prometheus"
)

// Store is the durable queue comments go into.
type Store interface {
	Intake(ctx context.Context, connector, source string, comments []sdk.Comment, cursors []store.CursorUpdate) (store.IntakeResult, error)
}

// Intake queues comments durably and counts them by connector and source.
type Intake struct {
	store     Store
	in, dupes *prometheus.CounterVec
	batches   *prometheus.HistogramVec
	stages    *prometheus.HistogramVec
}

// NewIntake wraps a store.
func NewIntake(s Store) *Intake {
	return &Intake{
		store: s,
		in: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moderator_comments_in_total", Help: "New comment versions durably queued, by connector and source (webhook, stream, poll)."},
			[]string{"connector", "source"}),
		dupes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moderator_comments_duplicate_total", Help: "Comment versions received again and dropped as duplicates."},
			[]string{"connector", "source"}),
		batches: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "moderator_webhook_batch_deliveries",
			Help:    "Webhook deliveries handled together in one connector call and one durable write.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}, []string{"connector"}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "moderator_webhook_batch_seconds",
			Help:    "Time a batch of webhook deliveries spent in each stage: waiting for a worker (its oldest delivery), the connector's verdict, then the durable write.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"connector", "stage"}),
	}
}

// Register adds the counters to r.
func (i *Intake) Register(r prometheus.Registerer) {
	r.MustRegister(i.in, i.dupes, i.batches, i.stages)
}

// Queue stores comments (and poll cursors) and returns once they are on disk.
func (i *Intake) Queue(ctx context.Context, connector, source string, comments []sdk.Comment, cursors []store.CursorUpdate) (store.IntakeResult, error) {
	res, err := i.store.Intake(ctx, connector, source, comments, cursors)
	if err != nil {
		return res, err
	}
	i.in.WithLabelValues(connector, source).Add(float64(len(res.New)))
	i.dupes.WithLabelValues(connector, source).Add(float64(res.Duplicates))
	return res, nil
}

// Webhooks serves {prefix}/{connector}[/...]: each request goes to the named
// connector's webhook capability, which verifies it and says what to answer;
// the comments it carried are on disk before that answer is sent.
//
// Deliveries that arrive while earlier ones are being handled are handled
// together: one call to the connector and one durable write for all of them
// (group commit), so that the cost per delivery falls as the load rises
// instead of the queue growing. A delivery that arrives when nothing else is
// in hand goes alone and waits for no one; one that arrives while another
// batch is in hand waits up to Linger for company (see Linger).
type Webhooks struct {
	Prefix     string
	MaxBody    int64
	Timeout    time.Duration // for the connector's verdict and the write; default 10s
	Logger     hclog.Logger
	Intake     *Intake
	Connectors map[string]func(context.Context) (sdk.WebhookHandler, error)
	// Workers is how many batches of one connector may be in hand at once;
	// default GOMAXPROCS. More only makes batches smaller: each costs a
	// connector call and a synced write, and the CPU is what they share
	// (at 5,000 deliveries/s on two cores, 2 gave a median p99 of 24 ms
	// over 9 runs, 4 gave 37).
	Workers int
	// Linger is how long a small batch (under lingerBatch deliveries)
	// waits for more while another batch of the same connector is in hand;
	// default 1ms, negative: never. A connector call and a synced write
	// cost about the same for 2 deliveries as for 8, and under load the
	// batch a free worker would take at once is that small (at 5,000
	// deliveries/s on two cores: 3 without lingering, 5-6 with it, and
	// 5-9% less CPU per delivery in the host and the connector). Alone, a
	// delivery never waits.
	Linger time.Duration

	mu       sync.Mutex
	batchers map[string]*batcher
}

// BatchHandler is a WebhookHandler that takes several deliveries in one call
// (sdk.RemotePlugin: one gRPC call instead of one per delivery).
type BatchHandler interface {
	WebhookBatch(ctx context.Context, reqs []sdk.WebhookRequest) ([]sdk.WebhookOutcome, error)
}

// Batches are bounded so one call stays small next to gRPC's message limit
// and one slow batch does not hold too many platforms' answers.
const (
	maxBatch      = 256
	maxBatchBytes = 8 << 20
)

// lingerBatch is the batch size past which lingering gains little: the
// fixed cost of a call and a write is mostly paid off by then.
const lingerBatch = 8

// delivery is one request waiting for its batch.
type delivery struct {
	req  sdk.WebhookRequest
	out  sdk.WebhookOutcome
	done chan struct{}
	// stored is false when the connector accepted the delivery but its
	// comments could not be written.
	stored bool
	// taken: a worker has it; it can no longer be withdrawn.
	taken bool
	// queued is when it was submitted.
	queued time.Time
}

// batcher gathers the deliveries of one connector.
type batcher struct {
	h       *Webhooks
	name    string
	get     func(context.Context) (sdk.WebhookHandler, error)
	mu      sync.Mutex
	pending []*delivery
	running int
	// inHand counts batches being handled; filled wakes a lingering
	// worker when lingerBatch deliveries are pending.
	inHand int
	filled chan struct{}
	// sizes counts deliveries per batch, for the operator; wait, verdict
	// and write time the stages.
	sizes, wait, verdict, write prometheus.Observer
}

func (h *Webhooks) batcher(name string, get func(context.Context) (sdk.WebhookHandler, error)) *batcher {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.batchers == nil {
		h.batchers = map[string]*batcher{}
	}
	b := h.batchers[name]
	if b == nil {
		b = &batcher{h: h, name: name, get: get, filled: make(chan struct{}, 1), sizes: h.Intake.batches.WithLabelValues(name),
			wait:    h.Intake.stages.WithLabelValues(name, "wait"),
			verdict: h.Intake.stages.WithLabelValues(name, "connector"), write: h.Intake.stages.WithLabelValues(name, "store")}
		h.batchers[name] = b
	}
	return b
}

// submit queues d and starts a worker if fewer than the limit are running.
func (b *batcher) submit(d *delivery) {
	d.queued = time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = append(b.pending, d)
	if len(b.pending) == lingerBatch {
		select {
		case b.filled <- struct{}{}:
		default:
		}
	}
	workers := b.h.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if b.running < workers {
		b.running++
		go b.work()
	}
}

// withdraw takes d back if no worker has it yet.
func (b *batcher) withdraw(d *delivery) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d.taken {
		return false
	}
	for i, p := range b.pending {
		if p == d {
			b.pending = append(b.pending[:i], b.pending[i+1:]...)
			break
		}
	}
	return true
}

// work handles batches until nothing is pending.
func (b *batcher) work() {
	var timer *time.Timer
	for {
		b.mu.Lock()
		if len(b.pending) == 0 {
			b.running--
			b.mu.Unlock()
			return
		}
		if wait := b.linger(); wait > 0 {
			b.mu.Unlock()
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-timer.C:
			case <-b.filled:
			}
			continue
		}
		n, size := 0, 0
		for n < len(b.pending) && n < maxBatch && (n == 0 || size+len(b.pending[n].req.Body) <= maxBatchBytes) {
			size += len(b.pending[n].req.Body)
			b.pending[n].taken = true
			n++
		}
		batch := slices.Clone(b.pending[:n])
		b.pending = append(b.pending[:0], b.pending[n:]...)
		b.inHand++
		b.mu.Unlock()
		b.wait.Observe(time.Since(batch[0].queued).Seconds()) // the longest wait of the batch
		b.handle(batch)
		b.mu.Lock()
		b.inHand--
		b.mu.Unlock()
	}
}

// linger is how much longer the pending deliveries should wait for more
// before a worker takes them; b.mu is held.
func (b *batcher) linger() time.Duration {
	d := b.h.Linger
	if d == 0 {
		d = time.Millisecond
	}
	if d < 0 || b.inHand == 0 || len(b.pending) >= lingerBatch {
		return 0
	}
	return d - time.Since(b.pending[0].queued)
}

// handle asks the connector about a batch, writes what it accepted in one
// commit, and releases every delivery's waiter.
func (b *batcher) handle(batch []*delivery) {
	defer func() {
		for _, d := range batch {
			close(d.done)
		}
	}()
	b.sizes.Observe(float64(len(batch)))
	timeout := b.h.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	// The batch is nobody's request alone: it runs to its own deadline even
	// when one platform hangs up.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	fail := func(err error) {
		for _, d := range batch {
			d.out.Err = err
		}
	}
	start := time.Now()
	wh, err := b.get(ctx)
	if err != nil {
		fail(fmt.Errorf("connector unavailable: %w", err))
		return
	}
	if bh, ok := wh.(BatchHandler); ok {
		reqs := make([]sdk.WebhookRequest, len(batch))
		for i, d := range batch {
			reqs[i] = d.req
		}
		outs, err := bh.WebhookBatch(ctx, reqs)
		if err == nil && len(outs) != len(batch) {
			err = fmt.Errorf("%d outcomes for %d deliveries", len(outs), len(batch))
		}
		if err != nil {
			fail(err)
			return
		}
		for i, d := range batch {
			d.out = outs[i]
		}
	} else {
		for _, d := range batch {
			d.out.Response, d.out.Err = wh.Webhook(ctx, d.req)
		}
	}
	b.verdict.Observe(time.Since(start).Seconds())
	// Only a delivery the connector accepted carries comments: a 401 for a
	// bad signature queues nothing, whatever else the reply holds.
	var comments []sdk.Comment
	for _, d := range batch {
		d.stored = true
		if d.out.Err == nil && d.out.Response.Status < 300 {
			comments = append(comments, d.out.Response.Comments...)
		}
	}
	if len(comments) == 0 {
		return
	}
	start = time.Now()
	_, err = b.h.Intake.Queue(ctx, b.name, "webhook", comments, nil)
	b.write.Observe(time.Since(start).Seconds())
	if err != nil {
		b.h.Logger.Error("webhook: queue comments", "connector", b.name, "deliveries", len(batch), "comments", len(comments), "error", err)
		for _, d := range batch {
			if d.out.Err == nil && d.out.Response.Status < 300 && len(d.out.Response.Comments) > 0 {
				d.stored = false
			}
		}
	}
}

// ErrNoWebhooks is what a connector getter returns for a connector that
// does not declare the webhook capability: its deliveries get 404.
var ErrNoWebhooks = errors.New("takes no webhooks")

func (h *Webhooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, h.Prefix+"/")
	name, sub, _ := strings.Cut(rest, "/")
	if sub != "" {
		sub = "/" + sub
	}
	get, ok := h.Connectors[name]
	if !ok {
		http.Error(w, fmt.Sprintf("no connector %q takes webhooks here", name), http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("body larger than %d bytes", h.MaxBody), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	d := &delivery{
		req:  sdk.WebhookRequest{Method: r.Method, Path: sub, RawQuery: r.URL.RawQuery, Header: r.Header, Body: body, RemoteAddr: r.RemoteAddr},
		done: make(chan struct{}),
	}
	b := h.batcher(name, get)
	b.submit(d)
	select {
	case <-d.done:
	case <-r.Context().Done():
		if b.withdraw(d) {
			return // gone before anyone handled it: nothing was stored
		}
		<-d.done // in a batch already: its outcome is on its way
	}
	if errors.Is(d.out.Err, ErrNoWebhooks) {
		// Not a failure a retry cures: a 5xx would have the platform
		// retry for ever.
		h.Logger.Warn("webhook for a connector that takes none", "connector", name, "remote", r.RemoteAddr)
		http.Error(w, fmt.Sprintf("connector %q takes no webhooks", name), http.StatusNotFound)
		return
	}
	if d.out.Err != nil {
		// The platform retries deliveries we do not accept: say so rather
		// than pretend.
		h.Logger.Error("webhook: connector failed", "connector", name, "error", d.out.Err)
		http.Error(w, "connector failed, retry later", http.StatusServiceUnavailable)
		return
	}
	if !d.stored {
		http.Error(w, "could not store the delivery, retry later", http.StatusServiceUnavailable)
		return
	}
	resp := d.out.Response
	if resp.Status >= 400 {
		h.Logger.Warn("webhook refused by its connector", "connector", name, "status", resp.Status, "remote", r.RemoteAddr)
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}
