package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/coreos/go-systemd/v22/unit"
	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/attach"
	"github.com/bpfunit/bpfunit/internal/config"
)

// Names of the units bpfunit installs, and of what the generator writes.
const (
	// Template is the unit every config is an instance of.
	Template = "bpf@.service"
	// Target groups the units attached at boot.
	Target = "bpf.target"
	// BPFFSService mounts bpffs on /sys/fs/bpf where nothing else did.
	BPFFSService = "bpfunit-bpffs.service"
	// DropInName is the drop-in written for every configured unit, in
	// bpf@NAME.service.d/. An admin's drop-in of the same name in
	// /etc/systemd/system/bpf@NAME.service.d/ replaces it.
	DropInName = "50-bpfunit.conf"

	// DefaultUnitDir is where Template is installed.
	DefaultUnitDir = "/usr/lib/systemd/system"
	// APIBPFFS is where systemd, and bpfunit-bpffs.service, mount bpffs.
	APIBPFFS = "/sys/fs/bpf"
	// DefaultPinRoot is the pin root of the oneshot and bpfunitd.
	DefaultPinRoot = "/sys/fs/bpf/bpfunit"
	// PinRootEnv names the pin root in the environment of the generator and
	// of bpf@.service.
	PinRootEnv = "BPFUNIT_PIN_ROOT"
	// Tracefs is where tracepoint and uprobe attachments need tracefs.
	Tracefs = attach.Tracefs
)

// Options are the inputs of a generator run besides the config files.
type Options struct {
	// ConfigDirs is the config search path, first wins (config.SearchPath()).
	ConfigDirs []string
	// PinRoot is the directory units pin under. Optional; empty means
	// DefaultPinRoot. Outside /sys/fs/bpf, a .mount unit mounts bpffs on it.
	PinRoot string
	// UnitDir is the directory holding Template and BPFFSService; the
	// symlinks the generator writes point there. Optional; empty means
	// DefaultUnitDir.
	UnitDir string
	// Udev says that udev runs, so .device units exist for network
	// interfaces and units may bind to them. Without udev a BindsTo= on a
	// device would wait for a device that never appears.
	Udev bool
	// Logf receives one line per problem found. Optional.
	Logf func(format string, args ...any)
}

// Dirs are the three output directories of systemd.generator(7).
type Dirs struct {
	Normal, Early, Late string
}

// Instance is the systemd unit of the config NAME: bpf@NAME.service. Config
// names need no escaping (config.ValidateName).
func Instance(name string) string { return "bpf@" + name + ".service" }

// Run writes the units, drop-ins and symlinks for every config on
// opts.ConfigDirs into dirs.Normal. A config that does not parse is not an
// error of Run: it gets a drop-in that makes its unit fail with the parse
// error, and the error is passed to opts.Logf. Run returns an error only
// when it could not list the configs or write its output; it keeps going
// and returns all such errors joined.
func Run(opts Options, dirs Dirs) error {
	g := &gen{opts: opts, out: dirs.Normal}
	if g.opts.UnitDir == "" {
		g.opts.UnitDir = DefaultUnitDir
	}
	if g.opts.Logf == nil {
		g.opts.Logf = func(string, ...any) {}
	}
	g.pinRoot = filepath.Clean(g.opts.PinRoot)
	if g.opts.PinRoot == "" || !filepath.IsAbs(g.opts.PinRoot) || strings.ContainsAny(g.opts.PinRoot, " \t\n") {
		if g.opts.PinRoot != "" {
			g.opts.Logf("%s=%q is not a clean absolute path; using %s", PinRootEnv, g.opts.PinRoot, DefaultPinRoot)
		}
		g.pinRoot = DefaultPinRoot
	}
	g.mount()
	entries, err := config.Discover(g.opts.ConfigDirs)
	if err != nil {
		g.fail(fmt.Errorf("discover configs in %s: %w", strings.Join(g.opts.ConfigDirs, ":"), err))
	}
	// Serial on purpose: go-systemd's lexer hands every token over a
	// channel, and spreading units over threads turned those handoffs into
	// futex wakeups that cost more than the parallelism saved.
	for _, e := range entries {
		g.entry(e)
	}
	return errors.Join(g.errs...)
}

type gen struct {
	opts    Options
	out     string
	pinRoot string
	reader  config.Reader

	mu   sync.Mutex
	errs []error
	dirs map[string]bool // directories already created
}

func (g *gen) fail(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.errs = append(g.errs, err)
}

func (g *gen) logf(format string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.opts.Logf(format, args...)
}

