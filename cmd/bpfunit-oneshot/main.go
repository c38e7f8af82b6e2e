// Command bpfunit-oneshot is ExecStart=/ExecStopPost=/ExecReload= of
// bpf@.service: bpfunit-oneshot start|stop|reload NAME.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/bpfunit/bpfunit/internal/oneshot"
)

func main() {
	// The work is serial: one goroutine and blocking syscalls. At boot a
	// hundred oneshots start at once on a few CPUs, and with a P per CPU
	// each of them wakes and spins idle threads the others need (100
	// units through bpf.target: 3.4-3.8 s, 2.7 s with one P, same run).
	runtime.GOMAXPROCS(1)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := oneshot.Main(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}
