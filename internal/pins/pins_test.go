package pins

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestLinkNameIsOneBPFFSComponent(t *testing.T) {
	for _, tc := range []struct{ program, target, want string }{
		{"xdp_count", "eth0", "xdp_count@eth0"},
		{"xdp_count", "eth0.100", `xdp_count@eth0\x2e100`},
		{"xdp_count", "ns-a/veth-b", `xdp_count@ns\x2da-veth\x2db`},
		{"cg", "system.slice", `cg@system\x2eslice`},
		{"cg", "/system.slice/nginx.service", `cg@system\x2eslice-nginx\x2eservice`},
		{"tp", "syscalls:sys_enter_getpid", "tp@syscalls:sys_enter_getpid"},
	} {
		got := LinkName(tc.program, tc.target)
		if got != tc.want {
			t.Errorf("LinkName(%q, %q) = %q, want %q", tc.program, tc.target, got, tc.want)
		}
		if strings.ContainsAny(got, "/.") {
			t.Errorf("LinkName(%q, %q) = %q: not a valid bpffs name", tc.program, tc.target, got)
		}
		if Program(got) != tc.program {
			t.Errorf("Program(%q) = %q", got, Program(got))
		}
	}
}

// TestDottedNamesOnBPFFS pins nothing but creates the directories a unit
// with dots in its name needs, on a real bpffs, which refuses raw dots.
func TestDottedNamesOnBPFFS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount bpffs")
	}
	dir := t.TempDir()
	if err := unix.Mount("bpf", dir, "bpf", 0, ""); err != nil {
		t.Fatalf("mount bpffs: %v", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	root := Root(filepath.Join(dir, "bpfunit"))
	if err := root.Check(); err != nil {
		t.Fatal(err)
	}
	u := root.Unit("eth0.100")
	if err := os.MkdirAll(u.Links(), 0o700); err != nil {
		t.Fatalf("create links dir of a dotted unit: %v", err)
	}
	names, err := root.Units()
	if err != nil || !slices.Equal(names, []string{"eth0.100"}) {
		t.Fatalf("Units() = %v, %v; want [eth0.100]", names, err)
	}
	for _, p := range []string{u.Links(), u.Dir()} {
		if err := root.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := root.Remove(dir); err == nil {
		t.Fatal("Remove of the bpffs itself, outside the root, succeeded")
	}
}
