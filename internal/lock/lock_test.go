package lock_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bpfunit/bpfunit/internal/lock"
)

func TestZeroScopeIsRefused(t *testing.T) {
	var s lock.Scope
	if err := s.Check(); !errors.Is(err, lock.ErrNotHeld) {
		t.Errorf("zero Scope: Check() = %v, want ErrNotHeld", err)
	}
	err := lock.Run(t.Context(), t.TempDir(), "u", func(_ context.Context, s lock.Scope) error { return s.Check() })
	if err != nil {
		t.Errorf("Scope from Run: %v", err)
	}
}

// TestGoroutinesExclude: two goroutines of one process never hold one lock
// at once (flock belongs to the open file, and Run opens it each time).
func TestGoroutinesExclude(t *testing.T) {
	dir := t.TempDir()
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			err := lock.Run(t.Context(), dir, "u", func(context.Context, lock.Scope) error {
				n := inside.Add(1)
				if n > maxInside.Load() {
					maxInside.Store(n)
				}
				time.Sleep(2 * time.Millisecond)
				inside.Add(-1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if maxInside.Load() != 1 {
		t.Errorf("%d holders at once, want 1", maxInside.Load())
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	dir := t.TempDir()
	held := make(chan struct{})
	release := make(chan struct{})
	go lock.Run(t.Context(), dir, "u", func(context.Context, lock.Scope) error {
		close(held)
		<-release
		return nil
	})
	<-held
	defer close(release)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	err := lock.Run(ctx, dir, "u", func(context.Context, lock.Scope) error {
		t.Error("ran without the lock")
		return nil
	})
	if !errors.Is(err, lock.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run while held: %v, want ErrTimeout and DeadlineExceeded", err)
	}
}
