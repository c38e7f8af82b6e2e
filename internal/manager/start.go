package manager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/loader"
	"github.com/bpfunit/bpfunit/internal/lock"
	"github.com/bpfunit/bpfunit/internal/pins"
	"github.com/bpfunit/bpfunit/internal/state"
)

// Start attaches unit name from its config. It reports adopted=true when
// the unit was already attached with the same config and object, in which
// case nothing was changed.
func (m *Manager) Start(ctx context.Context, name string) (st *state.Unit, adopted bool, err error) {
	err = m.withUnitLock(ctx, name, func(ctx context.Context, s lock.Scope) error {
		u, err := config.Load(m.ConfigDirs, name)
		if err != nil {
			return err
		}
		st, adopted, err = m.start(ctx, s, u)
		return err
	})
	if err == nil && !adopted {
		m.changed(name)
	}
	return st, adopted, err
}

func readObject(path string) (*loader.Spec, error) {
	// Checked on the descriptor read below, so it can't be swapped in between.
	f, err := config.OpenObject(path)
	if errors.Is(err, config.ErrUntrusted) {
		// The error names the object already; classify it as an object
		// that can't be used, not as a config error.
		return nil, &objectError{err: err}
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	spec, err := loader.ReadSpec(f)
	if err != nil {
		return nil, &objectError{path: path, err: err}
	}
	return spec, nil
}

// objectError is an object file that is not a usable BPF ELF.
type objectError struct {
	path string
	err  error
}

func (e *objectError) Error() string {
	if e.path == "" {
		return e.err.Error()
	}
	return fmt.Sprintf("object %s: %v", e.path, e.err)
}
func (e *objectError) Unwrap() error        { return e.err }
func (e *objectError) Is(target error) bool { return target == ErrInvalidObject }

func (m *Manager) start(ctx context.Context, s lock.Scope, u *config.Unit) (_ *state.Unit, adopted bool, err error) {
	if err := m.Root.Check(); err != nil {
		return nil, false, err
	}
	ud := m.Root.Unit(u.Name)
	spec, err := readObject(u.Object.Path)
	if err != nil {
		return nil, false, err
	}
	f := startFacts{
		Staging: pins.Exists(ud.Staging()), Links: pins.Exists(ud.Links()),
		ConfigDigest: u.Digest, ObjectDigest: spec.Digest, KeepMaps: u.Object.KeepMaps,
	}
	if f.Links {
		if f.Pins, err = pinFacts(ud.Links()); err != nil {
			return nil, false, err
		}
		f.Prev, f.PrevErr = m.readState(u.Name)
	}
	for _, step := range decideStart(f) {
		switch step.Op {
		case opCleanStaging:
			if err := m.cleanStaging(s, ud); err != nil {
				return nil, false, err
			}
		case opTeardown:
			m.log().Warn(step.Why, "unit", u.Name)
			if err := m.teardown(ctx, s, ud, f.Prev, step.KeepMaps); err != nil {
				return nil, false, err
			}
		case opAdopt:
			m.log().Info(step.Why, "unit", u.Name, "links", len(f.Prev.Links))
			return f.Prev, true, nil
		case opRefuse:
			return nil, false, fmt.Errorf("unit %s: %w (attached from %s); apply the new one with: systemctl reload bpf@%s.service",
				u.Name, ErrAlreadyStarted, f.Prev.ConfigPath, u.Name)
		case opAttach:
			st, err := m.attach(ctx, u, spec, ud)
			return st, false, err
		}
	}
	return nil, false, fmt.Errorf("unit %s: start decided nothing to do", u.Name)
}

// attach is the opAttach step: one transaction that loads, attaches, pins
// into staging, writes the state and commits by renaming staging to links.
func (m *Manager) attach(ctx context.Context, u *config.Unit, spec *loader.Spec, ud pins.Unit) (_ *state.Unit, err error) {
	plan, err := loader.Plan(u, spec)
	if err != nil {
		return nil, err
	}
	if err := loader.Preflight(plan); err != nil {
		return nil, fmt.Errorf("unit %s: %w", u.Name, err)
	}

	t := newTx(m.log())
	defer t.finish(&err)
	for _, dir := range []string{ud.Dir(), ud.Maps(), ud.Staging()} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			if errors.Is(err, os.ErrExist) {
				continue
			}
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
		t.onUndo("remove "+dir, func() error { return rmdirIfEmpty(dir) })
	}

	loaded, shared, err := m.loadUnit(ctx, u, spec, plan, t, "")
	if err != nil {
		return nil, err
	}
	defer loaded.Close()
	m.fault("start:after-load")

	st := &state.Unit{
		Name: u.Name, ConfigPath: u.Path, ConfigDigest: u.Digest,
		ObjectPath: u.Object.Path, ObjectDigest: spec.Digest,
		KeepMaps: u.Object.KeepMaps, SharedMaps: shared,
		Started: time.Now().UTC(),
	}
	for _, a := range plan {
		ls, err := m.attachAndPin(ctx, u.Name, a, loaded, ud.Staging(), t)
		if err != nil {
			return nil, fmt.Errorf("unit %s: %w", u.Name, err)
		}
		ls.Pin = filepath.Join(ud.Links(), a.PinName)
		st.Links = append(st.Links, ls)
		m.fault("start:after-attach")
	}

	if err := state.Write(m.RunDir, st); err != nil {
		return nil, err
	}
	t.onUndo("remove state", func() error { return state.Remove(m.RunDir, u.Name) })
	m.fault("start:before-commit")
	if err := os.Rename(ud.Staging(), ud.Links()); err != nil {
		return nil, fmt.Errorf("commit unit %s: %w", u.Name, err)
	}
	m.fault("start:after-commit")
	for _, l := range st.Links {
		m.log().Info("attached", "unit", u.Name, "program", l.Program, "type", l.Type, "target", l.Target,
			"prog_id", l.ProgID, "link_id", l.LinkID, "pin", l.Pin)
	}
	return st, nil
}

