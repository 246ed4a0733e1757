package server

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/core/pipeline"
)

// A replay asked with progress streams how far it is, then its report or
// its error; one refused before it starts gets its status as without.
func TestReplayStreamsProgress(t *testing.T) {
	slow := func(steps ...int) func(func(int)) {
		return func(progress func(int)) {
			for _, n := range steps {
				progress(n)
				time.Sleep(replayProgressEvery + 50*time.Millisecond)
			}
		}
	}
	tests := []struct {
		name     string
		body     string
		run      func(progress func(int)) (pipeline.ReplayReport, error)
		status   int
		ctype    string
		wantBody string // the lines, or the answer
	}{
		{"progress, then the report", `{"progress":true}`, func(p func(int)) (pipeline.ReplayReport, error) {
			slow(100, 200)(p)
			return pipeline.ReplayReport{Replayed: 200, Changed: 1, Changes: []pipeline.Change{{ID: "c1", OldAction: "hide", NewAction: "approve"}}}, nil
		}, 200, "application/x-ndjson",
			`{"replayed":100}` + "\n" + `{"replayed":200}` + "\n" + `{"report":{"replayed":200,"changed":1,"held":0,"changes":[{"id":"c1",`},
		{"progress, then an error", `{"progress":true}`, func(p func(int)) (pipeline.ReplayReport, error) {
			slow(50)(p)
			return pipeline.ReplayReport{}, errors.New("analyzer rules quarantined")
		}, 200, "application/x-ndjson", `{"replayed":50}` + "\n" + `{"error":"analyzer rules quarantined"}` + "\n"},
		{"refused before it starts", `{"progress":true}`, func(func(int)) (pipeline.ReplayReport, error) {
			return pipeline.ReplayReport{}, &BadRequest{Err: errors.New(`analyzer "x" is not one the daemon runs`)}
		}, 400, "application/json", `"error": "analyzer \"x\" is not one the daemon runs"`},
		{"nothing to replay", `{"progress":true}`, func(func(int)) (pipeline.ReplayReport, error) {
			return pipeline.ReplayReport{Changes: []pipeline.Change{}}, nil
		}, 200, "application/json", `"replayed": 0`},
		{"no progress asked", `{}`, func(p func(int)) (pipeline.ReplayReport, error) {
			slow(10)(p)
			return pipeline.ReplayReport{Replayed: 10}, nil
		}, 200, "application/json", `"replayed": 10`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, api := start(t, true)
			api.replayRun = tt.run
			req, _ := http.NewRequest("POST", "http://"+s.Addr().String()+"/api/v1/replay", strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer tok")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != tt.ctype || !strings.Contains(string(b), tt.wantBody) {
				t.Errorf("%d %s\n%s\nwant %d %s with\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), b, tt.status, tt.ctype, tt.wantBody)
			}
		})
	}
}

// The long answers (a replay, a backup) outlast the write timeout, which
// is there for slow clients of the short ones.
func TestLongAnswersOutlastTheWriteTimeout(t *testing.T) {
	s, api := startWith(t, true, Options{WriteTimeout: 200 * time.Millisecond})
	api.replayRun = func(func(int)) (pipeline.ReplayReport, error) {
		time.Sleep(600 * time.Millisecond)
		return pipeline.ReplayReport{Replayed: 7}, nil
	}
	api.backupDelay = 600 * time.Millisecond
	for _, c := range []struct{ method, path, want string }{
		{"POST", "/api/v1/replay", `"replayed": 7`},
		{"GET", "/api/v1/backup", "BACKUP"},
	} {
		code, body := call(t, s, c.method, c.path, "tok", "")
		if code != 200 || !strings.Contains(body, c.want) {
			t.Errorf("%s %s: %d %q", c.method, c.path, code, body)
		}
	}
}
