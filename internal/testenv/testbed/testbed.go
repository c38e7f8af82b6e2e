package testbed

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpfunit/bpfunit/internal/testenv"
	"github.com/bpfunit/bpfunit/internal/testenv/vm"
)

// Options configure a testbed. The zero value boots with the project
// installed and a fresh bpffs on /sys/fs/bpf.
type Options struct {
	// NoBPFFS leaves /sys/fs/bpf unmounted, so that the generator's mount
	// service has to mount it. Optional.
	NoBPFFS bool
	// NoInstall boots plain systemd, without `make install` of the project:
	// faster, and independent of the tree building. Optional.
	NoInstall bool
	// Want lists units the boot target pulls in (Wants= and After=), as
	// multi-user.target would on a real boot, e.g. "bpf.target". Optional.
	Want []string
	// Stage is an already installed tree (`make install DESTDIR=Stage`) to
	// use instead of running make. Optional; ignored with NoInstall.
	Stage string
}

// Testbed is one booted systemd. Its methods may be called from the test
// goroutine only.
type Testbed struct {
	opts   Options
	root   string // module root
	script string // scripts/testbed/testbed.sh
	dir    string // state dir: console.log, pid files, disk/
	stage  string // installed tree, "" for none

	pid  int    // host PID of the testbed's PID 1
	upid int    // host PID of unshare, PID 1's parent
	cg   string // delegated cgroup directory on the host
	// pidNS holds the testbed's pid namespace open, so that its inode
	// number can't be reused by another namespace before leftovers looked
	// for its processes. (Holding the mount namespace would keep its mounts,
	// bpffs included, alive.)
	pidNS *os.File
	up    bool
	// hostDirs are the mode and owner of the host's /, /etc, /usr, /var at
	// boot: a testbed must leave them alone.
	hostDirs map[string]string
}

// hostDirState describes the host directories the testbed overlays.
func hostDirState() map[string]string {
	m := map[string]string{}
	for _, d := range []string{"/", "/etc", "/usr", "/var", "/run", "/tmp"} {
		fi, err := os.Stat(d)
		if err != nil {
			m[d] = err.Error()
			continue
		}
		st, _ := fi.Sys().(*syscall.Stat_t)
		if st != nil {
			m[d] = fmt.Sprintf("mode %v uid %d gid %d", fi.Mode(), st.Uid, st.Gid)
		}
	}
	return m
}

// BootTimeout bounds how long a boot may take to reach "running".
const BootTimeout = 30 * time.Second

// commandTimeout bounds every command run inside a testbed.
const commandTimeout = 2 * time.Minute

// Boot boots a testbed, and registers a cleanup that powers it off and fails
// tb if anything of it is left. It skips tb when not root or when a tool it
// needs (systemd, unshare, nsenter, overlayfs) is missing.
func Boot(tb testing.TB, opts Options) *Testbed {
	skipIfEmulated(tb)
	tb.Helper()
	testenv.SkipUnlessRoot(tb)
	for _, c := range []string{"unshare", "nsenter", "systemctl", "journalctl", "make"} {
		testenv.NeedCommand(tb, c)
	}
	if _, err := os.Stat("/lib/systemd/systemd"); err != nil {
		tb.Skip("needs systemd installed at /lib/systemd/systemd")
	}
	if !haveFilesystem("overlay") {
		tb.Skip("needs overlayfs")
	}
	root, err := moduleRoot()
	if err != nil {
		tb.Fatalf("find module root: %v", err)
	}
	t := &Testbed{
		opts:   opts,
		root:   root,
		script: filepath.Join(root, "scripts", "testbed", "testbed.sh"),
		dir:    tb.TempDir(),
	}
	if !opts.NoInstall {
		t.stage = opts.Stage
		if t.stage == "" {
			t.stage = filepath.Join(t.dir, "stage")
			if err := Install(root, t.stage); err != nil {
				tb.Fatal(err)
			}
		}
	}
	t.hostDirs = hostDirState()
	tb.Cleanup(func() { t.shutdown(tb) })
	t.boot(tb)
	return t
}

// Install runs `make install DESTDIR=dest PREFIX=/usr` in the module root.
func Install(root, dest string) error {
	cmd := exec.Command("make", "-C", root, "--no-print-directory", "install", "DESTDIR="+dest, "PREFIX=/usr")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("make install DESTDIR=%s: %w\n%s", dest, err, out)
	}
	return nil
}

func (t *Testbed) boot(tb testing.TB) {
	tb.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), BootTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, t.script, "start")
	cmd.Env = append(os.Environ(),
		"TESTBED_STATE="+t.dir,
		"TESTBED_STAGE="+t.stage,
		"TESTBED_BPFFS="+map[bool]string{true: "0", false: "1"}[t.opts.NoBPFFS],
		"TESTBED_WANTS="+strings.Join(t.opts.Want, " "),
	)
	out, err := cmd.CombinedOutput()
	// Read what the script recorded even on failure, so that shutdown can
	// clean up a half-booted testbed.
	t.pid, _ = readInt(filepath.Join(t.dir, "pid"))
	t.upid, _ = readInt(filepath.Join(t.dir, "unshare.pid"))
	if b, e := os.ReadFile(filepath.Join(t.dir, "cgroup")); e == nil {
		t.cg = strings.TrimSpace(string(b))
	}
	if t.pid > 0 && t.pidNS == nil {
		t.pidNS, _ = os.Open(fmt.Sprintf("/proc/%d/ns/pid", t.pid))
	}
	t.up = t.pid > 0
	if err != nil {
		tb.Fatalf("boot testbed: %v\n%s\nconsole:\n%s", err, out, t.Console(40))
	}
	tb.Logf("testbed booted in %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(string(out)))
}

