package testenv

import (
	"fmt"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// Pair is two network namespaces joined by a veth pair: A (10.199.N.1 on
// interface IfA) and B (10.199.N.2 on IfB). Test traffic stays inside them.
type Pair struct {
	NsA, NsB string
	IfA, IfB string
	IPA, IPB string
}

var pairSeq atomic.Uint32

// NetnsPair creates a Pair and deletes both namespaces (and with them the
// veths) at cleanup.
func NetnsPair(tb testing.TB) *Pair {
	tb.Helper()
	SkipUnlessRoot(tb)
	NeedCommand(tb, "ip")
	n := pairSeq.Add(1)
	tag := fmt.Sprintf("%d-%d", n, uniq())
	p := &Pair{
		NsA: "bpfunit-a" + tag, NsB: "bpfunit-b" + tag,
		IfA: "bua" + fmt.Sprint(n), IfB: "bub" + fmt.Sprint(n),
		IPA: fmt.Sprintf("10.199.%d.1", n%250), IPB: fmt.Sprintf("10.199.%d.2", n%250),
	}
	MustRun(tb, "ip", "netns", "add", p.NsA)
	tb.Cleanup(func() { Run("ip", "netns", "del", p.NsA) })
	MustRun(tb, "ip", "netns", "add", p.NsB)
	tb.Cleanup(func() { Run("ip", "netns", "del", p.NsB) })
	MustRun(tb, "ip", "-n", p.NsA, "link", "add", p.IfA, "type", "veth", "peer", "name", p.IfB, "netns", p.NsB)
	MustRun(tb, "ip", "-n", p.NsA, "addr", "add", p.IPA+"/24", "dev", p.IfA)
	MustRun(tb, "ip", "-n", p.NsB, "addr", "add", p.IPB+"/24", "dev", p.IfB)
	for _, c := range [][]string{{p.NsA, p.IfA}, {p.NsB, p.IfB}} {
		MustRun(tb, "ip", "-n", c[0], "link", "set", c[1], "up")
		MustRun(tb, "ip", "-n", c[0], "link", "set", "lo", "up")
	}
	return p
}

// Ping sends count ICMP echoes from A to B and returns how many came back.
func (p *Pair) Ping(tb testing.TB, count int) int {
	tb.Helper()
	out, _ := Run("ip", "netns", "exec", p.NsA, "ping", "-q", "-c", fmt.Sprint(count), "-i", "0.01", "-W", "1", p.IPB)
	var sent, recv int
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "packets transmitted") {
			fmt.Sscanf(strings.TrimSpace(line), "%d packets transmitted, %d received", &sent, &recv)
		}
	}
	return recv
}

// Run runs a command and returns its combined output.
func Run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// MustRun runs a command and fails tb if it fails.
func MustRun(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	out, err := Run(name, args...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
