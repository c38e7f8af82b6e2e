// Package lock serializes changes to one unit (or one shared map) across
// processes with flock(2) on a file under /run/bpfunit/lock.
//
// A flock dies with its process, so a SIGKILLed oneshot never leaves a unit
// locked. Two goroutines of one process (the D-Bus helper) exclude each
// other too: each [Run] opens the file anew, and flock locks belong to the
// open file, not the process.
//
// Mutating code takes a [Scope], which only [Run] hands out valid: a zero
// Scope compiles, but [Scope.Check] refuses it with [ErrNotHeld], so a
// change attempted without the lock fails instead of racing.
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

var (
	// ErrNotHeld is returned by Scope.Check for a Scope that did not come
	// from Run.
	ErrNotHeld = errors.New("lock not held")
	// ErrTimeout is returned by Run when ctx ended while it waited for
	// the lock; the error wraps ctx.Err() too.
	ErrTimeout = errors.New("lock wait ended")
)

// Scope proves that the caller holds a lock.
type Scope struct {
	held bool
}

// Valid reports whether s came from Run.
func (s Scope) Valid() bool { return s.held }

// Check returns ErrNotHeld unless s came from Run.
func (s Scope) Check() error {
	if !s.held {
		return ErrNotHeld
	}
	return nil
}

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
			return fmt.Errorf("wait for lock %s: %w: %w", path, ErrTimeout, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 100*time.Millisecond)
	}
	// Closing f releases the lock; nothing else needs undoing.
	return fn(ctx, Scope{held: true})
}
