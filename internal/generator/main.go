package generator

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/config"
)

// Main is the whole bpfunit-generator command: systemd.generator(7) calls
// it with the normal, early and late output directories (or one directory
// for all three). It never fails the boot: every problem is logged to
// /dev/kmsg (stderr where that can't be opened) and Main returns 0, except
// for a wrong command line.
func Main(args []string) (code int) {
	log := newLogger()
	defer log.Close()
	defer func() {
		if r := recover(); r != nil {
			log.Printf(3, "panic: %v\n%s", r, debug.Stack())
			code = 0
		}
	}()
	var dirs Dirs
	switch len(args) {
	case 1:
		dirs = Dirs{args[0], args[0], args[0]}
	case 3:
		dirs = Dirs{args[0], args[1], args[2]}
	default:
		fmt.Fprintln(os.Stderr, "usage: bpfunit-generator NORMAL-DIR [EARLY-DIR LATE-DIR]")
		return 2
	}
	opts := Options{
		ConfigDirs: config.SearchPath(),
		PinRoot:    os.Getenv(PinRootEnv),
		UnitDir:    unitDir(),
		Udev:       udevRuns(),
		Logf:       func(f string, a ...any) { log.Printf(4, f, a...) },
	}
	if err := Run(opts, dirs); err != nil {
		log.Printf(3, "%v", err)
	}
	return 0
}

// unitDir derives where bpf@.service is installed from where the generator
// is: PREFIX/lib/systemd/system-generators/ -> PREFIX/lib/systemd/system/.
func unitDir() string {
	exe, err := os.Executable()
	if err != nil {
		return DefaultUnitDir
	}
	d := filepath.Join(filepath.Dir(filepath.Dir(exe)), "system")
	if _, err := os.Stat(filepath.Join(d, Template)); err != nil {
		return DefaultUnitDir
	}
	return d
}

// udevRuns tells whether .device units will appear for network interfaces.
// udev is running when its control socket exists (a daemon-reload). At boot,
// generators run before udev starts, so udev is expected unless this is a
// container (systemd-udevd.service has ConditionPathIsReadWrite=/sys, and
// systemd tells generators about containers in $SYSTEMD_VIRTUALIZATION) or
// /sys is read-only. BPFUNIT_UDEV=0/1 overrides the guess.
func udevRuns() bool {
	switch os.Getenv("BPFUNIT_UDEV") {
	case "0":
		return false
	case "1":
		return true
	}
	if _, err := os.Stat("/run/udev/control"); err == nil {
		return true
	}
	if strings.HasPrefix(os.Getenv("SYSTEMD_VIRTUALIZATION"), "container:") || os.Getenv("container") != "" {
		return false
	}
	if _, err := os.Stat("/run/systemd/container"); err == nil {
		return false
	}
	var st unix.Statfs_t
	if err := unix.Statfs("/sys", &st); err != nil || st.Flags&unix.ST_RDONLY != 0 {
		return false
	}
	return true
}

// logger writes kernel-log lines ("<PRIO>bpfunit-generator[PID]: msg"),
// which is where generators log before journald runs.
type logger struct {
	w    io.Writer
	kmsg bool
	c    io.Closer
}

func newLogger() *logger {
	if f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0); err == nil {
		return &logger{w: f, kmsg: true, c: f}
	}
	return &logger{w: os.Stderr}
}

// Printf logs at a syslog priority (3 error, 4 warning), one write per line.
func (l *logger) Printf(prio int, format string, args ...any) {
	for _, line := range strings.Split(strings.TrimRight(fmt.Sprintf(format, args...), "\n"), "\n") {
		if l.kmsg {
			fmt.Fprintf(l.w, "<%d>bpfunit-generator[%d]: %s\n", prio, os.Getpid(), line)
		} else {
			fmt.Fprintf(l.w, "bpfunit-generator: %s\n", line)
		}
	}
}

func (l *logger) Close() {
	if l.c != nil {
		l.c.Close()
	}
}
