package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/pins"
	"github.com/bpfunit/bpfunit/internal/service"
	"github.com/bpfunit/bpfunit/internal/testenv"
	"github.com/bpfunit/bpfunit/internal/varlink"
)

// TestHelperVerbsOverVarlink runs detach, replace and monitor of the real
// CLI against the real Varlink server over the real service and manager,
// on a unit the oneshot started, in the real kernel. (start, stop and
// reload go through systemd: the testbed tests them.)
func TestHelperVerbsOverVarlink(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	cli := testenv.BuildBinary(t, "cmd/bpfunit")
	obj := env.Object(t, "xdp_counter")
	// Two links: detach removes one, the other stays.
	env.Config(t, "clitest", xdpConfig(obj, pair)+fmt.Sprintf("[Attach]\nProgram=xdp_count\nInterface=lo\nNamespace=%s\nMode=generic\n", pair.NsB))
	if out, code := env.Oneshot(t, oneshot, "start", "clitest"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, out)
	}
	t.Cleanup(func() { env.Oneshot(t, oneshot, "stop", "clitest") })

	m := &manager.Manager{Root: pins.Root(env.PinRoot), RunDir: env.RunDir, ConfigDirs: []string{env.ConfigDir}, Log: slog.New(slog.DiscardHandler)}
	svc := service.New(m, nil)
	t.Cleanup(svc.Close)
	sock := filepath.Join(t.TempDir(), "io.bpfunit.Manager")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := varlink.Start(ctx, ln, svc, nil)
	t.Cleanup(func() {
		cancel()
		if err := srv.Wait(); err != nil {
			t.Error(err)
		}
	})
	environ := append(env.Environ(), "BPFUNIT_VARLINK_SOCKET="+sock)
	runCLI := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(cli, append([]string{"--transport=varlink"}, args...)...)
		cmd.Env = environ
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		code := testenv.ExitCode(t, cmd.Run())
		return stdout.String(), strings.TrimSpace(stderr.String()), code
	}
	status := func() *manager.Status {
		t.Helper()
		st, err := m.Status(context.Background(), "clitest")
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	// monitor, as a script would run it.
	mon := exec.Command(cli, "--transport=varlink", "--json", "monitor")
	mon.Env = environ
	monOut, _ := mon.StdoutPipe()
	monErr, _ := mon.StderrPipe()
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mon.Process.Kill(); mon.Wait() })
	banner, err := bufio.NewReader(monErr).ReadString('\n')
	if err != nil || !strings.Contains(banner, "Monitoring unit changes (varlink)") {
		t.Fatalf("monitor: %q, %v", banner, err)
	}
	changes := make(chan map[string]any, 16)
	go func() {
		sc := bufio.NewScanner(monOut)
		for sc.Scan() {
			var c map[string]any
			if json.Unmarshal(sc.Bytes(), &c) == nil {
				changes <- c
			}
		}
	}()
	waitChange := func(what string) {
		t.Helper()
		for {
			select {
			case c := <-changes:
				if c["unit"] == "clitest" {
					return
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("monitor printed no change of clitest after %s", what)
			}
		}
	}

	before := status()
	if len(before.Links) != 2 {
		t.Fatalf("started with links %+v, want 2", before.Links)
	}
	keep, drop := before.Links[0], before.Links[1]
	if strings.HasSuffix(keep.Pin, "lo") {
		keep, drop = drop, keep
	}

	t.Run("detach", func(t *testing.T) {
		out, errOut, code := runCLI("--json", "detach", "clitest", filepath.Base(drop.Pin))
		if code != 0 {
			t.Fatalf("detach: exit %d: %s", code, errOut)
		}
		var res map[string]string
		if json.Unmarshal([]byte(out), &res) != nil || res["link"] != filepath.Base(drop.Pin) {
			t.Fatalf("detach --json: %q", out)
		}
		waitChange("detach")
		st := status()
		alive := 0
		for _, l := range st.Links {
			if l.Alive && !l.Detached {
				alive++
				if l.LinkID != keep.LinkID {
					t.Errorf("link %d left, want %d", l.LinkID, keep.LinkID)
				}
			}
		}
		if alive != 1 {
			t.Fatalf("after detach: links %+v, want only %s", st.Links, keep.Pin)
		}
		if n := pair.Ping(t, 5); n != 5 {
			t.Fatalf("ping through the remaining link: %d of 5", n)
		}
	})

	t.Run("replace", func(t *testing.T) {
		out, errOut, code := runCLI("--json", "replace", "clitest", "xdp_count", obj)
		if code != 0 {
			t.Fatalf("replace: exit %d: %s", code, errOut)
		}
		var res struct {
			ProgID uint32 `json:"prog_id"`
		}
		if json.Unmarshal([]byte(out), &res) != nil || res.ProgID == 0 || res.ProgID == keep.ProgID {
			t.Fatalf("replace --json: %q (old program %d)", out, keep.ProgID)
		}
		waitChange("replace")
		for _, l := range status().Links {
			if l.LinkID == keep.LinkID && l.ProgID != res.ProgID {
				t.Fatalf("link %d runs program %d, want %d", l.LinkID, l.ProgID, res.ProgID)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "missing.o")
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"detach", "clitest", "nosuch@eth9"}, varlink.ErrNoSuchLink},
			{[]string{"detach", "nounit", "x"}, varlink.ErrNoSuchUnit},
			{[]string{"detach", "../x", "x"}, varlink.ErrInvalidParameter},
			{[]string{"replace", "clitest", "nosuch", obj}, varlink.ErrNoSuchProgram},
			{[]string{"replace", "clitest", "xdp_count", "/dev/zero"}, varlink.ErrInvalidObject},
			{[]string{"replace", "clitest", "xdp_count", "/etc/hostname"}, varlink.ErrInvalidObject},
			{[]string{"replace", "clitest", "xdp_count", missing}, "no such file"},
		} {
			_, errOut, code := runCLI(tc.args...)
			if code == 0 || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 0 || !strings.HasPrefix(errOut, "bpfunit: ") {
				t.Errorf("%s: exit %d, stderr %q; want one line naming %s", strings.Join(tc.args, " "), code, errOut, tc.want)
			}
		}
		// Nothing changed by the failures.
		for _, l := range status().Links {
			if l.LinkID == keep.LinkID && !l.Alive {
				t.Fatalf("link %d dead after failed calls", l.LinkID)
			}
		}
	})
}
