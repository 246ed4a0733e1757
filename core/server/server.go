// Package server serves moderator's one HTTP listener: liveness, readiness,
// Prometheus metrics, and the admin API and Go's profiles behind a bearer
// token.
package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/core/internal/redact"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure the listener and what it reports on.
type Options struct {
	Addr         string
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// AdminToken guards /api/v1; it must not be empty.
	AdminToken string
	Logger     hclog.Logger
	// Ready says whether the daemon can do its work, and why not.
	Ready func() (bool, []string)
	// API backs /api/v1.
	API API
	// Webhooks serves WebhookPrefix + "/".
	WebhookPrefix string
	Webhooks      http.Handler
	// Gatherer serves /metrics.
	Gatherer prometheus.Gatherer
	// Redact, when set, cleans every JSON answer behind the admin token of
	// what it must not show (config.Config.Redact).
	Redact func(string) string
}

// Server is the running listener.
type Server struct {
	opts Options
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Start listens and serves in the background.
func Start(opts Options) (*Server, error) {
	if opts.AdminToken == "" {
		return nil, errors.New("server: an admin token is required")
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	s := &Server{opts: opts, done: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	if opts.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	}
	if opts.API != nil {
		s.routes(mux)
	}
	if opts.Webhooks != nil {
		mux.Handle(opts.WebhookPrefix+"/", opts.Webhooks)
	}
	// Go's profiles, for an operator chasing CPU or memory (go tool pprof
	// reads what these return). They show the process's internals and a
	// CPU profile costs CPU while it runs: the admin token guards them.
	mux.Handle("GET /debug/pprof/", s.admin(pprof.Index))
	mux.Handle("GET /debug/pprof/cmdline", s.admin(pprof.Cmdline))
	mux.Handle("GET /debug/pprof/profile", s.admin(pprof.Profile))
	mux.Handle("GET /debug/pprof/symbol", s.admin(pprof.Symbol))
	mux.Handle("GET /debug/pprof/trace", s.admin(pprof.Trace))
	// What no route under the token takes, the token guards too: without
	// it, nothing is told about which paths exist, whatever the method.
	mux.Handle("/debug/pprof/", s.admin(unrouted(mux, "/debug/pprof/", "no such profile endpoint")))
	mux.Handle("/api/", s.admin(unrouted(mux, "/api/", "no such API endpoint")))

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", opts.Addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           mux,
		ReadTimeout:       opts.ReadTimeout,
		ReadHeaderTimeout: opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		ErrorLog:          opts.Logger.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the listener is bound to.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Shutdown stops accepting and waits for requests in flight, until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serveErr := <-s.done; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return err
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	ok, why := true, []string(nil)
	if s.opts.Ready != nil {
		ok, why = s.opts.Ready()
	}
	if !ok {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "reasons": why})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
}

// admin requires the bearer token. The comparison takes the same time
// whatever the token, so it cannot be guessed byte by byte.
func (s *Server) admin(h http.HandlerFunc) http.Handler {
	want := []byte(s.opts.AdminToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The scheme is case-insensitive (RFC 9110, section 11.1).
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || len(want) == 0 || subtle.ConstantTimeCompare([]byte(token), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="moderator"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong admin token")
			return
		}
		h(redact.JSON(w, s.opts.Redact), r)
	})
}

// unrouted answers the requests that fall through to the catch-all
// pattern fallback: 405 Method Not Allowed, with an Allow header, when the
// path is a route's under other methods; 404 when it is no route's at all.
// (ServeMux would answer 405 itself, but the catch-all, which matches every
// method, takes the request first.)
func unrouted(mux *http.ServeMux, fallback, notFound string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(mux, r, fallback); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s: use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
			return
		}
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s: %s %s", notFound, r.Method, r.URL.Path))
	}
}

// allowedMethods lists the methods for which mux routes r's path to
// something other than the catch-all fallback.
func allowedMethods(mux *http.ServeMux, r *http.Request, fallback string) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != fallback {
			allow = append(allow, m)
		}
	}
	return allow
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": strings.TrimSpace(msg)})
}
