package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/plugins/medium/mediumtest"
	"github.com/moderatorbot/moderator/plugins/twitter/twittertest"
)

// Config sets up a sandbox. Zero values take the defaults noted.
type Config struct {
	// Seed makes the stream of comments repeatable (0: 1).
	Seed uint64
	// Posts is how many posts each platform starts with (0: 3). Medium's
	// feed lists a writer's newest mediumtest.FeedItems (10) stories, so
	// Medium comments go on those only: a story out of the feed is never
	// discovered, and comments on it would never be found.
	Posts int
	// TwitterWebhook, when set, is where every new reply is also delivered
	// as an Account Activity event (the daemon's /webhooks/<connector>).
	TwitterWebhook string
	// MediumWebhook and MediumWebhookSecret, when set, are where Medium's
	// response events are POSTed, and the secret that signs them.
	MediumWebhook, MediumWebhookSecret string
	// MediumWebhookBackoff is the wait before a refused Medium delivery's
	// first retry, doubled for each next one (0: mediumtest's default).
	MediumWebhookBackoff time.Duration
	// MediumToken is the bearer token Medium's JSON API takes
	// (DefaultMediumToken when empty).
	MediumToken string
	// Now is the Medium fake's clock (nil: time.Now), for tests: its rate
	// window runs on it.
	Now    func() time.Time
	Logger hclog.Logger
}

// The sandbox's accounts: the ones moderator.toml watches.
const (
	// TwitterAccount is the X account whose conversations are moderated
	// (user id twittertest.DefaultUserID).
	TwitterAccount = "@" + twittertest.DefaultUsername
	// MediumAuthor is the Medium writer whose stories are watched.
	MediumAuthor = "@sandbox"
	// DefaultMediumToken is the Medium API token the sandbox takes.
	DefaultMediumToken = "sandbox-medium-token"
	// mediumRateLimit is the Medium fake's requests per 15-minute window.
	mediumRateLimit = 300
)

// Published is a comment the sandbox wrote, and what is true of it.
type Published struct {
	Platform  string    `json:"platform"`
	CommentID string    `json:"comment_id"`
	PostID    string    `json:"post_id"`
	Author    string    `json:"author"`
	Text      string    `json:"text"`
	Labels    []string  `json:"labels"`
	Sample    string    `json:"sample"` // its id in the corpus
	Kind      string    `json:"kind"`   // "new", "edit" or "redelivery"
	At        time.Time `json:"at"`
}

// Action is a moderation call a platform received.
type Action struct {
	Platform  string    `json:"platform"`
	CommentID string    `json:"comment_id"`
	Action    string    `json:"action"`
	At        time.Time `json:"at"`
	Status    int       `json:"status"` // the HTTP status the platform answered
}

// Sandbox serves the Twitter and Medium fakes on one handler and writes a
// steady stream of comments on their posts.
type Sandbox struct {
	cfg    Config
	log    hclog.Logger
	tw     *twittertest.Server
	md     *mediumtest.Server
	corpus []sample

	mu        sync.Mutex
	rng       *rand.Rand
	twPosts   []string // root tweets of the account
	mdPosts   []string // story ids of MediumAuthor that its feed lists
	twReplies map[string][]twittertest.Tweet
	mdReplies []string
	published []Published
}

// twitterCommenters and mediumCommenters write the comments.
var (
	twitterCommenters = []string{"ana_reads", "bob_builds", "chloe", "dev_null", "eli", "farah", "gus", "hana"}
	mediumCommenters  = []string{"ivy", "jon", "kemal", "lena", "mo", "nia"}
)

