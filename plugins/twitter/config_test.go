package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/plugins/twitter/twittertest"
	"github.com/moderatorbot/moderator/sdk"
)

func TestConfigure(t *testing.T) {
	srv := newFake(t, twittertest.Options{})
	good := configFor(srv)
	secrets := []string{"s3cr3t-bearer", "s3cr3t-consumer", "s3cr3t-token"}
	tests := []struct {
		name   string
		config map[string]any
		fields []string // every field error expected, in any order
	}{
		{"good", good, nil},
		{"defaults_only_read_only", map[string]any{"bearer_token": "s3cr3t-bearer", "read_only": true}, nil},
		{"empty", map[string]any{}, []string{"bearer_token", "consumer_key", "consumer_secret", "access_token", "access_token_secret", "user_id"}},
		{"no_bearer", with(good, "bearer_token", nil), []string{"bearer_token"}},
		{"half_user_context", with(good, "consumer_secret", nil, "access_token_secret", nil), []string{"consumer_secret", "access_token_secret"}},
		{"no_user_id", with(good, "user_id", nil), []string{"user_id"}},
		{"user_id_not_numeric", with(good, "user_id", "@owner"), []string{"user_id"}},
		{"token_of_another_account", with(good, "user_id", "2"), []string{"user_id"}},
		{"bad_url", with(good, "api_base_url", "api.x.com"), []string{"api_base_url"}},
		{"max_results", with(good, "max_results", 5), []string{"max_results"}},
		{"query_max_length", with(good, "query_max_length", 10), []string{"query_max_length"}},
		{"max_pages", with(good, "max_pages", 0), []string{"max_pages"}},
		{"timeout", with(good, "timeout", "soon"), []string{"timeout"}},
		{"unknown_key", with(good, "bearer", "x"), []string{"bearer"}},
		{"secrets_kept_out", with(good, "bearer_token", "s3cr3t-bearer", "consumer_secret", "s3cr3t-consumer", "access_token", "s3cr3t-token", "max_results", 1000), []string{"max_results"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := configureErr(&Twitter{}, tt.config)
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("Configure: %v", err)
				}
				return
			}
			var fe sdk.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("err %v, want field errors for %v", err, tt.fields)
			}
			got := map[string]bool{}
			for _, e := range fe {
				got[e.Field] = true
			}
			for _, f := range tt.fields {
				if !got[f] {
					t.Errorf("no error for %q in %v", f, err)
				}
			}
			if len(got) != len(tt.fields) {
				t.Errorf("errors for %v, want exactly %v", err, tt.fields)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the error repeats a secret: %v", err)
				}
			}
		})
	}
}
