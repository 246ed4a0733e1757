package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
)

// ErrPending is returned for an override of a comment still being processed.
var ErrPending = errors.New("the comment is still being processed; try again when its decision is final")

// ErrCannotUndo is returned for an override the platform cannot carry out.
var ErrCannotUndo = errors.New("the platform cannot do that")

// Overrider is what Override needs of the store.
type Overrider interface {
	Get(ctx context.Context, id string) (store.Record, error)
	Save(ctx context.Context, steps []store.Step) error
	DecideHeld(ctx context.Context, id string, d store.Decision, queue bool) (store.Record, uint64, error)
}

// Standing is what a record's applied actions left on the platform. Hidden
// and flagged are separate marks: a flag does not undo a hide, nor an unhide
// a flag (no platform withdraws a report).
type Standing struct {
	Hidden, Flagged, Deleted bool
}

// StandingOf replays the actions the platform accepted for a record, the
// policy's and then the overrides', in order.
func StandingOf(r store.Record) Standing {
	var s Standing
	apply := func(action string) {
		switch action {
		case sdk.ActionHide:
			s.Hidden = true
		case sdk.ActionUnhide:
			s.Hidden = false
		case sdk.ActionFlag:
			s.Flagged = true
		case sdk.ActionDelete:
			s.Deleted = true
		}
	}
	if d := r.Decision; d != nil && d.Platform != nil && d.Platform.Err == "" {
		apply(d.Action)
	}
	for _, o := range r.Overrides {
		if o.Platform != nil && o.Platform.Err == "" {
			apply(platformActionOf(o.Action))
		}
	}
	return s
}

// platformActionOf is the platform call an override to verdict makes when
// it makes one: approving unhides, the others are their own action.
func platformActionOf(verdict string) string {
	if verdict == sdk.ActionApprove {
		return sdk.ActionUnhide
	}
	return verdict
}

// ValidVerdict reports whether a human may override to verdict.
func ValidVerdict(verdict string) error {
	switch verdict {
	case sdk.ActionApprove, sdk.ActionFlag, sdk.ActionHide, sdk.ActionDelete:
		return nil
	}
	return fmt.Errorf("override to %q: choose approve, flag, hide or delete: %w", verdict, ErrBadVerdict)
}

// ErrBadVerdict is returned for an override to something other than
// approve, flag, hide or delete.
var ErrBadVerdict = errors.New("not a verdict")

// Override replaces a decision's outcome with a human's verdict (approve,
// flag, hide or delete) and makes the platform match it: approving a hidden
// comment unhides it, whatever was done to it since it was hidden. A flag
// only adds the platform's flag and leaves a hide in place. A verdict the
// platform already shows calls nothing. The correction is recorded next to
// the decision, with what the platform answered; the decision itself is
// never rewritten.
//
// A comment held because an analyzer failed has no decision to correct:
// the human's verdict becomes its decision (see decideHeld).
func (p *Pipeline) Override(ctx context.Context, st Overrider, id, verdict, reason, by string) (store.Record, error) {
	if err := ValidVerdict(verdict); err != nil {
		return store.Record{}, err
	}
	rec, err := st.Get(ctx, id)
	if err != nil {
		return rec, err
	}
	switch rec.State {
	case store.StateHeld:
		return p.decideHeld(ctx, st, id, verdict, reason, by)
	case store.StateSeen:
		return rec, ErrPending
	case store.StateDecided:
		if needsPlatform(rec.Decision) {
			return rec, ErrPending
		}
	}
	platformAction := platformActionOf(verdict)
	switch s := StandingOf(rec); {
	case s.Deleted && verdict == sdk.ActionDelete:
		platformAction = "" // already done
	case s.Deleted:
		return rec, fmt.Errorf("comment was deleted on the platform: %w", ErrCannotUndo)
	case verdict == sdk.ActionApprove && !s.Hidden,
		verdict == sdk.ActionHide && s.Hidden,
		verdict == sdk.ActionFlag && s.Flagged:
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
		detail := resp.Detail
		if !strings.HasPrefix(detail, platformAction) {
			// Say which call the answer is to, unless the connector did.
			detail = platformAction + ": " + detail
		}
		o.Platform = &store.PlatformAnswer{At: time.Now().UTC(), Changed: resp.Changed, Detail: detail}
	}
	rec.Overrides = append(rec.Overrides, o)
	wasInReview := rec.InReview
	rec.InReview = false
	if err := st.Save(ctx, []store.Step{{Record: rec, LeftReview: wasInReview}}); err != nil {
		return rec, err
	}
	p.opts.Metrics.overrides.WithLabelValues(verdict).Inc()
	p.log.Info("overridden", "id", rec.ID, "connector", rec.Comment.Connector, "comment", rec.Comment.ID, "verdict", verdict,
		"by", by, "reason", reason, "platform_action", platformAction)
	return rec, nil
}

// heldActionWait is how long an override of a held comment waits for the
// running pipeline to apply the verdict before it answers with the action
// still pending: well inside the admin API's default write timeout (10s),
// so the answer is not cut off.
const heldActionWait = 5 * time.Second

// decideHeld makes a human's verdict the decision of a comment held
// because an analyzer failed (on it alone, or while down), so that an
// operator is not left waiting on an analyzer that may never answer for it.
// The held retry is withdrawn in the same commit that records the
// decision, and the action goes through the queue like the policy's: its
// retries, its idempotency key, and its recovery after a crash. A running
// pipeline applies it, and decideHeld waits a while for its answer; without
// one (the daemon is down and the command opened the store itself) it is
// applied here. The record keeps the error it was held for.
func (p *Pipeline) decideHeld(ctx context.Context, st Overrider, id, verdict, reason, by string) (store.Record, error) {
	if reason == "" {
		reason = "decided by hand"
	}
	d := store.Decision{At: time.Now().UTC(), Action: verdict, Reason: reason, By: by}
	queue := needsPlatform(&d)
	rec, seq, err := st.DecideHeld(ctx, id, d, queue)
	if errors.Is(err, store.ErrBusy) {
		return rec, fmt.Errorf("%w: %w", ErrPending, err)
	}
	if err != nil {
		return rec, err
	}
	p.opts.Metrics.overrides.WithLabelValues(verdict).Inc()
	if !queue {
		return rec, nil
	}
	if !p.running.Load() {
		if !p.process(ctx, []store.Work{{Seq: seq, Record: rec}}) {
			return rec, fmt.Errorf("apply %s: the decision is saved and the daemon will apply it when it runs", verdict)
		}
		return st.Get(ctx, rec.ID)
	}
	wait, cancel := context.WithTimeout(ctx, heldActionWait)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		got, err := st.Get(ctx, rec.ID)
		if err != nil || !needsPlatform(got.Decision) {
			return got, err
		}
		select {
		case <-wait.Done():
			return got, nil // the pipeline still has it in hand: the record says pending
		case <-tick.C:
		}
	}
}
