package pipeline

import (
	"cmp"
	"context"

	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
)

// Change is one stored decision that the current analyzers and policy would
// make differently.
type Change struct {
	ID      string      `json:"id"`
	Comment sdk.Comment `json:"comment"`
	// OldAction and OldRule are the policy's decision as recorded.
	OldAction string `json:"old_action"`
	OldRule   string `json:"old_rule,omitempty"`
	// OldOverride is the verdict of the last human override of that
	// decision, if any: what stands now, in place of OldAction.
	OldOverride string `json:"old_override,omitempty"`
	// OldBy names the person who decided, when the analyzers could not
	// (the comment was held) and a human did.
	OldBy     string `json:"old_by,omitempty"`
	NewAction string `json:"new_action"`
	NewRule   string `json:"new_rule,omitempty"`
	NewReason string `json:"new_reason"`
}

// Was says what stood before the replay, for a person to read: the
// policy's action, and the human verdict that overrode it when there is
// one ("hide (overridden: approve)"); "(by hand)" marks a decision a human
// made for a held comment.
func (c Change) Was() string {
	was := c.OldAction
	if c.OldBy != "" {
		was += " (by hand)"
	}
	if c.OldOverride == "" || c.OldOverride == c.OldAction {
		return was
	}
	return was + " (overridden: " + c.OldOverride + ")"
}

// ReplayReport sums up a replay.
type ReplayReport struct {
	Replayed int      `json:"replayed"`
	Changed  int      `json:"changed"`
	Held     int      `json:"held"` // could not be analyzed now (a hold analyzer failed)
	Changes  []Change `json:"changes"`
}

// Records walks stored records, oldest first.
type Records interface {
	Each(ctx context.Context, fn func(store.Record) error) error
}

// Replay runs the current analyzers and policy over every stored decision and
// reports where the policy's outcome would differ from the one recorded
// (each change says too what a human overrode it to, if anyone did). It
// writes nothing and acts on nothing: it does not touch the store or any
// platform.
func (p *Pipeline) Replay(ctx context.Context, records Records, progress func(done int)) (ReplayReport, error) {
	var rep ReplayReport
	var batch []store.Record
	var flushErr error
	flush := func() {
		if len(batch) == 0 {
			return
		}
		comments := make([]sdk.Comment, len(batch))
		for i, r := range batch {
			comments[i] = r.Comment
		}
		analyses, held := p.analyze(ctx, comments)
		targets, err := p.postTargets(ctx, comments)
		if err != nil {
			flushErr = err
			return
		}
		for i, r := range batch {
			rep.Replayed++
			if held[i].why != "" {
				rep.Held++
				continue
			}
			v := p.opts.Policy.Decide(r.Comment, analyses[i], targets[r.Comment.Connector][r.Comment.PostID])
			if v.Action != r.Decision.Action || v.Rule != r.Decision.Rule {
				rep.Changed++
				c := Change{ID: r.ID, Comment: r.Comment, OldAction: r.Decision.Action, OldRule: r.Decision.Rule,
					NewAction: v.Action, NewRule: v.Rule, NewReason: v.Reason, OldBy: r.Decision.By}
				if n := len(r.Overrides); n > 0 {
					c.OldOverride = r.Overrides[n-1].Action
				}
				rep.Changes = append(rep.Changes, c)
			}
		}
		if progress != nil {
			progress(rep.Replayed)
		}
		batch = batch[:0]
	}
	err := records.Each(ctx, func(r store.Record) error {
		if r.Decision == nil {
			return nil
		}
		batch = append(batch, r)
		if len(batch) == p.opts.BatchSize {
			flush()
		}
		return cmp.Or(flushErr, ctx.Err())
	})
	if err != nil {
		return rep, err
	}
	flush()
	return rep, cmp.Or(flushErr, ctx.Err())
}
