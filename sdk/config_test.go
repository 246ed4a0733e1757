package sdk_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

type testConfig struct {
	MinLetters int          `json:"min_letters"`
	Threshold  float64      `json:"threshold"`
	Every      sdk.Duration `json:"every"`
	Words      []string     `json:"words"`
	Enabled    bool         `json:"enabled"`
	Lists      struct {
		Block []string     `json:"block"`
		Wait  sdk.Duration `json:"wait"`
	} `json:"lists"`
	Ignored string `json:"-"`
	embedded
}

type embedded struct {
	Token string `json:"token"`
}

// selfDecoding checks a table as a whole, so Decode must not split it by key.
type selfDecoding struct{ A, B int }

func (s *selfDecoding) UnmarshalJSON(b []byte) error {
	var m map[string]int
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if _, ok := m["a"]; !ok {
		return errors.New("a is required with b")
	}
	s.A, s.B = m["a"], m["b"]
	return nil
}

func TestConfigDecode(t *testing.T) {
	defaults := func() testConfig {
		c := testConfig{MinLetters: 8, Every: sdk.Duration(time.Minute)}
		c.Lists.Wait = sdk.Duration(time.Second)
		return c
	}
	tests := []struct {
		name string
		json string
		want func(*testConfig) // applied to the defaults when Decode succeeds
		errs sdk.FieldErrors   // nil: Decode must succeed
	}{
		{name: "nil table keeps the defaults", json: ""},
		{name: "whitespace keeps the defaults", json: " \n\t"},
		{name: "empty table keeps the defaults", json: "{}"},
		{
			name: "every type",
			json: `{"min_letters": 3, "threshold": 0.75, "every": "90s", "words": ["a", "b"], "enabled": true,
				"lists": {"block": ["x"], "wait": "5m"}, "token": "secret"}`,
			want: func(c *testConfig) {
				c.MinLetters, c.Threshold, c.Every, c.Words, c.Enabled = 3, 0.75, sdk.Duration(90*time.Second), []string{"a", "b"}, true
				c.Lists.Block, c.Lists.Wait, c.Token = []string{"x"}, sdk.Duration(5*time.Minute), "secret"
			},
		},
		{name: "null leaves a default alone", json: `{"min_letters": null}`},
		{name: "unknown key", json: `{"min_leters": 3}`, errs: sdk.FieldErrors{{Field: "min_leters", Message: "unknown key"}}},
		{name: "keys are case-sensitive, as in TOML", json: `{"Min_Letters": 3}`, errs: sdk.FieldErrors{{Field: "Min_Letters", Message: "unknown key"}}},
		{name: "a key tagged - is unknown", json: `{"Ignored": "x"}`, errs: sdk.FieldErrors{{Field: "Ignored", Message: "unknown key"}}},
		{name: "unknown nested key", json: `{"lists": {"allow": []}}`, errs: sdk.FieldErrors{{Field: "lists.allow", Message: "unknown key"}}},
		{name: "string for an int", json: `{"min_letters": "3"}`, errs: sdk.FieldErrors{{Field: "min_letters", Message: "expected an integer, got string"}}},
		{name: "fraction for an int", json: `{"min_letters": 2.5}`, errs: sdk.FieldErrors{{Field: "min_letters", Message: "expected an integer, got number 2.5"}}},
		{name: "string for a float", json: `{"threshold": "high"}`, errs: sdk.FieldErrors{{Field: "threshold", Message: "expected a number, got string"}}},
		{name: "string for a bool", json: `{"enabled": "yes"}`, errs: sdk.FieldErrors{{Field: "enabled", Message: "expected true or false, got string"}}},
		{name: "string for a list", json: `{"words": "a"}`, errs: sdk.FieldErrors{{Field: "words", Message: "expected a list, got string"}}},
		{name: "wrong item in a nested list", json: `{"lists": {"block": [1]}}`, errs: sdk.FieldErrors{{Field: "lists.block", Message: "expected a string, got number"}}},
		{name: "list for a table", json: `{"lists": []}`, errs: sdk.FieldErrors{{Field: "lists", Message: "expected a table, got array"}}},
		{name: "bad duration", json: `{"every": "5 minutes"}`, errs: sdk.FieldErrors{{Field: "every", Message: `invalid duration "5 minutes" (use Go syntax such as "90s", "5m")`}}},
		{name: "number for a duration", json: `{"every": 90}`, errs: sdk.FieldErrors{{Field: "every", Message: `expected a duration string such as "90s", got 90`}}},
		{name: "bad nested duration", json: `{"lists": {"wait": "soon"}}`, errs: sdk.FieldErrors{{Field: "lists", Message: `invalid duration "soon" (use Go syntax such as "90s", "5m")`}}},
		{
			name: "every problem at once, in key order",
			json: `{"words": 1, "every": "x", "bogus": true, "min_letters": "many"}`,
			errs: sdk.FieldErrors{
				{Field: "bogus", Message: "unknown key"},
				{Field: "every", Message: `invalid duration "x" (use Go syntax such as "90s", "5m")`},
				{Field: "min_letters", Message: "expected an integer, got string"},
				{Field: "words", Message: "expected a list, got number"},
			},
		},
		{name: "not a table", json: `[1, 2]`, errs: sdk.FieldErrors{{Message: "expected a table, got array"}}},
		{name: "two tables", json: `{} {}`, errs: sdk.FieldErrors{{Message: "config is not a single table"}}},
		{name: "truncated", json: `{"min_letters": `, errs: sdk.FieldErrors{{Message: "unexpected EOF"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := defaults()
			err := sdk.Config{JSON: []byte(tt.json)}.Decode(&got)
			if tt.errs == nil {
				if err != nil {
					t.Fatalf("Decode(%s) = %v, want no error", tt.json, err)
				}
				want := defaults()
				if tt.want != nil {
					tt.want(&want)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Decode(%s) gave\n%+v\nwant\n%+v", tt.json, got, want)
				}
				return
			}
			var fe sdk.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("Decode(%s) = %#v, want sdk.FieldErrors", tt.json, err)
			}
			if !reflect.DeepEqual(fe, tt.errs) {
				t.Errorf("Decode(%s) FieldErrors\n%#v\nwant\n%#v", tt.json, fe, tt.errs)
			}
		})
	}
}

