package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Uses of ShareMap= maps are recorded one file per (map, unit):
//
//	RUNDIR/share/<escaped map path>/<unit>   (content: the map path)
//
// A unit records its use while it holds the map's share lock, before it
// releases it: a stop of the map's last other user, which takes the same
// lock, then sees the new user and keeps the map pinned. The state file is
// written only when the start commits, too late to tell.

func shareRoot(runDir string) string { return filepath.Join(runDir, "share") }

func shareDir(runDir, mapPath string) string {
	// One path component: "/" becomes "-", as systemd-escape --path does
	// for the common case; "-" and "\" are escaped first so that the
	// mapping is one to one.
	r := strings.NewReplacer(`\`, `\\`, "-", `\-`, "/", "-")
	return filepath.Join(shareRoot(runDir), r.Replace(strings.Trim(mapPath, "/")))
}

// AddShareUse records that unit uses the shared map at mapPath. It reports
// whether the use is new. The caller holds the map's share lock.
func AddShareUse(runDir, mapPath, unit string) (added bool, err error) {
	dir := shareDir(runDir, mapPath)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("record use of shared map %s: %w", mapPath, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, unit), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record use of shared map %s: %w", mapPath, err)
	}
	_, err = f.WriteString(mapPath)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("record use of shared map %s: %w", mapPath, err)
	}
	return true, nil
}

// RemoveShareUse forgets that unit uses the shared map at mapPath; a use
// that was not recorded is not an error. The caller holds the map's share
// lock.
func RemoveShareUse(runDir, mapPath, unit string) error {
	dir := shareDir(runDir, mapPath)
	if err := os.Remove(filepath.Join(dir, unit)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("forget use of shared map %s: %w", mapPath, err)
	}
	// The directory goes with its last user; another user recording
	// itself at the same time holds the same lock, so this cannot race.
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) && !isNotEmpty(err) {
		return fmt.Errorf("forget use of shared map %s: %w", mapPath, err)
	}
	return nil
}

// ShareUsers returns the units recorded as users of the shared map at mapPath.
func ShareUsers(runDir, mapPath string) ([]string, error) {
	ents, err := os.ReadDir(shareDir(runDir, mapPath))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list users of shared map %s: %w", mapPath, err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, nil
}

// SharesOf returns the map paths of every shared map recorded as used by
// unit, including uses a start killed before it committed left behind.
func SharesOf(runDir, unit string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(shareRoot(runDir), "*", unit))
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read shared map use: %w", err)
		}
		paths = append(paths, string(data))
	}
	return paths, nil
}

func isNotEmpty(err error) bool { return errors.Is(err, syscall.ENOTEMPTY) }