// loadUnit loads the planned programs of u into the kernel: the unit's
// pinned maps are reused or created (and their new pins undone on error),
// ShareMap= maps opened, and on reload (only != "" for Replace) the maps
// the running programs use are carried over.
func (m *Manager) loadUnit(ctx context.Context, u *config.Unit, spec *loader.Spec, plan []*loader.Attachment, t *tx, only string) (*loader.Loaded, []string, error) {
	ud := m.Root.Unit(u.Name)
	mapsBefore, err := pins.List(ud.Maps())
	if err != nil {
		return nil, nil, err
	}
	repl, shared, err := m.openSharedMaps(ctx, u, spec, t)
	if err != nil {
		return nil, nil, err
	}
	// The collection clones what it uses.
	defer closeMaps(repl)
	if pins.Exists(ud.Links()) {
		if err := m.reuseOldMaps(ud, spec, repl); err != nil {
			return nil, nil, fmt.Errorf("unit %s: %w", u.Name, err)
		}
	}
	loaded, err := loader.Load(spec, loader.LoadOptions{
		Programs:  programsOf(plan),
		Constants: u.Object.Constants,
		// Replace loads one program; the unit's other programs may be
		// the ones that use its constants.
		SkipUnusedConstants: only != "",
		MapPinDir:           ud.Maps(),
		PinAllMaps:          u.Object.PinMaps,
		Replacements:        repl,
		Prepare:             loader.Prepare(plan),
	})
	// Map pins appear as the collection loads, even if a program then
	// fails: remove the ones this operation created either way.
	t.onUndo("remove new map pins", func() error { return m.removeNewPins(ud.Maps(), mapsBefore) })
	if err != nil {
		return nil, nil, fmt.Errorf("unit %s: %w", u.Name, err)
	}
	return loaded, shared, nil
}

