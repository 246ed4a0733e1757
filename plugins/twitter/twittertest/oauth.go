package twittertest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// This file verifies OAuth 1.0a (RFC 5849) HMAC-SHA1 signed requests, as X
// does for user-context endpoints. It is written independently of the
// connector's signer (github.com/dghubble/oauth1), so each checks the other.

// percentEncode is RFC 5849 section 3.6: every byte but ALPHA, DIGIT, '-',
// '.', '_' and '~' as %XX with upper-case hex.
func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// parseOAuthHeader reads `OAuth k="v", ...` into its decoded parameters.
func parseOAuthHeader(h string) (map[string]string, error) {
	rest, ok := strings.CutPrefix(h, "OAuth ")
	if !ok {
		return nil, fmt.Errorf("not an OAuth header")
	}
	out := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return nil, fmt.Errorf("malformed OAuth parameter %q", part)
		}
		key, err1 := url.PathUnescape(k)
		val, err2 := url.PathUnescape(v[1 : len(v)-1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("malformed OAuth parameter %q", part)
		}
		out[key] = val
	}
	return out, nil
}

// signatureBaseString is RFC 5849 section 3.4.1 for r, with the oauth
// parameters from its header (oauth_signature left out) and, for a
// form-encoded body, the body's parameters.
func signatureBaseString(method, baseURL string, query url.Values, oauth map[string]string, form url.Values) string {
	type pair struct{ k, v string }
	var pairs []pair
	add := func(vs url.Values) {
		for k, list := range vs {
			for _, v := range list {
				pairs = append(pairs, pair{percentEncode(k), percentEncode(v)})
			}
		}
	}
	add(query)
	add(form)
	for k, v := range oauth {
		if k == "oauth_signature" || k == "realm" {
			continue
		}
		pairs = append(pairs, pair{percentEncode(k), percentEncode(v)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	return strings.ToUpper(method) + "&" + percentEncode(baseURL) + "&" + percentEncode(strings.Join(parts, "&"))
}

// hmacSHA1 signs base with the consumer and token secrets (section 3.4.2).
func hmacSHA1(consumerSecret, tokenSecret, base string) string {
	mac := hmac.New(sha1.New, []byte(percentEncode(consumerSecret)+"&"+percentEncode(tokenSecret)))
	mac.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// requestBaseURL is section 3.4.1.2: scheme and host in lower case, the
// default port left out, the path, no query.
func requestBaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := strings.ToLower(r.Host)
	if h, ok := strings.CutSuffix(host, ":80"); ok && scheme == "http" {
		host = h
	}
	if h, ok := strings.CutSuffix(host, ":443"); ok && scheme == "https" {
		host = h
	}
	return scheme + "://" + host + r.URL.EscapedPath()
}

// verifyOAuth checks r's OAuth 1.0a signature against the consumer and token
// secrets it names. body is r's body, already read. It returns the token
// the request was signed with.
func verifyOAuth(r *http.Request, body []byte, consumerKey, consumerSecret string, tokenSecret func(token string) (string, bool)) (string, error) {
	params, err := parseOAuthHeader(r.Header.Get("Authorization"))
	if err != nil {
		return "", err
	}
	if params["oauth_signature_method"] != "HMAC-SHA1" {
		return "", fmt.Errorf("unsupported oauth_signature_method %q", params["oauth_signature_method"])
	}
	if v, ok := params["oauth_version"]; ok && v != "1.0" {
		return "", fmt.Errorf("unsupported oauth_version %q", v)
	}
	for _, k := range []string{"oauth_consumer_key", "oauth_token", "oauth_nonce", "oauth_timestamp", "oauth_signature"} {
		if params[k] == "" {
			return "", fmt.Errorf("%s is missing", k)
		}
	}
	if !hmac.Equal([]byte(params["oauth_consumer_key"]), []byte(consumerKey)) {
		return "", fmt.Errorf("unknown consumer key")
	}
	secret, ok := tokenSecret(params["oauth_token"])
	if !ok {
		return "", fmt.Errorf("unknown access token")
	}
	var form url.Values
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
		form, _ = url.ParseQuery(string(body))
	}
	base := signatureBaseString(r.Method, requestBaseURL(r), r.URL.Query(), params, form)
	want := hmacSHA1(consumerSecret, secret, base)
	if !hmac.Equal([]byte(want), []byte(params["oauth_signature"])) {
		return "", fmt.Errorf("signature mismatch")
	}
	return params["oauth_token"], nil
}