func TestConfigDecodeSelfDecodingType(t *testing.T) {
	tests := []struct {
		json    string
		want    selfDecoding
		wantErr string
	}{
		{json: `{"a": 1, "b": 2}`, want: selfDecoding{A: 1, B: 2}},
		{json: `{"b": 2}`, wantErr: "a is required with b"},
	}
	for _, tt := range tests {
		var got selfDecoding
		err := sdk.Config{JSON: []byte(tt.json)}.Decode(&got)
		switch {
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("Decode(%s) = %+v, %v; want %+v", tt.json, got, err, tt.want)
		case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
			t.Errorf("Decode(%s) error %v, want %q", tt.json, err, tt.wantErr)
		}
	}
}

func TestFieldErrors(t *testing.T) {
	var fe sdk.FieldErrors
	if fe.Err() != nil {
		t.Fatalf("empty FieldErrors.Err() = %v, want nil (an untyped nil error)", fe.Err())
	}
	fe.Add("lists.words[2]", "empty word")
	fe.Add("", "config is not a single table")
	fe.Add("min_letters", "must be at least %d, got %d", 1, 0)
	want := "lists.words[2]: empty word; config is not a single table; min_letters: must be at least 1, got 0"
	if err := fe.Err(); err == nil || err.Error() != want {
		t.Errorf("Err() = %v, want %q", err, want)
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		in   sdk.Duration
		json string
	}{
		{sdk.Duration(90 * time.Second), `"1m30s"`},
		{sdk.Duration(0), `"0s"`},
		{sdk.Duration(1500 * time.Millisecond), `"1.5s"`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.in)
		if err != nil || string(b) != tt.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", time.Duration(tt.in), b, err, tt.json)
		}
		var back sdk.Duration
		if err := json.Unmarshal(b, &back); err != nil || back != tt.in {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", b, time.Duration(back), err, time.Duration(tt.in))
		}
	}
}