func (g *gen) mkdir(dir string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dirs[dir] {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if g.dirs == nil {
		g.dirs = map[string]bool{}
	}
	g.dirs[dir] = true
	return nil
}

func underAPIBPFFS(p string) bool { return p == APIBPFFS || strings.HasPrefix(p, APIBPFFS+"/") }

// mount makes sure bpffs is mounted where the units pin.
func (g *gen) mount() {
	if underAPIBPFFS(g.pinRoot) {
		g.symlink(filepath.Join(g.out, "sysinit.target.wants", BPFFSService), filepath.Join(g.opts.UnitDir, BPFFSService))
		return
	}
	name := unit.UnitNamePathEscape(g.pinRoot) + ".mount"
	g.write(filepath.Join(g.out, name), []*unit.UnitOption{
		unit.NewUnitOption("Unit", "Description", "BPF File System for bpfunit at "+escapeSpecifiers(g.pinRoot)),
		unit.NewUnitOption("Unit", "Documentation", "https://github.com/bpfunit/bpfunit/blob/main/docs/systemd.md"),
		unit.NewUnitOption("Unit", "Before", Target),
		unit.NewUnitOption("Mount", "What", "bpf"),
		unit.NewUnitOption("Mount", "Where", g.pinRoot),
		unit.NewUnitOption("Mount", "Type", "bpf"),
		unit.NewUnitOption("Mount", "Options", "mode=0700,nosuid,nodev,noexec"),
	})
}

func (g *gen) entry(e config.Entry) {
	inst := Instance(e.Name)
	if e.Masked {
		// As `systemctl mask`: the unit can't be started, and is wanted by nothing.
		g.symlink(filepath.Join(g.out, inst), os.DevNull)
		return
	}
	// config.Reader: the checks of the oneshot, so a fifo can't hang the
	// boot and a file others could write makes a failing unit.
	u, err := g.reader.Load(e)
	if err != nil {
		g.logf("%s: %v", inst, err)
		g.wire(inst, salvageInstall(&g.reader, e))
		g.write(filepath.Join(g.out, inst+".d", DropInName), failing(e, err))
		return
	}
	for _, a := range u.Install.Alias {
		g.logf("%s: [Install] Alias=%s ignored: aliases of bpfunit units are not supported", inst, a)
	}
	g.wire(inst, u.Install)
	g.write(filepath.Join(g.out, inst+".d", DropInName), g.dropIn(u))
}

// wire writes the .wants/ and .requires/ symlinks of [Install].
func (g *gen) wire(inst string, in config.Install) {
	target := filepath.Join(g.opts.UnitDir, Template)
	for _, w := range in.WantedBy {
		g.symlink(filepath.Join(g.out, w+".wants", inst), target)
	}
	for _, r := range in.RequiredBy {
		g.symlink(filepath.Join(g.out, r+".requires", inst), target)
	}
}

// dropIn is the drop-in of a valid config.
func (g *gen) dropIn(u *config.Unit) []*unit.UnitOption {
	var opts []*unit.UnitOption
	add := func(section, key, value string) {
		opts = append(opts, unit.NewUnitOption(section, key, value))
	}
	if u.Description != "" {
		add("Unit", "Description", escapeSpecifiers(u.Description))
	}
	if len(u.Documentation) > 0 {
		add("Unit", "Documentation", escapeSpecifiers(strings.Join(u.Documentation, " ")))
	}
	// systemctl then says "changed on disk, run daemon-reload" when the config changes.
	add("Unit", "SourcePath", u.Path)
	// A missing object skips the unit (visible in systemctl status) instead
	// of failing the boot: it may come from a package not installed here.
	add("Unit", "ConditionPathExists", escapeSpecifiers(u.Object.Path))
	mounts := []string{u.Object.Path}
	if !underAPIBPFFS(g.pinRoot) {
		mounts = append(mounts, g.pinRoot)
	}
	var after, wants, partOf, bindsTo []string
	env := attach.DepEnv{Udev: g.opts.Udev}
	for i := range u.Attach {
		a := &u.Attach[i]
		// Type= left to the ELF section: the object is only read at start.
		t := attach.Lookup(a.Type)
		if t == nil || t.Deps == nil {
			continue
		}
		d := t.Deps(a, env)
		mounts = append(mounts, d.Mounts...)
		wants = append(wants, d.Wants...)
		bindsTo = append(bindsTo, d.BindsTo...)
		partOf = append(partOf, d.PartOf...)
		after = append(after, d.After...)
	}
	for _, dep := range []struct {
		key  string
		list []string
	}{{"Wants", wants}, {"BindsTo", bindsTo}, {"PartOf", partOf}, {"After", after}} {
		for _, v := range sortedUnique(dep.list) {
			add("Unit", dep.key, v)
		}
	}
	for _, m := range sortedUnique(mounts) {
		add("Unit", "RequiresMountsFor", escapeSpecifiers(m))
	}
	if g.pinRoot != DefaultPinRoot {
		add("Service", "Environment", escapeSpecifiers(PinRootEnv+"="+g.pinRoot))
	}
	if !underAPIBPFFS(g.pinRoot) {
		add("Service", "ReadWritePaths", escapeSpecifiers(g.pinRoot))
	}
	return opts
}

// failing is the drop-in of a config that doesn't load: the unit fails on
// start and its journal, shown by `systemctl status`, has the error. Stop
// and reload still run the oneshot, so a unit attached before the config
// broke can still be detached.
func failing(e config.Entry, err error) []*unit.UnitOption {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	return []*unit.UnitOption{
		unit.NewUnitOption("Unit", "Description", "BPF programs of "+e.Name+" (invalid configuration)"),
		unit.NewUnitOption("Unit", "SourcePath", e.Path),
		unit.NewUnitOption("Service", "ExecStart", ""),
		unit.NewUnitOption("Service", "ExecStart", "/bin/echo "+quoteExecArg("bpfunit: invalid configuration: "+msg)),
		unit.NewUnitOption("Service", "ExecStart", "/bin/false"),
	}
}

// salvageInstall reads [Install] of a config that does not parse, leniently,
// so that a broken unit is still wired where it was meant to be and fails
// visibly there instead of silently not starting. A unit file that can't
// be read at all (a fifo, a file others could write) is wired into
// Target: its [Install] is unknown or not to be trusted, and a failure at
// boot is what shows it.
func salvageInstall(r *config.Reader, e config.Entry) config.Install {
	var in config.Install
	for i, p := range append([]string{e.Path}, e.DropIns...) {
		data, err := r.ReadFile(p)
		if err != nil {
			if i == 0 {
				return config.Install{WantedBy: []string{Target}}
			}
			continue
		}
		opts, err := unit.DeserializeOptions(bytes.NewReader(data))
		if err != nil {
			continue
		}
		for _, o := range opts {
			if o.Section != "Install" {
				continue
			}
			var list *[]string
			switch o.Name {
			case "WantedBy":
				list = &in.WantedBy
			case "RequiredBy":
				list = &in.RequiredBy
			default:
				continue
			}
			if strings.TrimSpace(o.Value) == "" {
				*list = nil
			}
			for _, w := range strings.Fields(o.Value) {
				if validUnitName(w) {
					*list = append(*list, w)
				}
			}
		}
	}
	return in
}

// validUnitName is a loose check that w can name a .wants directory.
func validUnitName(w string) bool {
	dot := strings.LastIndexByte(w, '.')
	if dot <= 0 || dot == len(w)-1 || len(w) > 255 {
		return false
	}
	return !strings.ContainsFunc(w, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(":-_.\\@", r))
	})
}