// New makes a sandbox with its accounts and first posts.
func New(cfg Config) (*Sandbox, error) {
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.Posts <= 0 {
		cfg.Posts = 3
	}
	if cfg.MediumToken == "" {
		cfg.MediumToken = DefaultMediumToken
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if (cfg.MediumWebhook == "") != (cfg.MediumWebhookSecret == "") {
		return nil, errors.New("the Medium webhook needs both its URL and its secret")
	}
	corpus, err := parseCorpus(corpusJSONL)
	if err != nil {
		return nil, err
	}
	s := &Sandbox{
		cfg: cfg, log: cfg.Logger, corpus: corpus,
		rng:       rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed)),
		tw:        twittertest.New(twittertest.Options{}),
		md:        mediumtest.New(mediumtest.Options{AccessToken: cfg.MediumToken, RateLimit: mediumRateLimit, Now: cfg.Now, WebhookBackoff: cfg.MediumWebhookBackoff}),
		twReplies: map[string][]twittertest.Tweet{},
	}
	if cfg.MediumWebhook != "" {
		s.md.SetWebhook(cfg.MediumWebhook, cfg.MediumWebhookSecret)
	}
	owner := s.tw.Owner()
	for i, name := range twitterCommenters {
		s.tw.AddUser(fmt.Sprint(2000+i), name)
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	first := now().Add(-time.Duration(cfg.Posts) * time.Minute)
	for i := range cfg.Posts {
		t := s.tw.Post(owner.ID, fmt.Sprintf("Sandbox post %d: what do you think of this week's release?", i+1))
		s.twPosts = append(s.twPosts, t.ID)
		// A minute apart, so the feed's newest are the last published.
		a := s.md.Publish(mediumtest.Article{
			Title: fmt.Sprintf("Sandbox story %d", i+1), Author: strings.TrimPrefix(MediumAuthor, "@"),
			Content:     "<p>A story the sandbox published, for moderator to watch.</p>",
			PublishedAt: first.Add(time.Duration(i) * time.Minute),
		})
		if i >= cfg.Posts-mediumtest.FeedItems {
			s.mdPosts = append(s.mdPosts, a.ID)
		}
	}
	return s, nil
}

// Close stops what the sandbox does in the background: the Medium fake's
// webhook retries.
func (s *Sandbox) Close() { s.md.Close() }

// Handler serves both fakes (X's API under /2/, Medium's feeds under
// /feed/ and its JSON API under /v1/; their paths do not overlap) and the
// sandbox's own endpoints under /_sandbox/.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/2/", s.tw.Handler())
	mux.Handle("/feed/", s.md.Handler())
	mux.Handle("/v1/", s.md.Handler())
	mux.HandleFunc("GET /_sandbox/actions", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Actions()) })
	mux.HandleFunc("GET /_sandbox/comments", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Published()) })
	mux.HandleFunc("POST /_sandbox/faults", s.serveFault)
	mux.HandleFunc("/_sandbox/", func(w http.ResponseWriter, r *http.Request) {
		// The catch-all also takes a known path with the wrong method,
		// which the patterns above would have answered 405.
		if allow, ok := sandboxAllow[r.URL.Path]; ok {
			w.Header().Set("Allow", allow)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": fmt.Sprintf("%s %s: this endpoint takes %s", r.Method, r.URL.Path, allow)})
			return
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such sandbox endpoint: GET /_sandbox/actions, GET /_sandbox/comments, POST /_sandbox/faults"})
	})
	return mux
}

// sandboxAllow is the methods each sandbox endpoint takes (a GET pattern
// takes HEAD too).
var sandboxAllow = map[string]string{
	"/_sandbox/actions":  "GET, HEAD",
	"/_sandbox/comments": "GET, HEAD",
	"/_sandbox/faults":   "POST",
}

// Actions lists every moderation call the platforms received, oldest first.
// Medium cannot remove a response, so only X's hide, unhide and delete
// calls are here; moderator's flags of Medium responses stay in its review
// queue.
func (s *Sandbox) Actions() []Action {
	out := []Action{}
	for _, c := range s.tw.Calls() {
		out = append(out, Action{Platform: "twitter", CommentID: c.TweetID, Action: c.Action, At: c.At, Status: c.Status})
	}
	return out
}

// Published lists the comments written so far, oldest first.
func (s *Sandbox) Published() []Published {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.published)
}

// Run writes a comment every interval until ctx ends.
func (s *Sandbox) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Step(ctx)
		}
	}
}

