package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Only root may decide what runs in the kernel: whoever can write a config,
// a drop-in or an object, or any directory on the way to one, chooses what
// root loads and where. So every file is checked as sshd's StrictModes
// checks authorized_keys: the file and every directory above it must be
// owned by root (or by the user running us, who decides anyway) and must
// not be writable by group or other. A world-writable directory with the
// sticky bit (/tmp) is accepted above an entry owned by root: nobody else
// can rename or remove that entry there.
//
// Files are checked on the descriptor that is then read, so they cannot be
// swapped between the check and the read. Directories are checked on the
// path as the kernel resolves it, symlink by symlink, and the file is then
// opened by its resolved path without following a last symlink.

// untrusted is the reason a file is refused: what is wrong with it.
type untrusted string

func (e untrusted) Error() string        { return string(e) }
func (e untrusted) Is(target error) bool { return target == ErrUntrusted }

func untrustedf(format string, args ...any) error { return untrusted(fmt.Sprintf(format, args...)) }

// trust checks files and the directories above them; it remembers the
// directories it has seen (the generator reads 1000 configs of one dir).
// The zero value is ready. Not safe for concurrent use.
type trust struct {
	dirs map[string]*unix.Stat_t
}

// trusted: uid may decide what runs. The effective uid is accepted besides
// root so that an unprivileged `bpfunit verify` of one's own files works;
// it can't load anything anyway.
func trusted(uid uint32) bool { return uid == 0 || int(uid) == os.Geteuid() }

func ownerWanted() string {
	if os.Geteuid() == 0 {
		return "root (uid 0)"
	}
	return fmt.Sprintf("root or uid %d", os.Geteuid())
}

// lstat is unix.Lstat, cached.
func (t *trust) lstat(path string) (*unix.Stat_t, error) {
	if st, ok := t.dirs[path]; ok {
		return st, nil
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return nil, &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	if t.dirs == nil {
		t.dirs = map[string]*unix.Stat_t{}
	}
	// Only directories are cached: a symlink's target is read again.
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		t.dirs[path] = &st
	}
	return &st, nil
}

// checkDir checks directory dir (st) as the parent of child, an entry
// owned by childUID.
func checkDir(dir string, st *unix.Stat_t, child string, childUID uint32) error {
	if !trusted(st.Uid) {
		return untrustedf("directory %s is owned by uid %d; must be owned by %s", dir, st.Uid, ownerWanted())
	}
	perm := st.Mode & 0o7777
	if perm&0o022 == 0 {
		return nil
	}
	who := "group"
	if perm&0o002 != 0 {
		who = "world"
	}
	if perm&unix.S_ISVTX == 0 {
		return untrustedf("directory %s is %s-writable (mode %04o) and not sticky; must not be writable by group or other", dir, who, perm)
	}
	if !trusted(childUID) {
		return untrustedf("directory %s is %s-writable and sticky (mode %04o), and %s in it is owned by uid %d; must be owned by %s", dir, who, perm, child, childUID, ownerWanted())
	}
	return nil
}

// resolve follows path as the kernel would, checking every directory it
// goes through and the directory of every symlink on the way. It returns
// the resolved path (no symlinks left) and the stat of its directory: the
// last entry is checked against that directory by the caller, on the
// opened file. Errors are the reason only; the caller names path. With
// lstatLast false the last entry is taken as it is, not looked at (the
// caller opens it with O_NOFOLLOW and comes back if it is a symlink):
// that saves a syscall per config, which shows with 1000 of them.
func (t *trust) resolve(path string, lstatLast bool) (string, *unix.Stat_t, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", nil, err
	}
	cur := "/"
	curSt, err := t.lstat(cur)
	if err != nil {
		return "", nil, err
	}
	if err := checkDir(cur, curSt, cur, 0); err != nil {
		return "", nil, err
	}
	todo := strings.Split(abs, "/")
	links := 0
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			if curSt, err = t.lstat(cur); err != nil {
				return "", nil, err
			}
			continue
		}
		next := filepath.Join(cur, name)
		last := !slices.ContainsFunc(todo, func(s string) bool { return s != "" && s != "." })
		if last && !lstatLast && !slices.Contains(todo, ".") {
			return next, curSt, nil
		}
		st, err := t.lstat(next)
		if err != nil {
			if last {
				return next, curSt, nil // open says what is wrong, as it would without us
			}
			return "", nil, err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			// Whoever can replace the symlink chooses the file.
			if err := checkDir(cur, curSt, next, st.Uid); err != nil {
				return "", nil, err
			}
			if links++; links > 40 {
				return "", nil, unix.ELOOP
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", nil, err
			}
			if filepath.IsAbs(target) {
				cur = "/"
				if curSt, err = t.lstat(cur); err != nil {
					return "", nil, err
				}
			}
			todo = append(strings.Split(target, "/"), todo...)
		case unix.S_IFDIR:
			if last {
				return next, curSt, nil // fstat says it is a directory
			}
			if err := checkDir(cur, curSt, next, st.Uid); err != nil {
				return "", nil, err
			}
			cur, curSt = next, st
		default:
			if !last {
				return "", nil, &os.PathError{Op: "open", Path: next, Err: unix.ENOTDIR}
			}
			return next, curSt, nil
		}
	}
	return cur, curSt, nil
}

