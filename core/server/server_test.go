package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/core/pipeline"
	"github.com/moderatorbot/moderator/core/pluginhost"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/prometheus/client_golang/prometheus"
)

// fakeAPI answers from memory and records what it was asked.
type fakeAPI struct {
	records map[string]store.Record
	added   []store.Target
	filter  store.Filter
	replay  ReplayRequest
	// replayRun, when set, is what a replay does; backupDelay, how long a
	// backup takes.
	replayRun   func(progress func(int)) (pipeline.ReplayReport, error)
	backupDelay time.Duration
}

func (f *fakeAPI) Plugins() []pluginhost.Status {
	return []pluginhost.Status{{Instance: "rules", State: pluginhost.StateReady}}
}
func (f *fakeAPI) Decisions(_ context.Context, fl store.Filter) ([]store.Record, error) {
	f.filter = fl
	var out []store.Record
	for _, r := range f.records {
		out = append(out, r)
	}
	return out, nil
}
func (f *fakeAPI) Decision(_ context.Context, id string) (store.Record, error) {
	r, ok := f.records[id]
	if !ok {
		return r, fmt.Errorf("no %s: %w", id, store.ErrNotFound)
	}
	return r, nil
}
func (f *fakeAPI) Override(_ context.Context, id, action, _, _ string) (store.Record, error) {
	if err := pipeline.ValidVerdict(action); err != nil {
		return store.Record{}, err
	}
	if id == "busy" {
		return store.Record{}, pipeline.ErrPending
	}
	r, err := f.Decision(context.Background(), id)
	r.Overrides = append(r.Overrides, store.Override{Action: action})
	return r, err
}
func (f *fakeAPI) Targets(context.Context) ([]store.Target, error) { return f.added, nil }
func (f *fakeAPI) AddTarget(_ context.Context, t store.Target) error {
	if t.Kind == "bogus" {
		return &BadRequest{Err: fmt.Errorf("target kind %q", t.Kind)}
	}
	f.added = append(f.added, t)
	return nil
}
func (f *fakeAPI) RemoveTarget(context.Context, string, string, string) error {
	return fmt.Errorf("x: %w", store.ErrNotFound)
}
func (f *fakeAPI) Replay(_ context.Context, req ReplayRequest, progress func(int)) (pipeline.ReplayReport, error) {
	f.replay = req
	if f.replayRun != nil {
		if progress == nil {
			progress = func(int) {}
		}
		return f.replayRun(progress)
	}
	return pipeline.ReplayReport{Replayed: 3}, nil
}
func (f *fakeAPI) Backup(_ context.Context, w io.Writer) error {
	time.Sleep(f.backupDelay)
	_, err := w.Write([]byte("BACKUP"))
	return err
}

func start(t *testing.T, ready bool) (*Server, *fakeAPI) {
	return startWith(t, ready, Options{})
}

