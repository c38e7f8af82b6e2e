package manager_test

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bpfunit/bpfunit/internal/oneshot"
	"github.com/bpfunit/bpfunit/internal/testenv"
)

// fpRun runs the oneshot binary in env with extra environment variables
// and returns its combined output and exit code (-1 when a signal killed it).
func fpRun(t *testing.T, env *testenv.Env, bin string, extra []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(env.Environ(), extra...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), testenv.ExitCode(t, err)
}

// fpAssertGone fails t if anything of unit name is pinned or has state.
func fpAssertGone(t *testing.T, env *testenv.Env, name string) {
	t.Helper()
	if !env.UnitDirEmpty(name) {
		left, _ := filepath.Glob(filepath.Join(env.PinRoot, name, "*", "*"))
		t.Errorf("unit %s: pins left: %v", name, left)
	}
	if _, err := os.Stat(filepath.Join(env.RunDir, "state", name+".json")); !os.IsNotExist(err) {
		t.Errorf("unit %s: state file left (stat: %v)", name, err)
	}
}

// fpAssertRootEmpty fails t if anything at all is pinned under the pin
// root or any state file exists.
func fpAssertRootEmpty(t *testing.T, env *testenv.Env) {
	t.Helper()
	var left []string
	filepath.WalkDir(env.PinRoot, func(path string, d os.DirEntry, err error) error {
		if err == nil && path != env.PinRoot {
			left = append(left, path)
		}
		return nil
	})
	states, _ := filepath.Glob(filepath.Join(env.RunDir, "state", "*.json"))
	left = append(left, states...)
	if len(left) > 0 {
		t.Errorf("left behind: %s", strings.Join(left, " "))
	}
}

// fpOneLine fails t unless out is exactly one line.
func fpOneLine(t *testing.T, out string) {
	t.Helper()
	if out == "" || strings.ContainsAny(out, "\r\n") {
		t.Errorf("want exactly one line of output, got %q", out)
	}
}

