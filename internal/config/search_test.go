package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// tree creates files under root: "path": content, or "path": "->target" for a symlink.
func tree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if len(c) > 2 && c[:2] == "->" {
			err = os.Symlink(c[2:], full)
		} else {
			err = os.WriteFile(full, []byte(c), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func unitText(iface string) string { return minimal + "Type=xdp\nInterface=" + iface + "\n" }

func TestDiscoverAndLoad(t *testing.T) {
	etc, run, lib := t.TempDir(), t.TempDir(), t.TempDir()
	dirs := []string{etc, run, filepath.Join(t.TempDir(), "missing"), lib}
	tree(t, lib, map[string]string{
		"a.bpfunit":             unitText("lib0"),
		"b.bpfunit":             unitText("lib0"),
		"masked.bpfunit":        unitText("lib0"),
		"c.bpfunit":             unitText("lib0"),
		"c.bpfunit.d/10.conf":   "[Attach]\nProgram=p\nInterface=lib10\n",
		"c.bpfunit.d/20.conf":   "[Attach]\nProgram=p\nInterface=lib20\n",
		"c.bpfunit.d/30.conf":   "[Attach]\nProgram=p\nInterface=lib30\n",
		"c.bpfunit.d/x.txt":     "ignored",
		"bad name.bpfunit":      unitText("x"),
		"-dash.bpfunit":         unitText("x"),
		"notaunit":              "x",
		"dir.bpfunit/.keep":     "",
		"d.bpfunit.d/only.conf": "[Unit]\n",
	})
	tree(t, run, map[string]string{
		"b.bpfunit":           unitText("run0"),
		"c.bpfunit.d/20.conf": "[Attach]\nProgram=p\nInterface=run20\n",
		"c.bpfunit.d/30.conf": "->/dev/null",
	})
	tree(t, etc, map[string]string{
		"real/a.bpfunit":      unitText("etc0"),
		"a.bpfunit":           "->real/a.bpfunit",
		"masked.bpfunit":      "->/dev/null",
		"c.bpfunit.d/05.conf": "[Attach]\nProgram=p\nMode=generic\n",
	})

	got, err := Discover(dirs)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Name: "a", Path: filepath.Join(etc, "a.bpfunit")},
		{Name: "b", Path: filepath.Join(run, "b.bpfunit")},
		{Name: "c", Path: filepath.Join(lib, "c.bpfunit"), DropIns: []string{
			filepath.Join(etc, "c.bpfunit.d/05.conf"),
			filepath.Join(lib, "c.bpfunit.d/10.conf"),
			filepath.Join(run, "c.bpfunit.d/20.conf"),
		}},
		{Name: "masked", Path: filepath.Join(etc, "masked.bpfunit"), Masked: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Discover:\n got %+v\nwant %+v", got, want)
	}

	tests := []struct {
		name, iface, mode string
		path              string
		err               error
	}{
		{name: "a", iface: "etc0", path: filepath.Join(etc, "a.bpfunit")}, // symlinked unit: Path is the link
		{name: "b", iface: "run0", path: filepath.Join(run, "b.bpfunit")},
		{name: "c", iface: "run20", mode: "generic", path: filepath.Join(lib, "c.bpfunit")},
		{name: "masked", err: ErrMasked},
		{name: "d", err: ErrNotFound}, // drop-ins alone are no unit
		{name: "nope", err: ErrNotFound},
		{name: "dir", err: ErrNotFound},
		{name: "bad name", err: ErrInvalidName},
		{name: "../etc/a", err: ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := Load(dirs, tt.name)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Load: %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a := u.Attach[0]; a.Interface != tt.iface || a.Mode != tt.mode || u.Path != tt.path {
				t.Errorf("got Interface=%s Mode=%s Path=%s, want %s %s %s", a.Interface, a.Mode, u.Path, tt.iface, tt.mode, tt.path)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{
		"bad.bpfunit":  "[Object]\nPath=/o\n[Attach]\nProgram=p\nType=xdp\n",
		"dang.bpfunit": "->/nonexistent",
	})
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.bpfunit"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load([]string{dir}, "fifo")
	if want := "read unit fifo: " + filepath.Join(dir, "fifo.bpfunit") + ": not a regular file (fifo)"; err == nil || err.Error() != want {
		t.Errorf("fifo: %v, want %s", err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "big.bpfunit"), make([]byte, MaxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load([]string{dir}, "big"); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("big: %v", err)
	}

	_, err = Load([]string{dir}, "bad")
	checkErr(t, err, filepath.Join(dir, "bad.bpfunit")+":3: [Attach] Interface=: required for Type=xdp")

	if _, err := Load([]string{dir}, "dang"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dangling symlink: %v", err)
	}
	_, err = Load([]string{dir}, "none")
	if want := "unit not found: none (searched " + dir + ")"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{
		"v.bpfunit":          unitText("eth0"),
		"v.bpfunit.d/1.conf": "[Attach]\nProgram=p\nInterface=eth9\n",
		"v.bpfunit.d/2.conf": "->/dev/null",
		"m.bpfunit":          "->/dev/null",
		"v.conf":             unitText("eth0"),
	})
	u, err := LoadFile(filepath.Join(dir, "v.bpfunit"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "v" || u.Attach[0].Interface != "eth9" || len(u.DropIns) != 1 {
		t.Errorf("got %+v", u)
	}
	if _, err := LoadFile(filepath.Join(dir, "m.bpfunit")); !errors.Is(err, ErrMasked) {
		t.Errorf("masked: %v", err)
	}
	if _, err := LoadFile(filepath.Join(dir, "v.conf")); !errors.Is(err, ErrInvalidName) {
		t.Errorf("wrong suffix: %v", err)
	}
	if _, err := LoadFile(filepath.Join(dir, "none.bpfunit")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

func TestSearchPath(t *testing.T) {
	tests := []struct {
		env  string
		want []string
	}{
		{"", DefaultSearchPath},
		{"/a:/b", []string{"/a", "/b"}},
		{"/a::/b:", append([]string{"/a", "/b"}, DefaultSearchPath...)},
	}
	for _, tt := range tests {
		t.Setenv(PathEnv, tt.env)
		if got := SearchPath(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s=%q: got %v, want %v", PathEnv, tt.env, got, tt.want)
		}
	}
}
