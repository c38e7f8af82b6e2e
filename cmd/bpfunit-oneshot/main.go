// Command bpfunit-oneshot is ExecStart=/ExecStopPost=/ExecReload= of
// bpf@.service: bpfunit-oneshot start|stop|reload NAME.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/bpfunit/bpfunit/internal/oneshot"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := oneshot.Main(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}
