package testbed

import (
	"fmt"
	"strings"
	"testing"
)

// Pair is two network namespaces inside a testbed joined by a veth pair:
// A (Subnet.1 on IfA) and B (Subnet.2 on IfB). Test traffic stays inside
// them.
type Pair struct {
	NsA, NsB, IfA, IfB, IPA, IPB string
}

// NetnsPair creates a Pair inside the testbed (ip netns, as an
// administrator would) and deletes both namespaces, and with them the
// veths, at cleanup, before the testbed powers off. The namespaces are
// PREFIX-TAG-a and PREFIX-TAG-b, the interfaces veth-TAGa and veth-TAGb,
// the addresses SUBNET.1/24 and SUBNET.2/24 (SUBNET: three octets, e.g.
// "10.197.1"): each test passes its own, so that pairs never collide.
func (t *Testbed) NetnsPair(tb testing.TB, prefix, tag, subnet string) *Pair {
	tb.Helper()
	p := &Pair{
		NsA: prefix + "-" + tag + "-a", NsB: prefix + "-" + tag + "-b",
		IfA: "veth-" + tag + "a", IfB: "veth-" + tag + "b",
		IPA: subnet + ".1", IPB: subnet + ".2",
	}
	for _, ns := range []string{p.NsA, p.NsB} {
		t.MustRun(tb, "ip", "netns", "add", ns)
		tb.Cleanup(func() { t.Run("ip", "netns", "del", ns) })
	}
	t.MustRun(tb, "ip", "-n", p.NsA, "link", "add", p.IfA, "type", "veth", "peer", "name", p.IfB, "netns", p.NsB)
	t.MustRun(tb, "ip", "-n", p.NsA, "addr", "add", p.IPA+"/24", "dev", p.IfA)
	t.MustRun(tb, "ip", "-n", p.NsB, "addr", "add", p.IPB+"/24", "dev", p.IfB)
	for _, c := range [][2]string{{p.NsA, p.IfA}, {p.NsB, p.IfB}} {
		t.MustRun(tb, "ip", "-n", c[0], "link", "set", c[1], "up")
		t.MustRun(tb, "ip", "-n", c[0], "link", "set", "lo", "up")
	}
	return p
}

// Ping sends count echoes from A to B inside testbed t and returns how many
// came back. It fails tb if ping did not send all count: a lost echo must
// be the network's doing, not ping's.
func (p *Pair) Ping(tb testing.TB, t *Testbed, count int) int {
	tb.Helper()
	out, _ := t.Run("ip", "netns", "exec", p.NsA, "ping", "-q", "-c", fmt.Sprint(count), "-i", "0.01", "-W", "1", p.IPB)
	var sent, recv int
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "packets transmitted") {
			fmt.Sscanf(strings.TrimSpace(line), "%d packets transmitted, %d received", &sent, &recv)
		}
	}
	if sent != count {
		tb.Fatalf("ping sent %d of %d:\n%s", sent, count, out)
	}
	return recv
}