// escapeSpecifiers protects a value from systemd's %-specifier expansion.
func escapeSpecifiers(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// quoteExecArg quotes s as one argument of an Exec*= line: double quotes,
// C escapes, and "%%"/"$$" against specifier and variable expansion.
func quoteExecArg(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "$", "$$")
	return `"` + r.Replace(s) + `"`
}

func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func (g *gen) write(path string, opts []*unit.UnitOption) {
	var b bytes.Buffer
	b.WriteString("# Generated by bpfunit-generator. Do not edit: changes are lost at the next\n")
	b.WriteString("# daemon-reload. Override with a drop-in in /etc/systemd/system/.\n")
	if _, err := io.Copy(&b, unit.Serialize(opts)); err != nil {
		g.fail(fmt.Errorf("serialize %s: %w", path, err))
		return
	}
	if err := g.mkdir(filepath.Dir(path)); err != nil {
		g.fail(err)
		return
	}
	if err := writeFile(path, b.Bytes()); err != nil {
		g.fail(err)
	}
}

// writeFile is os.WriteFile without the poller registration os.File does
// (an epoll_ctl and fcntls per file, which is most of the syscalls for 1000
// small files).
func writeFile(path string, data []byte) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			unix.Close(fd)
			return &os.PathError{Op: "write", Path: path, Err: err}
		}
		data = data[n:]
	}
	if err := unix.Close(fd); err != nil {
		return &os.PathError{Op: "close", Path: path, Err: err}
	}
	return nil
}

func (g *gen) symlink(link, target string) {
	if err := g.mkdir(filepath.Dir(link)); err != nil {
		g.fail(err)
		return
	}
	if err := os.Symlink(target, link); err != nil && !errors.Is(err, os.ErrExist) {
		g.fail(err)
	}
}
