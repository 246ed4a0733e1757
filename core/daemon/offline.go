package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/core/config"
	"github.com/moderatorbot/moderator/core/pipeline"
	"github.com/moderatorbot/moderator/core/store"
)

// Offline is the daemon's admin surface without the daemon: the store opened
// directly (which only works while no daemon holds it), and the plugins
// started only when a command needs them (override, replay).
type Offline struct {
	*app
	started bool
}

// OpenOffline opens the store. withPlugins starts the configured plugins too.
func OpenOffline(ctx context.Context, cfg *config.Config, log hclog.Logger, withPlugins bool) (*Offline, error) {
	st, err := OpenStore(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("%w (is the daemon running with this data directory?)", err)
	}
	a, err := newApp(cfg, log, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	o := &Offline{app: a}
	if withPlugins {
		o.started = true
		if err := a.host.Start(ctx); err != nil {
			o.Close()
			return nil, err
		}
	}
	return o, nil
}

var errNeedsPlugins = errors.New("this needs the plugins: open with plugins")

// Override applies an override with the connector started for it.
func (o *Offline) Override(ctx context.Context, id, action, reason, by string) (_ store.Record, err error) {
	if !o.started {
		return store.Record{}, errNeedsPlugins
	}
	return o.app.Override(ctx, id, action, reason, by)
}

// Replay runs the analyzers started for it.
func (o *Offline) Replay(ctx context.Context) (pipeline.ReplayReport, error) {
	if !o.started {
		return pipeline.ReplayReport{}, errNeedsPlugins
	}
	return o.app.Replay(ctx)
}

// ReplayProgress is Replay with progress reports.
func (o *Offline) ReplayProgress(ctx context.Context, progress func(int)) (pipeline.ReplayReport, error) {
	if !o.started {
		return pipeline.ReplayReport{}, errNeedsPlugins
	}
	return o.pipeline.Replay(ctx, o.store, progress)
}

// Restore loads a backup into the (empty) store.
func (o *Offline) Restore(r interface{ Read([]byte) (int, error) }, force bool) error {
	if !force && !o.store.Empty() {
		return fmt.Errorf("the data directory %s already holds state; restore into an empty one, or pass --force to merge", o.cfg.Moderator.DataDir)
	}
	return o.store.Restore(r)
}

// Close stops the plugins and closes the store.
func (o *Offline) Close() {
	o.host.Stop()
	if err := o.store.Close(); err != nil {
		o.log.Error("close store", "error", err)
	}
}
