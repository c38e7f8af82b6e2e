package manager_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

// TestNetfilterLifecycle attaches a netfilter counter to IPv4 LOCAL_IN of a
// test netns (Namespace=, so the hook is that namespace's, not the
// host's), lets the oneshot exit, proves it counts pings into the netns,
// then stops it and proves it no longer runs and nothing is left.
func TestNetfilterLifecycle(t *testing.T) {
	testenv.CheckLeaks(t)
	testenv.NeedNetfilterLink(t)
	env := testenv.NewEnv(t)
	pair := testenv.NetnsPair(t)
	oneshot := testenv.BuildBinary(t, "cmd/bpfunit-oneshot")
	obj := env.Object(t, "netfilter_counter")
	env.Config(t, "nf", fmt.Sprintf(`[Object]
Path=%s
PinMaps=yes
[Attach]
Program=nf_count
Type=netfilter
Family=ipv4
Hook=input
Namespace=%s
`, obj, pair.NsB))

	mustStart(t, env, oneshot, "nf")
	links := unitLinks(t, env, "nf")
	stats := openMap(t, filepath.Join(env.PinRoot, "nf", "maps", "nf_stats"))
	if got := pair.Ping(t, 5); got != 5 {
		t.Fatalf("ping through the netfilter program: %d of 5 replies", got)
	}
	pkts, bytes := counter(t, stats, 0), counter(t, stats, 1)
	// 5 echo requests of 84 bytes (IP header + ICMP + 56 bytes of data).
	if pkts < 5 || bytes < 5*84 {
		t.Fatalf("nf_stats = %d packets, %d bytes; want >= 5 packets, >= %d bytes", pkts, bytes, 5*84)
	}

	stopAndCheck(t, env, oneshot, "nf", links)
	pkts = counter(t, stats, 0)
	if got := pair.Ping(t, 3); got != 3 {
		t.Fatalf("ping after stop: %d of 3 replies", got)
	}
	if now := counter(t, stats, 0); now != pkts {
		t.Fatalf("netfilter program still runs after stop: %d -> %d packets", pkts, now)
	}
}
