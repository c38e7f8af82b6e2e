package generator_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/generator"
)

// TestFIFOConfig: a fifo among the configs once blocked the generator,
// and so the boot, until killed. It gets a failing unit with the reason,
// wired into bpf.target so the failure shows, and the other units are
// generated.
func TestFIFOConfig(t *testing.T) {
	f := newFixture(t)
	fifo := filepath.Join(f.etc, "fifo.bpfunit")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	f.file(filepath.Join(f.etc, "good.bpfunit"), config("Good", "WantedBy=bpf.target"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.run(generator.Options{})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		// Give the blocked open a writer, so the goroutine can end.
		if fd, err := unix.Open(fifo, unix.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
			unix.Close(fd)
		}
		t.Fatal("the generator blocked on a fifo for 10s")
	}
	msg := fifo + ": not a regular file (fifo)"
	want := []string{
		"Unit.Description=BPF programs of fifo (invalid configuration)",
		"Unit.SourcePath=" + fifo,
		"Service.ExecStart=",
		`Service.ExecStart=/bin/echo "bpfunit: invalid configuration: read unit fifo: ` + msg + `"`,
		"Service.ExecStart=/bin/false",
	}
	if got := f.dropIn("fifo"); !slices.Equal(got, want) {
		t.Errorf("drop-in:\n got %q\nwant %q", got, want)
	}
	if got := f.dropIn("good"); !slices.Contains(got, "Unit.Description=Good") {
		t.Errorf("drop-in of good: %q", got)
	}
	wantLinks := []string{
		"bpf.target.wants/bpf@fifo.service -> " + bpfAt,
		"bpf.target.wants/bpf@good.service -> " + bpfAt,
		"sysinit.target.wants/bpfunit-bpffs.service -> /usr/lib/systemd/system/bpfunit-bpffs.service",
	}
	if got := f.links(); !slices.Equal(got, wantLinks) {
		t.Errorf("links:\n got %q\nwant %q", got, wantLinks)
	}
	if len(f.logs) != 1 || !strings.Contains(f.logs[0], msg) {
		t.Errorf("logs: %q", f.logs)
	}
}

// TestUntrustedConfig: the generator applies the oneshot's rule, only root
// may decide what runs in the kernel: a config or drop-in others could
// write gets a failing unit naming the file and what is wrong, and its
// [Install] is not followed.
func TestUntrustedConfig(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a user's own files are trusted for that user")
	}
	f := newFixture(t)
	ww := filepath.Join(f.etc, "ww.bpfunit")
	f.file(ww, config("WW", "RequiredBy=multi-user.target"))
	if err := os.Chmod(ww, 0o666); err != nil {
		t.Fatal(err)
	}
	drop := filepath.Join(f.etc, "dropww.bpfunit.d", "a.conf")
	f.file(filepath.Join(f.etc, "dropww.bpfunit"), config("DropWW", "WantedBy=bpf.target"))
	f.file(drop, "[Unit]\nDescription=evil\n")
	if err := os.Chmod(filepath.Dir(drop), 0o777); err != nil {
		t.Fatal(err)
	}
	f.file(filepath.Join(f.etc, "good.bpfunit"), config("Good", "WantedBy=bpf.target"))
	f.run(generator.Options{})

	for name, msg := range map[string]string{
		"ww":     "read unit ww: " + ww + ": world-writable (mode 0666); must not be writable by group or other",
		"dropww": "read unit dropww: " + drop + ": directory " + filepath.Dir(drop) + " is world-writable (mode 0777) and not sticky; must not be writable by group or other",
	} {
		want := `Service.ExecStart=/bin/echo "bpfunit: invalid configuration: ` + msg + `"`
		if got := f.dropIn(name); !slices.Contains(got, want) {
			t.Errorf("drop-in of %s:\n got %q\nwant %q", name, got, want)
		}
	}
	if got := f.dropIn("good"); !slices.Contains(got, "Unit.Description=Good") {
		t.Errorf("drop-in of good: %q", got)
	}
	wantLinks := []string{
		"bpf.target.wants/bpf@dropww.service -> " + bpfAt,
		"bpf.target.wants/bpf@good.service -> " + bpfAt,
		"bpf.target.wants/bpf@ww.service -> " + bpfAt,
		"sysinit.target.wants/bpfunit-bpffs.service -> /usr/lib/systemd/system/bpfunit-bpffs.service",
	}
	if got := f.links(); !slices.Equal(got, wantLinks) {
		t.Errorf("links:\n got %q\nwant %q", got, wantLinks)
	}
}
