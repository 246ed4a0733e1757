package sdk_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/moderatorbot/moderator/sdk"
)

// ptrPoller polls through a pointer receiver: a ptrPoller value has no Poll.
type ptrPoller struct{}

func (*ptrPoller) Poll(context.Context, []sdk.PostCursor) (sdk.PollResponse, error) {
	return sdk.PollResponse{}, nil
}

// misspelt has a Poll that returns a pointer and a Moderate spelt wrong.
type misspelt struct{}

func (misspelt) Poll(context.Context, []sdk.PostCursor) (*sdk.PollResponse, error) { return nil, nil }
func (misspelt) Moderete(context.Context, sdk.ModerateRequest) (sdk.ModerateResponse, error) {
	return sdk.ModerateResponse{}, nil
}

// pollModerate polls and moderates.
type pollModerate struct{ pollOnly }

func (pollModerate) Moderate(context.Context, sdk.ModerateRequest) (sdk.ModerateResponse, error) {
	return sdk.ModerateResponse{}, nil
}

// discoverOnly discovers and does nothing else.
type discoverOnly struct{}

func (discoverOnly) Discover(context.Context, sdk.DiscoverRequest) (sdk.DiscoverResponse, error) {
	return sdk.DiscoverResponse{}, nil
}

// configuredByPointer analyzes as a value but configures through a pointer.
type configuredByPointer struct{}

func (configuredByPointer) Analyze(context.Context, []sdk.Comment) ([]sdk.Result, error) {
	return nil, nil
}
func (*configuredByPointer) Configure(context.Context, sdk.ConfigureRequest) error { return nil }

