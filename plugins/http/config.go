package main

import (
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/moderatorbot/moderator/sdk"
	"golang.org/x/net/http/httpguts"
)

// config is the [analyzer.config] table. Fields left out keep the values of
// defaultConfig.
type config struct {
	URL         string            `json:"url"`
	Mapping     string            `json:"mapping"`
	Timeout     sdk.Duration      `json:"timeout"`
	Retries     int               `json:"retries"`
	Backoff     sdk.Duration      `json:"backoff"`
	MaxBackoff  sdk.Duration      `json:"max_backoff"`
	Headers     map[string]string `json:"headers"`
	BatchSize   int               `json:"batch_size"`
	Concurrency int               `json:"concurrency"`
	Circuit     circuitConfig     `json:"circuit"`
	Labels      map[string]string `json:"labels"`
	MinScore    float64           `json:"min_score"`
	Model       string            `json:"model"`
}

// circuitConfig is the `circuit` table: when the breaker opens, and for how long.
type circuitConfig struct {
	Failures int          `json:"failures"`
	OpenFor  sdk.Duration `json:"open_for"`
}

// maxRetries and maxBatchSize bound settings whose typos ("retries = 1000")
// would turn one bad minute into an hour of hammering.
const (
	maxRetries   = 10
	maxBatchSize = 1000
)

func defaultConfig() config {
	return config{
		Mapping:     mappingModerator,
		Timeout:     sdk.Duration(5 * time.Second),
		Retries:     2,
		Backoff:     sdk.Duration(200 * time.Millisecond),
		MaxBackoff:  sdk.Duration(10 * time.Second),
		Concurrency: 4,
		Circuit:     circuitConfig{Failures: 5, OpenFor: sdk.Duration(30 * time.Second)},
		MinScore:    0.01,
	}
}

// configFields documents the config table for Describe.
func configFields() []sdk.ConfigField {
	d := defaultConfig()
	return []sdk.ConfigField{
		{Name: "url", Type: "string", Required: true,
			Description: "The service's endpoint, http:// or https://. Put API keys in headers, not in the query: errors and logs show the URL without its query."},
		{Name: "mapping", Type: "string", Default: `"moderator"`,
			Description: `Request and response shapes: "moderator" (the documented schema), "perspective", "openai" or "huggingface".`},
		{Name: "timeout", Type: "duration", Default: fmt.Sprintf("%q", time.Duration(d.Timeout)),
			Description: "Deadline of one HTTP request, from connecting to the last byte of the answer."},
		{Name: "retries", Type: "int", Default: fmt.Sprint(d.Retries),
			Description: "Retries of a request after a connection error, a timeout, a 5xx or a 429; a 4xx is never retried."},
		{Name: "backoff", Type: "duration", Default: fmt.Sprintf("%q", time.Duration(d.Backoff)),
			Description: "Wait before the first retry, doubled for each next one, with jitter; a Retry-After header replaces it."},
		{Name: "max_backoff", Type: "duration", Default: fmt.Sprintf("%q", time.Duration(d.MaxBackoff)),
			Description: "Longest single wait between retries; a Retry-After longer than this fails the batch at once, as rate limited."},
		{Name: "headers", Type: "table", Secret: true,
			Description: `HTTP headers sent with every request, such as Authorization = "Bearer ${TOKEN}". Values are secrets: never logged, and blanked out of error messages.`},
		{Name: "batch_size", Type: "int", Default: "32",
			Description: "Most comments per request; bigger batches are split. Perspective takes one comment per request, and that is its default."},
		{Name: "concurrency", Type: "int", Default: fmt.Sprint(d.Concurrency),
			Description: "Requests in flight at once for one batch."},
		{Name: "circuit", Type: "table", Default: fmt.Sprintf("{ failures = %d, open_for = %q }", d.Circuit.Failures, time.Duration(d.Circuit.OpenFor)),
			Description: "After `failures` failed requests in a row, calls fail fast without reaching the service for `open_for`; then one request probes it."},
		{Name: "labels", Type: "table",
			Description: `Maps the service's label names onto moderator's vocabulary (TOXICITY = "insult"); "" ignores a name. Merged over the mapping's defaults.`},
		{Name: "min_score", Type: "float", Default: fmt.Sprint(d.MinScore),
			Description: "Labels scored below this are dropped, so services that score every category do not clutter the record."},
		{Name: "model", Type: "string", Default: `"omni-moderation-latest"`,
			Description: `The model asked for, with mapping = "openai" only.`},
	}
}

// settings is a checked config, ready to use.
type settings struct {
	config
	url     *url.URL
	mapping mapping
	// labels is the mapping's default table merged with config.Labels.
	labels map[string]string
}

