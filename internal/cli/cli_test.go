package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/state"
	"github.com/bpfunit/bpfunit/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// run runs bin with args in env and returns stdout, stderr and the exit code.
func run(t *testing.T, env *testenv.Env, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env.Environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := testenv.ExitCode(t, cmd.Run())
	return stdout.String(), strings.TrimSpace(stderr.String()), code
}

func mustRun(t *testing.T, env *testenv.Env, bin string, args ...string) string {
	t.Helper()
	out, errOut, code := run(t, env, bin, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d: %s", filepath.Base(bin), strings.Join(args, " "), code, errOut)
	}
	return out
}

func xdpConfig(obj string, pair *testenv.Pair) string {
	return fmt.Sprintf(`[Unit]
Description=CLI test counter
[Object]
Path=%s
PinMaps=yes
[Attach]
Program=xdp_count
Interface=%s
Namespace=%s
Mode=generic
`, obj, pair.IfB, pair.NsB)
}

// TestListStatusStarted checks list and status, as tables and as JSON, on
// a unit started by the oneshot, against the state file and the kernel.
func TestListStatusStarted(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	cli := testenv.BuildBinary(t, "cmd/bpfunit")
	obj := env.Object(t, "xdp_counter")
	cfg := env.Config(t, "clitest", xdpConfig(obj, pair))
	env.Config(t, "idle", xdpConfig(obj, pair)) // configured, never started

	if out, code := env.Oneshot(t, oneshot, "start", "clitest"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, out)
	}
	t.Cleanup(func() { env.Oneshot(t, oneshot, "stop", "clitest") })
	st, err := state.Read(env.RunDir, "clitest")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Links) != 1 {
		t.Fatalf("state has %d links, want 1", len(st.Links))
	}
	want := st.Links[0]

	t.Run("list-json", func(t *testing.T) {
		var units []manager.Status
		if err := json.Unmarshal([]byte(mustRun(t, env, cli, "list", "--json")), &units); err != nil {
			t.Fatalf("list --json: %v", err)
		}
		if len(units) != 2 || units[0].Name != "clitest" || units[1].Name != "idle" {
			t.Fatalf("list --json: units %+v, want clitest and idle", units)
		}
		u := units[0]
		if u.State != manager.StateAttached || u.Config != cfg || u.Description != "CLI test counter" || u.ObjectPath != obj {
			t.Errorf("list --json: clitest is %+v", u)
		}
		if len(u.Links) != 1 || u.Links[0].LinkID != want.LinkID || !u.Links[0].Alive {
			t.Errorf("list --json: clitest links %+v, want link %d alive", u.Links, want.LinkID)
		}
		if units[1].State != manager.StateNotStarted || len(units[1].Links) != 0 {
			t.Errorf("list --json: idle is %+v", units[1])
		}
	})

	t.Run("list", func(t *testing.T) {
		out := mustRun(t, env, cli, "list")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 5 || !strings.HasPrefix(lines[0], "UNIT") {
			t.Fatalf("list: %q", out)
		}
		if f := strings.Fields(lines[1]); len(f) != 4 || f[0] != "clitest" || f[1] != "attached" || f[2] != "1" || f[3] != cfg {
			t.Errorf("list: clitest row %q", lines[1])
		}
		if f := strings.Fields(lines[2]); len(f) != 4 || f[0] != "idle" || f[1] != "not-started" || f[2] != "0" {
			t.Errorf("list: idle row %q", lines[2])
		}
		if lines[4] != "2 units listed." {
			t.Errorf("list: footer %q", lines[4])
		}
	})

	t.Run("status-json", func(t *testing.T) {
		var s manager.Status
		if err := json.Unmarshal([]byte(mustRun(t, env, cli, "status", "--json", "clitest")), &s); err != nil {
			t.Fatalf("status --json: %v", err)
		}
		if s.Name != "clitest" || s.State != manager.StateAttached || s.Config != cfg || s.ObjectPath != obj ||
			s.ConfigDigest != st.ConfigDigest || s.ObjectDigest != st.ObjectDigest || !s.Started.Equal(st.Started) {
			t.Errorf("status --json: %+v, state %+v", s, st)
		}
		if len(s.Links) != 1 {
			t.Fatalf("status --json: links %+v", s.Links)
		}
		l := s.Links[0]
		if l.Pin != want.Pin || l.Program != "xdp_count" || l.Type != "xdp" || l.Target != pair.NsB+"/"+pair.IfB ||
			l.LinkID != want.LinkID || l.ProgID != want.ProgID || l.ProgName != "xdp_count" || l.ProgTag != want.ProgTag || !l.Alive {
			t.Errorf("status --json: link %+v, state %+v", l, want)
		}
		maps := map[string]manager.MapStatus{}
		for _, m := range s.Maps {
			maps[m.Name] = m
		}
		m, ok := maps["xdp_stats"]
		if !ok || m.ID == 0 || m.Type != "Array" || m.KeySize != 4 || m.ValueSize != 8 || m.MaxEntries != 2 ||
			m.Pin != filepath.Join(env.PinRoot, "clitest", "maps", "xdp_stats") {
			t.Errorf("status --json: maps %+v", s.Maps)
		}
	})

	t.Run("status", func(t *testing.T) {
		out := mustRun(t, env, cli, "status", "clitest")
		for _, w := range []string{
			"● clitest - CLI test counter",
			"State: attached",
			"Config: " + cfg,
			"Object: " + obj,
			fmt.Sprintf("Links: %s xdp xdp_count -> %s/%s link %d prog %d tag %s\n", filepath.Base(want.Pin), pair.NsB, pair.IfB, want.LinkID, want.ProgID, want.ProgTag),
			"Maps: xdp_stats id ",
		} {
			if !strings.Contains(out, w) {
				t.Errorf("status: output lacks %q:\n%s", w, out)
			}
		}
		if strings.Contains(out, "(dead)") {
			t.Errorf("status: a link shows dead:\n%s", out)
		}
	})

	t.Run("status-bad-name", func(t *testing.T) {
		_, errOut, code := run(t, env, cli, "status", "../clitest")
		if code == 0 || !strings.Contains(errOut, "invalid unit name") || strings.Contains(errOut, "\n") {
			t.Errorf("status ../clitest: exit %d: %q", code, errOut)
		}
	})

	if out, code := env.Oneshot(t, oneshot, "stop", "clitest"); code != 0 {
		t.Fatalf("stop: exit %d: %s", code, out)
	}
	var s manager.Status
	if err := json.Unmarshal([]byte(mustRun(t, env, cli, "status", "--json", "clitest")), &s); err != nil {
		t.Fatal(err)
	}
	if s.State != manager.StateNotStarted || len(s.Links) != 0 || len(s.Maps) != 0 {
		t.Errorf("status after stop: %+v", s)
	}

	// A corrupt state file: status and list say broken, why, and which file.
	stateFile := filepath.Join(env.RunDir, "state", "idle.json")
	if err := os.WriteFile(stateFile, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(stateFile)
	out := mustRun(t, env, cli, "status", "idle")
	for _, w := range []string{"State: broken", "Reason: state file " + stateFile + ": corrupt: "} {
		if !strings.Contains(out, w) {
			t.Errorf("status with a corrupt state file lacks %q:\n%s", w, out)
		}
	}
	out = mustRun(t, env, cli, "list")
	if !strings.Contains(out, "idle: state file "+stateFile) {
		t.Errorf("list with a corrupt state file does not name it:\n%s", out)
	}
}

