// Command bpfunitd is the helper that serves org.bpfunit.Manager1 on the
// system bus (and Varlink on bpfunitd.socket); see internal/daemon.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/bpfunit/bpfunit/internal/daemon"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := daemon.Main(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}
