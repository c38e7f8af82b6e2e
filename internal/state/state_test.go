package state_test

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/bpfunit/bpfunit/internal/state"
)

func TestReadCorruptNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(state.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	path := state.Dir(dir) + "/u.json"
	if err := os.WriteFile(path, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := state.Read(dir, "u")
	if !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Errorf("Read of a corrupt file: %v, want ErrCorrupt naming %s", err, path)
	}
	if _, err := state.Read(dir, "absent"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Read of an absent file: %v, want ErrNotExist", err)
	}
	if err := state.Write(dir, &state.Unit{Name: "ok"}); err != nil {
		t.Fatal(err)
	}
	units, err := state.List(dir)
	if len(units) != 1 || units[0].Name != "ok" || !errors.Is(err, state.ErrCorrupt) {
		t.Errorf("List: %v, %v; want ok and the corrupt file's error", units, err)
	}
	names, err := state.Names(dir)
	if err != nil || !slices.Equal(names, []string{"ok", "u"}) {
		t.Errorf("Names: %v, %v", names, err)
	}
}

func TestShareUses(t *testing.T) {
	dir := t.TempDir()
	const p = "/sys/fs/bpf/common-x/maps/stats"
	for _, u := range []string{"a", "b"} {
		if added, err := state.AddShareUse(dir, p, u); err != nil || !added {
			t.Fatalf("AddShareUse %s: %v, %v", u, added, err)
		}
	}
	if added, err := state.AddShareUse(dir, p, "a"); err != nil || added {
		t.Errorf("AddShareUse a again: added %v, %v; want false", added, err)
	}
	if users, err := state.ShareUsers(dir, p); err != nil || !slices.Equal(users, []string{"a", "b"}) {
		t.Errorf("ShareUsers: %v, %v", users, err)
	}
	// A different path that escapes alike would be a different map.
	if users, _ := state.ShareUsers(dir, "/sys/fs/bpf/common/x/maps/stats"); len(users) != 0 {
		t.Errorf("ShareUsers of another path: %v", users)
	}
	if paths, err := state.SharesOf(dir, "b"); err != nil || !slices.Equal(paths, []string{p}) {
		t.Errorf("SharesOf b: %v, %v", paths, err)
	}
	for _, u := range []string{"a", "b", "b"} {
		if err := state.RemoveShareUse(dir, p, u); err != nil {
			t.Errorf("RemoveShareUse %s: %v", u, err)
		}
	}
	if users, err := state.ShareUsers(dir, p); err != nil || len(users) != 0 {
		t.Errorf("ShareUsers after removing all: %v, %v", users, err)
	}
}
