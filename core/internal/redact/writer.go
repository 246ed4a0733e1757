package redact

import "net/http"

// JSON returns w with the body of every JSON answer (one value, or lines of
// them) passed through redact:
// an answer quotes what the store holds, and that quotes what plugins said
// (an analyzer's error naming the URL it called, key and all). Other
// answers (a backup's stream) pass as they are. It relies on each JSON
// value being written in one Write, as json.Encoder.Encode does, so that
// none is split between two.
func JSON(w http.ResponseWriter, redact func(string) string) http.ResponseWriter {
	if redact == nil {
		return w
	}
	return jsonWriter{w, redact}
}

type jsonWriter struct {
	http.ResponseWriter
	redact func(string) string
}

func (w jsonWriter) Write(p []byte) (int, error) {
	if ct := w.Header().Get("Content-Type"); ct != "application/json" && ct != "application/x-ndjson" {
		return w.ResponseWriter.Write(p)
	}
	if _, err := w.ResponseWriter.Write([]byte(w.redact(string(p)))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Unwrap lets http.ResponseController reach the connection (flushes and
// deadlines of a streamed answer).
func (w jsonWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
