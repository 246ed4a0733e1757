// Command testconnector is a connector for the host's own tests: it polls
// nothing and can only flag, so tests can check what the host makes of a
// connector's declared actions.
package main

import (
	"context"

	"github.com/moderatorbot/moderator/sdk"
)

type connector struct{}

func (connector) Poll(_ context.Context, posts []sdk.PostCursor) (sdk.PollResponse, error) {
	out := sdk.PollResponse{Posts: make([]sdk.PostComments, len(posts))}
	for i, p := range posts {
		out.Posts[i] = sdk.PostComments{PostID: p.PostID, Cursor: p.Cursor}
	}
	return out, nil
}

// Moderate flags: Serve refuses every other action before it runs, as
// flag is the only one the plugin declares.
func (connector) Moderate(context.Context, sdk.ModerateRequest) (sdk.ModerateResponse, error) {
	return sdk.ModerateResponse{Changed: true}, nil
}

func main() {
	sdk.Serve(sdk.Plugin{
		Info:      sdk.Info{Name: "testconnector", Version: "1.0.0", Platform: "test", Actions: []string{sdk.ActionFlag}},
		Connector: connector{},
	})
}
