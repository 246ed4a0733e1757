package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/moderatorbot/moderator/core/internal/redact"
	"github.com/moderatorbot/moderator/sdk"
)

// Spec is one configured plugin instance.
type Spec struct {
	Name string
	Kind sdk.Kind
	// Plugin is the name or path written in the config, for display.
	Plugin string
	// Path is the binary to run.
	Path string
	// SHA256 pins the binary's checksum (lower-case hex); empty means no pin.
	SHA256 string
	// Env lists what the process gets of an environment: "NAME" passes the
	// host's value through, "NAME=value" sets one. Nothing else is passed.
	Env []string
	// Config is the instance's `config` table.
	Config map[string]any
}

// Options tune supervision. Zero values take the defaults in the comments.
type Options struct {
	Logger            hclog.Logger
	LogLevel          string        // passed to plugins in Configure
	StartTimeout      time.Duration // 10s: handshake deadline
	RestartBackoff    time.Duration // 500ms: delay before the first restart
	RestartBackoffMax time.Duration // 30s
	CrashLimit        int           // 3 crashes inside CrashWindow quarantine an instance
	CrashWindow       time.Duration // 10m
	HealthInterval    time.Duration // 5s between health checks of a running plugin, and the most one may take
	// KV returns the host KV store served to an instance; nil serves none.
	KV func(instance string) sdk.KV
	// ValidateOnly configures plugins for `config check`: they must reach
	// nothing outside their process.
	ValidateOnly bool
	// NoRestart makes a crash final: for one-shot commands such as
	// `plugins list` and `config check`.
	NoRestart bool
	// Redact, when set, cleans what a plugin said (its field errors, its
	// last output before a crash) before the host logs it, keeps it as an
	// instance's last error or returns it: a plugin may quote a secret of
	// its config table back. The config's Redact is meant.
	Redact func(string) string
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 10 * time.Second
	}
	if o.RestartBackoff <= 0 {
		o.RestartBackoff = 500 * time.Millisecond
	}
	if o.RestartBackoffMax <= 0 {
		o.RestartBackoffMax = 30 * time.Second
	}
	if o.RestartBackoffMax < o.RestartBackoff {
		o.RestartBackoffMax = o.RestartBackoff
	}
	if o.CrashLimit <= 0 {
		o.CrashLimit = 3
	}
	if o.CrashWindow <= 0 {
		o.CrashWindow = 10 * time.Minute
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = 5 * time.Second
	}
}

// State is where an instance is in its life.
type State string

// Instance states.
const (
	StateStarting    State = "starting"
	StateReady       State = "ready"
	StateRestarting  State = "restarting"  // crashed, waiting out its backoff
	StateQuarantined State = "quarantined" // crashed too often; not restarted
	StateFailed      State = "failed"      // cannot run as configured (pin, protocol, kind, config)
	StateStopped     State = "stopped"
)