// TestBadInputs feeds the real oneshot binary every kind of bad input and
// checks the exit status, the one-line reason, and that nothing is left:
// no pins, no state file, no BPF object in the kernel.
func TestBadInputs(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")

	xdp := env.Object(t, "xdp_counter")
	bad := env.Object(t, "bad")
	kfunc := env.Object(t, "kfunc_counter")
	real, err := os.ReadFile(xdp)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(env.ObjectDir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	garbage := make([]byte, 4096)
	rand.Read(garbage)
	garbageObj := write("garbage.bpf.o", garbage, 0o644)
	truncObj := write("trunc.bpf.o", real[:len(real)/2], 0o644)
	worldObj := write("world.bpf.o", real, 0o666)
	groupObj := write("group.bpf.o", real, 0o664)
	userObj := write("user.bpf.o", real, 0o644)
	if err := os.Chown(userObj, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	missingObj := filepath.Join(env.ObjectDir, "missing.bpf.o")

	// attach is an [Attach] section in the test's own namespace, so
	// that a config that wrongly loads never touches the host.
	attach := func(prog string) string {
		return fmt.Sprintf("[Attach]\nProgram=%s\nInterface=%s\nNamespace=%s\nMode=generic\n", prog, pair.IfB, pair.NsB)
	}
	object := func(path string) string { return fmt.Sprintf("[Object]\nPath=%s\n", path) }

	for _, tc := range []struct {
		name   string
		config string
		code   int
		// want are regexps the reason must match; {FILE} is the config path.
		want []string
	}{
		{"syntax-section", "[Object\nPath=" + xdp + "\n", oneshot.ExitNotConfigured,
			[]string{`{FILE}:1: `, `section`}},
		{"syntax-no-equals", object(xdp) + "Path\n" + attach("xdp_count"), oneshot.ExitNotConfigured,
			[]string{`{FILE}:3: `}},
		{"syntax-outside-section", "Path=" + xdp + "\n" + object(xdp) + attach("xdp_count"), oneshot.ExitNotConfigured,
			[]string{`{FILE}:1: `}},
		{"unknown-key", object(xdp) + "Frobnicate=yes\n" + attach("xdp_count"), oneshot.ExitNotConfigured,
			[]string{`{FILE}:3: \[Object\] Frobnicate=: unknown key; accepted keys: Path`}},
		{"unknown-section", object(xdp) + attach("xdp_count") + "[Bogus]\nA=b\n", oneshot.ExitNotConfigured,
			[]string{`{FILE}:\d+: `, `Bogus`}},
		{"program-key-missing", object(xdp) + "[Attach]\nInterface=" + pair.IfB + "\n", oneshot.ExitNotConfigured,
			[]string{`{FILE}:3: \[Attach\] Program=: required`}},
		{"program-not-in-object", object(xdp) + attach("no_such_prog"), oneshot.ExitNotConfigured,
			[]string{`{FILE}:3: \[Attach\] Program=no_such_prog: not found in .*xdp_counter.bpf.o \(it has: xdp_count, xdp_count_v2\)`}},
		{"object-missing", object(missingObj) + attach("xdp_count"), oneshot.ExitNotInstalled,
			[]string{`object .*missing.bpf.o: no such file or directory`}},
		{"object-garbage", object(garbageObj) + attach("xdp_count"), oneshot.ExitFailure,
			[]string{`object .*garbage.bpf.o: parse ELF: `}},
		{"object-truncated", object(truncObj) + attach("xdp_count"), oneshot.ExitFailure,
			[]string{`object .*trunc.bpf.o: parse ELF: `}},
		{"object-world-writable", object(worldObj) + attach("xdp_count"), oneshot.ExitFailure,
			[]string{`object .*world.bpf.o: world-writable \(mode 0666\)`}},
		{"object-group-writable", object(groupObj) + attach("xdp_count"), oneshot.ExitFailure,
			[]string{`object .*group.bpf.o: group-writable \(mode 0664\)`}},
		{"object-not-root", object(userObj) + attach("xdp_count"), oneshot.ExitFailure,
			[]string{`object .*user.bpf.o: owned by uid 65534; must be owned by root`}},
		{"interface-unknown", object(xdp) + fmt.Sprintf("[Attach]\nProgram=xdp_count\nInterface=bfnosuch0\nNamespace=%s\n", pair.NsB), oneshot.ExitFailure,
			[]string{`{FILE}:3: \[Attach\] Program=xdp_count: attach xdp xdp_count to .*bfnosuch0: interface bfnosuch0 not found in network namespace ` + regexp.QuoteMeta(pair.NsB)}},
		{"verifier-rejects", object(bad) + attach("xdp_bad"), oneshot.ExitFailure,
			[]string{`load program xdp_bad: verifier rejected it \(permission denied\): `, `invalid access to packet`, `R1`}},
		{"fentry-unsupported", object(kfunc) + "[Attach]\nProgram=fentry_openat\n", oneshot.ExitUnsupported,
			[]string{`load program fentry_openat: `, `operation not permitted`, `fentry`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "fentry-unsupported" && testenv.ProgramRefused(t, "kfunc_counter", "fentry_openat") == nil {
				t.Skip("this kernel runs fentry programs; the case needs one that refuses them")
			}
			unit := "bad-" + tc.name
			cfg := env.Config(t, unit, tc.config)
			defer os.Remove(cfg)
			out, code := fpRun(t, env, bin, nil, "start", unit)
			fpOneLine(t, out)
			prefix := "bpfunit-oneshot: start " + unit + ": "
			if !strings.HasPrefix(out, prefix) {
				t.Errorf("reason %q does not start with %q", out, prefix)
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, out)
			}
			for _, w := range tc.want {
				re := regexp.MustCompile(strings.ReplaceAll(w, "{FILE}", regexp.QuoteMeta(cfg)))
				if !re.MatchString(out) {
					t.Errorf("reason %q does not match %q", out, re)
				}
			}
			if strings.Contains(out, "MEMLOCK") {
				t.Errorf("reason blames MEMLOCK, which is never the cause as root on this kernel: %q", out)
			}
			fpAssertGone(t, env, unit)
		})
	}
	fpAssertRootEmpty(t, env)
}

// TestBadUnitNames: names that could escape a directory, collide with
// staging or break a log line are refused with exit status 2 and a
// one-line reason, before anything is created.
func TestBadUnitNames(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	bin := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	for _, name := range []string{
		"../x", "..", ".", "a/b", "/etc/passwd", "", " ", "-x", ".hidden",
		strings.Repeat("a", 201), strings.Repeat("b", 4000),
		"a\nb", "a\rb", "a\tb", "\x1b[31mred", "a\x7f", "é",
	} {
		for _, verb := range []string{"start", "stop"} {
			out, code := fpRun(t, env, bin, nil, verb, name)
			if code != oneshot.ExitUsage {
				t.Errorf("%s %q: exit %d, want %d: %s", verb, name, code, oneshot.ExitUsage, out)
			}
			fpOneLine(t, out)
			if !strings.Contains(out, "invalid unit name") {
				t.Errorf("%s %q: reason %q does not say invalid unit name", verb, name, out)
			}
			if strings.ContainsFunc(out, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				t.Errorf("%s %q: reason carries a control character: %q", verb, name, out)
			}
		}
	}
	fpAssertRootEmpty(t, env)
	// Nothing was even locked: a bad name never becomes a file name.
	if locks, _ := filepath.Glob(filepath.Join(env.RunDir, "lock", "*")); len(locks) > 0 {
		t.Errorf("lock files created for bad names: %v", locks)
	}
}
