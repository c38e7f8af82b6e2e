// Package lock serializes changes to one unit (or one shared map) across
// processes with flock(2) on a file under /run/bpfunit/lock.
//
// A flock dies with its process, so a SIGKILLed oneshot never leaves a unit
// locked. Mutating code takes a [Scope], which only [Run] can make, so a
// change without the lock does not compile.
package lock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Scope proves that the caller holds the lock named by Name.
type Scope struct {
	name string
	held bool
}

// Name is the lock's name.
func (s Scope) Name() string { return s.name }

// Valid reports whether s came from Run.
func (s Scope) Valid() bool { return s.held }

// Run takes the exclusive lock dir/name.lock, runs fn and releases it. It
// polls with LOCK_NB and a backoff from 1 ms to 100 ms so that ctx can end
// the wait.
func Run(ctx context.Context, dir, name string, fn func(context.Context, Scope) error) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create lock dir: %w", err)
	}
	path := filepath.Join(dir, name+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open lock: %w", err)
	}
	defer f.Close()
	delay := time.Millisecond
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 100*time.Millisecond)
	}
	// Closing f releases the lock; nothing else needs undoing.
	return fn(ctx, Scope{name: name, held: true})
}
