package main

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

func TestConfigure(t *testing.T) {
	tests := []struct {
		name   string
		cfg    map[string]any
		fields []string // FieldError fields, when Configure must fail
		check  func(t *testing.T, c Config)
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			if len(c.Shorteners) < 20 || !slices.Contains(c.Shorteners, "bit.ly") || c.MaxLinks != 3 || !c.Model || time.Duration(c.DuplicateWindow) != 24*time.Hour {
				t.Errorf("defaults %+v", c)
			}
		}},
		{name: "domains normalised", cfg: map[string]any{"blocked_domains": []string{"*.Spam.Example.", ".evil.example"}, "allowed_domains": []string{"1.2.3.4"}},
			check: func(t *testing.T, c Config) {
				if !slices.Equal(c.BlockedDomains, []string{"spam.example", "evil.example"}) || c.AllowedDomains[0] != "1.2.3.4" {
					t.Errorf("domains %q %q", c.BlockedDomains, c.AllowedDomains)
				}
			}},
		{name: "everything set", cfg: map[string]any{"max_links": 5, "mention_flood": 3, "hashtag_flood": 4, "duplicates": false, "duplicate_window": "2h",
			"duplicate_threshold": 4, "duplicate_min_words": 3, "model": false, "model_weight": 2.5, "spam_rate": 0.1},
			check: func(t *testing.T, c Config) {
				if c.MaxLinks != 5 || c.MentionFlood != 3 || c.HashtagFlood != 4 || c.Duplicates || time.Duration(c.DuplicateWindow) != 2*time.Hour ||
					c.DuplicateThreshold != 4 || c.DuplicateMinWords != 3 || c.Model || c.ModelWeight != 2.5 || c.SpamRate != 0.1 {
					t.Errorf("config %+v", c)
				}
			}},
		{name: "a URL is not a domain", cfg: map[string]any{"blocked_domains": []string{"ok.example", "https://bit.ly/x"}}, fields: []string{"blocked_domains[1]"}},
		{name: "bad domains everywhere, all reported", cfg: map[string]any{"blocked_domains": []string{"nodot"}, "allowed_domains": []string{""}, "shorteners": []string{"a..b", "-x.com"}},
			fields: []string{"blocked_domains[0]", "allowed_domains[0]", "shorteners[0]", "shorteners[1]"}},
		{name: "numbers out of range", cfg: map[string]any{"max_links": 0, "mention_flood": 1, "hashtag_flood": 0, "duplicate_threshold": 1, "duplicate_min_words": 0, "model_weight": 5, "spam_rate": 1},
			fields: []string{"max_links", "mention_flood", "hashtag_flood", "duplicate_threshold", "duplicate_min_words", "model_weight", "spam_rate"}},
		{name: "window too short", cfg: map[string]any{"duplicate_window": "10s"}, fields: []string{"duplicate_window"}},
		{name: "window not a duration", cfg: map[string]any{"duplicate_window": "a day"}, fields: []string{"duplicate_window"}},
		{name: "wrong type", cfg: map[string]any{"blocked_domains": "bit.ly"}, fields: []string{"blocked_domains"}},
		{name: "unknown key", cfg: map[string]any{"max_link": 3}, fields: []string{"max_link"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSpam()
			before := s.st.Load()
			data, _ := json.Marshal(tt.cfg)
			err := s.Configure(context.Background(), sdk.ConfigureRequest{Config: sdk.Config{JSON: data}})
			if tt.fields == nil {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, s.st.Load().cfg)
				return
			}
			var fe sdk.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("Configure = %v, want FieldErrors", err)
			}
			var got []string
			for _, e := range fe {
				got = append(got, e.Field)
			}
			if !slices.Equal(got, tt.fields) {
				t.Errorf("fields %q, want %q (%v)", got, tt.fields, fe)
			}
			if s.st.Load() != before {
				t.Errorf("a rejected config replaced the state")
			}
		})
	}
}

func TestDomainSetMatch(t *testing.T) {
	s := newDomainSet([]string{"example.com", "t.co"})
	for host, want := range map[string]string{
		"example.com": "example.com", "a.b.example.com": "example.com", "notexample.com": "", "t.co": "t.co", "co": "", "": "",
	} {
		if got := s.match(host); got != want {
			t.Errorf("match(%q) = %q, want %q", host, got, want)
		}
	}
}
