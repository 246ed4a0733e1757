package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

const (
	streamPath = "/2/tweets/search/stream"
	rulesPath  = "/2/tweets/search/stream/rules"
)

// backoff is X's documented reconnect policy for the filtered stream.
type backoff struct {
	netStep, netMax   time.Duration // TCP/IP errors: linear
	httpBase, httpMax time.Duration // HTTP errors: exponential
	rateBase, rateMax time.Duration // 429: exponential
	usageCap          time.Duration // the least wait after a 429 UsageCapExceeded
	stable            time.Duration // a connection up this long starts the backoff over
}

var xBackoff = backoff{
	netStep: 250 * time.Millisecond, netMax: 16 * time.Second,
	httpBase: 5 * time.Second, httpMax: 320 * time.Second,
	rateBase: time.Minute, rateMax: 16 * time.Minute,
	usageCap: time.Hour, stable: time.Minute,
}

// streamError is why a stream connection ended, with the backoff class.
type streamError struct {
	class  string // "net", "http", "rate"
	err    error
	status int
}

func (e *streamError) Error() string { return e.err.Error() }
func (e *streamError) Unwrap() error { return e.err }

// Stream follows the targets with X's filtered stream: post targets as
// conversation_id: rules and author targets as to: rules (replies to the
// account), OR-ed into rules of up to query_max_length characters and tagged
// with the instance, so that the rules of other apps or instances are left
// alone. X's filtered stream is one per app: it carries the matches of every
// rule of the app, so only tweets that matched a rule with this instance's
// tag (matching_rules) are delivered. The rules are brought in step with
// the targets when these change, not on every reconnect. Stream reads the
// stream (keep-alives, tweets, operational-disconnect messages), and
// reconnects by X's rules: network errors back off linearly by 250 ms to
// 16 s, HTTP errors exponentially from 5 s to 320 s, 429 exponentially from
// a minute to 16 minutes, and the monthly usage cap (429 UsageCapExceeded)
// at least an hour, reported as disconnected; a stream silent for
// stream_stall_timeout (keep-alives come every 20 s) is treated as a
// network error. The backoff starts over only once a connection has stayed
// up a minute or brought a tweet, so a stream that X accepts and drops at
// once is not reconnected in a loop. Every reconnect reports a gap, so the
// host polls for what passed meanwhile.
//
// An error that retrying cannot cure (X refuses a rule, or the credentials
// or the plan, with 400, 401 or 403) is reported as disconnected, and
// Stream waits for ctx to end without asking X again (a new session, with
// other targets or another config, tries again), then returns that error.
//
// Filtered stream needs an API plan that includes it (Pro or above), so it
// is off unless stream = true: Stream then returns sdk.ErrUnsupported.
func (t *Twitter) Stream(ctx context.Context, req sdk.StreamRequest, sink sdk.StreamSink) error {
	s, err := t.current()
	if err != nil {
		return err
	}
	if !s.stream {
		return fmt.Errorf("the filtered stream is off (stream = false in the config): %w", sdk.ErrUnsupported)
	}
	want := streamRules(req.Targets, s.queryMax)
	var netTries, httpTries, rateTries int
	connected := false
	b := s.backoff
	for ctx.Err() == nil {
		err := s.ensureRules(ctx, want)
		if err == nil {
			var up streamSession
			up, err = s.streamOnce(ctx, sink, connected)
			if up.connected {
				connected = true
				if up.data || s.now().Sub(up.at) >= b.stable {
					netTries, httpTries, rateTries = 0, 0, 0
				}
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errSinkGone) {
			return err
		}
		if sdk.IsPermanent(err) {
			st := sdk.StreamStatus{State: sdk.StreamDisconnected, Detail: fmt.Sprintf("%v; not retried: X will answer the same until the targets or the config change", err)}
			if err := sink.Status(st); err != nil {
				return err
			}
			<-ctx.Done()
			return err
		}
		var se *streamError
		var rle *sdk.RateLimitedError
		switch {
		case errors.As(err, &se):
		case errors.As(err, &rle):
			se = &streamError{class: "rate", err: err}
		default:
			// The rules calls: transport errors and HTTP errors alike
			// take the HTTP backoff, the more patient one.
			se = &streamError{class: "http", err: err}
		}
		var wait time.Duration
		switch se.class {
		case "rate":
			wait = min(b.rateBase<<min(rateTries, 10), b.rateMax)
			rateTries++
		case "http":
			wait = min(b.httpBase<<min(httpTries, 10), b.httpMax)
			httpTries++
		default:
			netTries++
			wait = min(b.netStep*time.Duration(netTries), b.netMax)
		}
		st := sdk.StreamStatus{State: sdk.StreamReconnecting, Detail: fmt.Sprintf("%v; reconnecting in %s", err, wait)}
		if errors.As(err, &rle) {
			st.RateLimit = rle.RateLimit
			if rle.RateLimit.UsageCapExceeded {
				// Waiting for the window does not restore the monthly cap:
				// ask again seldom, and say that the stream is down.
				wait = max(wait, b.usageCap)
				st.State = sdk.StreamDisconnected
				st.Detail = fmt.Sprintf("%v; the API plan's usage cap is spent: trying again in %s (raise the cap, or wait for the next month)", err, wait)
			}
		}
		if err := sink.Status(st); err != nil {
			return err
		}
		if !s.sleep(ctx, wait) {
			return nil
		}
	}
	return nil
}

// errSinkGone wraps a sink error: the host is gone.
var errSinkGone = errors.New("the host stopped taking the stream")

// streamRules packs the targets into rule values of at most max characters.
func streamRules(targets []sdk.Target, max int) []string {
	var terms []string
	for _, tg := range targets {
		switch {
		case tg.Kind == sdk.TargetPost && isID(tg.ID):
			terms = append(terms, "conversation_id:"+tg.ID)
		case tg.Kind == sdk.TargetAuthor && isID(tg.ID):
			terms = append(terms, "to:"+tg.ID)
		case tg.Kind == sdk.TargetAuthor && validUsername(strings.TrimPrefix(tg.ID, "@")):
			terms = append(terms, "to:"+strings.TrimPrefix(tg.ID, "@"))
		}
	}
	slices.Sort(terms)
	var rules []string
	for _, g := range orGroups(slices.Compact(terms), max) {
		rules = append(rules, strings.Join(g, " OR "))
	}
	return rules
}

// ensureRules makes this instance's rules want, unless they were made so
// already: the rules change with the targets, not with each reconnect.
func (s *settings) ensureRules(ctx context.Context, want []string) error {
	s.mu.Lock()
	done := s.rules != nil && slices.Equal(s.rules, want)
	s.mu.Unlock()
	if done {
		return nil
	}
	if err := s.syncRules(ctx, want); err != nil {
		return err
	}
	s.mu.Lock()
	s.rules = append([]string{}, want...)
	s.mu.Unlock()
	return nil
}

// syncRules makes this instance's rules (those tagged s.ruleTag) exactly want.
func (s *settings) syncRules(ctx context.Context, want []string) error {
	res, err := s.call(ctx, false, http.MethodGet, rulesPath, nil, nil, "GET "+rulesPath)
	if err == nil {
		err = res.check()
	}
	if err != nil {
		return err
	}
	var have struct {
		Data []struct {
			ID    string `json:"id"`
			Value string `json:"value"`
			Tag   string `json:"tag"`
		} `json:"data"`
	}
	if err := res.decode(&have); err != nil {
		return err
	}
	var del []string
	present := map[string]bool{}
	for _, r := range have.Data {
		if r.Tag != s.ruleTag {
			continue
		}
		if slices.Contains(want, r.Value) && !present[r.Value] {
			present[r.Value] = true
			continue
		}
		del = append(del, r.ID)
	}
	if len(del) > 0 {
		if err := s.postRules(ctx, map[string]any{"delete": map[string]any{"ids": del}}); err != nil {
			return err
		}
	}
	var add []map[string]string
	for _, v := range want {
		if !present[v] {
			add = append(add, map[string]string{"value": v, "tag": s.ruleTag})
		}
	}
	if len(add) > 0 {
		return s.postRules(ctx, map[string]any{"add": add})
	}
	return nil
}

func (s *settings) postRules(ctx context.Context, body any) error {
	data, _ := json.Marshal(body)
	res, err := s.call(ctx, false, http.MethodPost, rulesPath, nil, data, "POST "+rulesPath)
	if err == nil {
		err = res.check()
	}
	if err != nil {
		return err
	}
	var ans struct {
		Errors []struct {
			Value   string   `json:"value"`
			Title   string   `json:"title"`
			Detail  string   `json:"detail"`
			Details []string `json:"details"`
		} `json:"errors"`
	}
	if err := res.decode(&ans); err != nil {
		return err
	}
	for _, e := range ans.Errors {
		if e.Title == "DuplicateRule" {
			continue
		}
		return sdk.Permanent(fmt.Errorf("%s: rule %q refused: %s %s %s", res.what, e.Value, e.Title, e.Detail, strings.Join(e.Details, "; ")))
	}
	return nil
}

// streamMessage is one line of the filtered stream.
type streamMessage struct {
	Data     json.RawMessage `json:"data"`
	Includes struct {
		Users []struct {
			ID       string `json:"id"`
			Username string `json:"username"`
		} `json:"users"`
	} `json:"includes"`
	Errors []struct {
		Title          string `json:"title"`
		DisconnectType string `json:"disconnect_type"`
		Detail         string `json:"detail"`
		Type           string `json:"type"`
	} `json:"errors"`
	MatchingRules []matchingRule `json:"matching_rules"`
}

// matchingRule is a rule a stream message matched.
type matchingRule struct {
	ID  string `json:"id"`
	Tag string `json:"tag"`
}

// streamSession is how one connection went.
type streamSession struct {
	connected bool      // X answered 200
	at        time.Time // when
	data      bool      // a tweet came on it
}

// streamOnce connects once and reads until the stream ends.
func (s *settings) streamOnce(ctx context.Context, sink sdk.StreamSink, reconnect bool) (streamSession, error) {
	var up streamSession
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	q := url.Values{
		"tweet.fields": {"author_id,conversation_id,created_at,in_reply_to_user_id,referenced_tweets,lang"},
		"expansions":   {"author_id"},
		"user.fields":  {"username"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+streamPath+"?"+q.Encode(), nil)
	if err != nil {
		return up, sdk.Permanent(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.bearer)
	// The client has no overall timeout (the stream stays open), so the
	// connection and its headers get one of their own.
	connecting := time.AfterFunc(s.timeout, cancel)
	res, err := s.streamClient.Do(req)
	if !connecting.Stop() && err == nil {
		res.Body.Close()
		err = fmt.Errorf("no answer within %s", s.timeout)
	}
	if err != nil {
		return up, &streamError{class: "net", err: fmt.Errorf("GET %s: %w", streamPath, err)}
	}
	defer res.Body.Close()
	rl := rateLimit(res.Header, "GET "+streamPath)
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
		err := response{status: res.StatusCode, body: body, rate: rl, what: "GET " + streamPath}.check()
		if sdk.IsPermanent(err) {
			return up, err // 400, 401, 403: the same answer every time
		}
		class := "http"
		if res.StatusCode == http.StatusTooManyRequests {
			class = "rate"
		}
		return up, &streamError{class: class, err: err, status: res.StatusCode}
	}
	up.connected, up.at = true, s.now()
	if err := sink.Status(sdk.StreamStatus{State: sdk.StreamConnected, Gap: reconnect, RateLimit: rl, Detail: "connected to the filtered stream"}); err != nil {
		return up, fmt.Errorf("%w: %v", errSinkGone, err)
	}
	lines := make(chan []byte)
	readErr := make(chan error, 1)
	go func() {
		r := bufio.NewReaderSize(res.Body, 64<<10)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				select {
				case lines <- line:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()
	stall := time.NewTimer(s.streamStall)
	defer stall.Stop()
	for {
		select {
		case <-ctx.Done():
			return up, ctx.Err()
		case <-stall.C:
			return up, &streamError{class: "net", err: fmt.Errorf("GET %s: nothing for %s, not even a keep-alive", streamPath, s.streamStall)}
		case err := <-readErr:
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return up, &streamError{class: "net", err: fmt.Errorf("GET %s: the stream ended: %w", streamPath, err)}
		case line := <-lines:
			stall.Reset(s.streamStall)
			line = bytes.TrimSpace(line)
			if len(line) == 0 {
				continue // keep-alive
			}
			c, ok, err := decodeStreamLine(line, s.ruleTag)
			if err != nil {
				var se *streamError
				if errors.As(err, &se) {
					return up, err
				}
				s.log.Warn("skipping an unreadable stream message", "error", err)
				continue
			}
			up.data = true
			if !ok || s.ownReply(c) {
				continue
			}
			if err := sink.Comment(c); err != nil {
				return up, fmt.Errorf("%w: %v", errSinkGone, err)
			}
		}
	}
}

// decodeStreamLine reads one stream message: a reply that matched a rule
// tagged tag as a comment (ok); a post, a tweet that matched only rules of
// other instances or apps (X's filtered stream carries every rule's matches
// of the app), or a message of no interest (not ok); an operational
// disconnect (a *streamError); or an error for a line that is not a stream
// message.
func decodeStreamLine(line []byte, tag string) (sdk.Comment, bool, error) {
	var m streamMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return sdk.Comment{}, false, fmt.Errorf("not JSON: %v: %.200q", err, line)
	}
	if len(m.Data) == 0 || string(m.Data) == "null" {
		for _, e := range m.Errors {
			if e.Title == "operational-disconnect" || e.DisconnectType != "" {
				return sdk.Comment{}, false, &streamError{class: "net", err: fmt.Errorf("GET %s: %s: %s", streamPath, e.Title, e.Detail)}
			}
		}
		return sdk.Comment{}, false, nil
	}
	var tw tweet
	if err := json.Unmarshal(m.Data, &tw); err != nil {
		return sdk.Comment{}, false, fmt.Errorf("tweet: %v", err)
	}
	if !isID(tw.ID) || !isID(tw.ConversationID) {
		return sdk.Comment{}, false, fmt.Errorf("tweet %.40q in conversation %.40q: not tweet ids", tw.ID, tw.ConversationID)
	}
	if tw.ID == tw.ConversationID {
		return sdk.Comment{}, false, nil // a post, not a reply
	}
	if !slices.ContainsFunc(m.MatchingRules, func(r matchingRule) bool { return r.Tag == tag }) {
		return sdk.Comment{}, false, nil // another instance's or app's match
	}
	handle := ""
	for _, u := range m.Includes.Users {
		if u.ID == tw.AuthorID {
			handle = u.Username
		}
	}
	return toComment(tw, handle, append([]byte(nil), m.Data...)), true, nil
}
