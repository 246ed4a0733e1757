package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/moderatorbot/moderator/sdk"
)

// Moderate applies hide, unhide, delete or flag (the actions the plugin
// declares: Serve refuses any other before Moderate runs) through PUT
// /v1/comments/{id}/moderation, passing the host's IdempotencyKey. The
// platform answers an action already in effect with changed false, which is
// what makes a retry after a crash or timeout harmless. A comment that is
// gone is sdk.ErrNotFound; another 4xx is permanent; a 429 is a
// *sdk.RateLimitedError; an answer lost or unreadable is a plain error, to
// retry: the action may have been applied, and applying it again is safe.
func (c *Synthetic) Moderate(ctx context.Context, req sdk.ModerateRequest) (sdk.ModerateResponse, error) {
	s, err := c.current()
	if err != nil {
		return sdk.ModerateResponse{}, err
	}
	if req.Comment.ID == "" {
		return sdk.ModerateResponse{}, sdk.Permanent(errors.New("moderate: the comment has no id"))
	}
	path := "/v1/comments/" + url.PathEscape(req.Comment.ID) + "/moderation"
	body, _ := json.Marshal(map[string]string{"action": req.Action}) // one string: cannot fail
	header := http.Header{}
	if req.IdempotencyKey != "" {
		header.Set("Idempotency-Key", req.IdempotencyKey)
	}
	res, err := s.call(ctx, http.MethodPut, path, nil, body, header)
	if err != nil {
		return sdk.ModerateResponse{}, err
	}
	if res.status != http.StatusOK {
		return sdk.ModerateResponse{}, statusError("PUT "+path, res)
	}
	var ans struct {
		Changed *bool  `json:"changed"`
		State   string `json:"state"`
	}
	if err := json.Unmarshal(res.body, &ans); err != nil || ans.Changed == nil {
		return sdk.ModerateResponse{}, fmt.Errorf("PUT %s: unreadable answer (the action may have been applied; retrying is safe): %q", path, truncate(res.body, 200))
	}
	detail := fmt.Sprintf("%s: comment %s is now %s", req.Action, req.Comment.ID, ans.State)
	if !*ans.Changed {
		detail = fmt.Sprintf("%s: comment %s was already %s", req.Action, req.Comment.ID, ans.State)
	}
	return sdk.ModerateResponse{Changed: *ans.Changed, Detail: detail}, nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