// startWith starts a server over a fresh fakeAPI with opts' timeouts.
func startWith(t *testing.T, ready bool, opts Options) (*Server, *fakeAPI) {
	api := &fakeAPI{records: map[string]store.Record{"abc": {ID: "abc", State: store.StateActed}}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(PluginCollector{Statuses: api.Plugins})
	s, err := Start(Options{Addr: "127.0.0.1:0", AdminToken: "tok", API: api, Gatherer: reg,
		ReadTimeout: opts.ReadTimeout, WriteTimeout: opts.WriteTimeout,
		Ready: func() (bool, []string) {
			if ready {
				return true, nil
			}
			return false, []string{"analyzer rules is quarantined"}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s, api
}

func call(t *testing.T, s *Server, method, path, token, body string) (int, string) {
	req, _ := http.NewRequest(method, "http://"+s.Addr().String()+path, strings.NewReader(body))
	switch {
	case strings.Contains(token, " "): // a whole header: scheme and token
		req.Header.Set("Authorization", token)
	case token != "":
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAPI(t *testing.T) {
	s, api := start(t, true)
	tests := []struct {
		name, method, path, token, body string
		status                          int
		want                            string
	}{
		{"healthz needs no token", "GET", "/healthz", "", "", 200, `"ok"`},
		{"readyz", "GET", "/readyz", "", "", 200, `"ready"`},
		{"metrics", "GET", "/metrics", "", "", 200, `moderator_plugin_up{instance="rules"`},
		{"no token", "GET", "/api/v1/plugins", "", "", 401, "missing or wrong admin token"},
		{"wrong token", "GET", "/api/v1/plugins", "tok2", "", 401, "missing or wrong admin token"},
		{"plugins", "GET", "/api/v1/plugins", "tok", "", 200, `"instance": "rules"`},
		{"the scheme in any case", "GET", "/api/v1/plugins", "bearer tok", "", 200, `"instance": "rules"`},
		{"another scheme", "GET", "/api/v1/plugins", "Basic tok", "", 401, "missing or wrong admin token"},
		{"unknown state", "GET", "/api/v1/decisions?state=acted,bogus", "tok", "", 400, `state \"bogus\": choose from seen, held`},
		{"unknown action", "GET", "/api/v1/decisions?action=obliterate", "tok", "", 400, `action \"obliterate\"`},
		{"decisions", "GET", "/api/v1/decisions?state=acted,failed&limit=5&connector=x", "tok", "", 200, `"id": "abc"`},
		{"bad limit", "GET", "/api/v1/decisions?limit=0", "tok", "", 400, "limit must be 1..1000"},
		{"bad before", "GET", "/api/v1/decisions?before=yesterday", "tok", "", 400, "RFC 3339"},
		{"before_id alone", "GET", "/api/v1/decisions?before_id=abc", "tok", "", 400, "before_id goes with before"},
		{"a page that is not full has no next", "GET", "/api/v1/decisions?limit=5", "tok", "", 200, `"decisions"`},
		{"one decision", "GET", "/api/v1/decisions/abc", "tok", "", 200, `"state": "acted"`},
		{"unknown decision", "GET", "/api/v1/decisions/nope", "tok", "", 404, "not found"},
		{"override", "POST", "/api/v1/decisions/abc/override", "tok", `{"action":"approve","reason":"r"}`, 200, `"action": "approve"`},
		{"override in progress", "POST", "/api/v1/decisions/busy/override", "tok", `{"action":"approve"}`, 409, "still being processed"},
		{"override to a non-verdict", "POST", "/api/v1/decisions/abc/override", "tok", `{"action":"obliterate"}`, 400, `choose approve, flag, hide or delete`},
		{"override with no verdict", "POST", "/api/v1/decisions/abc/override", "tok", `{}`, 400, `choose approve, flag, hide or delete`},
		{"override with more after the object", "POST", "/api/v1/decisions/abc/override", "tok", `{"action":"approve"} {"action":"delete"}`, 400, `more after the JSON object`},
		{"override with an empty body", "POST", "/api/v1/decisions/abc/override", "tok", ``, 400, `empty, want a JSON object`},
		{"override too big", "POST", "/api/v1/decisions/abc/override", "tok", `{"action":"approve","reason":"` + strings.Repeat("x", 1<<20) + `"}`, 413, `larger than 1048576 bytes`},
		{"override bad body", "POST", "/api/v1/decisions/abc/override", "tok", `{"verdict":"approve"}`, 400, `unknown field`},
		{"review", "GET", "/api/v1/review", "tok", "", 200, `"review"`},
		{"add target", "POST", "/api/v1/targets", "tok", `{"connector":"x","kind":"post","id":"1"}`, 201, `"id": "1"`},
		{"bad target", "POST", "/api/v1/targets", "tok", `{"connector":"x","kind":"bogus","id":"1"}`, 400, "bogus"},
		{"target with a duration", "POST", "/api/v1/targets", "tok", `{"connector":"x","kind":"post","id":"2","poll_interval":"90s"}`, 201, `"poll_interval": 90000000000`},
		{"target with nanoseconds", "POST", "/api/v1/targets", "tok", `{"connector":"x","kind":"post","id":"3","poll_interval":5000000000}`, 201, `"source": "runtime"`},
		{"target with a bad duration", "POST", "/api/v1/targets", "tok", `{"connector":"x","kind":"post","id":"4","poll_interval":"soon"}`, 400, `invalid duration \"soon\"`},
		{"target says when it was added", "POST", "/api/v1/targets", "tok", `{"connector":"x","kind":"post","id":"5","added_at":"2001-01-01T00:00:00Z"}`, 400, `unknown field \"added_at\"`},
		{"remove unknown target", "DELETE", "/api/v1/targets/x/post/9", "tok", "", 404, "not found"},
		{"replay", "POST", "/api/v1/replay", "tok", "", 200, `"replayed": 3`},
		{"replay a config", "POST", "/api/v1/replay", "tok", `{"config":"[moderator]","file":"/etc/m.toml"}`, 200, `"replayed": 3`},
		{"replay a bad body", "POST", "/api/v1/replay", "tok", `{"toml":"x"}`, 400, "unknown field \\\"toml\\\""},
		{"backup", "GET", "/api/v1/backup", "tok", "", 200, "BACKUP"},
		{"unknown endpoint", "GET", "/api/v1/nothing", "tok", "", 404, "no such API endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, s, tt.method, tt.path, tt.token, tt.body)
			if code != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("%s %s: %d %s; want %d ~%q", tt.method, tt.path, code, body, tt.status, tt.want)
			}
		})
	}
	if call(t, s, "POST", "/api/v1/replay", "tok", `{"config":"[moderator]","file":"/etc/m.toml"}`); api.replay != (ReplayRequest{Config: "[moderator]", File: "/etc/m.toml"}) {
		t.Errorf("replay asked for %+v", api.replay)
	}
	call(t, s, "GET", "/api/v1/decisions?state=acted,failed&limit=5&connector=x&rule=r1", "tok", "")
	if f := api.filter; len(f.States) != 2 || f.States[1] != store.StateFailed || f.Connector != "x" || f.Rule != "r1" || f.Limit != 5 || f.Review {
		t.Errorf("filter %+v", f)
	}
}

// A full page says where the next one starts; following it passes the
// position on to the store.
func TestListingPages(t *testing.T) {
	s, api := start(t, true)
	seen := time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)
	api.records = map[string]store.Record{"abc": {ID: "abc", SeenAt: seen, InReview: true}}
	for _, path := range []string{"/api/v1/decisions?limit=1", "/api/v1/review?limit=1"} {
		code, body := call(t, s, "GET", path, "tok", "")
		var reply struct {
			Next map[string]string `json:"next"`
		}
		if err := json.Unmarshal([]byte(body), &reply); code != 200 || err != nil {
			t.Fatalf("%s: %d %s (%v)", path, code, body, err)
		}
		if reply.Next["before"] != "2026-11-21T10:00:00.123456789Z" || reply.Next["before_id"] != "abc" {
			t.Errorf("%s: next %v; want the last record's seen time and id", path, reply.Next)
		}
		q := url.Values{"limit": {"1"}, "before": {reply.Next["before"]}, "before_id": {reply.Next["before_id"]}}
		if code, body := call(t, s, "GET", strings.Split(path, "?")[0]+"?"+q.Encode(), "tok", ""); code != 200 {
			t.Fatalf("next page: %d %s", code, body)
		}
		if f := api.filter; !f.Before.Equal(seen) || f.BeforeID != "abc" {
			t.Errorf("%s: next page asked the store for %v/%q", path, f.Before, f.BeforeID)
		}
	}
	// Fewer than the limit: the last page.
	if _, body := call(t, s, "GET", "/api/v1/decisions?limit=2", "tok", ""); strings.Contains(body, `"next"`) {
		t.Errorf("a page under its limit says there is a next one: %s", body)
	}
}

func TestNotReady(t *testing.T) {
	s, _ := start(t, false)
	code, body := call(t, s, "GET", "/readyz", "", "")
	var v map[string]any
	json.Unmarshal([]byte(body), &v)
	if code != 503 || !strings.Contains(body, "quarantined") {
		t.Errorf("readyz %d %s", code, body)
	}
}

func TestTokenRequired(t *testing.T) {
	if _, err := Start(Options{Addr: "127.0.0.1:0"}); err == nil {
		t.Error("a server without an admin token started")
	}
}

func TestProfilesNeedTheToken(t *testing.T) {
	s, _ := start(t, true)
	for _, c := range []struct {
		path, token string
		code        int
		want        string // a prefix of the body
	}{
		{"/debug/pprof/", "", http.StatusUnauthorized, `{`},
		{"/debug/pprof/heap?debug=1", "wrong", http.StatusUnauthorized, `{`},
		{"/debug/pprof/profile?seconds=1", "", http.StatusUnauthorized, `{`},
		{"/debug/pprof/heap?debug=1", "tok", http.StatusOK, "heap profile:"},
		{"/debug/pprof/goroutine?debug=1", "tok", http.StatusOK, "goroutine profile:"},
		{"/debug/pprof/profile?seconds=1", "tok", http.StatusOK, "\x1f\x8b"}, // a gzipped protobuf profile
		{"/debug/pprof/nosuch", "tok", http.StatusNotFound, "Unknown profile"},
	} {
		code, body := call(t, s, "GET", c.path, c.token, "")
		if code != c.code || !strings.HasPrefix(body, c.want) {
			t.Errorf("GET %s with token %q: %d %.60q, want %d starting %q", c.path, c.token, code, body, c.code, c.want)
		}
	}
}

// A known path asked with a method it does not take is 405 with an Allow
// header, not 404 (the /api/ catch-all used to take it); an unknown path is
// still 404; and the token comes first, so that without it nothing is told
// about which paths exist, whatever the method.
func TestWrongMethod(t *testing.T) {
	s, _ := start(t, true)
	tests := []struct {
		method, path, token string
		status              int
		allow               string // the Allow header, "" for none
		want                string // in the body
	}{
		{"DELETE", "/api/v1/plugins", "tok", 405, "GET, HEAD", "DELETE is not allowed on /api/v1/plugins: use GET or HEAD"},
		{"POST", "/api/v1/decisions", "tok", 405, "GET, HEAD", "POST is not allowed"},
		{"GET", "/api/v1/decisions/abc/override", "tok", 405, "POST", "use POST"},
		{"PUT", "/api/v1/decisions/abc", "tok", 405, "GET, HEAD", "PUT is not allowed on /api/v1/decisions/abc"},
		{"PUT", "/api/v1/targets", "tok", 405, "GET, HEAD, POST", "PUT is not allowed"},
		{"GET", "/api/v1/targets/x/post/9", "tok", 405, "DELETE", "use DELETE"},
		{"GET", "/api/v1/replay", "tok", 405, "POST", "use POST"},
		{"POST", "/api/v1/backup", "tok", 405, "GET, HEAD", "use GET or HEAD"},
		{"HEAD", "/api/v1/plugins", "tok", 200, "", ""},
		// Unknown paths.
		{"GET", "/api/v1/nothing", "tok", 404, "", "no such API endpoint: GET /api/v1/nothing"},
		{"POST", "/api/v1/nothing", "tok", 404, "", "no such API endpoint: POST /api/v1/nothing"},
		{"GET", "/api/v2/plugins", "tok", 404, "", "no such API endpoint"},
		{"DELETE", "/api/v1/decisions/abc/override/x", "tok", 404, "", "no such API endpoint"},
		// The token first.
		{"DELETE", "/api/v1/plugins", "", 401, "", "missing or wrong admin token"},
		{"POST", "/api/v1/decisions", "wrong", 401, "", "missing or wrong admin token"},
		{"POST", "/api/v1/nothing", "", 401, "", "missing or wrong admin token"},
		{"POST", "/debug/pprof/profile", "", 401, "", "missing or wrong admin token"},
		{"POST", "/debug/pprof/profile", "tok", 405, "GET, HEAD", "use GET or HEAD"},
		// Public paths need no token to say so.
		{"POST", "/healthz", "", 405, "GET, HEAD", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" token "+tt.token, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://"+s.Addr().String()+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("Allow") != tt.allow || !strings.Contains(string(body), tt.want) {
				t.Errorf("%d, Allow %q, %s; want %d, Allow %q, ~%q", resp.StatusCode, resp.Header.Get("Allow"), body, tt.status, tt.allow, tt.want)
			}
		})
	}
}
