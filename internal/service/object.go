package service

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/bpfunit/bpfunit/internal/loader"
	"github.com/bpfunit/bpfunit/internal/manager"
)

// Bounds of an object passed to Replace.
const (
	// MaxObjectSize is the largest object Replace accepts. The project's
	// objects are a few KiB; real-world BPF objects with BTF rarely reach
	// a few MiB.
	MaxObjectSize = 16 << 20
	// ReadTimeout bounds reading the object: a regular file on a hung
	// network or FUSE mount must not hold the helper.
	ReadTimeout = 5 * time.Second
)

// ErrInvalidObject is the manager's: the file passed to Replace is not a
// regular file, is too large, or could not be read in time.
var ErrInvalidObject = manager.ErrInvalidObject

// readObject reads the whole of f, which must be a regular file of at
// most MaxObjectSize bytes, from its start, within ReadTimeout (fstat
// included: on a hung FUSE or network mount it blocks too).
func readObject(ctx context.Context, f *os.File) ([]byte, error) {
	if f == nil {
		return nil, fmt.Errorf("%w: no file", ErrInvalidObject)
	}
	ctx, cancel := context.WithTimeout(ctx, ReadTimeout)
	defer cancel()
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := readRegular(f)
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-ctx.Done():
		// The goroutine ends when the kernel returns; the caller closes
		// f, which is all that can be done about a hung mount.
		return nil, fmt.Errorf("%w: read passed file: %v", ErrInvalidObject, ctx.Err())
	}
}

func readRegular(f *os.File) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: stat passed file: %v", ErrInvalidObject, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: passed file is a %s, not a regular file", ErrInvalidObject, fileKind(fi.Mode()))
	}
	if fi.Size() > MaxObjectSize {
		return nil, fmt.Errorf("%w: passed file is %d bytes, at most %d allowed", ErrInvalidObject, fi.Size(), MaxObjectSize)
	}
	// ReadAt from 0: the caller's file offset is not ours to trust or
	// move. One byte more than the cap tells a file that grew.
	data, err := io.ReadAll(io.NewSectionReader(f, 0, MaxObjectSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read passed file: %v", ErrInvalidObject, err)
	}
	if len(data) > MaxObjectSize {
		return nil, fmt.Errorf("%w: passed file is larger than %d bytes", ErrInvalidObject, MaxObjectSize)
	}
	return data, nil
}

func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "pipe"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeCharDevice != 0:
		return "character device"
	case m&os.ModeDevice != 0:
		return "block device"
	case m.IsDir():
		return "directory"
	}
	return "special file"
}

// hasProgram checks that obj is a BPF ELF object with program in it, so
// that a caller who passed the wrong object hears that, not a complaint
// about the unit's config.
func hasProgram(obj []byte, program string) error {
	spec, err := loader.ReadSpec(bytes.NewReader(obj))
	if err != nil {
		return fmt.Errorf("passed file: %w: %w", ErrInvalidObject, err)
	}
	if _, ok := spec.Programs[program]; !ok {
		names := slices.Sorted(maps.Keys(spec.Programs))
		return fmt.Errorf("passed object: %w %s (it has: %s)", manager.ErrNoSuchProgram, program, strings.Join(names, ", "))
	}
	return nil
}