func TestCheck(t *testing.T) {
	analyzer := sdk.Info{Name: "a", Version: "1", Labels: []string{sdk.LabelSpam}}
	connector := sdk.Info{Name: "c", Version: "1", Platform: "p"}
	withActions := connector
	withActions.Actions = []string{sdk.ActionHide}
	withKinds := connector
	withKinds.TargetKinds = []string{sdk.TargetAuthor}
	tests := []struct {
		name string
		p    sdk.Plugin
		want []string // substrings of the error; none for a plugin that may be served
	}{
		{name: "an analyzer", p: sdk.Plugin{Info: analyzer, Analyzer: panicky{}}},
		{name: "a poller", p: sdk.Plugin{Info: connector, Connector: pollOnly{}}},
		{name: "a pointer whose methods have pointer receivers", p: sdk.Plugin{Info: connector, Connector: &ptrPoller{}}},
		{name: "a moderator with its actions", p: sdk.Plugin{Info: withActions, Connector: pollModerate{}}},
		{name: "no name", p: sdk.Plugin{Info: sdk.Info{Labels: []string{sdk.LabelSpam}}, Analyzer: panicky{}}, want: []string{"Info.Name is empty"}},
		{name: "both kinds", p: sdk.Plugin{Info: analyzer, Analyzer: panicky{}, Connector: pollOnly{}},
			want: []string{"plugin a sets both Analyzer and Connector; a binary serves one kind"}},
		{name: "neither kind", p: sdk.Plugin{Info: analyzer}, want: []string{"plugin a sets neither Analyzer nor Connector"}},
		{name: "an analyzer without labels", p: sdk.Plugin{Info: sdk.Info{Name: "a"}, Analyzer: panicky{}},
			want: []string{"analyzer a declares no labels in Info.Labels"}},
		{name: "a value whose Poll has a pointer receiver", p: sdk.Plugin{Info: connector, Connector: ptrPoller{}},
			want: []string{"connector c: Plugin.Connector is a sdk_test.ptrPoller value, but Poll is declared on *sdk_test.ptrPoller (pointer receivers)", "set Plugin.Connector to a pointer (&sdk_test.ptrPoller{...})"}},
		{name: "a value whose Configure has a pointer receiver", p: sdk.Plugin{Info: analyzer, Analyzer: configuredByPointer{}},
			want: []string{"analyzer a: Plugin.Analyzer is a sdk_test.configuredByPointer value, but Configure is declared on *sdk_test.configuredByPointer"}},
		{name: "a method with another signature and a misspelt one", p: sdk.Plugin{Info: connector, Connector: misspelt{}},
			want: []string{
				"connector c (sdk_test.misspelt) implements none of Discoverer, Poller, Streamer, WebhookHandler, Moderator",
				"method Poll has the signature Poll(context.Context, []sdk.PostCursor) (*sdk.PollResponse, error), but Poller wants Poll(context.Context, []sdk.PostCursor) (sdk.PollResponse, error)",
				"method Moderete is not Moderate: Moderator wants Moderate(context.Context, sdk.ModerateRequest) (sdk.ModerateResponse, error)",
			}},
		{name: "no capability at all", p: sdk.Plugin{Info: connector, Connector: struct{}{}},
			want: []string{"implements none of", "a connector has at least one of Discover(context.Context, sdk.DiscoverRequest) (sdk.DiscoverResponse, error), Poll("}},
		{name: "actions without Moderate", p: sdk.Plugin{Info: withActions, Connector: pollOnly{}},
			want: []string{`connector c declares actions "hide" in Info.Actions but does not implement Moderator: add Moderate(`}},
		{name: "Moderate without actions", p: sdk.Plugin{Info: connector, Connector: pollModerate{}},
			want: []string{"connector c implements Moderator but declares no Info.Actions"}},
		{name: "Discover without target kinds", p: sdk.Plugin{Info: connector, Connector: discoverOnly{}},
			want: []string{"connector c implements Discoverer but declares no Info.TargetKinds: list the target kinds Discover expands"}},
		{name: "a discoverer with its target kinds", p: sdk.Plugin{Info: withKinds, Connector: discoverOnly{}}},
		{name: "an analyzer's own label", p: sdk.Plugin{Info: sdk.Info{Name: "a", Labels: []string{"a.caps", sdk.LabelInsult}}, Analyzer: panicky{}}},
		{name: "a label of another plugin", p: sdk.Plugin{Info: sdk.Info{Name: "a", Labels: []string{sdk.LabelSpam, "rules.caps"}}, Analyzer: panicky{}},
			want: []string{`analyzer a declares a label in Info.Labels that it may not emit: label "rules.caps" has the prefix of another plugin ("rules")`}},
		{name: "a misspelt shared label", p: sdk.Plugin{Info: sdk.Info{Name: "a", Labels: []string{"insultt"}}, Analyzer: panicky{}},
			want: []string{`label "insultt" is neither in the shared vocabulary`, `nor prefixed "a."`}},
		{name: "an unknown action", p: sdk.Plugin{Info: sdk.Info{Name: "c", Actions: []string{sdk.ActionHide, "hidden"}}, Connector: pollModerate{}},
			want: []string{`connector c declares action "hidden" in Info.Actions: a connector's actions are among "approve", "flag", "unhide", "hide", "delete" ("review" is the host's own)`}},
		{name: "review as an action", p: sdk.Plugin{Info: sdk.Info{Name: "c", Actions: []string{sdk.ActionReview}}, Connector: pollModerate{}},
			want: []string{`connector c declares action "review"`}},
		{name: "an unknown target kind", p: sdk.Plugin{Info: sdk.Info{Name: "c", TargetKinds: []string{"user"}}, Connector: discoverOnly{}},
			want: []string{`connector c declares target kind "user" in Info.TargetKinds: the kinds are "post", "author", "publication", "query"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Check()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check = nil, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check = %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// The binary refuses what Check refuses, before anything else, whatever
// launches it.
func TestServeRefusesWhatCheckRefuses(t *testing.T) {
	tests := []struct{ helper, want string }{
		{"both-kinds", "moderator plugin: plugin both sets both Analyzer and Connector"},
		{"no-capabilities", "moderator plugin: connector nocaps: Plugin.Connector is a sdk_test.ptrPoller value, but Poll is declared on *sdk_test.ptrPoller"},
	}
	for _, tt := range tests {
		t.Run(tt.helper, func(t *testing.T) {
			out, err := helperCmd(t, tt.helper).CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("the plugin ran with %v, want exit status 1; output:\n%s", err, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("output %q, want it to contain %q", out, tt.want)
			}
		})
	}
}
