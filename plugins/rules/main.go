// Command rules is moderator's word-list and regex analyzer: AutoModerator
// grade rules from its TOML config, plus built-in lexicons for profanity,
// insults, threats, identity attacks and sexual content.
//
// Matching runs on a normalised copy of the comment (package textnorm:
// compatibility forms, diacritics, zero-width characters, confusable letters
// from other scripts, leetspeak, stretched and spaced-out letters), every
// term of every rule in one Aho-Corasick pass; spans point into the
// original text. The built-in lexicons also match spelling variants of
// their words ("phuck", "fcuker"; variants.go), scored a little lower, and
// never an English word. See README.md for the configuration.
package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/moderatorbot/moderator/sdk"
)

const version = "0.1.0"

// Rules is the analyzer. Its engine is swapped whole by Configure, so
// Analyze never sees half a configuration.
type Rules struct {
	engine atomic.Pointer[engine]
}

// Configure decodes and compiles the [analyzer.config] table.
func (r *Rules) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	e, err := parseConfig(req.Config)
	if err != nil {
		return err
	}
	if !req.ValidateOnly {
		r.engine.Store(e)
	}
	return nil
}

// Analyze scores each comment with the configured rules.
func (r *Rules) Analyze(ctx context.Context, comments []sdk.Comment) ([]sdk.Result, error) {
	e := r.engine.Load()
	if e == nil {
		// The host configures before analyzing; a plugin run without a
		// config table gets what an empty one gives: the defaults.
		def, err := defaultEngine()
		if err != nil {
			return nil, err
		}
		e = def
	}
	results := make([]sdk.Result, len(comments))
	for i := range comments {
		if i%64 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		results[i] = e.analyze(&comments[i])
	}
	return results, nil
}

// defaultEngine compiles the empty config once.
var defaultEngine = sync.OnceValues(func() (*engine, error) { return parseConfig(sdk.Config{}) })

func asFieldErrors(err error, fe *sdk.FieldErrors) bool { return errors.As(err, fe) }
func asFieldError(err error, fe **sdk.FieldError) bool  { return errors.As(err, fe) }

// newPlugin is what main serves, and what the tests run in-process.
func newPlugin() sdk.Plugin {
	return sdk.Plugin{
		Info: sdk.Info{
			Name:        "rules",
			Version:     version,
			Description: "Word lists, phrases and regexes on evasion-proof normalised text, with built-in lexicons.",
			Labels:      sdk.Labels,
			Config:      configFields,
		},
		Analyzer: &Rules{},
	}
}

func main() { sdk.Serve(newPlugin()) }
