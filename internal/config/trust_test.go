package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// nobody owns what root must not trust.
const nobody = 65534

const trustUnit = minimal + "Type=xdp\nInterface=lo\n"

// trustTree is a config dir and an object dir, both root's 0755, with a
// unit x.bpfunit naming the object, in a dir of its own under t.TempDir
// (which is under the sticky /tmp).
type trustTree struct {
	t              *testing.T
	conf, obj      string
	unitPath, objP string
}

func newTrustTree(t *testing.T) *trustTree {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chown to another user, and files of a user are trusted for that user")
	}
	d := t.TempDir()
	tt := &trustTree{t: t, conf: filepath.Join(d, "conf"), obj: filepath.Join(d, "obj")}
	for _, p := range []string{tt.conf, tt.obj} {
		tt.mkdir(p, 0o755)
	}
	tt.unitPath = tt.write(filepath.Join(tt.conf, "x.bpfunit"), trustUnit, 0o644)
	tt.objP = tt.write(filepath.Join(tt.obj, "x.o"), "\x7fELF", 0o644)
	return tt
}

func (tt *trustTree) mkdir(p string, mode os.FileMode) string {
	tt.t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		tt.t.Fatal(err)
	}
	tt.chmod(p, mode)
	return p
}

func (tt *trustTree) write(p, data string, mode os.FileMode) string {
	tt.t.Helper()
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		tt.t.Fatal(err)
	}
	tt.chmod(p, mode)
	return p
}

// chmod sets mode bits including sticky (os.Chmod wants os.ModeSticky).
func (tt *trustTree) chmod(p string, mode os.FileMode) {
	tt.t.Helper()
	if err := unix.Chmod(p, uint32(mode)); err != nil { // umask-proof
		tt.t.Fatal(err)
	}
}

func (tt *trustTree) chown(p string, uid int) {
	tt.t.Helper()
	if err := os.Lchown(p, uid, uid); err != nil {
		tt.t.Fatal(err)
	}
}

func wantUntrusted(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want refusal %q", want)
	}
	if !errors.Is(err, ErrUntrusted) {
		t.Errorf("%v does not match ErrUntrusted", err)
	}
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
}

