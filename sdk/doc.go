// Package sdk is everything a moderator plugin author imports: the plugin
// protocol (moderator.v1 over gRPC, through hashicorp/go-plugin), the Go types
// and interfaces a plugin implements, Serve to run one, and the host side of
// the protocol (RemotePlugin) that the moderator host and sdk/plugintest use.
// A plugin is a separate binary; an operator swaps it in with a TOML edit.
//
// # Two kinds of plugin
//
// An analyzer scores comments: it implements [Analyzer], whose Analyze takes a
// batch of comments and returns one [Result] per comment, in order, with
// labels scored in [0,1], the spans of the text that triggered them (byte
// offsets into the original Text) and a reason a moderator can read. Labels
// come from the shared vocabulary ([Labels]: "spam", "insult", ...) or are
// the plugin's own, prefixed with its name ("shouting.caps"), and every one
// it emits is declared in [Info].Labels: a label it did not declare, or one
// with another plugin's prefix, fails the batch, and so does a span that
// starts or ends inside a UTF-8 character.
//
// A connector talks to one platform: it finds posts, fetches their comments
// and applies moderation actions. See "Connectors" below.
//
// # A minimal analyzer
//
// One type and one main (examples/shouting in full):
//
//	package main
//
//	import (
//		"context"
//		"fmt"
//		"unicode"
//
//		"github.com/moderatorbot/moderator/sdk"
//	)
//
//	// Shouting scores the share of capital letters among a comment's letters.
//	type Shouting struct {
//		MinLetters int `json:"min_letters"`
//	}
//
//	func (s *Shouting) Analyze(_ context.Context, comments []sdk.Comment) ([]sdk.Result, error) {
//		results := make([]sdk.Result, len(comments))
//		for i, c := range comments {
//			results[i].CommentID = c.ID
//			letters, upper, first, last := 0, 0, -1, 0
//			for off, r := range c.Text {
//				if !unicode.IsLetter(r) {
//					continue
//				}
//				letters++
//				if unicode.IsUpper(r) {
//					upper++
//					if first < 0 {
//						first = off
//					}
//					last = off + len(string(r))
//				}
//			}
//			if letters < s.MinLetters || upper == 0 {
//				continue // nothing found: a result with no labels
//			}
//			score := float64(upper) / float64(letters)
//			results[i].Labels = []sdk.Label{{
//				Name:   "shouting.caps",
//				Score:  score,
//				Spans:  []sdk.Span{{Start: first, End: last}},
//				Reason: fmt.Sprintf("%d of %d letters are capitals", upper, letters),
//			}}
//		}
//		return results, nil
//	}
//
//	func main() {
//		sdk.Serve(sdk.Plugin{
//			Info: sdk.Info{
//				Name:    "shouting",
//				Version: "0.1.0",
//				Labels:  []string{"shouting.caps"},
//				Config:  []sdk.ConfigField{{Name: "min_letters", Type: "int", Default: "8"}},
//			},
//			Analyzer: &Shouting{MinLetters: 8},
//		})
//	}
//
// Analyze may be called concurrently, with batches of up to [Info].MaxBatch
// comments when that is set. Return an error only when the whole batch failed
// (the host retries it); a problem with one comment goes in its Result.Err.
// Text that is not valid UTF-8 reaches the plugin with each bad byte replaced
// by '?', so offsets still match the host's copy.
//
// # Configuration
//
// A plugin that takes settings implements [Configurer]. Configure receives the
// instance's `config` table from moderator.toml, once per process start and
// before any call but Describe. Decode it with [Config.Decode], which reports
// unknown keys (matched case-sensitively, as TOML is), wrong types and bad
// durations ([Duration] decodes "90s") as [FieldErrors], every one at once.
// Add checks of your own and return them the same way:
//
//	func (s *Shouting) Configure(_ context.Context, req sdk.ConfigureRequest) error {
//		cfg := Shouting{MinLetters: 8}
//		if err := req.Config.Decode(&cfg); err != nil {
//			return err
//		}
//		var errs sdk.FieldErrors
//		if cfg.MinLetters < 1 {
//			errs.Add("min_letters", "must be at least 1, got %d", cfg.MinLetters)
//		}
//		if err := errs.Err(); err != nil {
//			return err
//		}
//		*s = cfg
//		return nil
//	}
//
// The host shows field errors as FILE:LINE:COL messages under
// `moderator config check`, which configures each plugin with
// ConfigureRequest.ValidateOnly set: check the table, but reach nothing
// outside the process. Any other error from Configure fails the call as a
// whole. A plugin without Configure refuses every key.
//
// Document the keys in [Info].Config (name, type, default, a sentence) and
// mark credentials Secret. Describe carries them, and the conformance suite
// checks them (known types, no name twice), but this moderator does not
// show them yet: neither `moderator plugins list` nor the admin API prints
// a plugin's Description or its config keys, so say in the plugin's README
// what its keys are. Write credentials in moderator.toml as ${VAR}, and never
// repeat a secret's value in a field error or a log line.
//
// # The host's key-value store
//
// ConfigureRequest.KV is a durable key-value store the host keeps for this
// plugin instance, served back to the plugin over go-plugin's broker, so a
// plugin can remember things across restarts (seen fingerprints, tokens) and
// still be a stateless binary. Keep it from Configure and use it in later
// calls; it stays usable until the process exits. [KV] has Get, Set (with an
// optional TTL), SetIfAbsent (an atomic claim), Delete and List (by prefix,
// in key order, paged). Two instances of one plugin never see each other's
// keys. Without host services (a unit test that passes none) every call
// fails with [ErrNoHost]; [NewMemoryKV] is a store to pass in tests.
//
// Every call is a round trip to the host, and every write a durable commit
// there. A plugin that touches several keys per comment should batch them:
// [SetMany] and [ListMany] carry a whole batch's writes or listings in one
// call each (and one commit for the writes), and fall back to a call per
// key on a KV that cannot batch. The spam analyzer's near-duplicate store
// went from a few hundred to a few thousand comments/s that way.
//
// # Connectors
//
// A connector sets [Plugin].Connector to a value that implements one or more
// of [Discoverer] (expand an author, publication or query into posts),
// [Poller] (comments on many posts newer than opaque cursors, with the
// platform's [RateLimit]), [Streamer] (a long-lived stream; the plugin owns
// reconnecting and reports gaps), [WebhookHandler] (verify and decode an HTTP
// delivery the host forwards) and [Moderator] (apply an action). Serve derives
// the declared capabilities from the interfaces the value implements, so
// Describe never claims what the plugin cannot do; calls to the others fail
// with [ErrUnsupported]. List the actions Moderate can apply in
// [Info].Actions: Serve refuses any other action with ErrUnsupported before
// Moderate is called, so Moderate needs no check of its own. List the target
// kinds Discover expands in [Info].TargetKinds: likewise, Serve refuses a
// Discover of any other kind before Discover is called.
// Moderate must be idempotent: the host retries after crashes and timeouts,
// and a second identical action reports ModerateResponse.Changed false.
// examples/forum is a minimal connector (poll and hide) with a fake of its
// platform in its tests; copy it to start one.
//
// # Errors
//
// Errors cross the wire with their meaning, so the host can match them with
// errors.Is and errors.As:
//
//   - [RateLimitedError] carries the platform's [RateLimit]: the host waits for
//     its Reset, or pauses the connector and tells the operator when
//     UsageCapExceeded says waiting will not help.
//   - [Permanent] marks an error that retrying will not cure (a 403); the host
//     records it and moves on.
//   - [ErrNotFound]: the comment or post is gone from the platform.
//   - [ErrUnsupported]: an action or capability the plugin does not have; the
//     host treats it as a configuration error and never retries.
//   - [ErrMessageTooLarge] is the SDK's own, not a plugin's: a request or reply
//     over gRPC's size limit ([MaxMessageBytes]). The host sends less (it
//     splits an analyzer batch) rather than waiting as for a rate limit.
//
// Wrap them with context as usual (fmt.Errorf("hide %s: %w", id, sdk.ErrNotFound));
// the message reaches the host's log. Anything else is retried with backoff.
//
// # Logging
//
// [Logger] returns an hclog.Logger that writes JSON to stderr; the host reads
// it and forwards each line into its own log, at the level the plugin logged
// at, under the instance's name. ConfigureRequest.Logger is the same logger,
// set to the host's log level (under plugintest.Start, a logger that writes
// to the test's t.Log). Never log secrets. Log through these, not the
// log package or fmt: once Serve runs, go-plugin swaps os.Stdout and
// os.Stderr for pipes of its own, and the host does not show what goes there.
//
// # Testing
//
// Package sdk/plugintest is the harness for a plugin's own tests:
// plugintest.Start runs a Plugin in-process over real gRPC and returns the
// host's handle on it; plugintest.Build (or BuildOnce, for many tests)
// compiles the plugin's main package and plugintest.Launch starts the binary
// the way the host does. Both handles run plugintest.TestAnalyzer or
// plugintest.TestConnector, the conformance suites that check Describe,
// Configure and every call against this contract with a corpus of tricky
// text. With main serving newPlugin() (a function that returns the
// sdk.Plugin, as in examples/shouting):
//
//	func TestConformance(t *testing.T) {
//		suite := plugintest.AnalyzerSuite{
//			Config:     map[string]any{"min_letters": 8},
//			BadConfigs: []plugintest.BadConfig{{Name: "zero", Config: map[string]any{"min_letters": 0}, Field: "min_letters"}},
//		}
//		plugintest.TestAnalyzer(t, plugintest.Start(t, newPlugin()), suite)
//		plugintest.TestAnalyzer(t, plugintest.Launch(t, plugintest.Build(t, ".")), suite)
//	}
//
// # Building and wiring
//
// Build the binary into the host's plugin directory and name an instance of
// it in moderator.toml:
//
//	go build -o bin/plugins/shouting ./examples/shouting
//
//	[[analyzer]]
//	name = "shouting"
//	plugin = "shouting"        # looked up in [plugins] dir, or a path
//	# sha256 = "..."           # optional pin: `sha256sum bin/plugins/shouting`
//	[analyzer.config]
//	min_letters = 8
//
// With sha256 set, the host refuses to run a binary whose checksum differs.
// The same plugin may run as several instances, each with its own name,
// config and KV. A connector is wired the same way under [[connector]].
//
// # Guarantees
//
// Serve checks the Plugin before serving ([Plugin.Check]: a name, exactly one
// of Analyzer and Connector, declared labels, a connector with at least one
// capability, methods reachable from the value passed), and so does
// plugintest.Start. It negotiates the
// protocol version with the host through go-plugin; a host and plugin with no
// version in common fail with an error naming both. A panic in a plugin call
// becomes an error for that one call, and the plugin keeps serving with its
// state intact. Serve exits when the host stops the plugin, and within about
// a second when the host dies without doing so (even by SIGKILL), so a
// plugin never outlives its host. Replies are checked on both sides of the
// wire (one result per comment in order, only labels declared in
// Info.Labels and shared or the plugin's own, scores in [0,1], spans inside
// the text and on character boundaries; see CheckResults), so a bug in a
// plugin shows as a clear error, not as bad data.
package sdk