// openFD opens path for reading and returns the descriptor, refusing what
// is not a regular file of at most limit bytes (limit < 0: any size) and
// what others than root could have written. Errors are the reason only;
// the caller names path.
func (t *trust) openFD(path string, limit int64) (int, error) {
	// O_NONBLOCK: opening a fifo for reading would wait for a writer.
	// O_NOFOLLOW: real has no symlinks left but perhaps the last entry,
	// which is then resolved too; one appearing after that is a swap.
	const flags = unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOFOLLOW | unix.O_NOCTTY | unix.O_CLOEXEC
	real, dirSt, err := t.resolve(path, false)
	if err != nil {
		return -1, err
	}
	if err := refuseSpecial(real); err != nil {
		return -1, err
	}
	fd, err := unix.Open(real, flags, 0)
	if err == unix.ELOOP {
		if real, dirSt, err = t.resolve(path, true); err != nil {
			return -1, err
		}
		if err := refuseSpecial(real); err != nil {
			return -1, err
		}
		fd, err = unix.Open(real, flags, 0)
	}
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := checkFile(real, &st, dirSt, limit); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// refuseSpecial refuses a fifo, device or socket before it is opened:
// opening a device can have effects of its own (a watchdog, a tape), and
// on a nodev mount the open fails with a bare "permission denied" instead
// of saying what the file is. The fstat of the open descriptor still
// decides; this only keeps such files from being opened at all.
func refuseSpecial(real string) error {
	var st unix.Stat_t
	if err := unix.Lstat(real, &st); err != nil {
		return nil // the open reports it
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFLNK, unix.S_IFDIR:
		return nil // a directory is refused after the open, with the same words
	}
	return fmt.Errorf("not a regular file (%s)", fileKind(modeType(st.Mode)))
}

func checkFile(real string, st, dirSt *unix.Stat_t, limit int64) error {
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("not a regular file (%s)", fileKind(modeType(st.Mode)))
	}
	if limit >= 0 && st.Size > limit {
		return fmt.Errorf("%d bytes, more than %d", st.Size, limit)
	}
	if !trusted(st.Uid) {
		return untrustedf("owned by uid %d; must be owned by %s", st.Uid, ownerWanted())
	}
	switch perm := st.Mode & 0o7777; {
	case perm&0o002 != 0:
		return untrustedf("world-writable (mode %04o); must not be writable by group or other", perm)
	case perm&0o020 != 0:
		return untrustedf("group-writable (mode %04o); must not be writable by group or other", perm)
	}
	return checkDir(filepath.Dir(real), dirSt, real, st.Uid)
}

func modeType(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}

// readFile reads a config file: a regular file of at most MaxFileSize
// bytes that only root could have written. It reads the raw descriptor:
// an os.File's poller registration costs an epoll_ctl and fcntls per
// file, which is most of the syscalls for 1000 small files.
func (t *trust) readFile(path string) ([]byte, error) {
	fd, err := t.openFD(path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 4096)
	for len(buf) <= MaxFileSize {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf))
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
	return nil, fmt.Errorf("%s: more than %d bytes", path, MaxFileSize)
}
