package loader

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// netnsDir is where `ip netns` keeps its namespaces.
const netnsDir = "/run/netns"

// inNetns runs fn on a thread that has joined the named network namespace
// (an `ip netns` name). Interface indexes and XDP/tcx attachments resolve in
// the caller's namespace, so attaching inside one means being inside it.
// An empty name runs fn where we are.
func inNetns(name string, fn func() error) error {
	if name == "" {
		return fn()
	}
	target, err := os.Open(filepath.Join(netnsDir, name))
	if err != nil {
		return fmt.Errorf("open network namespace %q: %w", name, err)
	}
	defer target.Close()

	runtime.LockOSThread()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open own network namespace: %w", err)
	}
	defer self.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter network namespace %q: %w", name, err)
	}
	fnErr := fn()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: the runtime then throws it away instead
		// of reusing a thread that sits in the wrong namespace.
		return fmt.Errorf("return from network namespace %q: %w", name, err)
	}
	runtime.UnlockOSThread()
	return fnErr
}

// netnsTarget is the target of an interface attachment: "eth0", or
// "NETNS/eth0" inside a named network namespace.
func netnsTarget(netns, iface string) string {
	if netns == "" {
		return iface
	}
	return netns + "/" + iface
}

// ifindex must run inside the interface's namespace.
func ifindex(name, netns string) (int, error) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		where := "this network namespace"
		if netns != "" {
			where = "network namespace " + netns
		}
		return 0, fmt.Errorf("interface %s not found in %s", name, where)
	}
	return ifc.Index, nil
}
