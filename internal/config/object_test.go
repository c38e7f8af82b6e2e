package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestCheckObject(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("\x7fELF"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask-proof
			t.Fatal(err)
		}
		return p
	}
	root := os.Geteuid() == 0
	ok := write("ok.o", 0o644)
	link := filepath.Join(dir, "link.o")
	if err := os.Symlink(ok, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.o")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		path string
		want string // "" for success
		root bool   // needs root: files made by a user are not owned by uid 0
	}{
		{"ok", ok, "", true},
		{"symlink to ok", link, "", true},
		{"world-writable", write("ww.o", 0o666), "world-writable (mode 0666); must not be writable by group or other", true},
		{"group-writable", write("gw.o", 0o664), "group-writable (mode 0664); must not be writable by group or other", true},
		{"directory", dir, "not a regular file (directory)", false},
		{"fifo", fifo, "not a regular file (fifo)", false},
		{"missing", filepath.Join(dir, "none.o"), "no such file or directory", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root && !root {
				t.Skip("needs root: files must be owned by uid 0")
			}
			err := CheckObject(tt.path)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := "object " + tt.path + ": " + tt.want; err == nil || err.Error() != want {
				t.Fatalf("got %v\nwant %s", err, want)
			}
		})
	}
	if err := CheckObject(filepath.Join(dir, "none.o")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing object: %v does not match fs.ErrNotExist", err)
	}

	t.Run("not root-owned", func(t *testing.T) {
		if !root {
			t.Skip("needs root to chown")
		}
		p := write("user.o", 0o644)
		if err := os.Chown(p, 1000, 1000); err != nil {
			t.Fatal(err)
		}
		want := "object " + p + ": owned by uid 1000; must be owned by root (uid 0)"
		if err := CheckObject(p); err == nil || err.Error() != want {
			t.Fatalf("got %v\nwant %s", err, want)
		}
	})
}