// attachAndPin attaches one planned attachment and pins its link into dir.
// ctx is for the attach itself once the loader takes one (branch types).
func (m *Manager) attachAndPin(ctx context.Context, unit string, a *loader.Attachment, loaded *loader.Loaded, dir string, t *tx) (state.Link, error) {
	l, err := a.Attach(ctx, loaded.Programs)
	if err != nil {
		return state.Link{}, m.explainBusy(unit, a, err)
	}
	pin := filepath.Join(dir, a.PinName)
	if err := l.Pin(pin); err != nil {
		l.Close() // the link dies with its only FD: nothing stays attached
		if errors.Is(err, ebpf.ErrNotSupported) {
			return state.Link{}, fmt.Errorf("pin %s: this kernel attaches it without a pinnable bpf_link, and an unpinned attachment would die with this process: %w", a, loader.ErrUnsupported)
		}
		return state.Link{}, fmt.Errorf("pin %s: %w", a, err)
	}
	t.onUndo("detach "+pin, func() error { return detachPin(pin, l) })
	t.hold(l)
	ls := state.Link{Program: a.Program, Type: string(a.Type), Target: a.Target}
	if info, err := l.Info(); err == nil {
		ls.LinkID, ls.ProgID = uint32(info.ID), uint32(info.Program)
	}
	if info, err := loaded.Programs[a.Program].Info(); err == nil {
		ls.ProgTag = info.Tag
	}
	return ls, nil
}

// detachPin detaches the link l (or the one pinned at path when l is nil),
// removes the pin and closes it. Detaching first matters: another process's
// FD on the link (bpftool, a monitor) would otherwise keep it attached.
func detachPin(path string, l link.Link) error {
	if l == nil {
		var err error
		l, err = link.LoadPinnedLink(path, nil)
		if err != nil {
			// Not a link (or already gone): the pin is all there is to remove.
			if rmErr := os.Remove(path); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
				return fmt.Errorf("remove %s: %w", path, rmErr)
			}
			return nil
		}
	}
	defer l.Close()
	// Perf-event links have no detach operation; for them unpinning and
	// closing is the detach.
	if err := l.Detach(); err != nil && !errors.Is(err, ebpf.ErrNotSupported) && !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("detach %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("unpin %s: %w", path, err)
	}
	return nil
}

func programsOf(plan []*loader.Attachment) []string {
	var names []string
	for _, a := range plan {
		if !slices.Contains(names, a.Program) {
			names = append(names, a.Program)
		}
	}
	return names
}

// pinFacts reads the pins of a links directory and asks the kernel whether
// each is a link attached to its hook.
func pinFacts(dir string) ([]pinFact, error) {
	names, err := pins.List(dir)
	if err != nil {
		return nil, err
	}
	var out []pinFact
	for _, n := range names {
		f := pinFact{Name: n}
		if l, err := link.LoadPinnedLink(filepath.Join(dir, n), nil); err == nil {
			if info, err := l.Info(); err == nil {
				f.Attached = linkAttached(info)
			}
			l.Close()
		}
		out = append(out, f)
	}
	return out, nil
}

// linkAttached reports whether a link is still attached to its hook. A link
// detached behind bpfunit's back (bpftool link detach) lives on as long as
// its pin, attached to nothing: the kernel then reports its target as 0.
func linkAttached(info *link.Info) bool {
	switch {
	case info.XDP() != nil:
		return info.XDP().Ifindex != 0
	case info.TCX() != nil:
		return info.TCX().Ifindex != 0
	case info.Cgroup() != nil:
		return info.Cgroup().CgroupId != 0
	case info.NetNs() != nil:
		return info.NetNs().NetnsInode != 0
	}
	return true
}

func (m *Manager) removeNewPins(dir string, before []string) error {
	now, err := pins.List(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range now {
		if !slices.Contains(before, n) {
			errs = append(errs, m.Root.Remove(filepath.Join(dir, n)))
		}
	}
	return errors.Join(errs...)
}

func rmdirIfEmpty(dir string) error {
	err := os.Remove(dir)
	if err == nil || errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTEMPTY) {
		return nil
	}
	return err
}

func closeMaps(ms map[string]*ebpf.Map) {
	for _, mp := range ms {
		mp.Close()
	}
}
