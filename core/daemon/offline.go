package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-hclog"
	"github.com/moderatorbot/moderator/core/config"
	"github.com/moderatorbot/moderator/core/pipeline"
	"github.com/moderatorbot/moderator/core/store"
	"github.com/moderatorbot/moderator/sdk"
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
	running := a.describe
	a.describe = func(ctx context.Context, name string) (sdk.Description, error) {
		if o.started {
			return running(ctx, name)
		}
		return describeOnce(ctx, cfg, log, name)
	}
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

// ReplayProgress replays the config's analyzers and policy (see
// ReplayWith) with progress reports. It starts the analyzers it needs
// itself, so the store need not be opened with the plugins.
func (o *Offline) ReplayProgress(ctx context.Context, progress func(int)) (pipeline.ReplayReport, error) {
	return o.ReplayWith(ctx, o.cfg, progress)
}

// Restore loads a backup into the (empty) store. Restoring into an empty
// store is all or nothing: when the backup turns out not to be whole, what
// it loaded is dropped again. With force, into a store that holds state,
// check the file with store.VerifyBackup first.
func (o *Offline) Restore(r io.Reader, force bool) error {
	empty := o.store.Empty()
	if !force && !empty {
		return fmt.Errorf("the data directory %s already holds state; restore into an empty one, or pass --force to merge", o.cfg.Moderator.DataDir)
	}
	err := o.store.Restore(r)
	if err != nil && empty {
		if derr := o.store.DropAll(); derr != nil {
			return fmt.Errorf("%w; then %w: remove %s by hand", err, derr, o.cfg.Moderator.DataDir)
		}
	}
	return err
}

// Close stops the plugins and closes the store.
func (o *Offline) Close() {
	o.host.Stop()
	if err := o.store.Close(); err != nil {
		o.log.Error("close store", "error", err)
	}
}
