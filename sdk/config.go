package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Configurer is implemented by plugins that take a `config` table. Configure
// is called once per process start, before any other call but Describe.
// Return FieldErrors for problems with the table; they are shown to the
// operator as FILE:LINE:COL messages by `moderator config check`.
type Configurer interface {
	Configure(ctx context.Context, req ConfigureRequest) error
}

// ConfigureRequest carries a plugin instance's configuration and host services.
type ConfigureRequest struct {
	// Instance is the instance name from moderator.toml.
	Instance string
	// Config is the instance's `config` table.
	Config Config
	// KV is a durable key-value store scoped to this instance. It stays
	// usable until the process exits.
	KV KV
	// ValidateOnly is true under `moderator config check`: check the
	// config, but reach nothing outside the process.
	ValidateOnly bool
	// Logger writes to the host's log under the instance's name (under
	// plugintest.Start, to the test's t.Log). Prefer it to sdk.Logger().
	Logger hclog.Logger
}

// Config is a plugin's `config` table, as JSON.
type Config struct {
	// JSON is the table, encoded as a JSON object.
	JSON []byte
}

// Decode fills v (a pointer to a struct with json tags) from the table.
// Unknown keys and values of the wrong type are FieldErrors, so a plugin can
// return Decode's error from Configure as it is. Every bad key is reported,
// not just the first, and keys match the json tags exactly, as TOML keys are
// case-sensitive.
func (c Config) Decode(v any) error {
	data := c.JSON
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	var table map[string]json.RawMessage
	if json.Unmarshal(data, &table) == nil && table != nil {
		if fe := decodeEachKey(table, v); len(fe) > 0 {
			return fe
		}
	}
	return fieldErrorsOf(decodeStrict(data, v), "").Err()
}

// decodeStrict decodes one JSON table into v, refusing unknown keys and
// anything after the table.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return FieldErrors{{Message: "config is not a single table"}}
	}
	return nil
}

// decodeEachKey decodes the table one key at a time into fresh values of v's
// type, because encoding/json stops at the first problem, names no key for an
// Unmarshaler's error (a bad duration) and matches keys case-insensitively.
func decodeEachKey(table map[string]json.RawMessage, v any) FieldErrors {
	rt := reflect.TypeOf(v)
	if rt == nil || rt.Kind() != reflect.Pointer || rt.Implements(reflect.TypeFor[json.Unmarshaler]()) {
		// A type that decodes itself may need the whole table at once.
		return nil
	}
	var known map[string]bool
	if rt.Elem().Kind() == reflect.Struct {
		known = map[string]bool{}
		jsonKeys(rt.Elem(), known)
	}
	var fe FieldErrors
	for _, key := range slices.Sorted(maps.Keys(table)) {
		if known != nil && !known[key] {
			fe.Add(key, "unknown key")
			continue
		}
		one, err := json.Marshal(map[string]json.RawMessage{key: table[key]})
		if err != nil {
			fe.Add(key, "%v", err)
			continue
		}
		fe = append(fe, fieldErrorsOf(decodeStrict(one, reflect.New(rt.Elem()).Interface()), key)...)
	}
	return fe
}

// jsonKeys adds the exact keys encoding/json decodes into struct type t.
func jsonKeys(t reflect.Type, into map[string]bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && f.Tag.Get("json") == "-" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case f.Anonymous && name == "" && ft.Kind() == reflect.Struct:
			jsonKeys(ft, into)
		case !f.IsExported():
		case name != "":
			into[name] = true
		default:
			into[f.Name] = true
		}
	}
}

// fieldErrorsOf turns a decoding error into FieldErrors; key is the
// top-level key that was being decoded, or "" for the whole table.
func fieldErrorsOf(err error, key string) FieldErrors {
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = key
		}
		return FieldErrors{{Field: field, Message: fmt.Sprintf("expected %s, got %s", kindName(typeErr.Type.Kind().String()), typeErr.Value)}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if key != "" {
			// The top-level keys were checked already: this one is nested.
			name = key + "." + name
		}
		return FieldErrors{{Field: name, Message: "unknown key"}}
	}
	var fe FieldErrors
	if errors.As(err, &fe) {
		return fe
	}
	var one *FieldError
	if errors.As(err, &one) {
		return FieldErrors{*one}
	}
	return FieldErrors{{Field: key, Message: err.Error()}}
}

func kindName(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "an integer"
	case strings.HasPrefix(k, "float"):
		return "a number"
	case k == "bool":
		return "true or false"
	case k == "slice", k == "array":
		return "a list"
	case k == "map", k == "struct":
		return "a table"
	}
	return "a " + k
}

// FieldError is one problem with one key of a plugin's `config` table.
type FieldError struct {
	// Field is the dotted path of the key, with [n] for list items
	// ("lists.words[2]"); empty for the table as a whole.
	Field string
	// Message says what is wrong with it, for the operator.
	Message string
}

// Error is "field: message", or the message alone for the whole table.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// FieldErrors is every problem found in a `config` table. Report all of
// them at once, not one per run.
type FieldErrors []FieldError

// Error joins every problem with "; ".
func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i := range fe {
		parts[i] = fe[i].Error()
	}
	return strings.Join(parts, "; ")
}

// Add appends a problem; handy for collecting them while validating.
func (fe *FieldErrors) Add(field, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when there are no problems, so `return errs.Err()` ends a
// validation.
func (fe FieldErrors) Err() error {
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// Duration is a time.Duration that decodes from a Go duration string
// ("90s", "5m"), the way durations are written in moderator.toml.
type Duration time.Duration

// UnmarshalJSON accepts a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("expected a duration string such as \"90s\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (use Go syntax such as \"90s\", \"5m\")", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }
