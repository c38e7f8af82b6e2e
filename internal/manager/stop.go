package manager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/lock"
	"github.com/bpfunit/bpfunit/internal/pins"
	"github.com/bpfunit/bpfunit/internal/state"
)

// Stop detaches everything of unit name and removes its pins and state
// (maps stay when KeepMaps=yes). Stopping a unit that isn't attached is not
// an error. Stop works from the pins and the state file, so it works after
// the config was removed.
func (m *Manager) Stop(ctx context.Context, name string) error {
	stopped := false
	err := m.withUnitLock(ctx, name, func(ctx context.Context, s lock.Scope) error {
		ud := m.Root.Unit(name)
		prev, err := m.readState(name)
		if err != nil {
			m.log().Warn("state file unreadable; stopping from the pins alone", "unit", name, "err", err)
		}
		keep := false
		if prev != nil {
			keep = prev.KeepMaps
		} else if u, err := config.Load(m.ConfigDirs, name); err == nil {
			keep = u.Object.KeepMaps
		}
		attached := prev != nil || err != nil || pins.Exists(ud.Dir())
		if err := m.teardown(ctx, s, ud, prev, keep); err != nil {
			return err
		}
		if !attached {
			// Quiet: bpf@.service stops with ExecStopPost=, which also
			// runs after a failed start, whose reason must stay the
			// unit's last line in systemctl status.
			m.log().Debug("nothing to stop", "unit", name)
			return nil
		}
		m.log().Info("stopped", "unit", name)
		stopped = true
		return nil
	})
	if stopped {
		m.changed(name)
	}
	return err
}

// teardown removes the unit's links (committed and staged), programs, maps
// unless keepMaps, the shared maps no other unit uses, the directories and
// the state file. Each step tolerates what an interrupted earlier run left.
func (m *Manager) teardown(ctx context.Context, s lock.Scope, ud pins.Unit, prev *state.Unit, keepMaps bool) error {
	if err := s.Check(); err != nil {
		return fmt.Errorf("stop unit %s: %w", ud.Name(), err)
	}
	var errs []error
	for _, dir := range []string{ud.Links(), ud.Staging()} {
		errs = append(errs, m.detachDir(dir))
		m.fault("stop:after-links")
	}
	if !keepMaps {
		names, err := pins.List(ud.Maps())
		errs = append(errs, err)
		for _, n := range names {
			errs = append(errs, m.Root.Remove(filepath.Join(ud.Maps(), n)))
		}
		errs = append(errs, rmdirIfEmpty(ud.Maps()))
	}
	errs = append(errs, m.releaseSharedMaps(ctx, ud.Name(), prev))
	errs = append(errs, rmdirIfEmpty(ud.Dir()))
	m.fault("stop:before-state")
	errs = append(errs, state.Remove(m.RunDir, ud.Name()))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop unit %s: %w", ud.Name(), err)
	}
	return nil
}

// detachDir detaches and unpins every link pinned in dir, then removes dir.
func (m *Manager) detachDir(dir string) error {
	names, err := pins.List(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		errs = append(errs, detachPin(filepath.Join(dir, n), nil))
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("remove %s: %w", dir, err))
	}
	return errors.Join(errs...)
}

// cleanStaging removes what a killed start left in staging.
func (m *Manager) cleanStaging(s lock.Scope, ud pins.Unit) error {
	if err := s.Check(); err != nil {
		return fmt.Errorf("clean staging of unit %s: %w", ud.Name(), err)
	}
	if !pins.Exists(ud.Staging()) {
		return nil
	}
	m.log().Warn("removing what an interrupted start left behind", "unit", ud.Name(), "dir", ud.Staging())
	return m.detachDir(ud.Staging())
}

// removeEmptyParents removes dir and its parents while they are empty
// directories on bpffs, so that a ShareMap= path's directories go with its
// last user. It stops at the first non-empty directory and never removes a
// bpffs mount point.
func removeEmptyParents(dir string) {
	for dir != "/" {
		var st, parent unix.Stat_t
		if unix.Stat(dir, &st) != nil || unix.Stat(filepath.Dir(dir), &parent) != nil || st.Dev != parent.Dev {
			return
		}
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// readState reads the unit's state file: nil, nil when there is none; an
// error wrapping state.ErrCorrupt when it cannot be parsed.
func (m *Manager) readState(name string) (*state.Unit, error) {
	st, err := state.Read(m.RunDir, name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return st, err
}
