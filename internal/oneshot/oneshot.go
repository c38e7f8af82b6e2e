// Package oneshot is bpfunit-oneshot: the ExecStart=/ExecStopPost=/ExecReload=
// of bpf@.service, in the shape of systemd-backlight's load/save verbs.
//
// # Exit status
//
// The codes follow the LSB init-script convention systemd documents in
// systemd.exec(5), so `systemctl status` shows a meaningful status=:
//
//	0 success
//	1 generic failure (the kernel refused, a pin failed, ...)
//	2 invalid arguments (usage, bad unit name)
//	3 unimplemented feature (the kernel lacks the attach type)
//	5 not installed (the object file is missing)
//	6 not configured (no config, masked, or a config error)
//
// The reason is always the last line on stderr, which is what `systemctl
// status` shows last.
package oneshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/fault"
	"github.com/bpfunit/bpfunit/internal/loader"
	"github.com/bpfunit/bpfunit/internal/logging"
	"github.com/bpfunit/bpfunit/internal/manager"
)

// Exit codes, see the package documentation.
const (
	ExitOK            = 0
	ExitFailure       = 1
	ExitUsage         = 2
	ExitUnsupported   = 3
	ExitNotInstalled  = 5
	ExitNotConfigured = 6
)

type verb struct {
	name string
	run  func(ctx context.Context, m *manager.Manager, unit string) error
}

var verbs = []verb{
	{"start", func(ctx context.Context, m *manager.Manager, unit string) error {
		_, _, err := m.Start(ctx, unit)
		return err
	}},
	{"stop", func(ctx context.Context, m *manager.Manager, unit string) error {
		return m.Stop(ctx, unit)
	}},
	{"reload", func(ctx context.Context, m *manager.Manager, unit string) error {
		_, err := m.Reload(ctx, unit)
		return err
	}},
}

// Main runs the oneshot with args (without the program name) and returns
// the exit status.
func Main(ctx context.Context, args []string, stderr io.Writer) int {
	log := logging.New("bpfunit-oneshot", stderr, os.Getenv("BPFUNIT_DEBUG") != "")
	if len(args) != 2 {
		fmt.Fprintln(stderr, "usage: bpfunit-oneshot start|stop|reload NAME")
		return ExitUsage
	}
	for _, v := range verbs {
		if v.name != args[0] {
			continue
		}
		m := manager.FromEnv(log)
		m.Fault = fault.FromEnv()
		if err := v.run(ctx, m, args[1]); err != nil {
			report(log, stderr, v.name, args[1], err)
			return exitCode(err)
		}
		return ExitOK
	}
	fmt.Fprintf(stderr, "bpfunit-oneshot: unknown verb %q; want start, stop or reload\n", args[0])
	return ExitUsage
}

// report writes the error as one line on stderr (the last line systemctl
// status shows) and, with the full verifier log, to the journal.
func report(log *slog.Logger, stderr io.Writer, verb, unit string, err error) {
	var le *loader.LoadError
	// The whole verifier log goes to the journal only: on a terminal the
	// reason line below, which carries the log's tail, is the message.
	if errors.As(err, &le) && len(le.Log()) > 0 && logging.ToJournal() {
		log.Info("verifier log (full text in the journal field BPFUNIT_VERIFIER_LOG)", "unit", unit, "program", le.Program, "verifier_log", strings.Join(le.Log(), "\n"))
	}
	if config.ValidateName(unit) != nil {
		// A bad name may hold a newline or an escape sequence: quote it
		// so that the reason stays one line and prints what was given.
		unit = strconv.Quote(unit)
	}
	fmt.Fprintf(stderr, "bpfunit-oneshot: %s %s: %v\n", verb, unit, err)
}

// exitCode maps the error's kind (manager.KindOf, the one mapping shared
// with bpfunitd's named errors) to the exit status.
func exitCode(err error) int {
	switch manager.KindOf(err) {
	case manager.KindBadArgs:
		return ExitUsage
	case manager.KindUnsupported:
		return ExitUnsupported
	case manager.KindNoSuchUnit, manager.KindConfig:
		return ExitNotConfigured
	case manager.KindObjectMissing:
		return ExitNotInstalled
	}
	return ExitFailure
}
