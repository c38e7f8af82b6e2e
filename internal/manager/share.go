package manager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/loader"
	"github.com/bpfunit/bpfunit/internal/lock"
	"github.com/bpfunit/bpfunit/internal/pins"
	"github.com/bpfunit/bpfunit/internal/state"
)

// openSharedMaps opens (or creates and pins) every ShareMap= of u, each
// under its own lock so two units starting at once agree on one map.
func (m *Manager) openSharedMaps(ctx context.Context, u *config.Unit, spec *loader.Spec, t *tx) (map[string]*ebpf.Map, []string, error) {
	repl := map[string]*ebpf.Map{}
	var paths []string
	for _, sm := range u.Object.ShareMaps {
		ms, ok := spec.Maps[sm.Map]
		if !ok {
			closeMaps(repl)
			return nil, nil, fmt.Errorf("%s:%d: [Object] ShareMap=%s: the object has no map %q", u.Path, sm.Line, sm.Map, sm.Map)
		}
		err := m.withShareLock(ctx, sm.Path, func(context.Context, lock.Scope) error {
			mp, created, err := openOrCreate(ms, sm.Path)
			if err != nil {
				return fmt.Errorf("%s:%d: [Object] ShareMap=%s:%s: %w", u.Path, sm.Line, sm.Map, sm.Path, err)
			}
			// Record the use before the lock goes: a concurrent stop
			// of the map's last other user must see it.
			added, err := state.AddShareUse(m.RunDir, sm.Path, u.Name)
			if err != nil {
				mp.Close()
				if created {
					os.Remove(sm.Path)
				}
				return err
			}
			repl[sm.Map] = mp
			if added || created {
				t.onUndo("release shared map "+sm.Path, func() error {
					ctx, cancel := rollbackContext(ctx)
					defer cancel()
					return m.withShareLock(ctx, sm.Path, func(context.Context, lock.Scope) error {
						return m.releaseShare(sm.Path, u.Name, added)
					})
				})
			}
			return nil
		})
		if err != nil {
			closeMaps(repl)
			return nil, nil, err
		}
		paths = append(paths, sm.Path)
	}
	return repl, paths, nil
}

func openOrCreate(ms *ebpf.MapSpec, path string) (*ebpf.Map, bool, error) {
	mp, err := ebpf.LoadPinnedMap(path, nil)
	if err == nil {
		if err := ms.Compatible(mp); err != nil {
			mp.Close()
			return nil, false, fmt.Errorf("pinned map is incompatible: %w", err)
		}
		return mp, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("open pinned map: %w", err)
	}
	dir := filepath.Dir(path)
	// The directories are created below: check the nearest one that exists.
	existing := dir
	for !pins.Exists(existing) && existing != filepath.Dir(existing) {
		existing = filepath.Dir(existing)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(existing, &st); err != nil || st.Type != unix.BPF_FS_MAGIC {
		return nil, false, fmt.Errorf("%s is not on a bpf filesystem", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("create %s: %w", dir, err)
	}
	spec := ms.Copy()
	spec.Pinning = ebpf.PinNone
	spec.Contents = nil
	mp, err = ebpf.NewMap(spec)
	if err != nil {
		return nil, false, fmt.Errorf("create shared map: %w", err)
	}
	if err := mp.Pin(path); err != nil {
		mp.Close()
		return nil, false, fmt.Errorf("pin shared map: %w", err)
	}
	return mp, true, nil
}

// releaseShare forgets unit's use of the shared map at path (when forget)
// and unpins the map if no other unit uses it. The caller holds the map's
// share lock.
func (m *Manager) releaseShare(path, unit string, forget bool) error {
	if forget {
		if err := state.RemoveShareUse(m.RunDir, path, unit); err != nil {
			return err
		}
	}
	inUse, err := m.sharedMapInUse(path, unit)
	if err != nil || inUse {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("unpin shared map: %w", err)
	}
	removeEmptyParents(filepath.Dir(path))
	return nil
}

// releaseSharedMaps releases every shared map unit uses: those its state
// records and those recorded as used by a start that never committed.
func (m *Manager) releaseSharedMaps(ctx context.Context, unit string, prev *state.Unit) error {
	paths, err := state.SharesOf(m.RunDir, unit)
	if err != nil {
		return err
	}
	if prev != nil {
		for _, p := range prev.SharedMaps {
			if !slices.Contains(paths, p) {
				paths = append(paths, p)
			}
		}
	}
	var errs []error
	for _, path := range paths {
		errs = append(errs, m.withShareLock(ctx, path, func(context.Context, lock.Scope) error {
			return m.releaseShare(path, unit, true)
		}))
	}
	return errors.Join(errs...)
}

// sharedMapInUse reports whether a unit other than except uses the shared
// map at path: recorded as a user, or (state written by an older bpfunit)
// listing it in its state.
func (m *Manager) sharedMapInUse(path, except string) (bool, error) {
	users, err := state.ShareUsers(m.RunDir, path)
	if err != nil {
		return true, err
	}
	for _, u := range users {
		if u != except {
			return true, nil
		}
	}
	all, err := state.List(m.RunDir)
	for _, o := range all {
		if o.Name != except && slices.Contains(o.SharedMaps, path) {
			return true, nil
		}
	}
	if err != nil {
		// An unreadable state file may be a user: keep the map.
		m.log().Warn("keeping shared map pinned: a state file is unreadable", "map", path, "err", err)
		return true, nil
	}
	return false, nil
}
