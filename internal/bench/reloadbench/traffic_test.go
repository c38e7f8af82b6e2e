package reloadbench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// flow is sequence-numbered UDP from netns A to a socket in netns B. The
// sender and the receiver each run on a locked OS thread that joined its
// namespace (setns), and never give that thread back to the runtime.
//
// The sender keeps at most Window datagrams in flight (sent, not yet read
// by the receiver): well below veth's 256-slot ring and the socket's
// buffer, so that a datagram can go missing only where a program missed it,
// never because a queue overflowed. When nothing has arrived for Stall
// (a program is dropping), it sends anyway, one datagram per Stall.
type flow struct {
	NsA, NsB string
	Dst      netip.AddrPort
	Size     int // UDP payload bytes (>= 8)
	Window   int64
	Stall    time.Duration
	Max      int // capacity in datagrams: the sender stops there

	t0       time.Time
	stop     atomic.Bool
	sent     atomic.Int64
	received atomic.Int64

	sendAt    []int64 // ns since t0, by sequence number
	seen      []bool  // written by the receiver only
	dups      int64
	lastRecv  int64 // highest sequence number received
	lastAt    int64 // ns since t0 when it was received
	sendErrs  int64
	senderErr error
	recvErr   error
	wg        sync.WaitGroup
	ready     chan error
}

// start binds the receiver, then starts the sender.
func (f *flow) start() error {
	if f.Max == 0 {
		f.Max = 8 << 20
	}
	f.sendAt = make([]int64, f.Max)
	f.seen = make([]bool, f.Max)
	f.lastRecv = -1
	f.t0 = time.Now()
	f.ready = make(chan error, 1)
	f.wg.Add(1)
	go f.receive()
	if err := <-f.ready; err != nil {
		f.wg.Wait()
		return err
	}
	f.wg.Add(1)
	go f.send()
	return nil
}

// finish stops the sender, waits until the receiver has had nothing for
// 200 ms, and returns.
func (f *flow) finish() error {
	f.stop.Store(true)
	f.wg.Wait()
	return errors.Join(f.senderErr, f.recvErr)
}

func (f *flow) now() int64 { return int64(time.Since(f.t0)) }

// enter locks the goroutine to its thread and moves the thread into netns
// name. The thread is never unlocked: it ends with the goroutine.
func enter(name string) error {
	runtime.LockOSThread()
	fd, err := os.Open(filepath.Join("/run/netns", name))
	if err != nil {
		return err
	}
	defer fd.Close()
	if err := unix.Setns(int(fd.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns %s: %w", name, err)
	}
	return nil
}

func (f *flow) receive() {
	defer f.wg.Done()
	fd, err := f.socketIn(f.NsB)
	if err == nil {
		err = unix.Bind(fd, &unix.SockaddrInet4{Port: int(f.Dst.Port()), Addr: f.Dst.Addr().As4()})
	}
	if err != nil {
		f.ready <- fmt.Errorf("receiver: %w", err)
		return
	}
	defer unix.Close(fd)
	// Large enough for anything the window lets through; a timeout so that
	// the loop sees the end.
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32<<20)
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 20000})
	f.ready <- nil
	buf := make([]byte, 2048)
	var idleSince time.Time
	for {
		n, err := unix.Read(fd, buf)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				if f.stop.Load() {
					if idleSince.IsZero() {
						idleSince = time.Now()
					} else if time.Since(idleSince) > 200*time.Millisecond {
						return
					}
				}
				continue
			}
			f.recvErr = fmt.Errorf("receiver: %w", err)
			return
		}
		idleSince = time.Time{}
		if n < 8 {
			continue
		}
		seq := int64(binary.LittleEndian.Uint64(buf))
		if seq < 0 || seq >= int64(len(f.seen)) {
			continue
		}
		if f.seen[seq] {
			f.dups++
			continue
		}
		f.seen[seq] = true
		if seq > f.lastRecv {
			f.lastRecv, f.lastAt = seq, f.now()
		}
		f.received.Add(1)
	}
}

func (f *flow) socketIn(ns string) (int, error) {
	if err := enter(ns); err != nil {
		return -1, err
	}
	return unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
}

func (f *flow) send() {
	defer f.wg.Done()
	fd, err := f.socketIn(f.NsA)
	if err == nil {
		err = unix.Connect(fd, &unix.SockaddrInet4{Port: int(f.Dst.Port()), Addr: f.Dst.Addr().As4()})
	}
	if err != nil {
		f.senderErr = fmt.Errorf("sender: %w", err)
		return
	}
	defer unix.Close(fd)
	buf := make([]byte, max(f.Size, 8))
	for seq := int64(0); seq < int64(f.Max) && !f.stop.Load(); {
		if f.Window > 0 && seq-f.received.Load() >= f.Window {
			waited := time.Now()
			for seq-f.received.Load() >= f.Window && time.Since(waited) < f.Stall && !f.stop.Load() {
				runtime.Gosched()
			}
		}
		binary.LittleEndian.PutUint64(buf, uint64(seq))
		f.sendAt[seq] = f.now()
		if _, err := unix.Write(fd, buf); err != nil {
			if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.ECONNREFUSED) {
				f.sendErrs++
				continue // not sent: send the same number again
			}
			f.senderErr = fmt.Errorf("sender: %w", err)
			return
		}
		seq++
		f.sent.Store(seq)
	}
}

// missing lists the sequence numbers sent and not received.
func (f *flow) missing() []int64 {
	var out []int64
	for seq := int64(0); seq < f.sent.Load(); seq++ {
		if !f.seen[seq] {
			out = append(out, seq)
		}
	}
	return out
}
