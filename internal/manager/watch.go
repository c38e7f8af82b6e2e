package manager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/pins"
	"github.com/bpfunit/bpfunit/internal/state"
)

// watchCoalesce is how long Watch gathers events before it reports them:
// one start writes the state file twice (reload-pending, then done), and a
// bpf.target start changes a hundred units at once.
const watchCoalesce = 50 * time.Millisecond

// watchMaxDelay bounds how long a steady stream of events delays a report.
const watchMaxDelay = 500 * time.Millisecond

// Watch reports changes to any unit made by any process (the oneshot under
// systemd, another bpfunitd, this Manager): every commit of Start, Stop,
// Reload, Replace and Detach writes or removes the unit's state file, and
// Watch follows RUNDIR/state with inotify. Bursts are coalesced: a unit is
// reported once per burst (events until 50 ms of quiet, at most 500 ms)
// however often it changed. The
// channel is closed when ctx is done or the watch fails; a reader that
// falls behind does not lose a unit, only repetitions of it.
//
// The pin root is watched too (a unit directory created or removed), for
// the changes that write no state file: a stop or repair of a unit that
// had pins but no state. What it does not see: a link detached behind
// bpfunit's back (bpftool) changes no file; Status shows it when asked.
func (m *Manager) Watch(ctx context.Context) (<-chan Change, error) {
	dir := state.Dir(m.RunDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("watch %s: inotify: %w", dir, err)
	}
	stateWD, err := unix.InotifyAddWatch(fd, dir, unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO|unix.IN_MOVED_FROM|unix.IN_DELETE|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	// The pin root may not exist yet (nothing ever started): then only
	// the state directory is watched.
	rootWD := -1
	if m.Root != "" {
		if wd, err := unix.InotifyAddWatch(fd, string(m.Root), unix.IN_CREATE|unix.IN_DELETE|unix.IN_MOVED_TO|unix.IN_MOVED_FROM|unix.IN_ONLYDIR); err == nil {
			rootWD = wd
		}
	}
	// A non-blocking fd in an os.File goes through the runtime poller:
	// Read parks the goroutine, Close wakes it.
	f := os.NewFile(uintptr(fd), "inotify")
	names := make(chan string)
	go func() {
		defer close(names)
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := f.Read(buf)
			if err != nil {
				if !errors.Is(err, os.ErrClosed) {
					m.log().Warn("watch state directory", "dir", dir, "err", err)
				}
				return
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				nameBytes := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
				off += unix.SizeofInotifyEvent + int(ev.Len)
				name := strings.TrimRight(string(nameBytes), "\x00")
				unit := ""
				switch int(ev.Wd) {
				case stateWD:
					if ev.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_IGNORED) != 0 {
						m.log().Warn("state directory went away; watch ends", "dir", dir)
						return
					}
					// Temporary files of state.Write start with a dot.
					if n, ok := strings.CutSuffix(name, ".json"); ok && !strings.HasPrefix(name, ".") {
						unit = n
					}
				case rootWD:
					if ev.Mask&unix.IN_ISDIR != 0 && name != "" {
						unit = pins.UnitName(name)
					}
				}
				if unit == "" {
					continue
				}
				select {
				case names <- unit:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	out := make(chan Change)
	go func() {
		defer close(out)
		defer f.Close()
		pending := map[string]bool{}
		var order []string
		var timer <-chan time.Time
		var deadline time.Time
		flushing := false
		for {
			var send chan Change
			var next Change
			if flushing && len(order) > 0 {
				send, next = out, Change{Unit: order[0]}
			}
			select {
			case <-ctx.Done():
				return
			case n, ok := <-names:
				if !ok {
					return
				}
				if !pending[n] {
					pending[n] = true
					order = append(order, n)
				}
				if flushing {
					continue
				}
				// Report once the burst is quiet for watchCoalesce, and
				// at the latest watchMaxDelay after its first event.
				now := time.Now()
				if deadline.IsZero() {
					deadline = now.Add(watchMaxDelay)
				}
				timer = time.After(min(watchCoalesce, max(deadline.Sub(now), 0)))
			case <-timer:
				timer, flushing = nil, true
			case send <- next:
				delete(pending, order[0])
				order = order[1:]
				if len(order) == 0 {
					flushing, deadline = false, time.Time{}
				}
			}
		}
	}()
	return out, nil
}
