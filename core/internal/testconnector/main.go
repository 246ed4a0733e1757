// Command testconnector is a connector for the host's own tests: it polls
// nothing and can only flag, so tests can check what the host makes of a
// connector's declared actions.
package main

import (
	"context"
	"fmt"

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

func (connector) Moderate(_ context.Context, req sdk.ModerateRequest) (sdk.ModerateResponse, error) {
	if req.Action != sdk.ActionFlag {
		return sdk.ModerateResponse{}, fmt.Errorf("%s: %w", req.Action, sdk.ErrUnsupported)
	}
	return sdk.ModerateResponse{Changed: true}, nil
}

func main() {
	sdk.Serve(sdk.Plugin{
		Info:      sdk.Info{Name: "testconnector", Version: "1.0.0", Platform: "test", Actions: []string{sdk.ActionFlag}},
		Connector: connector{},
	})
}
