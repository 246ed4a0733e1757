package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
)

// ErrPending is returned for an override of a comment still being processed.
var ErrPending = errors.New("the comment is still being processed; try again when its decision is final")

// ErrCannotUndo is returned for an override the platform cannot carry out.
var ErrCannotUndo = errors.New("the platform cannot do that")

// Overrider applies a human's corrections.
type Overrider interface {
	Get(ctx context.Context, id string) (store.Record, error)
	Save(ctx context.Context, steps []store.Step) error
}

// Effective is what is in force on the platform for a record: the last
// action that was applied there ("" when none was).
func Effective(r store.Record) string {
	for i := len(r.Overrides) - 1; i >= 0; i-- {
		o := r.Overrides[i]
		if o.Platform != nil && o.Platform.Err == "" {
			return o.Action
		}
	}
	if d := r.Decision; d != nil && d.Platform != nil && d.Platform.Err == "" {
		return d.Action
	}
	return ""
}

// Override replaces a decision's outcome with a human's verdict (approve,
// flag, hide or delete) and makes the platform match it: approving a hidden
// comment unhides it. The correction is recorded next to the decision, with
// what the platform answered; the decision itself is never rewritten.
func (p *Pipeline) Override(ctx context.Context, st Overrider, id, verdict, reason, by string) (store.Record, error) {
	rec, err := st.Get(ctx, id)
	if err != nil {
		return rec, err
	}
	switch rec.State {
	case store.StateSeen, store.StateHeld:
		return rec, ErrPending
	case store.StateDecided:
		if needsPlatform(rec.Decision) {
			return rec, ErrPending
		}
	}
	switch verdict {
	case sdk.ActionApprove, sdk.ActionFlag, sdk.ActionHide, sdk.ActionDelete:
	default:
		return rec, fmt.Errorf("override to %q: choose approve, flag, hide or delete", verdict)
	}
	platformAction := verdict
	switch current := Effective(rec); {
	case current == sdk.ActionDelete:
		return rec, fmt.Errorf("comment was deleted on the platform: %w", ErrCannotUndo)
	case verdict == sdk.ActionApprove && current == sdk.ActionHide:
		platformAction = sdk.ActionUnhide
	case verdict == sdk.ActionApprove || verdict == current:
		platformAction = "" // nothing to change on the platform
	}
	o := store.Override{At: time.Now().UTC(), Action: verdict, Reason: reason, By: by}
	if platformAction != "" {
		c, ok := p.connectors[rec.Comment.Connector]
		if !ok {
			return rec, fmt.Errorf("connector %q is not configured", rec.Comment.Connector)
		}
		m, err := c.Get(ctx)
		if err != nil {
			return rec, fmt.Errorf("override: %w", err)
		}
		resp, err := m.Moderate(ctx, sdk.ModerateRequest{Comment: rec.Comment, Action: platformAction, Reason: reason,
			IdempotencyKey: fmt.Sprintf("%s/override/%d", rec.ID, len(rec.Overrides)+1)})
		if err != nil {
			return rec, fmt.Errorf("override: %s on the platform: %w", platformAction, err)
		}
		o.Platform = &store.PlatformAnswer{At: time.Now().UTC(), Changed: resp.Changed, Detail: platformAction + ": " + resp.Detail}
	}
	rec.Overrides = append(rec.Overrides, o)
	wasInReview := rec.InReview
	rec.InReview = false
	if err := st.Save(ctx, []store.Step{{Record: rec, LeftReview: wasInReview}}); err != nil {
		return rec, err
	}
	p.opts.Metrics.overrides.WithLabelValues(verdict).Inc()
	return rec, nil
}
