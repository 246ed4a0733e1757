package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/moderatorbot/moderator/core/config"
	"github.com/moderatorbot/moderator/core/daemon"
	"github.com/moderatorbot/moderator/core/pipeline"
	"github.com/moderatorbot/moderator/core/server"
	"github.com/moderatorbot/moderator/core/store"
)

// backend is what the state commands need: the running daemon's API, or the
// store opened directly when no daemon runs.
type backend interface {
	server.State
	Close()
}

var errNoDaemon = errors.New("the daemon is not running")

// connect returns the daemon's API when it answers, else the store opened
// directly, with the plugins started when withPlugins.
// connect finds the running daemon, or opens the store itself (with the
// plugins when withPlugins) after strict says the config is complete.
func (e *env) connect(ctx context.Context, cfg *config.Config, withPlugins bool, strict func() error) (backend, error) {
	rc, err := newRemote(cfg)
	if err == nil {
		if err = rc.ping(ctx); err == nil {
			return rc, nil
		}
	}
	if !errors.Is(err, errNoDaemon) {
		return nil, err
	}
	if withPlugins {
		if err := strict(); err != nil {
			return nil, err
		}
	}
	return daemon.OpenOffline(ctx, cfg, daemon.NewLogger(config.Moderator{LogLevel: "error", LogFormat: cfg.Moderator.LogFormat}, e.stderr), withPlugins)
}

// remote calls the daemon's admin API.
type remote struct {
	base, token, addr string
	client            *http.Client
}

func newRemote(cfg *config.Config) (*remote, error) {
	token, err := daemon.ReadAdminToken(cfg)
	if err != nil {
		return nil, errNoDaemon // no token anywhere: no daemon ever ran with this config
	}
	host, port, _ := net.SplitHostPort(cfg.HTTP.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return &remote{base: "http://" + net.JoinHostPort(host, port), token: token, addr: cfg.HTTP.Listen,
		client: &http.Client{Timeout: 10 * time.Minute}}, nil
}

func (r *remote) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return errNoDaemon
		}
		return fmt.Errorf("ask the daemon at %s: %w", r.addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error == "" {
			// Not the daemon's error shape: something else holds the port.
			return fmt.Errorf("%s %s answered %s, not as moderator's daemon does; is [http] listen (%s) another service's address?", method, path, resp.Status, r.addr)
		}
		switch resp.StatusCode {
		case http.StatusNotFound:
			return wrapped{e.Error, store.ErrNotFound}
		case http.StatusUnauthorized:
			return fmt.Errorf("the daemon at %s refused the admin token (set [http] admin_token to the daemon's)", r.addr)
		}
		return errors.New(e.Error)
	}
	if w, ok := out.(io.Writer); ok {
		_, err = io.Copy(w, resp.Body)
		return err
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

func (r *remote) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return r.do(ctx, http.MethodGet, "/api/v1/plugins", nil, nil)
}

func (r *remote) Decisions(ctx context.Context, f store.Filter) ([]store.Record, error) {
	q := url.Values{}
	for _, s := range f.States {
		q.Add("state", string(s))
	}
	for k, v := range map[string]string{"connector": f.Connector, "action": f.Action, "rule": f.Rule} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", fmt.Sprint(f.Limit))
	}
	if !f.Before.IsZero() {
		q.Set("before", f.Before.Format(time.RFC3339Nano))
		if f.BeforeID != "" {
			q.Set("before_id", f.BeforeID)
		}
	}
	path, key := "/api/v1/decisions", "decisions"
	if f.Review {
		path, key = "/api/v1/review", "review"
	}
	// The reply also says where the next page starts ("next"), when there
	// is one; the records are under key.
	var out map[string]json.RawMessage
	if err := r.do(ctx, http.MethodGet, path+"?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	var recs []store.Record
	if err := json.Unmarshal(out[key], &recs); err != nil {
		return nil, fmt.Errorf("%s from the daemon: %w", key, err)
	}
	return recs, nil
}

func (r *remote) Decision(ctx context.Context, id string) (store.Record, error) {
	var rec store.Record
	err := r.do(ctx, http.MethodGet, "/api/v1/decisions/"+url.PathEscape(id), nil, &rec)
	return rec, err
}

func (r *remote) Override(ctx context.Context, id, action, reason, by string) (store.Record, error) {
	var rec store.Record
	err := r.do(ctx, http.MethodPost, "/api/v1/decisions/"+url.PathEscape(id)+"/override",
		map[string]string{"action": action, "reason": reason, "by": by}, &rec)
	return rec, err
}

func (r *remote) Targets(ctx context.Context) ([]store.Target, error) {
	var out map[string][]store.Target
	err := r.do(ctx, http.MethodGet, "/api/v1/targets", nil, &out)
	return out["targets"], err
}

func (r *remote) AddTarget(ctx context.Context, t store.Target) error {
	req := server.TargetRequest{Connector: t.Connector, Kind: t.Kind, ID: t.ID, PollInterval: server.Duration(t.PollInterval)}
	return r.do(ctx, http.MethodPost, "/api/v1/targets", req, nil)
}

func (r *remote) RemoveTarget(ctx context.Context, connector, kind, id string) error {
	return r.do(ctx, http.MethodDelete, "/api/v1/targets/"+strings.Join([]string{url.PathEscape(connector), url.PathEscape(kind), url.PathEscape(id)}, "/"), nil, nil)
}

func (r *remote) Replay(ctx context.Context, req server.ReplayRequest, progress func(int)) (pipeline.ReplayReport, error) {
	var rep pipeline.ReplayReport
	req.Progress = progress != nil
	var body any
	if req != (server.ReplayRequest{}) {
		body = req
	}
	if progress == nil {
		err := r.do(ctx, http.MethodPost, "/api/v1/replay", body, &rep)
		return rep, err
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- r.do(ctx, http.MethodPost, "/api/v1/replay", body, pw); pw.Close() }()
	err := readReplay(pr, progress, &rep)
	pr.CloseWithError(err) // the request's copy ends if the reading did first
	if derr := <-done; derr != nil && !errors.Is(derr, io.ErrClosedPipe) {
		return rep, derr
	}
	return rep, err
}

// readReplay reads a replay's answer: the lines of a streamed one (see
// server.ReplayLine), or the report alone, as a daemon answers a replay it
// refuses at once.
func readReplay(r io.Reader, progress func(int), rep *pipeline.ReplayReport) error {
	dec := json.NewDecoder(r)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("the daemon's replay answer ended before its report")
			}
			return fmt.Errorf("read the daemon's replay answer: %w", err)
		}
		var line struct {
			server.ReplayLine
			// Changes is in a whole report, unstreamed, and in no line.
			Changes json.RawMessage `json:"changes"`
		}
		if err := json.Unmarshal(raw, &line); err != nil {
			return fmt.Errorf("read the daemon's replay answer: %w", err)
		}
		switch {
		case line.Changes != nil:
			return json.Unmarshal(raw, rep)
		case line.Error != "":
			return errors.New(line.Error)
		case line.Report != nil:
			*rep = *line.Report
			return nil
		default:
			progress(line.Replayed)
		}
	}
}

func (r *remote) Backup(ctx context.Context, w io.Writer) error {
	return r.do(ctx, http.MethodGet, "/api/v1/backup", nil, w)
}

func (r *remote) Close() {}

// wrapped is an error with the daemon's own words that still matches the
// sentinel its status stands for.
type wrapped struct {
	msg string
	is  error
}

func (w wrapped) Error() string { return w.msg }
func (w wrapped) Unwrap() error { return w.is }
