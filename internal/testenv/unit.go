package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bpfunit/bpfunit/bpf"
)

// Env is a private bpfunit installation for one test: its own bpffs pin
// root, run dir, config dir and object dir, passed to bpfunit processes
// through the environment.
type Env struct {
	PinRoot   string
	RunDir    string
	ConfigDir string
	ObjectDir string
}

// NewEnv makes an Env with a fresh bpffs. Register CheckLeaks before it so
// the leak check runs after the bpffs is gone.
func NewEnv(tb testing.TB) *Env {
	tb.Helper()
	fs := TempBPFFS(tb)
	dir := tb.TempDir()
	// Objects must not be writable by group or other: t.TempDir's parent is.
	for _, d := range []string{"run", "conf", "obj"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	e := &Env{PinRoot: filepath.Join(fs, "bpfunit"), RunDir: filepath.Join(dir, "run"),
		ConfigDir: filepath.Join(dir, "conf"), ObjectDir: filepath.Join(dir, "obj")}
	// Runs before the bpffs is unmounted (which would free whatever a
	// test forgot): anything still pinned is a leak of the code under test.
	tb.Cleanup(func() {
		var left []string
		filepath.WalkDir(e.PinRoot, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				left = append(left, path)
			}
			return nil
		})
		if len(left) > 0 {
			tb.Errorf("left pinned after the test: %s", strings.Join(left, " "))
		}
	})
	return e
}

// Environ is the environment a bpfunit process needs to use e.
func (e *Env) Environ() []string {
	return append(os.Environ(),
		"BPFUNIT_PIN_ROOT="+e.PinRoot, "BPFUNIT_RUN_DIR="+e.RunDir, "BPFUNIT_CONFIG_PATH="+e.ConfigDir)
}

// Object writes the committed BPF object name (see package bpf) to the
// object dir, mode 0644, and returns its path.
func (e *Env) Object(tb testing.TB, name string) string {
	tb.Helper()
	data, err := bpf.Object(name)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(e.ObjectDir, name+".bpf.o")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Config writes NAME.bpfunit with the given text.
func (e *Env) Config(tb testing.TB, name, text string) string {
	tb.Helper()
	path := filepath.Join(e.ConfigDir, name+".bpfunit")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Oneshot runs the bpfunit-oneshot binary at bin with args in e and
// returns its stderr and exit code.
func (e *Env) Oneshot(tb testing.TB, bin string, args ...string) (string, int) {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = e.Environ()
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), ExitCode(tb, err)
}

// ExitCode is the exit status of a command that ran with error err (from
// exec.Cmd's Run, Output or CombinedOutput): 0 for nil, -1 when a signal
// killed it. It fails tb if the command could not run at all, so that a
// missing binary is never taken for an exit status.
func ExitCode(tb testing.TB, err error) int {
	tb.Helper()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		tb.Fatal(err)
	}
	return 0
}

// UnitDirEmpty reports whether nothing of unit name is pinned.
func (e *Env) UnitDirEmpty(name string) bool {
	_, err := os.Stat(filepath.Join(e.PinRoot, name))
	return os.IsNotExist(err)
}

// BuildBinary builds ./cmd/NAME of this module once per test binary and
// returns its path. The test binary's TestMain must call [Main].
func BuildBinary(tb testing.TB, pkg string) string {
	tb.Helper()
	if binDir == "" {
		tb.Fatal("testenv.BuildBinary needs TestMain to call testenv.Main")
	}
	binMu.Lock()
	defer binMu.Unlock()
	out := filepath.Join(binDir, filepath.Base(pkg))
	if _, err := os.Stat(out); err == nil {
		return out
	}
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", out, "./"+pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}

var (
	binDir string
	binMu  sync.Mutex
)

// Main is TestMain for packages that use BuildBinary: it gives the built
// binaries a directory and removes it after the tests.
func Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "bpfunit-test-bin-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
