package scheduler

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

// streamCtl hands a connector's targets to its stream: the run loop sets
// them, and a change ends the running session so that the stream starts
// again with the new ones.
type streamCtl struct {
	mu      sync.Mutex
	targets []sdk.Target
	cancel  context.CancelFunc // ends the running session; nil between sessions
	// retarget: the running session was ended because the targets changed.
	retarget bool
}

// begin starts a session of the stream: its context, and the targets to
// stream.
func (k *streamCtl) begin(ctx context.Context) (context.Context, []sdk.Target) {
	k.mu.Lock()
	defer k.mu.Unlock()
	sess, cancel := context.WithCancel(ctx)
	k.cancel = cancel
	return sess, k.targets
}

// end ends the session, and reports whether it ended for new targets.
func (k *streamCtl) end() (retarget bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cancel()
	k.cancel, retarget, k.retarget = nil, k.retarget, false
	return retarget
}

// restream gives the connector's stream its current targets, ending the
// running session: comments it delivers from then on are not queued.
func (s *Scheduler) restream(c *conn) {
	targets := make([]sdk.Target, 0, len(c.targets))
	for _, t := range c.targets {
		targets = append(targets, sdk.Target{Kind: t.Kind, ID: t.ID})
	}
	slices.SortFunc(targets, func(a, b sdk.Target) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID)) })
	k := &c.stream
	k.mu.Lock()
	defer k.mu.Unlock()
	k.targets = targets
	if k.cancel != nil {
		k.cancel()
		k.retarget = true
	}
}

// startStreams runs the stream of every connector that has one, restarting
// it with backoff when it ends (the plugin died or gave up), and at once with
// the new targets when they change; the plugin owns the platform's own
// reconnect rules. A stream that answers ErrUnsupported (off in the
// instance's config) is not run again.
func (s *Scheduler) startStreams(ctx context.Context, wg *sync.WaitGroup) {
	for _, c := range s.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			backoff := time.Second
			for ctx.Err() == nil {
				if d := c.Describe(); d.Name != "" && !d.Has(sdk.CapStream) {
					return
				}
				sess, targets := c.stream.begin(ctx)
				start := time.Now()
				err := s.stream(sess, c, targets)
				retarget := c.stream.end()
				if ctx.Err() != nil {
					return
				}
				if retarget {
					s.log.Info("targets changed; stream restarted with them", "connector", c.Name, "targets", len(targets))
					continue
				}
				if errors.Is(err, sdk.ErrUnsupported) {
					// The connector can stream, but not as this instance is
					// configured; asking again would get the same answer.
					s.log.Info("connector does not stream with its config; its comments come by poll and webhook", "connector", c.Name, "reason", err)
					return
				}
				if time.Since(start) > time.Minute {
					backoff = time.Second
				}
				s.log.Warn("stream ended; restarting", "connector", c.Name, "in", backoff, "error", err)
				s.gap(c)
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 5*time.Minute)
			}
		}()
	}
}

// streamSink queues what a stream delivers, in small batches. Its ctx is the
// session's: once the session ends (the targets changed), nothing more it
// delivers is queued.
type streamSink struct {
	s   *Scheduler
	c   *conn
	ctx context.Context
}

func (k *streamSink) Comment(cm sdk.Comment) error {
	if err := k.ctx.Err(); err != nil {
		return err
	}
	_, err := k.s.opts.Intake.Queue(k.ctx, k.c.Name, "stream", []sdk.Comment{cm}, nil)
	return err
}

func (k *streamSink) Status(st sdk.StreamStatus) error {
	k.s.log.Info("stream status", "connector", k.c.Name, "state", st.State, "detail", st.Detail, "gap", st.Gap)
	if st.Gap {
		k.s.gap(k.c)
	}
	return nil
}

func (s *Scheduler) stream(ctx context.Context, c *conn, targets []sdk.Target) error {
	cl, err := c.Get(ctx)
	if err != nil {
		return err
	}
	if !c.Describe().Has(sdk.CapStream) {
		<-ctx.Done()
		return nil
	}
	return cl.Stream(ctx, sdk.StreamRequest{Targets: targets}, &streamSink{s: s, c: c, ctx: ctx})
}

// gap asks the run loop for a gap-filling poll of every post of the connector.
func (s *Scheduler) gap(c *conn) {
	select {
	case s.gaps <- c:
	default: // one is already pending
	}
}
