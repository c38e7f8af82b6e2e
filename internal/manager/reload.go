package manager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/loader"
	"github.com/bpfunit/bpfunit/internal/lock"
	"github.com/bpfunit/bpfunit/internal/pins"
	"github.com/bpfunit/bpfunit/internal/state"
)

// Swap kinds recorded per link.
const (
	SwapAtomic          = "atomic"
	SwapMakeBeforeBreak = "make-before-break"
)

// Reload replaces the programs of a started unit with those of its current
// config and object, keeping its maps: links the kernel can update swap
// programs atomically (BPF_LINK_UPDATE), the others are make-before-break.
// Attachments added to or removed from the config are created or dropped
// in the same transaction. On any error the old programs keep running
// untouched.
func (m *Manager) Reload(ctx context.Context, name string) (st *state.Unit, err error) {
	err = m.withUnitLock(ctx, name, func(ctx context.Context, s lock.Scope) error {
		u, err := config.Load(m.ConfigDirs, name)
		if err != nil {
			return err
		}
		spec, err := readObject(u.Object.Path)
		if err != nil {
			return err
		}
		st, err = m.reload(ctx, s, u, spec, "")
		return err
	})
	if st != nil {
		m.changed(name)
	}
	return st, err
}

// Replace swaps program of a started unit for the program of the same name
// in obj (read completely; the D-Bus helper passes an open file), the same
// way Reload does. Other programs of the unit are not touched. The change
// lasts until the unit is restarted, which loads the configured object.
func (m *Manager) Replace(ctx context.Context, name, program string, obj io.Reader) (st *state.Unit, err error) {
	spec, err := loader.ReadSpec(obj)
	if err != nil {
		return nil, fmt.Errorf("replace %s in unit %s: %w: %w", program, name, ErrInvalidObject, err)
	}
	err = m.withUnitLock(ctx, name, func(ctx context.Context, s lock.Scope) error {
		u, err := config.Load(m.ConfigDirs, name)
		if err != nil {
			return err
		}
		st, err = m.reload(ctx, s, u, spec, program)
		return err
	})
	if st != nil {
		m.changed(name)
	}
	return st, err
}

