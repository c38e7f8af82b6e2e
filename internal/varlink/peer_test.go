package varlink

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// envPeerSocket makes the test binary a Varlink client instead of running
// tests: TestUnprivilegedPeer runs it as another user.
const envPeerSocket = "VARLINK_TEST_PEER_SOCKET"

// envPeerLimit makes the client open more connections than allowed.
const envPeerLimit = "VARLINK_TEST_PEER_LIMIT"

func TestMain(m *testing.M) {
	if path := os.Getenv(envPeerSocket); path != "" {
		os.Exit(peerMain(path))
	}
	os.Exit(m.Run())
}

// peerMain reads, then tries every change, and prints what came back: one
// line per call, "ok" or the error's name.
func peerMain(path string) int {
	c, err := Dial(context.Background(), path)
	if err != nil {
		println(err.Error())
		return 1
	}
	defer c.Close()
	ctx := context.Background()
	if os.Getenv(envPeerLimit) != "" {
		// Connections beyond the per-uid bound are closed at once.
		var extra []*Client
		for range 3 {
			e, err := Dial(ctx, path)
			if err != nil {
				println(err.Error())
				return 1
			}
			defer e.Close()
			extra = append(extra, e)
		}
		for i, e := range extra {
			res := "ok"
			if err := e.Call(ctx, "org.varlink.service.GetInfo", nil, nil); err != nil {
				res = "closed"
			}
			os.Stdout.WriteString(fmt.Sprintf("conn%d %s\n", i+2, res))
		}
		return 0
	}
	for _, call := range []struct {
		method string
		params map[string]string
	}{
		{"ListUnits", nil},
		{"GetUnit", map[string]string{"name": "demo"}},
		{"Start", map[string]string{"name": "demo"}},
		{"Stop", map[string]string{"name": "demo"}},
		{"Reload", map[string]string{"name": "demo"}},
		{"Detach", map[string]string{"name": "demo", "link": "xdp_count@eth0"}},
		{"Replace", map[string]string{"name": "demo", "program": "xdp_count", "path": "/etc/shadow"}},
	} {
		res := "ok"
		if err := c.Call(ctx, ManagerInterface+"."+call.method, call.params, nil); err != nil {
			res = err.Error()
			if ve, ok := err.(*Error); ok {
				res = ve.Name
			}
		}
		os.Stdout.WriteString(call.method + " " + res + "\n")
	}
	return 0
}

func TestUnprivilegedPeer(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	b := newRecorder()
	path := serve(t, b, nil)
	out := runAsNobody(t, path)
	want := strings.Join([]string{
		"ListUnits ok", "GetUnit ok",
		"Start " + ErrPermissionDenied, "Stop " + ErrPermissionDenied, "Reload " + ErrPermissionDenied,
		"Detach " + ErrPermissionDenied, "Replace " + ErrPermissionDenied,
	}, "\n")
	if got := strings.TrimSpace(out); got != want {
		t.Fatalf("as uid 65534:\n%s\nwant:\n%s", got, want)
	}
	if got := strings.Join(b.got(), ","); got != "ListUnits,GetUnit demo" {
		t.Fatalf("backend saw %s, want only the reads", got)
	}
}

func TestPeerConnectionLimit(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	path := serve(t, newRecorder(), func(s *Server) { s.MaxConnsPerUID = 2 })
	out := runAsNobody(t, path, envPeerLimit+"=1")
	// The first connection and one more are served; two more are closed.
	if got := strings.TrimSpace(out); got != "conn2 ok\nconn3 closed\nconn4 closed" {
		t.Fatalf("uid 65534 with 4 connections, 2 allowed:\n%s", got)
	}
}

// runAsNobody runs this test binary as a client of the socket at path, as
// uid 65534, and returns its output.
func runAsNobody(t *testing.T, path string, env ...string) string {
	t.Helper()
	// The socket's directory and the binary must be reachable by nobody.
	if err := os.Chmod(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "peer")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	// t.TempDir's directories are 0700.
	for _, d := range []string{filepath.Dir(bin), filepath.Dir(filepath.Dir(bin))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin)
	cmd.Env = append(append(os.Environ(), envPeerSocket+"="+path), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("peer as uid 65534: %v\n%s", err, out)
	}
	return string(out)
}