// shutdown powers off and checks that nothing is left.
func (t *Testbed) shutdown(tb testing.TB) {
	tb.Helper()
	if !t.up && t.cg == "" {
		return
	}
	start := time.Now()
	cmd := exec.Command(t.script, "stop")
	cmd.Env = append(os.Environ(), "TESTBED_STATE="+t.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Errorf("stop testbed: %v\n%s", err, out)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		tb.Logf("testbed stop: %s", s)
	}
	t.up = false
	for _, left := range t.leftovers() {
		tb.Errorf("testbed left behind: %s", left)
	}
	tb.Logf("testbed powered off in %v", time.Since(start).Round(time.Millisecond))
	t.cg = ""
}

// leftovers lists what of a stopped testbed still exists on the host.
func (t *Testbed) leftovers() []string {
	var left []string
	for _, p := range []int{t.pid, t.upid} {
		if p > 0 && processAlive(p) {
			left = append(left, fmt.Sprintf("process %d", p))
		}
	}
	if t.pidNS != nil {
		if ns, err := t.pidNS.Stat(); err == nil {
			procs, _ := filepath.Glob("/proc/[0-9]*")
			for _, p := range procs {
				if fi, err := os.Stat(filepath.Join(p, "ns", "pid")); err == nil && os.SameFile(fi, ns) {
					left = append(left, fmt.Sprintf("process %s in the testbed's pid namespace", filepath.Base(p)))
				}
			}
		}
		t.pidNS.Close()
		t.pidNS = nil
	}
	if t.cg != "" {
		if _, err := os.Stat(t.cg); err == nil {
			left = append(left, "cgroup "+t.cg)
		}
	}
	for d, now := range hostDirState() {
		if was := t.hostDirs[d]; was != now {
			left = append(left, fmt.Sprintf("host directory %s changed: %s, was %s", d, now, was))
		}
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, t.dir) {
				left = append(left, "mount "+line)
			}
		}
	}
	return left
}

// Reboot powers the testbed off and boots a new one on the same disk: what
// was written to /etc, /usr and /var stays, /run, /tmp and bpffs are fresh,
// and the staged tree is copied again.
func (t *Testbed) Reboot(tb testing.TB) {
	tb.Helper()
	t.shutdown(tb)
	if tb.Failed() {
		tb.FailNow()
	}
	t.boot(tb)
}

// PID is the host PID of the testbed's PID 1 (systemd).
func (t *Testbed) PID() int { return t.pid }

// Root is the testbed's root directory as seen from the host
// (/proc/PID/root). Absolute symlinks inside it resolve against the host's
// root: prefer Run, ReadFile and WriteFile.
func (t *Testbed) Root() string { return fmt.Sprintf("/proc/%d/root", t.pid) }

// Dir is the state dir on the host: console.log (PID 1's console), disk/.
func (t *Testbed) Dir() string { return t.dir }

// Run runs a command in every namespace of the testbed (nsenter -a) and
// returns its combined output.
func (t *Testbed) Run(args ...string) (string, error) {
	return t.run(nil, args...)
}

func (t *Testbed) run(stdin []byte, args ...string) (string, error) {
	if !t.up {
		return "", errors.New("testbed is not running")
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(t.pid), "-a", "--"}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// Systemctl runs systemctl inside the testbed.
func (t *Testbed) Systemctl(args ...string) (string, error) {
	return t.Run(append([]string{"systemctl", "--no-pager"}, args...)...)
}

// Journal returns the journal of unit since boot ("" for the whole journal);
// errors are returned in the text.
func (t *Testbed) Journal(unit string) string {
	args := []string{"journalctl", "--no-pager", "-b", "-o", "short-monotonic"}
	if unit != "" {
		args = append(args, "-u", unit)
	}
	out, err := t.Run(args...)
	if err != nil {
		return out + "\n" + err.Error()
	}
	return out
}

// WriteFile writes a file inside the testbed, creating parent directories.
func (t *Testbed) WriteFile(path string, data []byte, mode os.FileMode) error {
	_, err := t.run(data, "sh", "-c", `mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"`,
		"sh", path, fmt.Sprintf("%o", mode.Perm()))
	return err
}

// ReadFile reads a file inside the testbed.
func (t *Testbed) ReadFile(path string) ([]byte, error) {
	out, err := t.Run("cat", "--", path)
	if err != nil {
		return nil, err
	}
	return []byte(out), nil
}

// Console returns the last n lines of PID 1's console (all when n <= 0).
func (t *Testbed) Console(n int) string {
	b, err := os.ReadFile(filepath.Join(t.dir, "console.log"))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if n > 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.Contains(b, []byte("module github.com/bpfunit/bpfunit\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of github.com/bpfunit/bpfunit above the working directory")
		}
		dir = parent
	}
}

func haveFilesystem(name string) bool {
	f, err := os.Open("/proc/filesystems")
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) > 0 && fields[len(fields)-1] == name {
			return true
		}
	}
	return false
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// state is the field after "(comm)"
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// skipIfEmulated skips under qemu's TCG: there systemd 252 did not reach
// "running" within 178 s in the kernel-matrix VM; the testbed tests run on
// the host.
func skipIfEmulated(tb testing.TB) {
	tb.Helper()
	if vm.Emulated() {
		tb.Skip("systemd testbed: too slow to boot under CPU emulation (kernel-matrix VM without KVM)")
	}
}