// Host supervises a set of plugin instances.
type Host struct {
	opts      Options
	instances []*Instance
	byName    map[string]*Instance

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New prepares instances for specs; nothing runs until Start.
func New(opts Options, specs []Spec) *Host {
	opts.defaults()
	h := &Host{opts: opts, byName: map[string]*Instance{}}
	for _, s := range specs {
		log := opts.Logger.Named(s.Name)
		if opts.Redact != nil {
			log = redact.Logger(log, opts.Redact)
		}
		in := &Instance{spec: s, opts: &h.opts, log: log, state: StateStarting, changed: make(chan struct{})}
		h.instances = append(h.instances, in)
		h.byName[s.Name] = in
	}
	return h
}

// Start launches every instance in parallel and returns once each is ready,
// failed or quarantined, or ctx is done. Instances that could not start are
// reported in the error (one line each); the others keep running and are
// supervised until Stop.
func (h *Host) Start(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	for _, in := range h.instances {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			in.supervise(runCtx)
		}()
	}
	var errs []error
	for _, in := range h.instances {
		if err := in.waitSettled(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Stop stops every plugin process and waits until none is left.
func (h *Host) Stop() {
	if h.cancel != nil {
		h.cancel()
	}
	h.wg.Wait()
}

// Instance returns the named instance, or nil.
func (h *Host) Instance(name string) *Instance { return h.byName[name] }

// Instances returns every instance in config order.
func (h *Host) Instances() []*Instance { return h.instances }

// Ready reports whether every instance is ready.
func (h *Host) Ready() bool {
	for _, in := range h.instances {
		if in.Status().State != StateReady {
			return false
		}
	}
	return true
}

// Statuses returns a snapshot of every instance.
func (h *Host) Statuses() []Status {
	out := make([]Status, len(h.instances))
	for i, in := range h.instances {
		out[i] = in.Status()
	}
	return out
}

// Status is what `moderator plugins list` shows of an instance.
type Status struct {
	Instance     string    `json:"instance"`
	Plugin       string    `json:"plugin"`
	Kind         sdk.Kind  `json:"kind"`
	Path         string    `json:"path"`
	Version      string    `json:"version,omitempty"`
	Protocol     int       `json:"protocol,omitempty"`
	SDKVersion   string    `json:"sdk_version,omitempty"`
	Capabilities []string  `json:"capabilities,omitempty"`
	Actions      []string  `json:"actions,omitempty"`
	Labels       []string  `json:"labels,omitempty"`
	Checksum     string    `json:"checksum,omitempty"`
	Pinned       bool      `json:"pinned"`
	State        State     `json:"state"`
	PID          int       `json:"pid,omitempty"`
	Restarts     int       `json:"restarts"`
	LastError    string    `json:"last_error,omitempty"`
	Since        time.Time `json:"since"`
}

// Instance is one supervised plugin instance.
type Instance struct {
	spec Spec
	opts *Options
	log  hclog.Logger

	mu       sync.Mutex
	state    State
	since    time.Time
	changed  chan struct{} // closed and replaced on every state change
	client   *plugin.Client
	remote   *sdk.RemotePlugin
	desc     sdk.Description
	checksum string
	pid      int
	restarts int
	crashes  []time.Time
	lastErr  error
}

// Name is the instance name from the config.
func (in *Instance) Name() string { return in.spec.Name }

// Kind is the configured kind.
func (in *Instance) Kind() sdk.Kind { return in.spec.Kind }

// Status returns a snapshot.
func (in *Instance) Status() Status {
	in.mu.Lock()
	defer in.mu.Unlock()
	s := Status{
		Instance: in.spec.Name, Plugin: in.spec.Plugin, Kind: in.spec.Kind, Path: in.spec.Path,
		Version: in.desc.Version, Protocol: in.desc.ProtocolVersion, SDKVersion: in.desc.SDKVersion,
		Capabilities: in.desc.Capabilities, Actions: in.desc.Actions, Labels: in.desc.Labels,
		Checksum: in.checksum, Pinned: in.spec.SHA256 != "", State: in.state, PID: in.pid,
		Restarts: in.restarts, Since: in.since,
	}
	if in.lastErr != nil {
		s.LastError = in.lastErr.Error()
	}
	return s
}

// Err is the last error the instance met (nil if none): why it failed, was
// quarantined, or was last restarted.
func (in *Instance) Err() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.lastErr
}

// Description is what the plugin said in Describe (zero until it first ran).
func (in *Instance) Description() sdk.Description {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.desc
}

// ErrQuarantined is returned by Plugin for an instance that crashed too often.
var ErrQuarantined = errors.New("quarantined after repeated crashes")

// ErrStopped is returned by Plugin once the host is stopping.
var ErrStopped = errors.New("plugin host stopped")

// Plugin returns the running plugin, waiting while it starts or restarts.
func (in *Instance) Plugin(ctx context.Context) (*sdk.RemotePlugin, error) {
	for {
		in.mu.Lock()
		state, remote, changed, lastErr := in.state, in.remote, in.changed, in.lastErr
		in.mu.Unlock()
		switch state {
		case StateReady:
			return remote, nil
		case StateQuarantined:
			return nil, fmt.Errorf("plugin %s: %w (last error: %v)", in.spec.Name, ErrQuarantined, lastErr)
		case StateFailed:
			return nil, fmt.Errorf("plugin %s: %w", in.spec.Name, lastErr)
		case StateStopped:
			return nil, fmt.Errorf("plugin %s: %w", in.spec.Name, ErrStopped)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("plugin %s is %s: %w", in.spec.Name, state, ctx.Err())
		}
	}
}

// waitSettled waits until the instance is no longer starting and returns
// why it is not running, if it is not.
func (in *Instance) waitSettled(ctx context.Context) error {
	for {
		in.mu.Lock()
		state, changed, lastErr := in.state, in.changed, in.lastErr
		in.mu.Unlock()
		switch state {
		case StateReady:
			return nil
		case StateFailed, StateQuarantined, StateStopped:
			return fmt.Errorf("%s %s: %s: %v", in.spec.Kind, in.spec.Name, state, lastErr)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%s %s: still %s: %w", in.spec.Kind, in.spec.Name, state, ctx.Err())
		}
	}
}

func (in *Instance) setState(s State, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.state = s
	in.since = time.Now()
	if err != nil {
		in.lastErr = err
	}
	close(in.changed)
	in.changed = make(chan struct{})
}

// permanentError marks a start failure that retrying cannot cure.
type permanentError struct{ error }

// IsPermanent reports whether err is a start failure that retrying cannot
// cure (a missing binary, a pin mismatch, a config the plugin refused): the
// instance stays failed until the config changes.
func IsPermanent(err error) bool {
	var perm permanentError
	return errors.As(err, &perm)
}

func (e permanentError) Unwrap() error { return e.error }

// supervise runs the instance until ctx is done: launch, watch, restart.
func (in *Instance) supervise(ctx context.Context) {
	defer in.setState(StateStopped, nil)
	for {
		client, err := in.launch(ctx)
		if err != nil {
			err = in.redact(err)
			if ctx.Err() != nil {
				return
			}
			var perm permanentError
			if errors.As(err, &perm) {
				in.log.Error("plugin cannot start", "error", err)
				in.setState(StateFailed, err)
				<-ctx.Done()
				return
			}
			in.log.Error("plugin failed to start", "error", err)
		} else {
			in.log.Info("plugin ready", "pid", in.Status().PID, "version", in.Description().Version)
			err = in.watch(ctx, client)
			var hung hungError
			in.kill(client, errors.As(err, &hung))
			if ctx.Err() != nil {
				return
			}
			in.log.Error("plugin crashed", "error", err)
		}
		delay, quarantined := in.crashed(err)
		if in.opts.NoRestart {
			in.setState(StateFailed, err)
			<-ctx.Done()
			return
		}
		if quarantined {
			in.log.Error("plugin quarantined: it keeps crashing; fix it and restart moderator",
				"crashes", in.opts.CrashLimit, "window", in.opts.CrashWindow.String(), "last_error", err)
			in.setState(StateQuarantined, err)
			<-ctx.Done()
			return
		}
		in.log.Warn("restarting plugin", "in", delay.Round(time.Millisecond).String())
		in.setState(StateRestarting, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		in.mu.Lock()
		in.restarts++
		in.mu.Unlock()
		in.setState(StateStarting, nil)
	}
}

// crashed records a crash and returns the backoff before the next start, or
// that the instance is to be quarantined.
func (in *Instance) crashed(err error) (time.Duration, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	now := time.Now()
	kept := in.crashes[:0]
	for _, t := range in.crashes {
		if now.Sub(t) < in.opts.CrashWindow {
			kept = append(kept, t)
		}
	}
	in.crashes = append(kept, now)
	if len(in.crashes) >= in.opts.CrashLimit {
		return 0, true
	}
	return backoff(in.opts.RestartBackoff, in.opts.RestartBackoffMax, len(in.crashes)), false
}

// backoff doubles base for every recent crash, caps it at max, and keeps a
// random half of it so that plugins that died together do not restart in step.
func backoff(base, max time.Duration, crashes int) time.Duration {
	d := base
	for i := 1; i < crashes && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d/2 + rand.N(d/2+1)
}

// testHookBeforeExec, when set by a test, runs between the pin check and
// the exec: where a binary swapped at its path would slip in.
var testHookBeforeExec func(Spec)

var incompatible = regexp.MustCompile(`Plugin version: (\d+)`)

// launch checks the pin, starts the process and brings it to ready.
func (in *Instance) launch(ctx context.Context) (*plugin.Client, error) {
	path, sum, remove, err := in.binary()
	if err != nil {
		return nil, err
	}
	defer remove()
	in.mu.Lock()
	in.checksum = sum
	in.mu.Unlock()
	if in.spec.SHA256 != "" && !strings.EqualFold(sum, in.spec.SHA256) {
		return nil, permanentError{fmt.Errorf("refusing to run %s: its sha256 is %s but the config pins %s (rebuild the plugin or update the pin)", in.spec.Path, sum, in.spec.SHA256)}
	}

	if testHookBeforeExec != nil {
		testHookBeforeExec(in.spec)
	}
	cmd := exec.Command(path)
	cmd.Env = in.environ()
	isolate(cmd)
	stderr := &tail{max: 4096}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.HostPluginSets(),
		RunnerFunc:       runnerFor(cmd), // cmd, but with no stdin
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true, // else runnerFor would pass on the host's whole environment
		Logger:           in.log,
		StartTimeout:     in.opts.StartTimeout,
		Stderr:           stderr,
		GRPCDialOptions:  sdk.GRPCDialOptions(),
	})
	fail := func(err error) (*plugin.Client, error) {
		in.kill(client, false)
		// What the plugin printed explains a crash at start-up; for a
		// refusal (pin, protocol, config) the error already says it all.
		var perm permanentError
		if t := stderr.String(); t != "" && !errors.As(err, &perm) {
			err = fmt.Errorf("%w; its last output: %s", err, t)
		}
		return nil, err
	}
	rpc, err := client.Client()
	remove() // the process runs (or failed to): it needs no path any more
	if err != nil {
		if path != in.spec.Path && errors.Is(err, fs.ErrPermission) {
			return fail(fmt.Errorf("start %s from its checked copy %s: %w (a pinned plugin runs from a copy in the temporary directory: if it is mounted noexec, set TMPDIR to one that is not)", in.spec.Path, path, err))
		}
		if m := incompatible.FindStringSubmatch(err.Error()); m != nil {
			theirs, _ := strconv.Atoi(m[1])
			return fail(permanentError{versionMismatch(in.spec.Path, theirs)})
		}
		return fail(fmt.Errorf("start %s: %w", in.spec.Path, err))
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		return fail(fmt.Errorf("dispense: %w", err))
	}
	remote := raw.(*sdk.RemotePlugin)
	callCtx, cancel := context.WithTimeout(ctx, in.opts.StartTimeout)
	defer cancel()
	desc, err := remote.Describe(callCtx)
	if err != nil {
		return fail(err)
	}
	if desc.Kind != in.spec.Kind {
		return fail(permanentError{fmt.Errorf("%s is a %s plugin, but it is configured as [[%s]]", in.spec.Path, desc.Kind, in.spec.Kind)})
	}
	if desc.ProtocolVersion != sdk.ProtocolVersion {
		return fail(permanentError{versionMismatch(in.spec.Path, desc.ProtocolVersion)})
	}
	var kv sdk.KV
	if in.opts.KV != nil {
		kv = in.opts.KV(in.spec.Name)
	}
	fieldErrs, err := remote.Configure(callCtx, sdk.ConfigureOptions{
		Instance: in.spec.Name, Config: in.spec.Config, KV: kv, ValidateOnly: in.opts.ValidateOnly, LogLevel: in.opts.LogLevel,
	})
	if err != nil {
		return fail(err)
	}
	if len(fieldErrs) > 0 {
		// Callers read the fields one by one: they are cleaned here, the
		// rest of the error by supervise.
		for i := range fieldErrs {
			fieldErrs[i].Message = in.opts.redact(fieldErrs[i].Message)
		}
		return fail(permanentError{&ConfigError{Instance: in.spec.Name, Fields: fieldErrs}})
	}
	in.mu.Lock()
	in.client, in.remote, in.desc = client, remote, desc
	in.pid = pidOf(client)
	in.mu.Unlock()
	in.setState(StateReady, nil)
	return client, nil
}

func (o *Options) redact(s string) string {
	if o.Redact == nil {
		return s
	}
	return o.Redact(s)
}

// redact returns err with its message cleaned by Options.Redact, still
// wrapping err for errors.Is and errors.As (IsPermanent, *ConfigError).
func (in *Instance) redact(err error) error {
	if msg := in.opts.redact(err.Error()); msg != err.Error() {
		return redactedError{msg: msg, err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// ConfigError is a plugin's verdict on its `config` table.
type ConfigError struct {
	Instance string
	Fields   sdk.FieldErrors
}

func (e *ConfigError) Error() string { return "invalid config: " + e.Fields.Error() }

func versionMismatch(path string, theirs int) error {
	ours := sdk.ProtocolVersion
	advice := fmt.Sprintf("upgrade moderator to a release that speaks v%d", theirs)
	if theirs < ours {
		advice = fmt.Sprintf("rebuild the plugin against a moderator SDK that speaks v%d", ours)
	}
	return fmt.Errorf("%s speaks moderator plugin protocol v%d, this moderator speaks v%d: %s", path, theirs, ours, advice)
}

// watch returns when the plugin process exits or stops answering health checks.
func (in *Instance) watch(ctx context.Context, client *plugin.Client) error {
	exitPoll := time.NewTicker(100 * time.Millisecond)
	defer exitPoll.Stop()
	health := time.NewTicker(in.opts.HealthInterval)
	defer health.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exitPoll.C:
			if client.Exited() {
				return errors.New("plugin process exited")
			}
		case <-health.C:
			if err := ping(client, in.opts.HealthInterval); err != nil && !client.Exited() {
				return hungError{fmt.Errorf("health check: %w", err)}
			}
		}
	}
}

// hungError means the process is alive but does not answer.
type hungError struct{ error }

func (e hungError) Unwrap() error { return e.error }

// ping runs go-plugin's health check with a deadline: its own has none, and a
// hung plugin must count as a crash rather than hang the supervisor.
func ping(client *plugin.Client, timeout time.Duration) error {
	rpc, err := client.Client()
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- rpc.Ping() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("no answer in %s", timeout)
	}
}

// killGrace is how long go-plugin's graceful shutdown may take before the
// process is killed outright.
const killGrace = 3 * time.Second

// kill stops the plugin process. go-plugin's Kill first asks the plugin to
// shut down and waits for the answer without a deadline, so a hung plugin
// (force) is killed at once, and one that does not finish in killGrace is
// killed then.
func (in *Instance) kill(client *plugin.Client, force bool) {
	pid := pidOf(client)
	hardKill := func() {
		if p, err := os.FindProcess(pid); err == nil && pid > 0 {
			_ = p.Kill()
		}
	}
	if force {
		hardKill()
	}
	done := make(chan struct{})
	go func() {
		client.Kill()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(killGrace):
		in.log.Warn("plugin did not shut down in time; killing it", "pid", pid)
		hardKill()
		<-done
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.client == client {
		in.client, in.remote, in.pid = nil, nil, 0
	}
}

// environ builds the plugin's whole environment from the instance's env list.
func (in *Instance) environ() []string {
	env := []string{}
	for _, e := range in.spec.Env {
		if strings.Contains(e, "=") {
			env = append(env, e)
		} else if v, ok := os.LookupEnv(e); ok {
			env = append(env, e+"="+v)
		}
	}
	sort.Strings(env)
	return env
}

// binary returns the file to exec and the sha256 of what it holds. An
// unpinned binary runs where it is. A pinned one is copied, and hashed as it
// is copied, into a directory only this process can write, and the copy is
// what runs: checking the file at its path and then running that path would
// let a binary swapped or rewritten in between run unchecked. remove deletes
// the copy; a process started from it keeps running.
func (in *Instance) binary() (path, sum string, remove func(), err error) {
	remove = func() {}
	if in.spec.SHA256 == "" {
		sum, err = fileSHA256(in.spec.Path)
		if err != nil {
			return "", "", remove, permanentError{fmt.Errorf("read plugin binary: %w", err)}
		}
		return in.spec.Path, sum, remove, nil
	}
	src, err := os.Open(in.spec.Path)
	if err != nil {
		return "", "", remove, permanentError{fmt.Errorf("read plugin binary: %w", err)}
	}
	defer src.Close()
	dir, err := os.MkdirTemp("", "moderator-plugin-")
	if err != nil {
		return "", "", remove, fmt.Errorf("copy the pinned plugin binary to check and run it: %w", err)
	}
	remove = func() { os.RemoveAll(dir) }
	path = filepath.Join(dir, filepath.Base(in.spec.Path))
	if sum, err = copyHashed(src, path); err != nil {
		remove()
		return "", "", func() {}, fmt.Errorf("copy the pinned plugin binary %s to check and run it: %w", in.spec.Path, err)
	}
	return path, sum, remove, nil
}

// copyHashed writes src to a new executable file at dst and returns the
// sha256 of what it wrote. No process is forked while the copy is open for
// writing: a child forked meanwhile (another plugin starting) would hold the
// descriptor until it execs, and running the copy would fail with "text
// file busy" (go.dev/issue/22315). Forks hold syscall.ForkLock for writing.
func copyHashed(src io.Reader, dst string) (string, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o500)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), src); err != nil {
		out.Close()
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// tail keeps the last bytes a plugin wrote to stderr, so a crash report can
// say what the plugin said before it died (go-plugin logs unstructured stderr
// lines only at debug level).
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

// String is what the plugin said, on one line: its lines joined with " | ",
// without the debug and trace lines of its logger (go-plugin's own chatter,
// such as "configuring server automatic mTLS"), which explain nothing.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var kept []string
	for line := range strings.SplitSeq(string(t.buf), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var entry struct {
			Level string `json:"@level"`
		}
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &entry) == nil && (entry.Level == "debug" || entry.Level == "trace") {
			continue
		}
		kept = append(kept, line)
	}
	return strings.Join(kept, " | ")
}