// Step writes one comment: mostly new ones on either platform, now and then
// an edit of a Medium response, or (with webhooks on) a Medium event or an
// X reply delivered again, as platforms do.
func (s *Sandbox) Step(ctx context.Context) Published {
	s.mu.Lock()
	roll := s.rng.Float64()
	smp := s.corpus[s.rng.IntN(len(s.corpus))]
	var p Published
	var deliver []twittertest.Tweet
	// newMedium writes a new Medium response (and delivers its webhook,
	// not under s.mu).
	newMedium := func() {
		post := s.mdPosts[s.rng.IntN(len(s.mdPosts))]
		author := mediumCommenters[s.rng.IntN(len(mediumCommenters))]
		s.mu.Unlock()
		r := s.md.Respond(mediumtest.Response{PostID: post, Author: author, Text: smp.Text})
		s.mu.Lock()
		s.mdReplies = append(s.mdReplies, r.ID)
		p = Published{Platform: "medium", CommentID: r.ID, PostID: post, Author: "@" + author, Kind: "new"}
	}
	switch {
	case roll < 0.05 && len(s.mdReplies) > 0:
		id := s.mdReplies[s.rng.IntN(len(s.mdReplies))]
		s.mu.Unlock()
		r, ok := s.md.Edit(id, smp.Text) // delivers its webhook: not under s.mu
		s.mu.Lock()
		if ok {
			p = Published{Platform: "medium", CommentID: r.ID, PostID: r.PostID, Author: "@" + r.Author, Kind: "edit"}
		} else {
			newMedium()
		}
	case roll < 0.45:
		newMedium()
	case roll < 0.48 && s.cfg.MediumWebhook != "" && len(s.mdReplies) > 0:
		// Medium's sender delivers an event again (it thinks the first was
		// lost): the response's last event, new or edit, byte for byte.
		id := s.mdReplies[s.rng.IntN(len(s.mdReplies))]
		var q Published
		for _, x := range s.published {
			if x.Platform == "medium" && x.CommentID == id {
				q = x
			}
		}
		s.mu.Unlock()
		ok := s.md.Redeliver(id)
		s.mu.Lock()
		if ok && q.CommentID != "" {
			p, smp = q, sample{ID: q.Sample, Text: q.Text, Labels: q.Labels}
			p.Kind = "redelivery"
		} else {
			newMedium()
		}
	case roll < 0.50 && s.cfg.TwitterWebhook != "" && len(s.published) > 0:
		// Account Activity retries a delivery it thinks was lost.
		var again []Published
		for _, q := range s.published {
			if q.Platform == "twitter" && q.Kind == "new" {
				again = append(again, q)
			}
		}
		if len(again) > 0 {
			q := again[s.rng.IntN(len(again))]
			if t, ok := s.tw.Tweet(q.CommentID); ok {
				deliver = append(deliver, t)
				p, smp = q, sample{ID: q.Sample, Text: q.Text, Labels: q.Labels}
				p.Kind = "redelivery"
				break
			}
		}
		fallthrough
	default:
		post := s.twPosts[s.rng.IntN(len(s.twPosts))]
		to := post
		if prev := s.twReplies[post]; len(prev) > 0 && s.rng.Float64() < 0.2 {
			to = prev[s.rng.IntN(len(prev))].ID // a reply to a reply
		}
		i := s.rng.IntN(len(twitterCommenters))
		t := s.tw.Reply(fmt.Sprint(2000+i), to, smp.Text)
		s.twReplies[post] = append(s.twReplies[post], t)
		deliver = append(deliver, t)
		p = Published{Platform: "twitter", CommentID: t.ID, PostID: post, Author: "@" + twitterCommenters[i], Kind: "new"}
	}
	p.Text, p.Labels, p.Sample, p.At = smp.Text, smp.Labels, smp.ID, time.Now().UTC()
	if p.Labels == nil {
		p.Labels = []string{}
	}
	s.published = append(s.published, p)
	s.mu.Unlock()
	if s.cfg.TwitterWebhook != "" && len(deliver) > 0 {
		// The daemon may not be up yet, or down: the reply is on the
		// platform either way, for a poll or the stream to find.
		if status, _, err := s.tw.Deliver(ctx, s.cfg.TwitterWebhook, deliver...); err != nil || status/100 != 2 {
			s.log.Debug("X webhook delivery not taken", "url", s.cfg.TwitterWebhook, "status", status, "error", err)
		}
	}
	s.log.Info("comment", "platform", p.Platform, "kind", p.Kind, "id", p.CommentID, "post", p.PostID, "labels", strings.Join(p.Labels, ","))
	return p
}

// faultRequest is POST /_sandbox/faults's body.
type faultRequest struct {
	// Platform is "twitter" or "medium" ("" with Clear: both).
	Platform string `json:"platform"`
	// Fault is one of faultKinds. A fault replaces the platform's
	// previous one (a disconnect, which happens once, replaces nothing).
	Fault string `json:"fault"`
	// Times is how many requests it applies to (0: until cleared or
	// replaced), for server_error, timeout and truncated, and for Medium's
	// rate_limit; any other fault, or clear, with times is refused.
	// rate_limit without times spends the platform's rate window, which
	// lifts when the window resets (within 15 minutes; the 429's
	// Retry-After or x-rate-limit-reset says when); usage_cap (X) lasts
	// until cleared or replaced; disconnect (X) ends the open streams once.
	Times int `json:"times"`
	// Clear ends the platform's faults instead.
	Clear bool `json:"clear"`
}

var faultKinds = []string{"rate_limit", "usage_cap", "server_error", "timeout", "truncated", "disconnect"}

