// Package daemon is bpfunitd: it serves org.bpfunit.Manager1 on the system
// bus (internal/dbusapi) and, when systemd passes it the listening socket of
// bpfunitd.socket, the Varlink interface io.bpfunit.Manager on it, both over
// one internal/service.
//
// # Lifetime
//
// bpfunitd holds nothing programs depend on: pins keep them attached. It
// exits after IdleTimeout with no call in progress, no subscribed peer and
// no open Varlink connection; the next call activates it again (dbus-daemon
// through systemd, or the socket). Before it exits it releases the bus
// name and lets calls in flight finish, so a call racing the exit is
// queued for the next instance instead of lost.
//
// If the bus connection breaks (dbus-daemon restarted) it exits with an
// error: systemd restarts nothing (Restart=no), the next call activates a
// fresh instance.
package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"github.com/godbus/dbus/v5"

	"github.com/bpfunit/bpfunit/internal/dbusapi"
	"github.com/bpfunit/bpfunit/internal/fault"
	"github.com/bpfunit/bpfunit/internal/logging"
	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/service"
)

// DefaultIdleTimeout is how long bpfunitd stays up with nothing to do.
const DefaultIdleTimeout = 30 * time.Second

// EnvIdleTimeout overrides the idle timeout (a Go duration; "0" never
// exits): tests set it in a drop-in of bpfunitd.service.
const EnvIdleTimeout = "BPFUNITD_IDLE_TIMEOUT"

// drainTimeout bounds the wait for calls in flight after the bus name is
// released.
const drainTimeout = 10 * time.Second

// Varlink is the Varlink side, set by internal/varlink's server when it is
// linked in (see varlink.go). SEAM: nil until branch varlink has a server.
var Varlink func(ctx context.Context, l net.Listener, svc *service.Service, log *slog.Logger) (VarlinkServer, error)

// VarlinkServer is what the daemon needs of a running Varlink server.
type VarlinkServer interface {
	// Idle is how long it has had no open connection (0 while it has).
	Idle() time.Duration
	// Wait returns when the server stopped (its ctx done, or an error).
	Wait() error
	// Active is the number of calls in progress.
	Active() int
	// LastActivity is when the last call ended.
	LastActivity() time.Time
}

// Version is the Version property: the module version and VCS revision
// the binary was built from.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}

// Main runs bpfunitd with args (without the program name) and returns its
// exit status.
func Main(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("bpfunitd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	idle := fs.Duration("idle-timeout", idleFromEnv(stderr), "exit after this long without calls or subscribers (0: never)")
	debugLog := fs.Bool("debug", os.Getenv("BPFUNIT_DEBUG") != "", "log debug records")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: bpfunitd [--idle-timeout=DURATION] [--debug]")
		return 2
	}
	log := logging.New("bpfunitd", stderr, *debugLog)
	if err := run(ctx, log, *idle); err != nil {
		fmt.Fprintf(stderr, "bpfunitd: %v\n", err)
		return 1
	}
	return 0
}

func idleFromEnv(stderr io.Writer) time.Duration {
	v := os.Getenv(EnvIdleTimeout)
	if v == "" {
		return DefaultIdleTimeout
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		fmt.Fprintf(stderr, "bpfunitd: ignoring %s=%q: want a duration like 30s\n", EnvIdleTimeout, v)
		return DefaultIdleTimeout
	}
	return d
}

func run(ctx context.Context, log *slog.Logger, idle time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := manager.FromEnv(log)
	m.Fault = fault.FromEnv()
	svc := service.New(m, log)
	defer svc.Close()

	listeners, err := activation.Listeners()
	if err != nil {
		return fmt.Errorf("read socket activation fds: %w", err)
	}
	var vl VarlinkServer
	if len(listeners) > 0 {
		if Varlink == nil {
			// SEAM: without a Varlink server the socket is closed, so that
			// clients get an error instead of hanging.
			log.Warn("socket passed, but this build has no Varlink server; closing it")
			for _, l := range listeners {
				l.Close()
			}
		} else {
			if len(listeners) > 1 {
				return fmt.Errorf("socket activation passed %d sockets, want 1", len(listeners))
			}
			if vl, err = Varlink(ctx, listeners[0], svc, log); err != nil {
				return fmt.Errorf("start varlink server: %w", err)
			}
		}
	}

	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		if vl == nil {
			return fmt.Errorf("connect to the system bus: %w", err)
		}
		log.Info("no system bus; serving Varlink only", "err", err)
	}
	var srv *dbusapi.Server
	busDone := make(chan error, 1)
	if conn != nil {
		defer conn.Close()
		srv = dbusapi.New(conn, svc, dbusapi.Options{Version: Version(), Log: log})
		if err := srv.Listen(ctx); err != nil {
			return err
		}
		go func() { busDone <- srv.Serve(ctx) }()
	}
	// Type=notify: ready once the bus name is ours (or without a bus, once
	// the Varlink socket is served).
	sddaemon.SdNotify(false, sddaemon.SdNotifyReady)

	var vlDone chan error
	if vl != nil {
		vlDone = make(chan error, 1)
		go func() { vlDone <- vl.Wait() }()
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	// dirty: there were calls since the heap was last returned.
	dirty := true
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-busDone:
			return err
		case err := <-vlDone:
			return fmt.Errorf("varlink server: %w", err)
		case <-tick.C:
		}
		quiet := quietFor(srv, vl)
		dirty = dirty || quiet < 2*time.Second
		if dirty && quiet >= time.Second {
			// A listing of 100 units leaves a few MiB of garbage that
			// the runtime would keep for minutes: give it back once
			// calls have stopped for a second.
			debug.FreeOSMemory()
			dirty = false
		}
		if idle == 0 || !isIdle(srv, vl, idle) {
			continue
		}
		log.Debug("idle; exiting", "idle_timeout", idle)
		// STOPPING=1 first: systemd then queues a start that comes in
		// now (a call right after the name is released) until this
		// process has exited, instead of calling the unit running.
		sddaemon.SdNotify(false, sddaemon.SdNotifyStopping)
		if srv != nil {
			return drain(conn, srv)
		}
		return nil
	}
}

func isIdle(srv *dbusapi.Server, vl VarlinkServer, idle time.Duration) bool {
	return idleFor(srv, vl) >= idle
}

// quietFor is how long both servers have had no call in progress,
// whoever is subscribed or connected.
func quietFor(srv *dbusapi.Server, vl VarlinkServer) time.Duration {
	d := time.Duration(1<<63 - 1)
	if srv != nil {
		d = min(d, srv.Quiet())
	}
	if vl != nil {
		if vl.Active() > 0 {
			return 0
		}
		d = min(d, time.Since(vl.LastActivity()))
	}
	return d
}

// idleFor is how long both servers have been idle.
func idleFor(srv *dbusapi.Server, vl VarlinkServer) time.Duration {
	d := time.Duration(1<<63 - 1)
	if srv != nil {
		d = min(d, srv.Idle())
	}
	if vl != nil {
		d = min(d, vl.Idle())
	}
	return d
}

// drain releases the bus name, so that new calls queue for the next
// instance, and waits for the calls in flight.
func drain(conn *dbus.Conn, srv *dbusapi.Server) error {
	if _, err := conn.ReleaseName(dbusapi.BusName); err != nil {
		return fmt.Errorf("release bus name: %w", err)
	}
	deadline := time.Now().Add(drainTimeout)
	for srv.Busy() {
		if time.Now().After(deadline) {
			return errors.New("calls still in flight after releasing the bus name")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
