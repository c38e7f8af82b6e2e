package manager

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/lock"
	"github.com/bpfunit/bpfunit/internal/pins"
)

// Environment variables that move bpfunit's paths, for tests and for hosts
// that keep bpffs elsewhere.
const (
	EnvPinRoot    = "BPFUNIT_PIN_ROOT"
	EnvRunDir     = "BPFUNIT_RUN_DIR"
	DefaultRunDir = "/run/bpfunit"
)

// Manager performs operations on units. Its methods are safe for concurrent
// use: operations on one unit exclude each other through the unit's lock,
// also against other processes.
type Manager struct {
	// Root is the bpffs directory with one directory per unit.
	Root pins.Root
	// RunDir holds state/ and lock/.
	RunDir string
	// ConfigDirs is the config search path.
	ConfigDirs []string
	// Log receives one record per thing done, with structured fields.
	Log *slog.Logger
	// OnChange, if set, is called after every change this Manager made
	// to a unit is committed (start, stop, reload, replace, detach), on
	// the goroutine that made it, after the unit's lock is released.
	// Optional. Watch reports changes of other processes as well.
	OnChange func(Change)
	// Fault, if set, is called at every named step of an operation
	// (internal/fault); tests arm it to kill the process there.
	// Optional: nil in production.
	Fault func(step string)

	// configs, states and links cache what Summaries read (summary.go).
	configs configCache
	states  stateCache
	links   dirCache
}

// Change says that a unit's state changed.
type Change struct {
	// Unit is the unit's name.
	Unit string
}

// FromEnv returns a Manager with the default paths, overridden by
// BPFUNIT_PIN_ROOT, BPFUNIT_RUN_DIR and BPFUNIT_CONFIG_PATH.
func FromEnv(log *slog.Logger) *Manager {
	m := &Manager{Root: pins.DefaultRoot, RunDir: DefaultRunDir, ConfigDirs: config.SearchPath(), Log: log}
	if v := os.Getenv(EnvPinRoot); v != "" {
		m.Root = pins.Root(v)
	}
	if v := os.Getenv(EnvRunDir); v != "" {
		m.RunDir = v
	}
	if m.Log == nil {
		m.Log = slog.New(slog.DiscardHandler)
	}
	return m
}

func (m *Manager) log() *slog.Logger {
	if m.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Log
}

// fault runs the fault hook at step.
func (m *Manager) fault(step string) {
	if m.Fault != nil {
		m.Fault(step)
	}
}

// changed reports a committed change of unit name to OnChange.
func (m *Manager) changed(name string) {
	if m.OnChange != nil {
		m.OnChange(Change{Unit: name})
	}
}

func (m *Manager) lockDir() string { return filepath.Join(m.RunDir, "lock") }

// withUnitLock runs fn holding the unit's lock.
func (m *Manager) withUnitLock(ctx context.Context, name string, fn func(context.Context, lock.Scope) error) error {
	if err := config.ValidateName(name); err != nil {
		return err
	}
	return lock.Run(ctx, m.lockDir(), name, fn)
}

// withShareLock runs fn holding the lock of a shared map's pin path.
func (m *Manager) withShareLock(ctx context.Context, path string, fn func(context.Context, lock.Scope) error) error {
	return lock.Run(ctx, m.lockDir(), "share-"+pins.EscapeTarget(path), fn)
}

// rollbackTimeout bounds the lock waits of a rollback, which runs even
// when the operation's ctx was cancelled.
const rollbackTimeout = 10 * time.Second

// rollbackContext is ctx without its cancellation: undoing must not stop
// halfway because the caller gave up.
func rollbackContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
}
