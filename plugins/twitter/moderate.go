package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

// hiddenTTL is how long the connector remembers the hidden state it set.
const hiddenTTL = 90 * 24 * time.Hour

// Moderate hides, unhides or deletes a tweet, signed with OAuth 1.0a user
// context (X refuses app-only tokens for both).
//
// Hide and unhide use PUT /2/tweets/:id/hidden, which X allows only for
// replies in conversations the account started, and which answers the
// same whether the reply was hidden before or not. So Changed comes from
// the state this connector last set, kept in the host's key-value store:
// the first hide of a reply reports Changed, a second one does not.
//
// Delete uses DELETE /2/tweets/:id, which X allows only for the account's
// own tweets. A tweet already gone (404) counts as deleted, Changed false.
func (t *Twitter) Moderate(ctx context.Context, req sdk.ModerateRequest) (sdk.ModerateResponse, error) {
	s, err := t.current()
	if err != nil {
		return sdk.ModerateResponse{}, err
	}
	id := req.Comment.ID
	if !isID(id) {
		return sdk.ModerateResponse{}, sdk.Permanent(fmt.Errorf("%s %q: not a tweet id", req.Action, id))
	}
	if s.user == nil {
		return sdk.ModerateResponse{}, sdk.Permanent(fmt.Errorf("%s tweet %s: this instance is read_only; X requires user context (consumer_key, consumer_secret, access_token, access_token_secret) to %s", req.Action, id, req.Action))
	}
	switch req.Action {
	case sdk.ActionHide, sdk.ActionUnhide:
		return s.setHidden(ctx, req.Comment, req.Action == sdk.ActionHide)
	case sdk.ActionDelete:
		return s.delete(ctx, req.Comment)
	}
	return sdk.ModerateResponse{}, fmt.Errorf("action %q: %w", req.Action, sdk.ErrUnsupported)
}

func (s *settings) setHidden(ctx context.Context, c sdk.Comment, hide bool) (sdk.ModerateResponse, error) {
	verb, want := "unhide", "0"
	if hide {
		verb, want = "hide", "1"
	}
	prev, known := s.kvGet(ctx, "hidden/"+c.ID)
	body, _ := json.Marshal(map[string]bool{"hidden": hide})
	res, err := s.call(ctx, true, http.MethodPut, "/2/tweets/"+c.ID+"/hidden", nil, body, "PUT /2/tweets/:id/hidden")
	if err == nil {
		err = res.check()
	}
	if why := appForbidden(res.body); why != "" && errors.Is(err, errForbidden) {
		return sdk.ModerateResponse{}, fmt.Errorf("%s reply %s: %s: %w", verb, c.ID, why, err)
	}
	if errors.Is(err, errForbidden) {
		return sdk.ModerateResponse{}, fmt.Errorf("%s reply %s: X lets an account hide only replies in conversations it started, and this one (conversation %s) is not in a conversation of user_id %s: %w", verb, c.ID, orUnknown(c.PostID), s.userID, err)
	}
	if err != nil {
		return sdk.ModerateResponse{}, fmt.Errorf("%s reply %s: %w", verb, c.ID, err)
	}
	var ans struct {
		Data *struct {
			Hidden bool `json:"hidden"`
		} `json:"data"`
	}
	if err := res.decode(&ans); err != nil {
		return sdk.ModerateResponse{}, fmt.Errorf("%s reply %s: %w", verb, c.ID, err)
	}
	if ans.Data == nil || ans.Data.Hidden != hide {
		return sdk.ModerateResponse{}, fmt.Errorf("%s reply %s: X answered %.200q, not hidden=%v", verb, c.ID, res.body, hide)
	}
	s.kvSet(ctx, "hidden/"+c.ID, want, hiddenTTL)
	if known && prev == want {
		return sdk.ModerateResponse{Changed: false, Detail: fmt.Sprintf("already %s by this connector; X confirmed hidden=%v", map[bool]string{true: "hidden", false: "unhidden"}[hide], hide)}, nil
	}
	return sdk.ModerateResponse{Changed: true, Detail: fmt.Sprintf("X confirmed hidden=%v", hide)}, nil
}

func (s *settings) delete(ctx context.Context, c sdk.Comment) (sdk.ModerateResponse, error) {
	res, err := s.call(ctx, true, http.MethodDelete, "/2/tweets/"+c.ID, nil, nil, "DELETE /2/tweets/:id")
	if err == nil {
		err = res.check()
	}
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		return sdk.ModerateResponse{Changed: false, Detail: "the tweet is gone already (X answered 404)"}, nil
	case errors.Is(err, errForbidden) && appForbidden(res.body) != "":
		return sdk.ModerateResponse{}, fmt.Errorf("delete tweet %s: %s: %w", c.ID, appForbidden(res.body), err)
	case errors.Is(err, errForbidden):
		return sdk.ModerateResponse{}, fmt.Errorf("delete tweet %s: X lets an account delete only its own tweets, and this one is by user %s, not user_id %s (hide it instead): %w", c.ID, orUnknown(c.AuthorID), s.userID, err)
	case err != nil:
		return sdk.ModerateResponse{}, fmt.Errorf("delete tweet %s: %w", c.ID, err)
	}
	var ans struct {
		Data *struct {
			Deleted bool `json:"deleted"`
		} `json:"data"`
	}
	if err := res.decode(&ans); err != nil {
		return sdk.ModerateResponse{}, fmt.Errorf("delete tweet %s: %w", c.ID, err)
	}
	if ans.Data == nil || !ans.Data.Deleted {
		return sdk.ModerateResponse{}, fmt.Errorf("delete tweet %s: X answered %.200q, not deleted=true", c.ID, res.body)
	}
	return sdk.ModerateResponse{Changed: true, Detail: "X confirmed deleted=true"}, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
