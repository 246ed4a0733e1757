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
	"strings"
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
	}
}

// Register adds the counters to r.
func (i *Intake) Register(r prometheus.Registerer) { r.MustRegister(i.in, i.dupes) }

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
type Webhooks struct {
	Prefix     string
	MaxBody    int64
	Timeout    time.Duration // for the connector's verdict; default 10s
	Logger     hclog.Logger
	Intake     *Intake
	Connectors map[string]func(context.Context) (sdk.WebhookHandler, error)
}

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
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	wh, err := get(ctx)
	if err != nil {
		// The platform retries deliveries we do not accept: say so rather
		// than pretend.
		h.Logger.Error("webhook: connector unavailable", "connector", name, "error", err)
		http.Error(w, "connector unavailable, retry later", http.StatusServiceUnavailable)
		return
	}
	resp, err := wh.Webhook(ctx, sdk.WebhookRequest{
		Method: r.Method, Path: sub, RawQuery: r.URL.RawQuery, Header: r.Header, Body: body, RemoteAddr: r.RemoteAddr,
	})
	if err != nil {
		h.Logger.Error("webhook: connector failed", "connector", name, "error", err)
		http.Error(w, "connector failed, retry later", http.StatusServiceUnavailable)
		return
	}
	// Only a delivery the connector accepted carries comments: a 401 for a
	// bad signature queues nothing, whatever else the reply holds.
	if resp.Status < 300 && len(resp.Comments) > 0 {
		if _, err := h.Intake.Queue(ctx, name, "webhook", resp.Comments, nil); err != nil {
			h.Logger.Error("webhook: queue comments", "connector", name, "comments", len(resp.Comments), "error", err)
			http.Error(w, "could not store the delivery, retry later", http.StatusServiceUnavailable)
			return
		}
	} else if resp.Status >= 400 {
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
