package generator_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/bpfunit/bpfunit/internal/generator"
)

// fixture is a config search path of two dirs ("etc" first, "lib" second)
// and an output dir.
type fixture struct {
	t        *testing.T
	etc, lib string
	out      string
	logs     []string
}

func newFixture(t *testing.T) *fixture {
	d := t.TempDir()
	f := &fixture{t: t, etc: filepath.Join(d, "etc"), lib: filepath.Join(d, "lib"), out: filepath.Join(d, "out")}
	for _, p := range []string{f.etc, f.lib, f.out} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) file(path, data string) {
	f.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) run(opts generator.Options) {
	f.t.Helper()
	opts.ConfigDirs = []string{f.etc, f.lib}
	opts.Logf = func(format string, args ...any) {
		f.logs = append(f.logs, strings.TrimSpace(sprintf(format, args...)))
	}
	if err := generator.Run(opts, generator.Dirs{Normal: f.out, Early: f.out + "-early", Late: f.out + "-late"}); err != nil {
		f.t.Fatal(err)
	}
}

// links lists the symlinks under out as "path -> target", sorted.
func (f *fixture) links() []string {
	var out []string
	filepath.WalkDir(f.out, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			rel, _ := filepath.Rel(f.out, p)
			out = append(out, rel+" -> "+target)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// dropIn parses bpf@NAME.service.d/50-bpfunit.conf into "Section.Key=Value" lines.
func (f *fixture) dropIn(name string) []string {
	f.t.Helper()
	r, err := os.Open(filepath.Join(f.out, generator.Instance(name)+".d", generator.DropInName))
	if err != nil {
		f.t.Fatal(err)
	}
	defer r.Close()
	opts, err := unit.DeserializeOptions(r)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, o := range opts {
		out = append(out, o.Section+"."+o.Name+"="+o.Value)
	}
	return out
}

func config(desc, install string, attach ...string) string {
	s := "[Unit]\nDescription=" + desc + "\n[Object]\nPath=/usr/lib/bpfunit/objects/x.bpf.o\n"
	if len(attach) == 0 {
		attach = []string{"Program=p\nType=raw_tracepoint\nTracepoint=sys_enter\n"}
	}
	for _, a := range attach {
		s += "[Attach]\n" + a
	}
	if install != "" {
		s += "[Install]\n" + install + "\n"
	}
	return s
}

const bpfAt = "/usr/lib/systemd/system/bpf@.service"

func TestWiring(t *testing.T) {
	f := newFixture(t)
	f.file(filepath.Join(f.etc, "a.bpfunit"), config("A", "WantedBy=bpf.target multi-user.target\nRequiredBy=foo.service"))
	f.file(filepath.Join(f.etc, "b.bpfunit"), config("B", ""))
	f.run(generator.Options{})
	want := []string{
		"bpf.target.wants/bpf@a.service -> " + bpfAt,
		"foo.service.requires/bpf@a.service -> " + bpfAt,
		"multi-user.target.wants/bpf@a.service -> " + bpfAt,
		"sysinit.target.wants/bpfunit-bpffs.service -> /usr/lib/systemd/system/bpfunit-bpffs.service",
	}
	if got := f.links(); !slices.Equal(got, want) {
		t.Errorf("links:\n got %q\nwant %q", got, want)
	}
	// b is not installed anywhere but still gets its drop-in: it can be started by hand.
	if got := f.dropIn("b"); !slices.Contains(got, "Unit.Description=B") {
		t.Errorf("drop-in of b: %q", got)
	}
}

func TestUnitDir(t *testing.T) {
	f := newFixture(t)
	f.file(filepath.Join(f.etc, "a.bpfunit"), config("A", "WantedBy=bpf.target"))
	f.run(generator.Options{UnitDir: "/usr/local/lib/systemd/system"})
	if got := f.links(); !slices.Contains(got, "bpf.target.wants/bpf@a.service -> /usr/local/lib/systemd/system/bpf@.service") {
		t.Errorf("links: %q", got)
	}
}

// TestPrecedence: the first dir wins entirely, [Install] included; drop-ins
// from every dir apply.
func TestPrecedence(t *testing.T) {
	f := newFixture(t)
	f.file(filepath.Join(f.etc, "a.bpfunit"), config("from etc", ""))
	f.file(filepath.Join(f.lib, "a.bpfunit"), config("from lib", "WantedBy=bpf.target"))
	f.file(filepath.Join(f.lib, "b.bpfunit"), config("only in lib", ""))
	f.file(filepath.Join(f.lib, "b.bpfunit.d", "10-install.conf"), "[Install]\nWantedBy=bpf.target\n")
	f.file(filepath.Join(f.etc, "b.bpfunit.d", "20-desc.conf"), "[Unit]\nDescription=drop-in in etc\n")
	f.run(generator.Options{})
	if got := f.dropIn("a"); !slices.Contains(got, "Unit.Description=from etc") ||
		!slices.Contains(got, "Unit.SourcePath="+filepath.Join(f.etc, "a.bpfunit")) {
		t.Errorf("drop-in of a: %q", got)
	}
	if got := f.dropIn("b"); !slices.Contains(got, "Unit.Description=drop-in in etc") {
		t.Errorf("drop-in of b: %q", got)
	}
	want := []string{
		"bpf.target.wants/bpf@b.service -> " + bpfAt,
		"sysinit.target.wants/bpfunit-bpffs.service -> /usr/lib/systemd/system/bpfunit-bpffs.service",
	}
	if got := f.links(); !slices.Equal(got, want) {
		t.Errorf("links:\n got %q\nwant %q", got, want)
	}
}

// TestMasked: a /dev/null symlink in a higher dir masks the unit: no
// wiring, no drop-in, and the systemd unit is masked too.
func TestMasked(t *testing.T) {
	f := newFixture(t)
	f.file(filepath.Join(f.lib, "a.bpfunit"), config("A", "WantedBy=bpf.target"))
	if err := os.Symlink(os.DevNull, filepath.Join(f.etc, "a.bpfunit")); err != nil {
		t.Fatal(err)
	}
	f.run(generator.Options{})
	want := []string{
		"bpf@a.service -> /dev/null",
		"sysinit.target.wants/bpfunit-bpffs.service -> /usr/lib/systemd/system/bpfunit-bpffs.service",
	}
	if got := f.links(); !slices.Equal(got, want) {
		t.Errorf("links:\n got %q\nwant %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(f.out, "bpf@a.service.d")); !os.IsNotExist(err) {
		t.Errorf("masked unit has a drop-in dir: %v", err)
	}
}

func TestDropInContents(t *testing.T) {
	const obj = "Unit.ConditionPathExists=/usr/lib/bpfunit/objects/x.bpf.o"
	const objMount = "Unit.RequiresMountsFor=/usr/lib/bpfunit/objects/x.bpf.o"
	for _, tc := range []struct {
		name   string
		udev   bool
		attach []string
		want   []string // all of these, in this order, and nothing else besides Description/SourcePath
	}{{
		name:   "xdp with udev",
		udev:   true,
		attach: []string{"Program=p\nType=xdp\nInterface=veth-a\n", "Program=q\nType=tcx\nInterface=eth0\n"},
		want: []string{obj,
			`Unit.BindsTo=sys-subsystem-net-devices-eth0.device`,
			`Unit.BindsTo=sys-subsystem-net-devices-veth\x2da.device`,
			`Unit.After=sys-subsystem-net-devices-eth0.device`,
			`Unit.After=sys-subsystem-net-devices-veth\x2da.device`,
			objMount},
	}, {
		name:   "xdp without udev",
		attach: []string{"Program=p\nType=xdp\nInterface=eth0\n"},
		want:   []string{obj, objMount},
	}, {
		name:   "xdp in a netns",
		udev:   true,
		attach: []string{"Program=p\nType=xdp\nInterface=eth0\nNamespace=blue\n"},
		want:   []string{obj, objMount},
	}, {
		name:   "cgroup of a service",
		attach: []string{"Program=p\nType=cgroup\nCgroup=nginx.service\n"},
		want:   []string{obj, "Unit.Wants=nginx.service", "Unit.PartOf=nginx.service", "Unit.After=nginx.service", objMount},
	}, {
		name:   "cgroup of a slice",
		attach: []string{"Program=p\nType=cgroup\nCgroup=system.slice\n"},
		want:   []string{obj, "Unit.Wants=system.slice", "Unit.After=system.slice", objMount},
	}, {
		name:   "cgroup path",
		attach: []string{"Program=p\nType=cgroup\nCgroup=/sys/fs/cgroup/foo\n"},
		want:   []string{obj, objMount},
	}, {
		name:   "tracepoint",
		attach: []string{"Program=p\nType=tracepoint\nTracepoint=syscalls:sys_enter_getpid\n"},
		want:   []string{obj, "Unit.RequiresMountsFor=/sys/kernel/tracing", objMount},
	}, {
		name:   "uprobe",
		attach: []string{"Program=p\nType=uprobe\nBinary=/opt/app/bin/app\nSymbol=main\n"},
		want:   []string{obj, "Unit.RequiresMountsFor=/opt/app/bin/app", "Unit.RequiresMountsFor=/sys/kernel/tracing", objMount},
	}, {
		name:   "kprobe",
		attach: []string{"Program=p\nType=kprobe\nFunction=do_sys_openat2\n"},
		want:   []string{obj, "Unit.RequiresMountsFor=/sys/kernel/tracing", objMount},
	}, {
		name:   "type from the ELF section",
		attach: []string{"Program=p\nInterface=eth0\n"},
		udev:   true,
		want:   []string{obj, objMount},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.file(filepath.Join(f.etc, "a.bpfunit"), config("A", "", tc.attach...))
			f.run(generator.Options{Udev: tc.udev})
			if len(f.logs) > 0 {
				t.Errorf("logs: %q", f.logs)
			}
			want := append([]string{"Unit.Description=A", "Unit.SourcePath=" + filepath.Join(f.etc, "a.bpfunit")}, tc.want...)
			if got := f.dropIn("a"); !slices.Equal(got, want) {
				t.Errorf("drop-in:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// TestSpecifiers: '%' in values reaches systemd as "%%", not as a specifier.
func TestSpecifiers(t *testing.T) {
	f := newFixture(t)
	f.file(filepath.Join(f.etc, "a.bpfunit"), config("100% of %i", ""))
	f.run(generator.Options{})
	if got := f.dropIn("a"); got[0] != "Unit.Description=100%% of %%i" {
		t.Errorf("Description: %q", got[0])
	}
}

// TestInvalid: a broken config is wired as it asked, and fails with its
// error; the problem is logged.
func TestInvalid(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(f.etc, "bad.bpfunit")
	f.file(path, "[Unit]\nDescription=bad\n[Object]\nPath=relative.o\n[Attach]\nProgram=p\n[Install]\nWantedBy=bpf.target\n")
	f.file(filepath.Join(f.etc, "bad.bpfunit.d", "x.conf"), "[Install]\nRequiredBy=foo.service $bad\n")
	f.run(generator.Options{})
	msg := path + `:4: [Object] Path=: \"relative.o\" is not an absolute path`
	want := []string{
		"Unit.Description=BPF programs of bad (invalid configuration)",
		"Unit.SourcePath=" + path,
		"Service.ExecStart=",
		`Service.ExecStart=/bin/echo "bpfunit: invalid configuration: ` + msg + `"`,
		"Service.ExecStart=/bin/false",
	}
	if got := f.dropIn("bad"); !slices.Equal(got, want) {
		t.Errorf("drop-in:\n got %q\nwant %q", got, want)
	}
	wantLinks := []string{
		"bpf.target.wants/bpf@bad.service -> " + bpfAt,
		"foo.service.requires/bpf@bad.service -> " + bpfAt,
		"sysinit.target.wants/bpfunit-bpffs.service -> /usr/lib/systemd/system/bpfunit-bpffs.service",
	}
	if got := f.links(); !slices.Equal(got, wantLinks) {
		t.Errorf("links:\n got %q\nwant %q", got, wantLinks)
	}
	if len(f.logs) != 1 || !strings.Contains(f.logs[0], "relative.o") {
		t.Errorf("logs: %q", f.logs)
	}
}

// TestInvalidExecQuoting: characters systemd would expand or unquote in an
// Exec line survive as text.
func TestInvalidExecQuoting(t *testing.T) {
	f := newFixture(t)
	f.file(filepath.Join(f.etc, "q.bpfunit"), "[Unit]\nDescription=q\n[Object]\nPath=/x.o\nPinMaps=%i$HOME\"\\x\n[Attach]\nProgram=p\n")
	f.run(generator.Options{})
	got := f.dropIn("q")
	if !strings.Contains(got[3], `%%i$$HOME\\\"\\\\x`) {
		t.Errorf("ExecStart: %s", got[3])
	}
}

func TestPinRoot(t *testing.T) {
	f := newFixture(t)
	f.file(filepath.Join(f.etc, "a.bpfunit"), config("A", "WantedBy=bpf.target"))
	f.run(generator.Options{PinRoot: "/var/lib/bpf-pins/"})
	mount, err := os.ReadFile(filepath.Join(f.out, `var-lib-bpf\x2dpins.mount`))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"What=bpf", "Where=/var/lib/bpf-pins", "Type=bpf", "Before=bpf.target"} {
		if !strings.Contains(string(mount), line+"\n") {
			t.Errorf("mount unit lacks %s:\n%s", line, mount)
		}
	}
	got := f.dropIn("a")
	for _, line := range []string{
		"Unit.RequiresMountsFor=/var/lib/bpf-pins",
		"Service.Environment=BPFUNIT_PIN_ROOT=/var/lib/bpf-pins",
		"Service.ReadWritePaths=/var/lib/bpf-pins",
	} {
		if !slices.Contains(got, line) {
			t.Errorf("drop-in lacks %s: %q", line, got)
		}
	}
	if links := f.links(); slices.ContainsFunc(links, func(l string) bool { return strings.Contains(l, "bpffs") }) {
		t.Errorf("bpffs service enabled with a pin root outside /sys/fs/bpf: %q", links)
	}

	// Elsewhere in /sys/fs/bpf: the oneshot mount, the environment, no ReadWritePaths.
	f = newFixture(t)
	f.file(filepath.Join(f.etc, "a.bpfunit"), config("A", ""))
	f.run(generator.Options{PinRoot: "/sys/fs/bpf/other"})
	got = f.dropIn("a")
	if !slices.Contains(got, "Service.Environment=BPFUNIT_PIN_ROOT=/sys/fs/bpf/other") ||
		slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, "Service.ReadWritePaths") }) {
		t.Errorf("drop-in: %q", got)
	}
	if links := f.links(); len(links) != 1 || !strings.Contains(links[0], generator.BPFFSService) {
		t.Errorf("links: %q", links)
	}
}

func TestAliasIgnored(t *testing.T) {
	f := newFixture(t)
	f.file(filepath.Join(f.etc, "a.bpfunit"), config("A", "Alias=b.service"))
	f.run(generator.Options{})
	if len(f.logs) != 1 || !strings.Contains(f.logs[0], "Alias=b.service ignored") {
		t.Errorf("logs: %q", f.logs)
	}
}