// TestVerify: verify loads into the kernel and unloads again; it never
// attaches or pins, prints the verifier's reason for a bad program and
// exits non-zero, and works on a file outside the search path.
func TestVerify(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	cli := testenv.BuildBinary(t, "cmd/bpfunit")
	obj := env.Object(t, "xdp_counter")
	bad := env.Object(t, "bad")
	env.Config(t, "good", xdpConfig(obj, pair))
	before, err := testenv.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	nothingLoaded := func(t *testing.T) {
		t.Helper()
		// Programs and maps go away asynchronously; links never exist.
		now, err := testenv.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if l := now.Since(before).Links; len(l) != 0 {
			t.Errorf("verify left links: %v", l)
		}
		if ents, _ := os.ReadDir(env.PinRoot); len(ents) != 0 {
			t.Errorf("verify pinned something under %s", env.PinRoot)
		}
		if ents, _ := os.ReadDir(filepath.Join(env.RunDir, "state")); len(ents) != 0 {
			t.Errorf("verify wrote state")
		}
	}

	t.Run("name", func(t *testing.T) {
		out := mustRun(t, env, cli, "verify", "good")
		if !strings.Contains(out, ": OK ("+obj+")") || !strings.Contains(out, "would attach xdp xdp_count to "+pair.NsB+"/"+pair.IfB) {
			t.Errorf("verify good: %q", out)
		}
		var res manager.VerifyResult
		if err := json.Unmarshal([]byte(mustRun(t, env, cli, "verify", "--json", "good")), &res); err != nil {
			t.Fatal(err)
		}
		if res.Unit != "good" || res.Object != obj || len(res.Programs) != 1 || res.Programs[0] != "xdp_count" ||
			len(res.Attach) != 1 || res.Attach[0] != "xdp xdp_count to "+pair.NsB+"/"+pair.IfB {
			t.Errorf("verify --json good: %+v", res)
		}
		nothingLoaded(t)
	})

	// A file outside the search path, with a drop-in beside it.
	outside := filepath.Join(t.TempDir(), "elsewhere.bpfunit")
	if err := os.WriteFile(outside, []byte(xdpConfig(obj, pair)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(outside+".d", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside+".d", "v2.conf"), []byte("[Attach]\nProgram=xdp_count_v2\nInterface="+pair.IfA+"\nNamespace="+pair.NsA+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("file-outside-search-path", func(t *testing.T) {
		out := mustRun(t, env, cli, "verify", outside)
		if !strings.HasPrefix(out, outside+": OK ("+obj+")") || !strings.Contains(out, "would attach xdp xdp_count_v2 to "+pair.NsA+"/"+pair.IfA) {
			t.Errorf("verify %s: %q", outside, out)
		}
		var res manager.VerifyResult
		if err := json.Unmarshal([]byte(mustRun(t, env, cli, "verify", "--json", outside)), &res); err != nil {
			t.Fatal(err)
		}
		if res.Unit != "elsewhere" || len(res.Attach) != 2 || len(res.Programs) != 2 {
			t.Errorf("verify --json %s: %+v", outside, res)
		}
		// By name it is not found: it isn't on the search path.
		_, errOut, code := run(t, env, cli, "verify", "elsewhere")
		if code == 0 || !strings.Contains(errOut, "not found") {
			t.Errorf("verify elsewhere (by name): exit %d: %q", code, errOut)
		}
		nothingLoaded(t)
	})

	t.Run("verifier-rejects", func(t *testing.T) {
		badCfg := filepath.Join(t.TempDir(), "rejected.bpfunit")
		text := fmt.Sprintf("[Object]\nPath=%s\n[Attach]\nProgram=xdp_bad\nInterface=%s\nNamespace=%s\n", bad, pair.IfB, pair.NsB)
		if err := os.WriteFile(badCfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"verify", badCfg}, {"verify", "--json", badCfg}} {
			out, errOut, code := run(t, env, cli, args...)
			if code == 0 {
				t.Errorf("%s: exit 0: %s", strings.Join(args, " "), out)
			}
			if out != "" {
				t.Errorf("%s: printed on stdout: %q", strings.Join(args, " "), out)
			}
			if strings.Contains(errOut, "\n") {
				t.Errorf("%s: reason is not one line: %q", strings.Join(args, " "), errOut)
			}
			for _, w := range []string{"bpfunit: ", "load program xdp_bad: verifier rejected it", "invalid access to packet", "R1"} {
				if !strings.Contains(errOut, w) {
					t.Errorf("%s: reason %q lacks %q", strings.Join(args, " "), errOut, w)
				}
			}
		}
		// The good program of the same object verifies.
		okCfg := filepath.Join(t.TempDir(), "fine.bpfunit")
		if err := os.WriteFile(okCfg, []byte(strings.Replace(text, "xdp_bad", "xdp_ok", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		mustRun(t, env, cli, "verify", okCfg)
		nothingLoaded(t)
	})

	t.Run("config-error", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "typo.bpfunit")
		if err := os.WriteFile(cfg, []byte("[Object]\nPath="+obj+"\nPinMap=yes\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, errOut, code := run(t, env, cli, "verify", cfg)
		if code == 0 || errOut != "bpfunit: "+cfg+":3: [Object] PinMap=: unknown key; accepted keys: Path, PinMaps, KeepMaps, Constant, ShareMap (and X-*)" {
			t.Errorf("verify %s: exit %d: %q", cfg, code, errOut)
		}
	})
}
