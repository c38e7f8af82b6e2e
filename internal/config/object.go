package config

import (
	"fmt"
	"io/fs"
	"os"
)

// OpenObject opens an object file to load into the kernel. It must be a
// regular file (after following symlinks) that only root could have
// written: owned by root and not writable by group or other, and so every
// directory above it (see trust.go). Anyone who can write the object
// chooses the code root runs in the kernel at the next start. The checks
// are made on the returned descriptor, so load from it and not from the
// path again: the file cannot be swapped in between. Refusals wrap
// ErrUntrusted; a missing file wraps fs.ErrNotExist.
func OpenObject(path string) (*os.File, error) {
	var t trust
	fd, err := t.openFD(path, -1)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// CheckObject is OpenObject for a caller that only checks (bpfunit verify).
func CheckObject(path string) error {
	f, err := OpenObject(path)
	if err != nil {
		return err
	}
	return f.Close()
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
