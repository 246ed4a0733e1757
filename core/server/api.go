package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/moderatorbot/moderator/core/pipeline"
	"github.com/moderatorbot/moderator/core/pluginhost"
	"github.com/moderatorbot/moderator/core/store"
)

// API is what the admin API exposes of the running daemon.
type API interface {
	Plugins() []pluginhost.Status
	State
}

// State is the moderation state the API serves: what the CLI also reaches
// directly in the store when no daemon runs.
type State interface {
	Decisions(ctx context.Context, f store.Filter) ([]store.Record, error)
	Decision(ctx context.Context, id string) (store.Record, error)
	Override(ctx context.Context, id, action, reason, by string) (store.Record, error)
	Targets(ctx context.Context) ([]store.Target, error)
	AddTarget(ctx context.Context, t store.Target) error
	RemoveTarget(ctx context.Context, connector, kind, id string) error
	// Replay calls progress, when it is not nil, with the number of
	// decisions replayed so far.
	Replay(ctx context.Context, req ReplayRequest, progress func(done int)) (pipeline.ReplayReport, error)
	Backup(ctx context.Context, w io.Writer) error
}

// OverrideRequest is the body of POST /api/v1/decisions/{id}/override.
type OverrideRequest struct {
	Action string `json:"action"`
	Reason string `json:"reason"`
	By     string `json:"by"`
}

func (s *Server) routes(mux *http.ServeMux) {
	a := s.opts.API
	mux.Handle("GET /api/v1/plugins", s.admin(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"plugins": a.Plugins()})
	}))
	mux.Handle("GET /api/v1/decisions", s.admin(func(w http.ResponseWriter, r *http.Request) {
		f, err := parseFilter(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		recs, err := a.Decisions(r.Context(), f)
		reply(w, listing("decisions", recs, f), err)
	}))
	mux.Handle("GET /api/v1/review", s.admin(func(w http.ResponseWriter, r *http.Request) {
		f, err := parseFilter(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		f.Review = true
		recs, err := a.Decisions(r.Context(), f)
		reply(w, listing("review", recs, f), err)
	}))
	mux.Handle("GET /api/v1/decisions/{id}", s.admin(func(w http.ResponseWriter, r *http.Request) {
		rec, err := a.Decision(r.Context(), r.PathValue("id"))
		reply(w, rec, err)
	}))
	mux.Handle("POST /api/v1/decisions/{id}/override", s.admin(func(w http.ResponseWriter, r *http.Request) {
		var req OverrideRequest
		if !readJSON(w, r, &req) {
			return
		}
		rec, err := a.Override(r.Context(), r.PathValue("id"), req.Action, req.Reason, req.By)
		reply(w, rec, err)
	}))
	mux.Handle("GET /api/v1/targets", s.admin(func(w http.ResponseWriter, r *http.Request) {
		ts, err := a.Targets(r.Context())
		reply(w, map[string]any{"targets": nonNil(ts)}, err)
	}))
	mux.Handle("POST /api/v1/targets", s.admin(func(w http.ResponseWriter, r *http.Request) {
		var req TargetRequest
		if !readJSON(w, r, &req) {
			return
		}
		// When it was added and how are the daemon's to say, not the
		// client's; the reply is the target as it is kept.
		t := store.Target{Connector: req.Connector, Kind: req.Kind, ID: req.ID, PollInterval: time.Duration(req.PollInterval),
			AddedAt: time.Now().UTC(), Source: "runtime"}
		if err := a.AddTarget(r.Context(), t); err != nil {
			reply(w, nil, err)
			return
		}
		writeJSON(w, http.StatusCreated, t)
	}))
	mux.Handle("DELETE /api/v1/targets/{connector}/{kind}/{id}", s.admin(func(w http.ResponseWriter, r *http.Request) {
		err := a.RemoveTarget(r.Context(), r.PathValue("connector"), r.PathValue("kind"), r.PathValue("id"))
		reply(w, map[string]string{"status": "removed"}, err)
	}))
	mux.Handle("POST /api/v1/replay", s.admin(func(w http.ResponseWriter, r *http.Request) {
		var req ReplayRequest
		if r.ContentLength != 0 && !readJSON(w, r, &req) { // no body: the daemon's own config
			return
		}
		// A replay takes as long as the store is big: the write timeout,
		// there for slow clients, would cut its answer off.
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Time{})
		if !req.Progress {
			rep, err := a.Replay(r.Context(), req, nil)
			reply(w, rep, err)
			return
		}
		streamReplay(w, rc, func(progress func(int)) (pipeline.ReplayReport, error) {
			return a.Replay(r.Context(), req, progress)
		})
	}))
	mux.Handle("GET /api/v1/backup", s.admin(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{}) // as long as the store takes
		w.Header().Set("Content-Type", "application/octet-stream")
		if err := a.Backup(r.Context(), w); err != nil {
			s.opts.Logger.Error("backup", "error", err)
		}
	}))
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// reply writes v, or the error with the status that fits it.
func reply(w http.ResponseWriter, v any, err error) {
	var bad *BadRequest
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, v)
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrExists), errors.Is(err, pipeline.ErrPending), errors.Is(err, pipeline.ErrCannotUndo):
		writeError(w, http.StatusConflict, err.Error())
	case errors.As(err, &bad), errors.Is(err, pipeline.ErrBadVerdict):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// TargetRequest is the body of POST /api/v1/targets. poll_interval is a