// reload is Reload and Replace: only, when set, limits it to the
// attachments of that program.
func (m *Manager) reload(ctx context.Context, s lock.Scope, u *config.Unit, spec *loader.Spec, only string) (_ *state.Unit, err error) {
	ud := m.Root.Unit(u.Name)
	plan, err := loader.Plan(u, spec)
	if err != nil {
		return nil, err
	}
	if only != "" {
		plan = slices.DeleteFunc(plan, func(a *loader.Attachment) bool { return a.Program != only })
	}
	f := reloadFacts{Links: pins.Exists(ud.Links()), Only: only}
	if f.Links {
		if f.Pins, err = pinFacts(ud.Links()); err != nil {
			return nil, err
		}
	}
	f.Prev, f.PrevErr = m.readState(u.Name)
	byLink := map[string]*loader.Attachment{}
	for _, a := range plan {
		f.Plan = append(f.Plan, planned{Link: a.PinName, Program: a.Program, Updatable: a.Updatable()})
		byLink[a.PinName] = a
	}
	steps, err := decideReload(f)
	if errors.Is(err, ErrNotStarted) {
		return nil, fmt.Errorf("unit %s: %w; start it with: systemctl start bpf@%s.service", u.Name, err, u.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("unit %s: %w", u.Name, err)
	}
	prev := f.Prev
	if err := m.cleanStaging(s, ud); err != nil {
		return nil, err
	}
	if err := loader.Preflight(plan); err != nil {
		return nil, fmt.Errorf("unit %s: %w", u.Name, err)
	}

	t := newTx(m.log())
	defer t.finish(&err)
	if err := os.Mkdir(ud.Staging(), 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", ud.Staging(), err)
	}
	t.onUndo("remove staging", func() error { return m.detachDir(ud.Staging()) })
	if err := os.MkdirAll(ud.Maps(), 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", ud.Maps(), err)
	}
	tLoad := time.Now()
	loaded, shared, err := m.loadUnit(ctx, u, spec, plan, t, only)
	if err != nil {
		return nil, err
	}
	defer loaded.Close()
	m.fault("reload:after-load")
	m.log().Debug("reload: programs loaded", "unit", u.Name, "programs", len(loaded.Programs), "took", time.Since(tLoad))
	tSwap := time.Now()

	// Mark the swap as under way, so that a reload killed in the middle is
	// recognised (status says so, start starts afresh, reload redoes it).
	pending := *prev
	pending.ReloadPending = true
	if err := state.Write(m.RunDir, &pending); err != nil {
		return nil, err
	}
	t.onUndo("restore state", func() error { return state.Write(m.RunDir, prev) })

	old := map[string]state.Link{}
	for _, l := range prev.Links {
		old[filepath.Base(l.Pin)] = l
	}
	next := *prev
	next.Links = nil
	for _, step := range steps {
		pin := filepath.Join(ud.Links(), step.Link)
		var ls state.Link
		switch step.Op {
		case opUpdate:
			ls, err = m.updateInPlace(byLink[step.Link], pin, loaded, t)
		case opMakeBeforeBreak, opAdd:
			ls, err = m.attachAndPin(ctx, u.Name, byLink[step.Link], loaded, ud.Staging(), t)
			staged := filepath.Join(ud.Staging(), step.Link)
			if step.Op == opMakeBeforeBreak {
				ls.LastSwap = SwapMakeBeforeBreak
			}
			t.onCommit("move "+staged, func() error { return replacePin(staged, pin) })
		case opDrop:
			t.onCommit("drop "+pin, func() error { return detachPin(pin, nil) })
			continue
		case opKeep:
			next.Links = append(next.Links, old[step.Link])
			continue
		case opForget:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("unit %s: %w", u.Name, err)
		}
		ls.Pin = pin
		next.Links = append(next.Links, ls)
		m.fault("reload:after-swap")
	}
	m.log().Debug("reload: links swapped", "unit", u.Name, "links", len(plan), "took", time.Since(tSwap))
	tCommit := time.Now()
	if only == "" {
		next.ConfigPath, next.ConfigDigest = u.Path, u.Digest
		next.ObjectPath, next.ObjectDigest = u.Object.Path, spec.Digest
		next.KeepMaps, next.SharedMaps = u.Object.KeepMaps, shared
		for _, p := range prev.SharedMaps {
			if !slices.Contains(shared, p) {
				t.onCommit("release shared map "+p, func() error {
					return m.withShareLock(ctx, p, func(context.Context, lock.Scope) error {
						return m.releaseShare(p, u.Name, true)
					})
				})
			}
		}
	}
	next.Reloaded = time.Now().UTC()
	next.ReloadPending = false
	if err := state.Write(m.RunDir, &next); err != nil {
		return nil, err
	}
	m.fault("reload:before-commit")
	// Past this point the new programs are in place; what is left only
	// moves pins and drops old links, and a failure there is repaired by
	// the next stop or start, so it is reported but not rolled back.
	t.onCommit("remove staging", func() error { return rmdirIfEmpty(ud.Staging()) })
	commitErr := t.commit()
	m.log().Debug("reload: committed", "unit", u.Name, "took", time.Since(tCommit))
	for _, l := range next.Links {
		m.log().Info("reloaded", "unit", u.Name, "program", l.Program, "target", l.Target, "prog_id", l.ProgID, "swap", l.LastSwap)
	}
	if commitErr != nil {
		return &next, fmt.Errorf("unit %s: reloaded, but cleaning up failed: %w", u.Name, commitErr)
	}
	return &next, nil
}

// updateInPlace swaps the program behind the pinned link with
// BPF_LINK_UPDATE; the undo step swaps the old one back.
func (m *Manager) updateInPlace(a *loader.Attachment, pin string, loaded *loader.Loaded, t *tx) (state.Link, error) {
	l, err := link.LoadPinnedLink(pin, nil)
	if err != nil {
		return state.Link{}, fmt.Errorf("open link %s: %w", pin, err)
	}
	info, err := l.Info()
	if err != nil {
		l.Close()
		return state.Link{}, fmt.Errorf("link info %s: %w", pin, err)
	}
	oldProg, err := ebpf.NewProgramFromID(info.Program)
	if err != nil {
		l.Close()
		return state.Link{}, fmt.Errorf("open running program %d: %w", info.Program, err)
	}
	newProg := loaded.Programs[a.Program]
	tUpdate := time.Now()
	if err := l.Update(newProg); err != nil {
		oldProg.Close()
		l.Close()
		return state.Link{}, fmt.Errorf("update %s: %w", a, err)
	}
	m.log().Debug("reload: link updated", "link", pin, "took", time.Since(tUpdate))
	t.onUndo("swap back "+pin, func() error { return l.Update(oldProg) })
	t.hold(l, oldProg)
	ls := state.Link{Program: a.Program, Type: string(a.Type), Target: a.Target, LinkID: uint32(info.ID), LastSwap: SwapAtomic}
	if pi, err := newProg.Info(); err == nil {
		id, _ := pi.ID()
		ls.ProgID, ls.ProgTag = uint32(id), pi.Tag
	}
	return ls, nil
}

// replacePin moves a staged link over the committed pin of the same name
// (rename(2) replaces atomically), then detaches the link that pin held:
// make-before-break, the new link was attached before the old one goes.
func replacePin(staged, pin string) error {
	oldLink, _ := link.LoadPinnedLink(pin, nil)
	if err := os.Rename(staged, pin); err != nil {
		if oldLink != nil {
			oldLink.Close()
		}
		return fmt.Errorf("commit %s: %w", pin, err)
	}
	if oldLink == nil {
		return nil
	}
	defer oldLink.Close()
	if err := oldLink.Detach(); err != nil && !errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("detach replaced link %s: %w", pin, err)
	}
	return nil
}

