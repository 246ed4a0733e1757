package sdk

// ProtocolVersion is the moderator plugin protocol this SDK speaks
// (package moderator.v1 of the .proto files). Host and plugin negotiate it
// through go-plugin's VersionedPlugins; a plugin built against one version
// refuses to talk to a host that speaks only another, with an error naming both.
const ProtocolVersion = 1

// Version is the version of this SDK, reported by every plugin in Describe.
const Version = "0.1.0"

// protocolVersionOverride lets a test build a plugin that claims another
// protocol version (go build -ldflags "-X ...sdk.protocolVersionOverride=2"),
// to exercise the host's negotiation error. Empty in every real build.
var protocolVersionOverride string

// Kind is the role a plugin plays.
type Kind string

// The two plugin kinds.
const (
	KindConnector Kind = "connector"
	KindAnalyzer  Kind = "analyzer"
)

// Capabilities a plugin declares in Describe. An analyzer has CapAnalyze; a
// connector has any of the others, derived from the interfaces it implements.
const (
	CapAnalyze  = "analyze"
	CapDiscover = "discover"
	CapPoll     = "poll"
	CapStream   = "stream"
	CapWebhook  = "webhook"
	CapModerate = "moderate"
)

// Actions a policy can take. All but ActionReview are applied on the platform
// through a connector's Moderate; ActionReview queues the comment for a human.
const (
	ActionApprove = "approve"
	ActionFlag    = "flag"
	ActionHide    = "hide"
	ActionUnhide  = "unhide"
	ActionDelete  = "delete"
	ActionReview  = "review"
)

// Actions lists every action name, in order of increasing severity.
var Actions = []string{ActionApprove, ActionReview, ActionFlag, ActionUnhide, ActionHide, ActionDelete}

// Labels of the shared vocabulary. A plugin may emit labels of its own,
// prefixed with its name and a dot ("shouting.caps").
const (
	LabelProfanity      = "profanity"
	LabelInsult         = "insult"
	LabelThreat         = "threat"
	LabelIdentityAttack = "identity_attack"
	LabelSexual         = "sexual"
	LabelSpam           = "spam"
	LabelNegative       = "negative"
)

// Labels lists the shared label vocabulary.
var Labels = []string{LabelProfanity, LabelInsult, LabelThreat, LabelIdentityAttack, LabelSexual, LabelSpam, LabelNegative}

// Target kinds a connector may discover posts from.
const (
	TargetPost        = "post"
	TargetAuthor      = "author"
	TargetPublication = "publication"
	TargetQuery       = "query"
)

// Info is what a plugin says about itself in Describe.
type Info struct {
	// Name of the plugin ("rules", "twitter"). Lower case, no spaces.
	Name string
	// Version of the plugin, semver preferred ("1.2.0").
	Version string
	// Description says in one sentence what the plugin does. Describe
	// carries it; this moderator does not show it yet (`moderator plugins
	// list` shows name, kind, version, protocol, capabilities and actions).
	Description string
	// Labels an analyzer can emit: every label it returns must be one of
	// these. Serve and the host refuse a reply with any other, so that a
	// typo ("insultt") fails the batch instead of matching no policy rule
	// and approving the comment. An analyzer declares at least one (see
	// Plugin.Check).
	Labels []string
	// Platform a connector speaks to ("twitter").
	Platform string
	// Actions a connector's Moderate can apply, from the Actions list
	// (ActionReview is the host's own and never reaches a connector). Serve
	// refuses any other action with ErrUnsupported before calling Moderate,
	// and `moderator config check` refuses a policy rule whose action the
	// connector does not declare. A connector lists actions exactly when it
	// implements Moderator (see Plugin.Check).
	Actions []string
	// TargetKinds a connector's Discover can expand (and its Stream can
	// watch). Serve refuses a Discover of any other kind with
	// ErrUnsupported before calling Discover, and the host refuses a
	// target of a kind its connector does not declare (post targets
	// excepted: the host polls them itself). A connector lists target
	// kinds when it implements Discoverer (see Plugin.Check).
	TargetKinds []string
	// Config documents the keys of the plugin's `config` table.
	Config []ConfigField
	// MaxBatch is the most comments an analyzer takes per Analyze call, or
	// the most posts a connector takes per Poll call (0: no limit).
	MaxBatch int
}

// ConfigField documents one key of a plugin's `config` table. Describe
// carries a plugin's fields and the conformance suite checks them; this
// moderator does not show them yet.
type ConfigField struct {
	// Name is the key, as written in TOML.
	Name string
	// Type is "string", "int", "float", "bool", "duration", "list" or "table".
	Type string
	// Required: the table must set it.
	Required bool
	// Description says in a sentence what the key does.
	Description string
	// Secret marks a credential: whatever shows the schema must not show
	// its value, and the plugin must never repeat it in a message.
	Secret bool
	// Default is the value used when the key is absent, as written in TOML.
	Default string
}

// Description is what the host learns from a plugin's Describe.
type Description struct {
	Info
	// Kind is KindAnalyzer or KindConnector.
	Kind Kind
	// ProtocolVersion is the moderator plugin protocol the plugin speaks.
	ProtocolVersion int
	// SDKVersion is the version of the SDK the plugin was built with.
	SDKVersion string
	// Capabilities are CapAnalyze for an analyzer; for a connector, those of
	// CapDiscover, CapPoll, CapStream, CapWebhook and CapModerate whose
	// interfaces its value implements.
	Capabilities []string
}

// Has reports whether the plugin declared the capability.
func (d Description) Has(capability string) bool {
	for _, c := range d.Capabilities {
		if c == capability {
			return true
		}
	}
	return false
}
