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

	"github.com/bpfunit/bpfunit/internal/state"
)

// watchCoalesce is how long Watch gathers events before it reports them:
// one start writes the state file twice (reload-pending, then done), and a
// bpf.target start changes a hundred units at once.
const watchCoalesce = 50 * time.Millisecond

// Watch reports changes to any unit made by any process (the oneshot under
// systemd, another bpfunitd, this Manager): every commit of Start, Stop,
// Reload, Replace and Detach writes or removes the unit's state file, and
// Watch follows RUNDIR/state with inotify. Bursts are coalesced: a unit is
// reported once per watchCoalesce window however often it changed. The
// channel is closed when ctx is done or the watch fails; a reader that
// falls behind does not lose a unit, only repetitions of it.
//
// What it does not see: a link detached behind bpfunit's back (bpftool)
// changes no file; Status shows it when asked.
func (m *Manager) Watch(ctx context.Context) (<-chan Change, error) {
	dir := state.Dir(m.RunDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("watch %s: inotify: %w", dir, err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO|unix.IN_MOVED_FROM|unix.IN_DELETE|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watch %s: %w", dir, err)
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
				if ev.Mask&(unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_IGNORED) != 0 {
					m.log().Warn("state directory went away; watch ends", "dir", dir)
					return
				}
				name := strings.TrimRight(string(nameBytes), "\x00")
				// Temporary files of state.Write start with a dot.
				if unit, ok := strings.CutSuffix(name, ".json"); ok && !strings.HasPrefix(name, ".") {
					select {
					case names <- unit:
					case <-ctx.Done():
						return
					}
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
		var tick <-chan time.Time
		for {
			var send chan Change
			var next Change
			if len(order) > 0 && tick == nil {
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
				if tick == nil && len(order) == 1 {
					tick = time.After(watchCoalesce)
				}
			case <-tick:
				tick = nil
			case send <- next:
				delete(pending, order[0])
				order = order[1:]
			}
		}
	}()
	return out, nil
}
