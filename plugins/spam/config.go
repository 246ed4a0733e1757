package main

import (
	_ "embed"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

// Config is the instance's [analyzer.config] table.
type Config struct {
	// BlockedDomains are domains whose links make a comment spam outright;
	// subdomains match too. AllowedDomains are never held against a comment
	// (not as blocked, not as a shortener, not as a link at all), and win
	// over BlockedDomains and Shorteners.
	BlockedDomains []string `json:"blocked_domains"`
	AllowedDomains []string `json:"allowed_domains"`
	// Shorteners replaces the built-in list of URL shorteners (data/shorteners.txt).
	Shorteners []string `json:"shorteners"`
	// MaxLinks is the most links a comment may carry before it is a link flood.
	MaxLinks int `json:"max_links"`
	// MentionFlood and HashtagFlood are how many distinct @mentions or
	// #hashtags make a flood.
	MentionFlood int `json:"mention_flood"`
	HashtagFlood int `json:"hashtag_flood"`
	// Duplicates: near-identical text seen DuplicateThreshold times or more
	// (this comment included) within DuplicateWindow is spam. Texts with
	// fewer than DuplicateMinWords words are not compared: "Thanks!" is
	// repeated by honest people all the time.
	Duplicates         bool         `json:"duplicates"`
	DuplicateWindow    sdk.Duration `json:"duplicate_window"`
	DuplicateThreshold int          `json:"duplicate_threshold"`
	DuplicateMinWords  int          `json:"duplicate_min_words"`
	// Model turns the statistical model on; ModelWeight scales its log-odds
	// in the combined score (1 takes it as it is).
	Model       bool    `json:"model"`
	ModelWeight float64 `json:"model_weight"`
	// SpamRate is the share of spam expected among the comments analyzed:
	// the prior the model's evidence is added to (see analyzer.go).
	SpamRate float64 `json:"spam_rate"`
}

//go:embed data/shorteners.txt
var shortenersFile string

// defaultShorteners is data/shorteners.txt without comments and blank lines.
func defaultShorteners() []string {
	var out []string
	for _, line := range strings.Split(shortenersFile, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

func defaultConfig() Config {
	return Config{
		Shorteners:         defaultShorteners(),
		MaxLinks:           3,
		MentionFlood:       5,
		HashtagFlood:       6,
		Duplicates:         true,
		DuplicateWindow:    sdk.Duration(24 * time.Hour),
		DuplicateThreshold: 3,
		DuplicateMinWords:  6,
		Model:              true,
		ModelWeight:        1,
		SpamRate:           0.25,
	}
}

// Limits on the config values, with the reasons in the error messages.
const (
	minWindow      = time.Minute
	maxWindow      = 30 * 24 * time.Hour
	maxModelWeight = 4
	minSpamRate    = 0.01
	maxSpamRate    = 0.99
)

// validate checks every key and returns every problem at once, with field
// paths ("blocked_domains[2]"), and the domain lists normalised.
func (c *Config) validate() sdk.FieldErrors {
	var errs sdk.FieldErrors
	for _, list := range []struct {
		name string
		v    *[]string
	}{{"blocked_domains", &c.BlockedDomains}, {"allowed_domains", &c.AllowedDomains}, {"shorteners", &c.Shorteners}} {
		for i, d := range *list.v {
			norm, err := normalizeDomain(d)
			if err != nil {
				errs.Add(fmt.Sprintf("%s[%d]", list.name, i), "%v", err)
				continue
			}
			(*list.v)[i] = norm
		}
	}
	if c.MaxLinks < 1 {
		errs.Add("max_links", "must be at least 1, got %d", c.MaxLinks)
	}
	if c.MentionFlood < 2 {
		errs.Add("mention_flood", "must be at least 2 (one mention is a conversation), got %d", c.MentionFlood)
	}
	if c.HashtagFlood < 2 {
		errs.Add("hashtag_flood", "must be at least 2, got %d", c.HashtagFlood)
	}
	if w := time.Duration(c.DuplicateWindow); w < minWindow || w > maxWindow {
		errs.Add("duplicate_window", "must be between %v and %v, got %v", minWindow, maxWindow, w)
	}
	if c.DuplicateThreshold < 2 {
		errs.Add("duplicate_threshold", "must be at least 2 (the comment itself and one copy), got %d", c.DuplicateThreshold)
	}
	if c.DuplicateMinWords < 1 {
		errs.Add("duplicate_min_words", "must be at least 1, got %d", c.DuplicateMinWords)
	}
	if c.ModelWeight < 0 || c.ModelWeight > maxModelWeight {
		errs.Add("model_weight", "must be between 0 and %d, got %v", maxModelWeight, c.ModelWeight)
	}
	if !(c.SpamRate >= minSpamRate && c.SpamRate <= maxSpamRate) {
		errs.Add("spam_rate", "must be between %v and %v, got %v", minSpamRate, maxSpamRate, c.SpamRate)
	}
	return errs
}

// normalizeDomain accepts "example.com", "Example.COM.", "*.example.com" and
// ".example.com" (all meaning the domain and its subdomains) and refuses
// anything that is not a domain name, such as a URL.
func normalizeDomain(d string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(d))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "*."), ".")
	s = strings.TrimSuffix(s, ".")
	switch {
	case s == "":
		return "", fmt.Errorf("empty domain")
	case strings.Contains(s, "://") || strings.ContainsAny(s, "/?#@ \t"):
		return "", fmt.Errorf("%q is not a domain name: write the host alone, such as example.com", d)
	case net.ParseIP(s) != nil:
		return s, nil
	case !strings.Contains(s, "."):
		return "", fmt.Errorf("%q is not a domain name: it has no dot (write example.com, not example)", d)
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return "", fmt.Errorf("%q is not a domain name: bad label %q", d, label)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r > 127) {
				return "", fmt.Errorf("%q is not a domain name: %q is not allowed in a host", d, r)
			}
		}
	}
	return s, nil
}

