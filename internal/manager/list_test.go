package manager_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestListShowsUnreadableUnits: a unit whose status cannot be read (its
// links directory is not a directory; its state file is corrupt) is listed
// with its error, not dropped.
func TestListShowsUnreadableUnits(t *testing.T) {
	env := testenv.NewEnv(t)
	// bpffs has symlinks but no regular files: a links "directory" that is
	// a symlink to a file makes reading it fail.
	dir := filepath.Join(env.PinRoot, "unreadable")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/proc/self/status", filepath.Join(dir, "links")); err != nil {
		t.Skipf("this bpffs refuses symlinks: %v", err)
	}
	t.Cleanup(func() { os.Remove(filepath.Join(dir, "links")); os.Remove(dir) })
	if err := os.MkdirAll(filepath.Join(env.RunDir, "state"), 0o755); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(env.RunDir, "state", "corrupt.json")
	if err := os.WriteFile(corrupt, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Not a unit name at all.
	if err := os.WriteFile(filepath.Join(env.RunDir, "state", "no unit.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}

	units, err := fpManager(env).List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"unreadable", "corrupt", "no unit"} {
		i := slices.IndexFunc(units, func(s *manager.Status) bool { return s.Name == name })
		if i < 0 {
			t.Errorf("list left out %s: %+v", name, units)
			continue
		}
		if u := units[i]; u.Err == "" || u.State != manager.StateBroken {
			t.Errorf("list: %s is %+v; want broken with its error", name, u)
		}
	}
	if i := slices.IndexFunc(units, func(s *manager.Status) bool { return s.Name == "corrupt" }); i >= 0 && !strings.Contains(units[i].Err, corrupt) {
		t.Errorf("list: corrupt's error %q does not name %s", units[i].Err, corrupt)
	}
}
