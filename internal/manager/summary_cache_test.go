package manager

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfunit/bpfunit/internal/pins"
	"github.com/bpfunit/bpfunit/internal/state"
)

// TestSummariesCache: a config is parsed once while its files and the
// directories above them stay the same, and again as soon as the file,
// a drop-in or a directory's mode changes; a state file is read again
// once it is replaced. No root needed: nothing is attached.
func TestSummariesCache(t *testing.T) {
	old := racyWindow
	racyWindow = 0 // the files below are all younger than the real window
	t.Cleanup(func() { racyWindow = old })
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf")
	for _, d := range []string{conf, filepath.Join(dir, "run")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m := &Manager{Root: pins.Root(filepath.Join(dir, "pins")), RunDir: filepath.Join(dir, "run"), ConfigDirs: []string{conf}}
	write := func(path, text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	unit := func(desc string) string {
		return "[Unit]\nDescription=" + desc + "\n[Object]\nPath=/usr/lib/bpfunit/objects/x.bpf.o\n[Attach]\nProgram=p\nInterface=lo\n"
	}
	only := func(wantDesc string, wantLoads int) Summary {
		t.Helper()
		sums, err := m.Summaries(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) != 1 || sums[0].Name != "a" {
			t.Fatalf("summaries: %+v, want unit a alone", sums)
		}
		if sums[0].Description != wantDesc || m.configs.loads != wantLoads {
			t.Errorf("summary %+v after %d parses; want description %q after %d", sums[0], m.configs.loads, wantDesc, wantLoads)
		}
		return sums[0]
	}
	cfg := filepath.Join(conf, "a.bpfunit")
	write(cfg, unit("one"))
	only("one", 1)
	only("one", 1) // from the cache
	write(cfg, unit("two!"))
	only("two!", 2)
	if err := os.Mkdir(cfg+".d", 0o755); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(cfg+".d", "x.conf"), "[Unit]\nDescription=three\n")
	only("three", 3)
	only("three", 3)
	// A directory others may write makes the config untrusted: the
	// cached parse must not hide that.
	if err := os.Chmod(conf, 0o777); err != nil {
		t.Fatal(err)
	}
	if s := only("", 4); !strings.Contains(s.Err, "writable") {
		t.Errorf("config in a world-writable directory: error %q, want it to say so", s.Err)
	}
	if err := os.Chmod(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	only("three", 5)
	if err := os.Remove(cfg); err != nil {
		t.Fatal(err)
	}
	if sums, err := m.Summaries(t.Context()); err != nil || len(sums) != 0 || len(m.configs.byName) != 0 {
		t.Errorf("after the config was removed: %+v, %v; cache %v", sums, err, m.configs.byName)
	}

	// State files: replaced by state.Write, read again.
	for _, obj := range []string{"/one.o", "/two.o"} {
		if err := state.Write(m.RunDir, &state.Unit{Name: "s", ObjectPath: obj}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			u, err := m.states.read(m, "s")
			if err != nil || u == nil || u.ObjectPath != obj {
				t.Fatalf("state of s: %+v, %v; want object %s", u, err, obj)
			}
		}
	}
	if err := state.Remove(m.RunDir, "s"); err != nil {
		t.Fatal(err)
	}
	if u, err := m.states.read(m, "s"); u != nil || err != nil {
		t.Errorf("state of s after its removal: %+v, %v", u, err)
	}
}
