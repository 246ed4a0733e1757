package redact

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func hide(s string) string { return strings.ReplaceAll(s, "s3cret", "${KEY}") }

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	calls := 0
	counting := func(s string) string { calls++; return hide(s) }
	l := Logger(hclog.New(&hclog.LoggerOptions{Output: &buf, Name: "base", Level: hclog.Info}), counting)
	l.Named("pipeline").With("url", "http://x/?key=s3cret").Error("failed: s3cret", "error", "Post s3cret", "n", 3)
	l.Info("plain")
	out := buf.String()
	if strings.Contains(out, "s3cret") || strings.Count(out, "${KEY}") != 3 || !strings.Contains(out, "base.pipeline") {
		t.Errorf("log:\n%s", out)
	}
	calls = 0
	l.Debug("below the level: s3cret", "error", "s3cret")
	l.Log(hclog.Trace, "below the level: s3cret")
	if calls != 0 || strings.Contains(buf.String(), "below") {
		t.Errorf("%d redactions of lines not written", calls)
	}
	if base := hclog.NewNullLogger(); Logger(base, nil) != base {
		t.Error("no redact func: not the logger itself")
	}
}

func TestJSON(t *testing.T) {
	for _, tt := range []struct {
		contentType, body, want string
	}{
		{"application/json", `{"last_error":"key=s3cret"}`, `{"last_error":"key=${KEY}"}`},
		{"application/octet-stream", "backup s3cret bytes", "backup s3cret bytes"},
	} {
		rec := httptest.NewRecorder()
		w := JSON(rec, hide)
		w.Header().Set("Content-Type", tt.contentType)
		w.WriteHeader(http.StatusOK)
		if n, err := w.Write([]byte(tt.body)); err != nil || n != len(tt.body) {
			t.Errorf("write: %d, %v", n, err)
		}
		if got := rec.Body.String(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.contentType, got, tt.want)
		}
	}
}
