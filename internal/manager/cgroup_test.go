package manager_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestCgroupLifecycle attaches cgroup_skb egress and ingress counters to a
// test cgroup with the oneshot, lets it exit, proves they count the
// packets of a ping running inside that cgroup (in a test netns), then
// stops the unit and proves they no longer run and nothing is left.
func TestCgroupLifecycle(t *testing.T) {
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	cg := testenv.TestCgroup(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "cgroup_counter")
	env.Config(t, "cg", fmt.Sprintf(`[Object]
Path=%s
PinMaps=yes
[Attach]
Program=cgroup_egress
Type=cgroup
Cgroup=%s
[Attach]
Program=cgroup_ingress
Type=cgroup
Cgroup=%s
`, obj, cg, cg))

	mustStart(t, env, oneshot, "cg")
	links := unitLinks(t, env, "cg")
	if len(links) != 2 {
		t.Fatalf("%d links pinned, want 2 (egress, ingress)", len(links))
	}
	stats := openMap(t, filepath.Join(env.PinRoot, "cg", "maps", "cgroup_stats"))
	// Traffic from outside the cgroup is not counted.
	if got := pair.Ping(t, 3); got != 3 {
		t.Fatalf("ping from outside the cgroup: %d of 3 replies", got)
	}
	if e, i := counter(t, stats, 0), counter(t, stats, 1); e != 0 || i != 0 {
		t.Fatalf("cgroup_stats = egress %d, ingress %d for traffic outside the cgroup; want 0", e, i)
	}
	if got := pingInCgroup(t, cg, pair, 5); got != 5 {
		t.Fatalf("ping in the cgroup: %d of 5 replies", got)
	}
	// 5 echo requests out, 5 replies in, all of the ping's socket.
	egress, ingress := counter(t, stats, 0), counter(t, stats, 1)
	if egress < 5 || ingress < 5 {
		t.Fatalf("cgroup_stats = egress %d, ingress %d; want >= 5 each", egress, ingress)
	}

	stopAndCheck(t, env, oneshot, "cg", links)
	if got := pingInCgroup(t, cg, pair, 3); got != 3 {
		t.Fatalf("ping in the cgroup after stop: %d of 3 replies", got)
	}
	if e, i := counter(t, stats, 0), counter(t, stats, 1); e != egress || i != ingress {
		t.Fatalf("cgroup programs still run after stop: egress %d -> %d, ingress %d -> %d", egress, e, ingress, i)
	}
}

// pingInCgroup runs ping from pair's namespace A to B in a process that
// first moves itself into cgroup cg, and returns how many replies came back.
func pingInCgroup(t *testing.T, cg string, pair *testenv.Pair, count int) int {
	t.Helper()
	script := fmt.Sprintf(`echo $$ > %s/cgroup.procs && exec ip netns exec %s ping -q -c %d -i 0.01 -W 1 %s`,
		cg, pair.NsA, count, pair.IPB)
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	var sent, recv int
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "packets transmitted") {
			fmt.Sscanf(strings.TrimSpace(line), "%d packets transmitted, %d received", &sent, &recv)
		}
	}
	if sent == 0 {
		t.Fatalf("ping in cgroup %s: %v: %s", cg, err, out)
	}
	return recv
}
