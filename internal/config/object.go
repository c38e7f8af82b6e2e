package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// CheckObject checks an object file before it is loaded into the kernel:
// it must exist, be a regular file (after following symlinks), be owned by
// root and not be writable by group or other. Anyone who can write the
// object can run code in the kernel at the next start.
func CheckObject(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already in our message
		}
		return fmt.Errorf("object %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("object %s: not a regular file (%s)", path, fileKind(fi.Mode()))
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
		return fmt.Errorf("object %s: owned by uid %d; must be owned by root (uid 0)", path, st.Uid)
	}
	perm := fi.Mode().Perm()
	switch {
	case perm&0o002 != 0:
		return fmt.Errorf("object %s: world-writable (mode %04o); must not be writable by group or other", path, perm)
	case perm&0o020 != 0:
		return fmt.Errorf("object %s: group-writable (mode %04o); must not be writable by group or other", path, perm)
	}
	return nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "special file"
}
