package manager

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"

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

// ErrAlreadyStarted is returned by Start when the unit is attached with a
// different config or object.
var ErrAlreadyStarted = errors.New("already started with a different config or object")

// Manager performs operations on units.
type Manager struct {
	// Root is the bpffs directory with one directory per unit.
	Root pins.Root
	// RunDir holds state/ and lock/.
	RunDir string
	// ConfigDirs is the config search path.
	ConfigDirs []string
	// Log receives one record per thing done, with structured fields.
	Log *slog.Logger
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

// undo is a stack of rollback steps.
type undo struct {
	log   *slog.Logger
	steps []func() error
	// held are the link and program FDs the steps need; close releases
	// them when the operation is over, committed or rolled back.
	held []io.Closer
}

func (u *undo) push(f func() error) { u.steps = append(u.steps, f) }

func (u *undo) hold(c ...io.Closer) { u.held = append(u.held, c...) }

func (u *undo) close() {
	for _, c := range u.held {
		c.Close()
	}
	u.held = nil
}

// run rolls back in reverse. Rollback errors are logged: the error that
// caused the rollback is the one the caller returns.
func (u *undo) run() {
	for i := len(u.steps) - 1; i >= 0; i-- {
		if err := u.steps[i](); err != nil {
			u.log.Warn("rollback step failed", "err", err)
		}
	}
	u.steps = nil
}