// timesTakers says where times is accepted, for the refusals.
const timesTakers = "times is for server_error, timeout and truncated, and for Medium's rate_limit"

func (s *Sandbox) serveFault(w http.ResponseWriter, r *http.Request) {
	var req faultRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	if err == nil {
		if _, end := dec.Token(); end != io.EOF {
			err = errors.New("more after the JSON object: send one object")
		}
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error()})
		return
	}
	if err := s.Fault(req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, req)
}

// Fault turns a fault on in place of the platform's previous one, or clears
// a platform's faults. A request it refuses changes nothing.
func (s *Sandbox) Fault(req faultRequest) error {
	twitter, medium := req.Platform == "twitter", req.Platform == "medium"
	if !twitter && !medium && !(req.Clear && req.Platform == "") {
		return fmt.Errorf("platform %q: want \"twitter\" or \"medium\"", req.Platform)
	}
	if req.Times < 0 {
		return fmt.Errorf("times %d: want 0 (until cleared) or more", req.Times)
	}
	if req.Clear {
		if req.Fault != "" {
			return errors.New("clear takes no fault")
		}
		if req.Times != 0 {
			return fmt.Errorf("times %d: clear takes none (%s)", req.Times, timesTakers)
		}
		s.clear(!medium, !twitter)
		s.log.Info("faults cleared", "platform", req.Platform)
		return nil
	}
	if !slices.Contains(faultKinds, req.Fault) {
		return fmt.Errorf("fault %q: want one of %s", req.Fault, strings.Join(faultKinds, ", "))
	}
	if medium && (req.Fault == "usage_cap" || req.Fault == "disconnect") {
		return fmt.Errorf("fault %q: Medium has none (no usage cap, no stream)", req.Fault)
	}
	counted := req.Fault == "server_error" || req.Fault == "timeout" || req.Fault == "truncated" || medium && req.Fault == "rate_limit"
	if req.Times != 0 && !counted {
		// twittertest's rate window, usage cap and stream disconnect have
		// no count of requests.
		return fmt.Errorf("times %d: %s's %s takes none (%s)", req.Times, req.Platform, req.Fault, timesTakers)
	}
	// The fakes stack faults and the first that matches applies, so one
	// set behind an unlimited fault would never apply: a new fault
	// replaces the old (twittertest has no replace: clear, then set).
	if req.Fault != "disconnect" {
		s.clear(twitter, medium)
	}
	const hang = 10 * time.Minute // longer than any client waits
	switch {
	case twitter && req.Fault == "rate_limit":
		s.tw.SetRemaining(twittertest.EndpointSearch, 0)
	case twitter && req.Fault == "usage_cap":
		s.tw.SetUsageCapped(true)
	case twitter && req.Fault == "server_error":
		s.tw.SetFault(twittertest.Fault{Status: http.StatusServiceUnavailable, Times: req.Times})
	case twitter && req.Fault == "timeout":
		s.tw.SetFault(twittertest.Fault{Delay: hang, Times: req.Times})
	case twitter && req.Fault == "truncated":
		s.tw.SetFault(twittertest.Fault{Truncate: true, Times: req.Times})
	case twitter && req.Fault == "disconnect":
		s.tw.DisconnectStreams()
	case medium && req.Fault == "rate_limit" && req.Times == 0:
		// The window spent: 429s with Retry-After until its reset, when
		// the fake's window starts again, as a real limit lifts.
		s.md.SetRemaining(0)
	case medium && req.Fault == "rate_limit":
		s.md.InjectFault(mediumtest.Fault{RateLimited: true, Times: req.Times})
	case medium && req.Fault == "server_error":
		s.md.InjectFault(mediumtest.Fault{Status: http.StatusServiceUnavailable, Times: req.Times})
	case medium && req.Fault == "timeout":
		s.md.InjectFault(mediumtest.Fault{Delay: hang, Times: req.Times})
	case medium && req.Fault == "truncated":
		s.md.InjectFault(mediumtest.Fault{Truncate: true, Times: req.Times})
	}
	s.log.Info("fault on", "platform", req.Platform, "fault", req.Fault, "times", req.Times)
	return nil
}

// clear ends the faults of X, Medium or both, and gives back full rate
// windows.
func (s *Sandbox) clear(twitter, medium bool) {
	if twitter {
		s.tw.ClearFaults()
		s.tw.SetUsageCapped(false)
		for e, n := range twittertest.DefaultLimits {
			s.tw.SetRemaining(e, n)
		}
	}
	if medium {
		s.md.ClearFaults()
		s.md.SetRemaining(mediumRateLimit)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
