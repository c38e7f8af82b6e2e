package oneshot_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfunit/bpfunit/internal/oneshot"
	"github.com/bpfunit/bpfunit/internal/testenv"
)

// runMain runs oneshot.Main in-process and returns its stderr and status.
func runMain(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var stderr bytes.Buffer
	code := oneshot.Main(context.Background(), args, &stderr)
	return strings.TrimSpace(stderr.String()), code
}

// oneLine fails t unless out is exactly one line.
func oneLine(t *testing.T, out string) {
	t.Helper()
	if out == "" || strings.ContainsAny(out, "\r\n") {
		t.Errorf("want exactly one line on stderr, got %q", out)
	}
}

// TestUsage: wrong argument counts and verbs exit 2 with one line, before
// anything is touched.
func TestUsage(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BPFUNIT_PIN_ROOT", filepath.Join(dir, "pins"))
	t.Setenv("BPFUNIT_RUN_DIR", filepath.Join(dir, "run"))
	t.Setenv("BPFUNIT_CONFIG_PATH", filepath.Join(dir, "conf"))
	for _, args := range [][]string{
		nil, {"start"}, {"start", "a", "b"}, {"frobnicate", "a"}, {"START", "a"}, {"--help"}, {"start\nx", "a"},
	} {
		out, code := runMain(t, args...)
		if code != oneshot.ExitUsage {
			t.Errorf("%q: exit %d, want %d: %s", args, code, oneshot.ExitUsage, out)
		}
		oneLine(t, out)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("usage errors created files: %v", ents)
	}
}

// TestExitCodes checks the documented exit status of each kind of failure
// that needs no kernel object, and that the reason is the one line on
// stderr.
func TestExitCodes(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	t.Setenv("BPFUNIT_PIN_ROOT", env.PinRoot)
	t.Setenv("BPFUNIT_RUN_DIR", env.RunDir)
	t.Setenv("BPFUNIT_CONFIG_PATH", env.ConfigDir)
	obj := env.Object(t, "xdp_counter")
	attach := "[Attach]\nProgram=xdp_count\nInterface=bfnone0\n"

	env.Config(t, "noobject", fmt.Sprintf("[Object]\nPath=%s.missing\n%s", obj, attach))
	env.Config(t, "badkey", fmt.Sprintf("[Object]\nPath=%s\nPinMap=yes\n%s", obj, attach))
	env.Config(t, "noprog", fmt.Sprintf("[Object]\nPath=%s\n[Attach]\nProgram=nope\nInterface=bfnone0\n", obj))
	if err := os.Symlink("/dev/null", filepath.Join(env.ConfigDir, "masked.bpfunit")); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"start", "unconfigured"}, oneshot.ExitNotConfigured, "not found"},
		{[]string{"start", "masked"}, oneshot.ExitNotConfigured, "masked"},
		{[]string{"start", "badkey"}, oneshot.ExitNotConfigured, "badkey.bpfunit:3: [Object] PinMap=: unknown key"},
		{[]string{"start", "noprog"}, oneshot.ExitNotConfigured, "noprog.bpfunit:3: [Attach] Program=nope: not found in"},
		{[]string{"start", "noobject"}, oneshot.ExitNotInstalled, "no such file or directory"},
		{[]string{"start", "a/b"}, oneshot.ExitUsage, "invalid unit name"},
		{[]string{"stop", "a\nb"}, oneshot.ExitUsage, `stop "a\nb": invalid unit name`},
		// Stopping what was never started (or configured) is success.
		{[]string{"stop", "unconfigured"}, oneshot.ExitOK, ""},
		{[]string{"stop", "masked"}, oneshot.ExitOK, ""},
		{[]string{"stop", "noobject"}, oneshot.ExitOK, ""},
	} {
		out, code := runMain(t, tc.args...)
		if code != tc.code {
			t.Errorf("%q: exit %d, want %d: %s", tc.args, code, tc.code, out)
		}
		if tc.want == "" {
			continue
		}
		oneLine(t, out)
		if !strings.HasPrefix(out, "bpfunit-oneshot: "+tc.args[0]+" ") || !strings.Contains(out, tc.want) {
			t.Errorf("%q: reason %q, want it to contain %q", tc.args, out, tc.want)
		}
	}
	for _, n := range []string{"unconfigured", "masked", "badkey", "noprog", "noobject"} {
		if !env.UnitDirEmpty(n) {
			t.Errorf("unit %s: pins left", n)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(env.RunDir, "state")); len(ents) != 0 {
		t.Errorf("state files left: %v", ents)
	}
}

// TestPinRootNotBPFFS: a pin root that is not on a bpffs is refused with
// the command that fixes it, and nothing is created there.
func TestPinRootNotBPFFS(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	notBPF := filepath.Join(t.TempDir(), "bpfunit")
	t.Setenv("BPFUNIT_PIN_ROOT", notBPF)
	t.Setenv("BPFUNIT_RUN_DIR", env.RunDir)
	t.Setenv("BPFUNIT_CONFIG_PATH", env.ConfigDir)
	env.Config(t, "x", fmt.Sprintf("[Object]\nPath=%s\n[Attach]\nProgram=xdp_count\nInterface=bfnone0\n", env.Object(t, "xdp_counter")))
	out, code := runMain(t, "start", "x")
	if code != oneshot.ExitFailure {
		t.Errorf("exit %d, want %d: %s", code, oneshot.ExitFailure, out)
	}
	oneLine(t, out)
	if !strings.Contains(out, "not on a bpf filesystem") || !strings.Contains(out, "mount -t bpf bpf "+filepath.Dir(notBPF)) {
		t.Errorf("reason %q does not say how to mount a bpffs", out)
	}
	if _, err := os.Stat(notBPF); !os.IsNotExist(err) {
		t.Errorf("pin root created on a non-bpffs: %v", err)
	}
}
