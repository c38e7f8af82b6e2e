package manager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/loader"
	"github.com/bpfunit/bpfunit/internal/lock"
	"github.com/bpfunit/bpfunit/internal/pins"
)

// openSharedMaps opens (or creates and pins) every ShareMap= of u, each
// under its own lock so two units starting at once agree on one map.
func (m *Manager) openSharedMaps(ctx context.Context, u *config.Unit, spec *loader.Spec, undo *undo) (map[string]*ebpf.Map, []string, error) {
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
			repl[sm.Map] = mp
			if created {
				undo.push(func() error {
					return m.withShareLock(context.Background(), sm.Path, func(context.Context, lock.Scope) error {
						if m.sharedMapInUse(sm.Path, u.Name) {
							return nil
						}
						return os.Remove(sm.Path)
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
