// Package redact keeps values an operator's environment holds (secrets,
// see config.Config.Redact) out of what the host writes: its log lines and
// the admin API's JSON answers.
package redact

import (
	"fmt"
	"io"
	"log"

	"github.com/hashicorp/go-hclog"
)

// Logger returns l with every message and argument passed through redact
// on its way out, and the loggers derived from it (Named, With) too. A
// plugin instance's logger is one (go-plugin forwards the plugin's log and
// stderr lines there, a panic included), and so is the daemon's, which
// quotes what plugins answer (a poll's error with the URL it called).
func Logger(l hclog.Logger, redact func(string) string) hclog.Logger {
	if redact == nil {
		return l
	}
	return redactingLogger{l, redact}
}

type redactingLogger struct {
	hclog.Logger
	redact func(string) string
}

func (l redactingLogger) clean(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = l.redact(v)
		case error:
			out[i] = a
			if s := v.Error(); l.redact(s) != s {
				out[i] = l.redact(s)
			}
		case nil, bool, int, int64, float64, hclog.Format:
			out[i] = a
		default:
			// Values a plugin's JSON log line decoded into (maps, lists).
			out[i] = a
			if s := fmt.Sprint(v); l.redact(s) != s {
				out[i] = l.redact(s)
			}
		}
	}
	return out
}

func (l redactingLogger) Log(level hclog.Level, msg string, args ...any) {
	if level >= l.GetLevel() {
		l.Logger.Log(level, l.redact(msg), l.clean(args)...)
	}
}
func (l redactingLogger) Trace(msg string, args ...any) {
	if l.IsTrace() { // cleaning costs more than a line not written
		l.Logger.Trace(l.redact(msg), l.clean(args)...)
	}
}
func (l redactingLogger) Debug(msg string, args ...any) {
	if l.IsDebug() { // cleaning costs more than a line not written
		l.Logger.Debug(l.redact(msg), l.clean(args)...)
	}
}
func (l redactingLogger) Info(msg string, args ...any) {
	if l.IsInfo() { // cleaning costs more than a line not written
		l.Logger.Info(l.redact(msg), l.clean(args)...)
	}
}
func (l redactingLogger) Warn(msg string, args ...any) {
	if l.IsWarn() { // cleaning costs more than a line not written
		l.Logger.Warn(l.redact(msg), l.clean(args)...)
	}
}
func (l redactingLogger) Error(msg string, args ...any) {
	if l.IsError() { // cleaning costs more than a line not written
		l.Logger.Error(l.redact(msg), l.clean(args)...)
	}
}

func (l redactingLogger) With(args ...any) hclog.Logger {
	return redactingLogger{l.Logger.With(l.clean(args)...), l.redact}
}
func (l redactingLogger) Named(name string) hclog.Logger {
	return redactingLogger{l.Logger.Named(name), l.redact}
}
func (l redactingLogger) ResetNamed(name string) hclog.Logger {
	return redactingLogger{l.Logger.ResetNamed(name), l.redact}
}

func (l redactingLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(l.StandardWriter(opts), "", 0)
}

func (l redactingLogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return redactingWriter{l.Logger.StandardWriter(opts), l.redact}
}

type redactingWriter struct {
	w      io.Writer
	redact func(string) string
}

func (w redactingWriter) Write(p []byte) (int, error) {
	if _, err := w.w.Write([]byte(w.redact(string(p)))); err != nil {
		return 0, err
	}
	return len(p), nil
}
