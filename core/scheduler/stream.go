package scheduler

import (
	"context"
	"sync"
	"time"

	"github.com/moderatorbot/moderator/sdk"
)

// startStreams runs the stream of every connector that has one, restarting
// it with backoff when it ends (the plugin died or gave up); the plugin owns
// the platform's own reconnect rules.
func (s *Scheduler) startStreams(ctx context.Context, wg *sync.WaitGroup) {
	for _, c := range s.conns {
		var targets []sdk.Target
		for _, t := range c.targets {
			targets = append(targets, sdk.Target{Kind: t.Kind, ID: t.ID})
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			backoff := time.Second
			for ctx.Err() == nil {
				if d := c.Describe(); d.Name != "" && !d.Has(sdk.CapStream) {
					return
				}
				start := time.Now()
				err := s.stream(ctx, c, targets)
				if ctx.Err() != nil {
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

// streamSink queues what a stream delivers, in small batches.
type streamSink struct {
	s   *Scheduler
	c   *conn
	ctx context.Context
}

func (k *streamSink) Comment(cm sdk.Comment) error {
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