// domainSet matches a host against domains and their subdomains.
type domainSet map[string]bool

func newDomainSet(domains []string) domainSet {
	s := make(domainSet, len(domains))
	for _, d := range domains {
		s[d] = true
	}
	return s
}

// match returns the listed domain that host is, or is under, or "".
func (s domainSet) match(host string) string {
	if len(s) == 0 {
		return ""
	}
	for h := host; h != ""; {
		if s[h] {
			return h
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			break
		}
		h = h[i+1:]
	}
	return ""
}

// configFields documents the keys for Describe.
func configFields() []sdk.ConfigField {
	d := defaultConfig()
	return []sdk.ConfigField{
		{Name: "blocked_domains", Type: "list", Description: "Domains whose links make a comment spam (subdomains too)."},
		{Name: "allowed_domains", Type: "list", Description: "Domains never held against a comment; wins over blocked_domains and shorteners."},
		{Name: "shorteners", Type: "list", Description: "URL shortener domains; replaces the built-in list of " + fmt.Sprint(len(d.Shorteners)) + "."},
		{Name: "max_links", Type: "int", Default: fmt.Sprint(d.MaxLinks), Description: "More links than this is a link flood."},
		{Name: "mention_flood", Type: "int", Default: fmt.Sprint(d.MentionFlood), Description: "This many distinct @mentions is a flood."},
		{Name: "hashtag_flood", Type: "int", Default: fmt.Sprint(d.HashtagFlood), Description: "This many distinct #hashtags is a flood."},
		{Name: "duplicates", Type: "bool", Default: "true", Description: "Look for the same text repeated across comments (state in the host's KV)."},
		{Name: "duplicate_window", Type: "duration", Default: `"24h"`, Description: "How long a comment's text is remembered."},
		{Name: "duplicate_threshold", Type: "int", Default: fmt.Sprint(d.DuplicateThreshold), Description: "Copies (this one included) within the window that make spam."},
		{Name: "duplicate_min_words", Type: "int", Default: fmt.Sprint(d.DuplicateMinWords), Description: "Shorter texts are not compared."},
		{Name: "model", Type: "bool", Default: "true", Description: "Use the statistical model trained on the SpamAssassin corpus."},
		{Name: "model_weight", Type: "float", Default: "1.0", Description: "Weight of the model's log-odds in the combined score (0 to 4)."},
		{Name: "spam_rate", Type: "float", Default: "0.25", Description: "Share of spam expected among comments, the prior of the model's score (0.01 to 0.99)."},
	}
}

// sortedUnique is used to print lists in reasons in a stable order.
func sortedUnique(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}