// duration string ("90s", as in the TOML) or, as the target listing gives
// it, nanoseconds.
type TargetRequest struct {
	Connector    string   `json:"connector"`
	Kind         string   `json:"kind"`
	ID           string   `json:"id"`
	PollInterval Duration `json:"poll_interval,omitempty"`
}

// Duration reads a JSON duration string ("90s") or a number of nanoseconds.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q (use Go syntax such as \"90s\", \"5m\")", s)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a duration string such as \"90s\", got %s", b)
	}
	*d = Duration(n)
	return nil
}

// ReplayRequest asks for a replay with another config than the daemon's:
// Config is the text of a moderator.toml, its ${VAR} read from the daemon's
// environment and relative paths from File's directory. Only its analyzers
// and policy are used. Empty: the daemon's own config.
type ReplayRequest struct {
	Config string `json:"config,omitempty"`
	File   string `json:"file,omitempty"`
	// Progress asks for the answer as a stream of ReplayLines
	// (application/x-ndjson): the count so far a few times a second, then
	// the report or the error. An error found before anything was
	// replayed (a config the daemon refuses) is answered as without it.
	Progress bool `json:"progress,omitempty"`
}

// ReplayLine is one line of a replay answered with progress: exactly one
// of its fields is set.
type ReplayLine struct {
	Replayed int                    `json:"replayed,omitempty"`
	Report   *pipeline.ReplayReport `json:"report,omitempty"`
	Error    string                 `json:"error,omitempty"`
}

// replayProgressEvery is how often a streamed replay says how far it is.
const replayProgressEvery = 200 * time.Millisecond

// streamReplay answers a replay with progress lines. The status line goes
// out with the first of them, so a replay refused at once still gets its
// 4xx.
func streamReplay(w http.ResponseWriter, rc *http.ResponseController, run func(progress func(int)) (pipeline.ReplayReport, error)) {
	enc := json.NewEncoder(w) // one Write a line
	started := false
	var last time.Time
	rep, err := run(func(done int) {
		if time.Since(last) < replayProgressEvery {
			return
		}
		last = time.Now()
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		_ = enc.Encode(ReplayLine{Replayed: done})
		_ = rc.Flush()
	})
	if !started {
		reply(w, rep, err)
		return
	}
	if err != nil {
		_ = enc.Encode(ReplayLine{Error: err.Error()})
		return
	}
	if rep.Changes == nil {
		rep.Changes = []pipeline.Change{}
	}
	_ = enc.Encode(ReplayLine{Report: &rep})
}

// BadRequest marks an error caused by what the client sent.
type BadRequest struct{ Err error }

func (e *BadRequest) Error() string { return e.Err.Error() }
func (e *BadRequest) Unwrap() error { return e.Err }

// maxRequestBody bounds an API request's body; the largest, an override,
// is a few hundred bytes.
const maxRequestBody = 1 << 20

// readJSON decodes the request's body, which must be one JSON object of
// the fields v has and nothing after it, or answers the client itself and
// returns false.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, next := dec.Token(); next != io.EOF {
			err = errors.New("more after the JSON object")
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", maxRequestBody))
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "request body: empty, want a JSON object")
	default:
		writeError(w, http.StatusBadRequest, "request body: "+err.Error())
	}
	return false
}

func parseFilter(r *http.Request) (store.Filter, error) {
	q := r.URL.Query()
	f := store.Filter{Connector: q.Get("connector"), Action: q.Get("action"), Rule: q.Get("rule"), Review: q.Get("review") == "true"}
	for _, s := range q["state"] {
		for _, st := range strings.Split(s, ",") {
			f.States = append(f.States, store.State(st))
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxLimit {
			return f, fmt.Errorf("limit must be 1..%d, got %q", store.MaxLimit, v)
		}
		f.Limit = n
	}
	if v := q.Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return f, fmt.Errorf("before must be an RFC 3339 time: %v", err)
		}
		f.Before = t
	}
	if f.BeforeID = q.Get("before_id"); f.BeforeID != "" && f.Before.IsZero() {
		return f, errors.New("before_id goes with before: the next page starts after the record seen at before with id before_id")
	}
	return f, f.Validate()
}

// listing is the reply to a listing: the records and, when the page is
// full, the query parameters that ask for the page after it.
func listing(key string, recs []store.Record, f store.Filter) map[string]any {
	out := map[string]any{key: nonNil(recs)}
	if n := len(recs); n > 0 && n == cmp.Or(f.Limit, store.DefaultLimit) {
		last := recs[n-1]
		out["next"] = map[string]string{"before": last.SeenAt.Format(time.RFC3339Nano), "before_id": last.ID}
	}
	return out
}