// TestStrictModes: only root may decide what runs in the kernel. Every case
// here was accepted, and attached, before configs were checked.
func TestStrictModes(t *testing.T) {
	t.Run("world-writable config", func(t *testing.T) {
		tt := newTrustTree(t)
		tt.chmod(tt.unitPath, 0o666)
		_, err := Load([]string{tt.conf}, "x")
		wantUntrusted(t, err, "read unit x: "+tt.unitPath+": world-writable (mode 0666); must not be writable by group or other")
	})
	t.Run("config owned by nobody", func(t *testing.T) {
		tt := newTrustTree(t)
		tt.chown(tt.unitPath, nobody)
		_, err := Load([]string{tt.conf}, "x")
		wantUntrusted(t, err, "read unit x: "+tt.unitPath+": owned by uid 65534; must be owned by root (uid 0)")
	})
	t.Run("world-writable drop-in", func(t *testing.T) {
		tt := newTrustTree(t)
		drop := filepath.Join(tt.mkdir(filepath.Join(tt.conf, "x.bpfunit.d"), 0o755), "a.conf")
		tt.write(drop, "[Unit]\nDescription=d\n", 0o646)
		_, err := Load([]string{tt.conf}, "x")
		wantUntrusted(t, err, "read unit x: "+drop+": world-writable (mode 0646); must not be writable by group or other")
	})
	t.Run("group-writable drop-in dir", func(t *testing.T) {
		tt := newTrustTree(t)
		dir := tt.mkdir(filepath.Join(tt.conf, "x.bpfunit.d"), 0o775)
		drop := tt.write(filepath.Join(dir, "a.conf"), "[Unit]\nDescription=d\n", 0o644)
		_, err := Load([]string{tt.conf}, "x")
		wantUntrusted(t, err, "read unit x: "+drop+": directory "+dir+" is group-writable (mode 0775) and not sticky; must not be writable by group or other")
	})
	t.Run("world-writable config dir", func(t *testing.T) {
		tt := newTrustTree(t)
		tt.chmod(tt.conf, 0o777)
		_, err := Load([]string{tt.conf}, "x")
		wantUntrusted(t, err, "read unit x: "+tt.unitPath+": directory "+tt.conf+" is world-writable (mode 0777) and not sticky; must not be writable by group or other")
	})
	t.Run("config dir owned by nobody", func(t *testing.T) {
		tt := newTrustTree(t)
		tt.chown(tt.conf, nobody)
		_, err := Load([]string{tt.conf}, "x")
		wantUntrusted(t, err, "read unit x: "+tt.unitPath+": directory "+tt.conf+" is owned by uid 65534; must be owned by root (uid 0)")
	})
	t.Run("world-writable dir further up", func(t *testing.T) {
		tt := newTrustTree(t)
		up := filepath.Dir(tt.conf)
		tt.chmod(up, 0o777)
		_, err := Load([]string{tt.conf}, "x")
		wantUntrusted(t, err, "read unit x: "+tt.unitPath+": directory "+up+" is world-writable (mode 0777) and not sticky; must not be writable by group or other")
	})
	t.Run("symlink in a world-writable dir", func(t *testing.T) {
		// The symlink's target is root's, but whoever can replace the
		// symlink chooses the file.
		tt := newTrustTree(t)
		ww := tt.mkdir(filepath.Join(filepath.Dir(tt.conf), "ww"), 0o777)
		link := filepath.Join(ww, "x.o")
		if err := os.Symlink(tt.objP, link); err != nil {
			t.Fatal(err)
		}
		err := CheckObject(link)
		wantUntrusted(t, err, "object "+link+": directory "+ww+" is world-writable (mode 0777) and not sticky; must not be writable by group or other")
	})
	t.Run("symlink to a dir others can write", func(t *testing.T) {
		tt := newTrustTree(t)
		ww := tt.mkdir(filepath.Join(filepath.Dir(tt.conf), "ww"), 0o757)
		tt.write(filepath.Join(ww, "y.bpfunit"), trustUnit, 0o644)
		if err := os.Symlink(filepath.Join(ww, "y.bpfunit"), filepath.Join(tt.conf, "y.bpfunit")); err != nil {
			t.Fatal(err)
		}
		_, err := Load([]string{tt.conf}, "y")
		wantUntrusted(t, err, "read unit y: "+filepath.Join(tt.conf, "y.bpfunit")+": directory "+ww+" is world-writable (mode 0757) and not sticky; must not be writable by group or other")
	})
	t.Run("object in a world-writable dir", func(t *testing.T) {
		tt := newTrustTree(t)
		tt.chmod(tt.obj, 0o777)
		_, err := OpenObject(tt.objP)
		wantUntrusted(t, err, "object "+tt.objP+": directory "+tt.obj+" is world-writable (mode 0777) and not sticky; must not be writable by group or other")
	})
	t.Run("object owned by nobody in a sticky dir", func(t *testing.T) {
		tt := newTrustTree(t)
		tt.chmod(tt.obj, 0o1777)
		tt.chown(tt.objP, nobody)
		_, err := OpenObject(tt.objP)
		wantUntrusted(t, err, "object "+tt.objP+": owned by uid 65534; must be owned by root (uid 0)")
	})
	t.Run("root's symlink owned by nobody in a sticky dir", func(t *testing.T) {
		tt := newTrustTree(t)
		tt.chmod(tt.obj, 0o1777)
		link := filepath.Join(tt.obj, "l.o")
		if err := os.Symlink(tt.objP, link); err != nil {
			t.Fatal(err)
		}
		tt.chown(link, nobody)
		_, err := OpenObject(link)
		wantUntrusted(t, err, "object "+link+": directory "+tt.obj+" is world-writable and sticky (mode 1777), and "+link+" in it is owned by uid 65534; must be owned by root (uid 0)")
	})
	t.Run("root's files in a sticky world-writable dir", func(t *testing.T) {
		// As in /tmp: nobody but root can rename or remove root's entries.
		tt := newTrustTree(t)
		tt.chmod(tt.obj, 0o1777)
		tt.chmod(tt.conf, 0o1777)
		f, err := OpenObject(tt.objP)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		u, err := Load([]string{tt.conf}, "x")
		if err != nil {
			t.Fatal(err)
		}
		if u.Path != tt.unitPath {
			t.Errorf("loaded %s", u.Path)
		}
	})
	t.Run("trusted tree", func(t *testing.T) {
		tt := newTrustTree(t)
		drop := filepath.Join(tt.mkdir(filepath.Join(tt.conf, "x.bpfunit.d"), 0o755), "a.conf")
		tt.write(drop, "[Unit]\nDescription=d\n", 0o644)
		u, err := Load([]string{tt.conf}, "x")
		if err != nil {
			t.Fatal(err)
		}
		if u.Description != "d" {
			t.Errorf("drop-in not applied: %q", u.Description)
		}
	})
}

// TestObjectCheckedOnDescriptor: the file OpenObject checked is the file it
// returns, even if the path is swapped afterwards.
func TestObjectCheckedOnDescriptor(t *testing.T) {
	tt := newTrustTree(t)
	f, err := OpenObject(tt.objP)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evil := tt.write(filepath.Join(tt.obj, "evil.o"), "evil", 0o666)
	if err := os.Rename(evil, tt.objP); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	n, _ := f.Read(buf)
	if got := string(buf[:n]); got != "\x7fELF" {
		t.Errorf("read %q from the checked descriptor, want the checked file", got)
	}
	if _, err := OpenObject(tt.objP); !errors.Is(err, ErrUntrusted) {
		t.Errorf("swapped-in world-writable object: %v", err)
	}
}

// TestReaderSpecialFiles: what would block or never end is refused before
// it is read, naming the kind of file.
func TestReaderSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.bpfunit")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	var r Reader
	if _, err := r.ReadFile(fifo); err == nil || err.Error() != fifo+": not a regular file (fifo)" {
		t.Errorf("fifo: %v", err)
	}
	if os.Geteuid() == 0 {
		dev := filepath.Join(dir, "zero.bpfunit")
		if err := unix.Mknod(dev, unix.S_IFCHR|0o644, int(unix.Mkdev(1, 5))); err != nil {
			t.Fatal(err)
		}
		if _, err := r.ReadFile(dev); err == nil || err.Error() != dev+": not a regular file (character device)" {
			t.Errorf("device: %v", err)
		}
	}
	big := filepath.Join(dir, "big.bpfunit")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadFile(big); err == nil || !strings.Contains(err.Error(), "more than 1048576") {
		t.Errorf("big: %v", err)
	}
}