// check validates c and returns every problem at once.
func (c config) check() (*settings, error) {
	var errs sdk.FieldErrors
	s := &settings{config: c}

	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		errs.Add("url", "is required: the address of the service to POST comments to")
	case err != nil:
		// url.Parse's error quotes the URL, which may carry a key.
		errs.Add("url", "is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		errs.Add("url", "must start with http:// or https://, got scheme %q", u.Scheme)
	case u.Host == "":
		errs.Add("url", "has no host")
	default:
		s.url = u
	}

	s.mapping = mappings[c.Mapping]
	if s.mapping == nil {
		errs.Add("mapping", "unknown mapping %q; use one of %s", c.Mapping, quoteAll(slices.Sorted(maps.Keys(mappings))))
	}
	if c.Model != "" && c.Mapping != mappingOpenAI {
		errs.Add("model", "applies to mapping = %q only", mappingOpenAI)
	}

	if c.Timeout <= 0 {
		errs.Add("timeout", "must be positive, got %s", time.Duration(c.Timeout))
	}
	if c.Retries < 0 || c.Retries > maxRetries {
		errs.Add("retries", "must be between 0 and %d, got %d", maxRetries, c.Retries)
	}
	if c.Backoff < 0 {
		errs.Add("backoff", "must not be negative, got %s", time.Duration(c.Backoff))
	}
	if c.MaxBackoff < c.Backoff {
		errs.Add("max_backoff", "must be at least backoff (%s), got %s", time.Duration(c.Backoff), time.Duration(c.MaxBackoff))
	}
	for _, name := range slices.Sorted(maps.Keys(c.Headers)) {
		// Messages name the header, never its value.
		field := "headers." + name
		switch {
		case !httpguts.ValidHeaderFieldName(name):
			errs.Add(field, "is not a valid HTTP header name")
		case !httpguts.ValidHeaderFieldValue(c.Headers[name]):
			errs.Add(field, "value has a line break or control character")
		case http.CanonicalHeaderKey(name) == "Content-Length" || http.CanonicalHeaderKey(name) == "Host":
			errs.Add(field, "is set by the HTTP client and cannot be configured")
		}
	}
	if c.BatchSize < 0 || c.BatchSize > maxBatchSize {
		errs.Add("batch_size", "must be between 1 and %d, got %d", maxBatchSize, c.BatchSize)
	}
	if s.mapping != nil && s.mapping.maxBatch() > 0 && c.BatchSize > s.mapping.maxBatch() {
		errs.Add("batch_size", "mapping %q takes at most %d comment(s) per request, got %d", c.Mapping, s.mapping.maxBatch(), c.BatchSize)
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		errs.Add("concurrency", "must be between 1 and 64, got %d", c.Concurrency)
	}
	if c.Circuit.Failures < 1 {
		errs.Add("circuit.failures", "must be at least 1, got %d", c.Circuit.Failures)
	}
	if c.Circuit.OpenFor <= 0 {
		errs.Add("circuit.open_for", "must be positive, got %s", time.Duration(c.Circuit.OpenFor))
	}
	if math.IsNaN(c.MinScore) || c.MinScore < 0 || c.MinScore > 1 {
		errs.Add("min_score", "must be between 0 and 1, got %v", c.MinScore)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Labels)) {
		to := c.Labels[name]
		switch {
		case name == "":
			errs.Add("labels", "has an empty name")
		case to != "" && !slices.Contains(sdk.Labels, to):
			errs.Add("labels."+name, "maps to %q, which is not in the vocabulary %s (or \"\" to ignore it)", to, quoteAll(sdk.Labels))
		}
	}
	if s.mapping != nil {
		s.labels = maps.Clone(s.mapping.defaultLabels())
		if s.labels == nil {
			s.labels = map[string]string{}
		}
		maps.Copy(s.labels, c.Labels)
		if c.Mapping == mappingPerspective && len(perspectiveMapping{}.requested(s)) == 0 {
			errs.Add("labels", "maps no Perspective attribute onto a label, so there is nothing to ask Perspective for")
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}

	if s.BatchSize == 0 {
		s.BatchSize = s.mapping.defaultBatch()
	}
	if s.Model == "" && c.Mapping == mappingOpenAI {
		s.Model = defaultOpenAIModel
	}
	return s, nil
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// redactURL is u as errors and logs show it: without user info and with the
// query's values blanked, since services such as Perspective take their API
// key as ?key=.
func redactURL(u *url.URL) string {
	r := *u
	r.User = nil
	r.Fragment = ""
	if r.RawQuery != "" {
		q := r.Query()
		for k := range q {
			q[k] = []string{"REDACTED"}
		}
		r.RawQuery = q.Encode()
	}
	return r.String()
}