// reuseOldMaps adds to repl the maps the running programs use that are not
// pinned, so that a reload keeps their contents even without PinMaps=yes.
// Global data (.rodata, .data, .bss) is not carried over: constants may
// have changed, and its layout is the object's own.
func (m *Manager) reuseOldMaps(ud pins.Unit, spec *loader.Spec, repl map[string]*ebpf.Map) error {
	pinned, _ := pins.List(ud.Maps())
	byKernelName := map[string]string{}
	for name := range spec.Maps {
		if strings.HasPrefix(name, ".") || slices.Contains(pinned, name) || repl[name] != nil {
			continue
		}
		byKernelName[kernelMapName(name)] = name
	}
	if len(byKernelName) == 0 {
		return nil
	}
	names, err := pins.List(ud.Links())
	if err != nil {
		return err
	}
	for _, n := range names {
		l, err := link.LoadPinnedLink(filepath.Join(ud.Links(), n), nil)
		if err != nil {
			continue
		}
		info, err := l.Info()
		l.Close()
		if err != nil {
			continue
		}
		prog, err := ebpf.NewProgramFromID(info.Program)
		if err != nil {
			continue
		}
		pi, err := prog.Info()
		prog.Close()
		if err != nil {
			continue
		}
		ids, _ := pi.MapIDs()
		for _, id := range ids {
			mp, err := ebpf.NewMapFromID(id)
			if err != nil {
				continue
			}
			mi, err := mp.Info()
			name, ok := byKernelName[mi.Name]
			if err != nil || !ok || repl[name] != nil {
				mp.Close()
				continue
			}
			if err := spec.Maps[name].Compatible(mp); err != nil {
				mp.Close()
				return fmt.Errorf("map %s of the running programs can't be kept: %w", name, err)
			}
			repl[name] = mp
		}
	}
	return nil
}

// kernelMapName is the name the kernel keeps for a map: at most 15 bytes
// of [A-Za-z0-9_.].
func kernelMapName(name string) string {
	var b strings.Builder
	for _, c := range name {
		if b.Len() == 15 {
			break
		}
		if c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	return b.String()
}
