package redact

import "net/http"

// JSON returns w with the body of every JSON answer passed through redact:
// an answer quotes what the store holds, and that quotes what plugins said
// (an analyzer's error naming the URL it called, key and all). Other
// answers (a backup's stream) pass as they are. It relies on each JSON
// answer being written in one Write, as json.Encoder.Encode does, so that a
// value is never split between two.
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
	if w.Header().Get("Content-Type") != "application/json" {
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
