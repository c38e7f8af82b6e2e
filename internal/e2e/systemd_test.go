package e2e_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/testenv"
	"github.com/bpfunit/bpfunit/internal/testenv/testbed"
)

// TestTargetXDPTraffic: a config with WantedBy=bpf.target, daemon-reload,
// `systemctl start bpf.target` attaches it: real traffic through a veth
// pair is counted; `systemctl stop bpf@NAME` leaves nothing of it in the
// kernel (link, program, pins, state).
func TestTargetXDPTraffic(t *testing.T) {
	testenv.CheckLeaks(t)
	tb := boot(t, testbed.Options{})
	p := netnsPair(t, tb, "t1", 1)
	if n := p.Ping(t, tb, 3); n != 3 {
		t.Fatalf("the veth pair doesn't pass traffic before any program: %d/3", n)
	}
	tb.MustWriteFile(t, "/etc/bpfunit/count.bpfunit", xdpConfig(p, true, ""))
	tb.MustRun(t, "systemctl", "daemon-reload")

	start := time.Now()
	tb.MustRun(t, "systemctl", "start", "bpf.target")
	t.Logf("systemctl start bpf.target: %v", time.Since(start).Round(time.Millisecond))
	if s := tb.UnitState("bpf@count.service"); s != "active" {
		t.Fatalf("bpf@count.service is %s\n%s", s, tb.Journal("bpf@count.service"))
	}
	st := tb.Status(t, "count")
	if st.State != manager.StateAttached || len(st.Links) != 1 || !st.Links[0].Alive || st.Links[0].Type != "xdp" {
		t.Fatalf("status: %+v", st)
	}
	linkID, progID := st.Links[0].LinkID, st.Links[0].ProgID
	if ids := kernelLinks(t, "xdp_count")["xdp_count"]; len(ids) != 1 || uint32(ids[0]) != linkID {
		t.Fatalf("xdp_count links in the kernel: %v, status says %d", ids, linkID)
	}
	// The kernel shows the program on the device, in its namespace.
	if out := tb.MustRun(t, "ip", "netns", "exec", p.NsB, "bpftool", "net", "show", "dev", p.IfB); !strings.Contains(out, fmt.Sprintf("id %d", progID)) {
		t.Errorf("bpftool net show dev %s lacks prog id %d:\n%s", p.IfB, progID, out)
	}

	before := counter(t, st, "xdp_stats", 0)
	if n := p.Ping(t, tb, 20); n != 20 {
		t.Errorf("ping through the XDP counter: %d/20", n)
	}
	st = tb.Status(t, "count")
	if got := counter(t, st, "xdp_stats", 0) - before; got < 20 {
		t.Errorf("xdp_stats counted %d packets for 20 echo requests", got)
	}
	t.Logf("counted %d packets, %d bytes", counter(t, st, "xdp_stats", 0), counter(t, st, "xdp_stats", 1))

	tb.MustRun(t, "systemctl", "stop", "bpf@count.service")
	if s := tb.UnitState("bpf@count.service"); s != "inactive" {
		t.Errorf("after stop: %s", s)
	}
	waitLinkGone(t, linkID, "after systemctl stop")
	waitLinks(t, "xdp_count", 0, "after systemctl stop")
	deadline := time.Now().Add(3 * time.Second)
	for {
		p, err := ebpf.NewProgramFromID(ebpf.ProgramID(progID))
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err == nil {
			p.Close()
		}
		if time.Now().After(deadline) {
			t.Errorf("program %d still in the kernel after stop", progID)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.NoUnitLeft(t, "count")
	if st := tb.Status(t, "count"); st.State != manager.StateNotStarted {
		t.Errorf("status after stop: %s", st.State)
	}
	if n := p.Ping(t, tb, 3); n != 3 {
		t.Errorf("traffic after stop: %d/3", n)
	}
}

const tcxCounterObj = "/usr/lib/bpfunit/objects/tcx_counter.bpf.o"

func tcxConfig(p *testbed.Pair) string {
	s := fmt.Sprintf("[Object]\nPath=%s\nPinMaps=yes\n", tcxCounterObj)
	for _, d := range []string{"ingress", "egress"} {
		s += fmt.Sprintf("[Attach]\nProgram=tcx_%s\nType=tcx\nInterface=%s\nNamespace=%s\nDirection=%s\n", d, p.IfB, p.NsB, d)
	}
	return s + "[Install]\nWantedBy=bpf.target\n"
}

const traceConfig = `[Object]
Path=/usr/lib/bpfunit/objects/trace_counter.bpf.o
PinMaps=yes
[Attach]
Program=tp_getpid
Type=tracepoint
Tracepoint=syscalls:sys_enter_getpid
[Install]
WantedBy=bpf.target
`

// TestNoSecondAttachment: restart, repeated start (systemctl and the
// oneshot itself) and concurrent restarts never attach a unit twice, on
// hooks that would take a second program (tcx, tracepoint).
func TestNoSecondAttachment(t *testing.T) {
	testenv.NeedTCX(t)
	testenv.CheckLeaks(t)
	tb := boot(t, testbed.Options{})
	p := netnsPair(t, tb, "t2", 2)
	tb.MustWriteFile(t, "/etc/bpfunit/tcx.bpfunit", tcxConfig(p))
	tb.MustWriteFile(t, "/etc/bpfunit/trace.bpfunit", traceConfig)
	tb.MustRun(t, "systemctl", "daemon-reload")
	tb.MustRun(t, "systemctl", "start", "bpf.target")
	progs := []string{"tcx_ingress", "tcx_egress", "tp_getpid"}
	units := []string{"bpf@tcx.service", "bpf@trace.service"}
	// once checks that every program runs on exactly one link and
	// returns the link IDs.
	once := func(what string) []uint32 {
		t.Helper()
		var ids []uint32
		for _, prog := range progs {
			waitLinks(t, prog, 1, what)
			ids = append(ids, uint32(kernelLinks(t, prog)[prog][0]))
		}
		for _, u := range units {
			if s := tb.UnitState(u); s != "active" {
				t.Fatalf("%s: %s is %s\n%s", what, u, s, tb.Journal(u))
			}
		}
		return ids
	}
	ids := once("after systemctl start bpf.target")

	for i := range 3 {
		tb.MustRun(t, "systemctl", "restart", units[0], units[1])
		now := once(fmt.Sprintf("after restart %d", i+1))
		if slices.ContainsFunc(now, func(id uint32) bool { return slices.Contains(ids, id) }) {
			t.Errorf("restart %d kept a link: %v -> %v", i+1, ids, now)
		}
		ids = now
	}
	for i := range 3 {
		tb.MustRun(t, "systemctl", "start", units[0], units[1], "bpf.target")
		if now := once(fmt.Sprintf("after start %d of active units", i+1)); !slices.Equal(now, ids) {
			t.Errorf("start of an active unit changed links: %v -> %v", ids, now)
		}
	}
	// The oneshot run again behind systemd's back adopts what is attached.
	for _, name := range []string{"tcx", "trace"} {
		out := tb.MustRun(t, "/usr/libexec/bpfunit/bpfunit-oneshot", "start", name)
		if !strings.Contains(out, "adopting") {
			t.Errorf("oneshot start %s of an attached unit: %s", name, out)
		}
	}
	if now := once("after oneshot start of attached units"); !slices.Equal(now, ids) {
		t.Errorf("oneshot start changed links: %v -> %v", ids, now)
	}
	// Concurrent restarts through systemd and starts of the oneshot itself:
	// the per-unit lock and adoption keep it to one attachment.
	tb.MustRun(t, "sh", "-c", `for i in 1 2 3 4; do
		systemctl restart bpf@tcx.service bpf@trace.service &
		/usr/libexec/bpfunit/bpfunit-oneshot start tcx 2>/dev/null &
		/usr/libexec/bpfunit/bpfunit-oneshot start trace 2>/dev/null &
	done; wait`)
	once("after concurrent restarts and starts")

	// Traffic is counted once per packet: one program on the hook.
	before := counter(t, tb.Status(t, "tcx"), "tcx_stats", 0)
	if n := p.Ping(t, tb, 10); n != 10 {
		t.Errorf("ping: %d/10", n)
	}
	if got := counter(t, tb.Status(t, "tcx"), "tcx_stats", 0) - before; got < 10 || got > 12 {
		t.Errorf("tcx ingress counted %d packets for 10 echo replies (+ARP)", got)
	}

	tb.MustRun(t, "systemctl", "stop", units[0], units[1])
	for _, prog := range progs {
		waitLinks(t, prog, 0, "after stop")
	}
	tb.NoUnitLeft(t, "tcx")
	tb.NoUnitLeft(t, "trace")
}

// TestReload: `systemctl reload` after a config change swaps the program
// behind the same link, keeping the counters; a reload to a program the
// verifier rejects fails, the unit stays active with the old program
// running, and the reason is in systemctl status and the journal.
func TestReload(t *testing.T) {
	testenv.CheckLeaks(t)
	tb := boot(t, testbed.Options{})
	p := netnsPair(t, tb, "t3", 3)
	tb.MustWriteFile(t, "/etc/bpfunit/rl.bpfunit", xdpConfig(p, false, ""))
	tb.MustRun(t, "systemctl", "daemon-reload")
	tb.MustRun(t, "systemctl", "start", "bpf@rl.service")
	if n := p.Ping(t, tb, 10); n != 10 {
		t.Fatalf("ping: %d/10", n)
	}
	st1 := tb.Status(t, "rl")
	if len(st1.Links) != 1 {
		t.Fatalf("links: %+v", st1.Links)
	}
	link1, prog1 := st1.Links[0].LinkID, st1.Links[0].ProgID
	pkts1 := counter(t, st1, "xdp_stats", 0)

	// Constant=drop=1: the same program with other .rodata drops everything.
	tb.MustWriteFile(t, "/etc/bpfunit/rl.bpfunit", xdpConfig(p, false, "Constant=drop=1\n"))
	tb.MustRun(t, "systemctl", "daemon-reload")
	start := time.Now()
	tb.MustRun(t, "systemctl", "reload", "bpf@rl.service")
	t.Logf("systemctl reload: %v", time.Since(start).Round(time.Millisecond))
	st2 := tb.Status(t, "rl")
	if len(st2.Links) != 1 || st2.Links[0].LinkID != link1 {
		t.Fatalf("reload changed the link: %d -> %+v", link1, st2.Links)
	}
	prog2 := st2.Links[0].ProgID
	if prog2 == prog1 {
		t.Errorf("reload kept program %d", prog1)
	}
	if st2.Reloaded.IsZero() || st2.Links[0].LastSwap != manager.SwapAtomic {
		t.Errorf("reload not recorded: reloaded %v, last swap %q", st2.Reloaded, st2.Links[0].LastSwap)
	}
	pkts2 := counter(t, st2, "xdp_stats", 0)
	if pkts2 < pkts1 {
		t.Errorf("counter reset by reload: %d -> %d", pkts1, pkts2)
	}
	if n := p.Ping(t, tb, 10); n != 0 {
		t.Errorf("drop=1 program passed %d/10", n)
	}
	pkts3 := counter(t, tb.Status(t, "rl"), "xdp_stats", 0)
	if pkts3 < pkts2+10 {
		t.Errorf("dropped packets not counted in the kept map: %d -> %d", pkts2, pkts3)
	}

	// A reload to a program the verifier rejects.
	bad := fmt.Sprintf("[Object]\nPath=/usr/lib/bpfunit/objects/bad.bpf.o\n[Attach]\nProgram=xdp_bad\nInterface=%s\nNamespace=%s\n", p.IfB, p.NsB)
	tb.MustWriteFile(t, "/etc/bpfunit/rl.bpfunit", bad)
	tb.MustRun(t, "systemctl", "daemon-reload")
	if out, err := tb.Systemctl("reload", "bpf@rl.service"); err == nil {
		t.Fatalf("reload to a rejected program succeeded: %s", out)
	}
	if s := tb.UnitState("bpf@rl.service"); s != "active" {
		t.Errorf("after a failed reload the unit is %s", s)
	}
	st4 := tb.Status(t, "rl")
	if len(st4.Links) != 1 || st4.Links[0].LinkID != link1 || st4.Links[0].ProgID != prog2 || !st4.Links[0].Alive {
		t.Errorf("failed reload touched the link: want link %d prog %d, got %+v", link1, prog2, st4.Links)
	}
	if n := p.Ping(t, tb, 5); n != 0 {
		t.Errorf("old (drop) program not running after the failed reload: %d/5 passed", n)
	}
	if pkts4 := counter(t, st4, "xdp_stats", 0); pkts4 < pkts3 {
		t.Errorf("counter: %d -> %d", pkts3, pkts4)
	}
	if got := countLinks(t, "xdp_bad"); got != 0 {
		t.Errorf("%d links of the rejected program", got)
	}
	wants := []string{"bpfunit-oneshot: reload rl:", "verifier rejected it", "invalid access to packet"}
	out, last := unitLastLine(tb, "bpf@rl.service", wants...)
	for _, want := range wants {
		if !strings.Contains(last, want) {
			t.Errorf("last line of the unit in systemctl status lacks %q: %q\n%s", want, last, out)
		}
	}
	if j := tb.Journal("bpf@rl.service"); !strings.Contains(j, "invalid access to packet") {
		t.Errorf("journal lacks the verifier's reason:\n%s", j)
	}

	// Stop works from the pins and state, whatever the config says now.
	tb.MustRun(t, "systemctl", "stop", "bpf@rl.service")
	waitLinkGone(t, link1, "after stop")
	tb.NoUnitLeft(t, "rl")
}

// TestRebootEnabledOnly: after a reboot (fresh /run and bpffs, same disk)
// every config with WantedBy=bpf.target attaches again at boot, with real
// traffic counted; a masked config and one without [Install] don't, even
// when the latter was started by hand before the reboot.
func TestRebootEnabledOnly(t *testing.T) {
	testenv.CheckLeaks(t)
	tb := boot(t, testbed.Options{Want: []string{"bpf.target"}})
	p := &testbed.Pair{NsA: "e2e-t4-a", NsB: "e2e-t4-b", IfA: "veth-t4a", IfB: "veth-t4b", IPA: "10.197.4.1", IPB: "10.197.4.2"}
	// The namespaces come from a unit at every boot, as an administrator
	// would have it; the XDP unit is ordered after it.
	ip := "/usr/sbin/ip"
	netUnit := fmt.Sprintf(`[Unit]
Description=e2e network namespaces
DefaultDependencies=no
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=%[1]s netns add %[2]s
ExecStart=%[1]s netns add %[3]s
ExecStart=%[1]s -n %[2]s link add %[4]s type veth peer name %[5]s netns %[3]s
ExecStart=%[1]s -n %[2]s addr add %[6]s/24 dev %[4]s
ExecStart=%[1]s -n %[3]s addr add %[7]s/24 dev %[5]s
ExecStart=%[1]s -n %[2]s link set %[4]s up
ExecStart=%[1]s -n %[3]s link set %[5]s up
ExecStop=-%[1]s netns del %[2]s
ExecStop=-%[1]s netns del %[3]s
`, ip, p.NsA, p.NsB, p.IfA, p.IfB, p.IPA, p.IPB)
	tb.MustWriteFile(t, "/etc/systemd/system/e2e-net.service", netUnit)
	tb.MustWriteFile(t, "/etc/systemd/system/bpf@xon.service.d/net.conf", "[Unit]\nRequires=e2e-net.service\nAfter=e2e-net.service\n")
	t.Cleanup(func() {
		tb.Run("ip", "netns", "del", p.NsA)
		tb.Run("ip", "netns", "del", p.NsB)
	})
	tb.MustWriteFile(t, "/etc/bpfunit/xon.bpfunit", xdpConfig(p, true, ""))
	tb.MustWriteFile(t, "/etc/bpfunit/ton.bpfunit", traceConfig)
	tb.MustWriteFile(t, "/usr/lib/bpfunit/masked.bpfunit", traceConfig)
	tb.MustRun(t, "ln", "-s", "/dev/null", "/etc/bpfunit/masked.bpfunit")
	tb.MustWriteFile(t, "/etc/bpfunit/off.bpfunit", strings.Replace(traceConfig, "[Install]\nWantedBy=bpf.target\n", "", 1))

	// booted checks what a boot must have attached, and returns the
	// link IDs of xon and ton.
	booted := func(what string) []uint32 {
		t.Helper()
		for _, u := range []string{"xon", "ton"} {
			if s := tb.UnitState("bpf@" + u + ".service"); s != "active" {
				t.Fatalf("%s: bpf@%s.service is %s\n%s\nconsole:\n%s", what, u, s, tb.Journal(""), tb.Console(30))
			}
		}
		for _, u := range []string{"masked", "off"} {
			if s := tb.UnitState("bpf@" + u + ".service"); s != "inactive" {
				t.Errorf("%s: bpf@%s.service is %s", what, u, s)
			}
			tb.NoUnitLeft(t, u)
		}
		if out, _ := tb.Systemctl("is-enabled", "bpf@masked.service"); !strings.Contains(out, "masked") {
			t.Errorf("%s: bpf@masked.service is-enabled: %s", what, out)
		}
		waitLinks(t, "xdp_count", 1, what)
		waitLinks(t, "tp_getpid", 1, what) // ton only: masked and off add none
		var ids []uint32
		for _, u := range []string{"xon", "ton"} {
			st := tb.Status(t, u)
			if st.State != manager.StateAttached || len(st.Links) != 1 {
				t.Fatalf("%s: %s: %+v", what, u, st)
			}
			ids = append(ids, st.Links[0].LinkID)
		}
		before := counter(t, tb.Status(t, "xon"), "xdp_stats", 0)
		if n := p.Ping(t, tb, 10); n != 10 {
			t.Errorf("%s: ping %d/10", what, n)
		}
		if got := counter(t, tb.Status(t, "xon"), "xdp_stats", 0) - before; got < 10 {
			t.Errorf("%s: xon counted %d of 10 packets", what, got)
		}
		return ids
	}

	tb.Reboot(t)
	ids1 := booted("first boot with the configs")
	// Started by hand, not enabled: attached until the next boot only.
	tb.MustRun(t, "systemctl", "start", "bpf@off.service")
	waitLinks(t, "tp_getpid", 2, "after starting bpf@off by hand")

	tb.Reboot(t)
	for _, id := range ids1 {
		waitLinkGone(t, id, "links of the previous boot")
	}
	ids2 := booted("second boot")
	if slices.ContainsFunc(ids2, func(id uint32) bool { return slices.Contains(ids1, id) }) {
		t.Errorf("links of the previous boot: %v, now %v", ids1, ids2)
	}

	tb.MustRun(t, "systemctl", "stop", "bpf.target", "bpf@xon.service", "bpf@ton.service")
	waitLinks(t, "xdp_count", 0, "after stop")
	waitLinks(t, "tp_getpid", 0, "after stop")
	tb.MustRun(t, "systemctl", "stop", "e2e-net.service")
}

// TestFailuresIsolated: a broken config and a verifier-rejected object fail
// their own units, with the reason (the verifier log tail) as the unit's
// last line in systemctl status; the other unit of bpf.target attaches and
// counts traffic, and nothing of the failed units reaches the kernel.
func TestFailuresIsolated(t *testing.T) {
	testenv.CheckLeaks(t)
	tb := boot(t, testbed.Options{})
	p := netnsPair(t, tb, "t5", 5)
	tb.MustWriteFile(t, "/etc/bpfunit/good.bpfunit", xdpConfig(p, true, ""))
	tb.MustWriteFile(t, "/etc/bpfunit/rejected.bpfunit", fmt.Sprintf(
		"[Object]\nPath=/usr/lib/bpfunit/objects/bad.bpf.o\n[Attach]\nProgram=xdp_bad\nInterface=%s\nNamespace=%s\n[Install]\nWantedBy=bpf.target\n", p.IfA, p.NsA))
	tb.MustWriteFile(t, "/etc/bpfunit/broken.bpfunit",
		"[Object]\nPath=/usr/lib/bpfunit/objects/xdp_counter.bpf.o\n[Attach]\nProgram=xdp_count\nType=xdpp\nInterface=lo\n[Install]\nWantedBy=bpf.target\n")
	tb.MustRun(t, "systemctl", "daemon-reload")
	if out, err := tb.Systemctl("start", "bpf.target"); err != nil {
		t.Errorf("failing bpf@ units failed bpf.target itself: %v %s", err, out)
	}
	if s := tb.UnitState("bpf@good.service"); s != "active" {
		t.Fatalf("bpf@good.service is %s\n%s", s, tb.Journal("bpf@good.service"))
	}
	for unit, want := range map[string][]string{
		"rejected": {"bpfunit-oneshot: start rejected:", "load program xdp_bad: verifier rejected it", "invalid access to packet"},
		"broken":   {"invalid configuration", "/etc/bpfunit/broken.bpfunit:5: [Attach] Type=", "xdpp"},
	} {
		if s := tb.UnitState("bpf@" + unit + ".service"); s != "failed" {
			t.Errorf("bpf@%s.service is %s", unit, s)
		}
		out, last := unitLastLine(tb, "bpf@"+unit+".service", want...)
		for _, w := range want {
			if !strings.Contains(last, w) {
				t.Errorf("bpf@%s.service: last line of the unit lacks %q: %q\n%s", unit, w, last, out)
			}
		}
		tb.NoUnitLeft(t, unit)
	}
	if got := countLinks(t, "xdp_bad"); got != 0 {
		t.Errorf("%d links of the rejected program", got)
	}
	before := counter(t, tb.Status(t, "good"), "xdp_stats", 0)
	if n := p.Ping(t, tb, 10); n != 10 {
		t.Errorf("ping: %d/10", n)
	}
	if got := counter(t, tb.Status(t, "good"), "xdp_stats", 0) - before; got < 10 {
		t.Errorf("good counted %d of 10 packets", got)
	}
	tb.MustRun(t, "systemctl", "stop", "bpf@good.service")
	waitLinks(t, "xdp_count", 0, "after stop")
	tb.NoUnitLeft(t, "good")
}

// TestKilledStartFaultHook: the oneshot SIGKILLs itself at each step of a
// start (BPFUNIT_FAULT= in a drop-in); the unit fails, and after the next
// stop nothing is attached, after the next start exactly one attachment.
func TestKilledStartFaultHook(t *testing.T) {
	testenv.CheckLeaks(t)
	tb := boot(t, testbed.Options{})
	tb.MustWriteFile(t, "/etc/bpfunit/k.bpfunit", traceConfig)
	dropIn := "/etc/systemd/system/bpf@k.service.d/fault.conf"
	for _, step := range []string{"start:after-load", "start:after-attach", "start:before-commit", "start:after-commit"} {
		t.Run(step, func(t *testing.T) {
			killed := func() {
				t.Helper()
				tb.MustWriteFile(t, dropIn, "[Service]\nEnvironment=BPFUNIT_FAULT="+step+"\n")
				tb.MustRun(t, "systemctl", "daemon-reload")
				if out, err := tb.Systemctl("start", "bpf@k.service"); err == nil {
					t.Fatalf("start with %s armed succeeded: %s", step, out)
				}
				if out := tb.MustRun(t, "systemctl", "show", "-P", "Result", "bpf@k.service"); strings.TrimSpace(out) != "signal" {
					t.Errorf("Result=%s, want signal", out)
				}
				t.Logf("links right after the kill: %d", countLinks(t, "tp_getpid"))
			}
			killed()
			tb.MustRun(t, "systemctl", "stop", "bpf@k.service")
			waitLinks(t, "tp_getpid", 0, "after the stop that follows the kill")
			tb.NoUnitLeft(t, "k")

			killed()
			tb.MustRun(t, "rm", dropIn)
			tb.MustRun(t, "systemctl", "daemon-reload")
			tb.MustRun(t, "systemctl", "start", "bpf@k.service")
			waitLinks(t, "tp_getpid", 1, "after the start that follows the kill")
			if st := tb.Status(t, "k"); st.State != manager.StateAttached {
				t.Errorf("status: %s", st.State)
			}
			tb.MustRun(t, "systemctl", "stop", "bpf@k.service")
			waitLinks(t, "tp_getpid", 0, "after stop")
			tb.NoUnitLeft(t, "k")
		})
	}
}

// slowUnit makes a unit that attaches xdp_count to n veths in one
// namespace, so that its start takes long enough to be killed midway.
func slowUnit(t *testing.T, tb *testbed.Testbed, name string, n int) {
	t.Helper()
	ns := "e2e-slow"
	tb.MustRun(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { tb.Run("ip", "netns", "del", ns) })
	var batch, cfg strings.Builder
	fmt.Fprintf(&cfg, "[Object]\nPath=%s\nPinMaps=yes\n", xdpCounterObj)
	for i := range n {
		fmt.Fprintf(&batch, "link add s%da type veth peer name s%db\nlink set s%da up\nlink set s%db up\n", i, i, i, i)
		fmt.Fprintf(&cfg, "[Attach]\nProgram=xdp_count\nInterface=s%da\nNamespace=%s\n", i, ns)
	}
	tb.MustWriteFile(t, "/tmp/e2e-slow.batch", batch.String())
	tb.MustRun(t, "ip", "-n", ns, "-batch", "/tmp/e2e-slow.batch")
	tb.MustWriteFile(t, "/etc/bpfunit/"+name+".bpfunit", cfg.String())
	tb.MustRun(t, "systemctl", "daemon-reload")
}

// TestKillMidStart: `systemctl kill --signal=SIGKILL` while the oneshot is
// attaching, and a TimeoutStartSec= that expires during the start: after
// the next stop nothing is attached, after the next start exactly one link
// per [Attach].
func TestKillMidStart(t *testing.T) {
	testenv.CheckLeaks(t)
	tb := boot(t, testbed.Options{})
	const n = 150
	slowUnit(t, tb, "slow", n)
	staging := filepath.Join(tb.Root(), "/sys/fs/bpf/bpfunit/slow/staging")

	start := time.Now()
	tb.MustRun(t, "systemctl", "start", "bpf@slow.service")
	full := time.Since(start)
	t.Logf("start of %d XDP attachments: %v", n, full.Round(time.Millisecond))
	waitLinks(t, "xdp_count", n, "after a full start")
	tb.MustRun(t, "systemctl", "stop", "bpf@slow.service")
	waitLinks(t, "xdp_count", 0, "after stop")

	// killMidway starts the unit and SIGKILLs the oneshot once some links
	// are staged, and returns how many were.
	killMidway := func() int {
		t.Helper()
		tb.MustRun(t, "systemctl", "start", "--no-block", "bpf@slow.service")
		deadline := time.Now().Add(10 * time.Second)
		staged := 0
		for {
			if ents, _ := os.ReadDir(staging); len(ents) >= 3 {
				staged = len(ents)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("nothing staged after 10s: %s", tb.UnitState("bpf@slow.service"))
			}
			time.Sleep(time.Millisecond)
		}
		tb.MustRun(t, "systemctl", "kill", "--signal=SIGKILL", "bpf@slow.service")
		if s := waitSettled(t, tb, "bpf@slow.service"); s != "failed" {
			t.Fatalf("after the kill: %s\n%s", s, tb.Journal("bpf@slow.service"))
		}
		t.Logf("killed midway: at least %d of %d links staged just before the kill; %d attached once the unit failed", staged, n, countLinks(t, "xdp_count"))
		return staged
	}

	for round := range 2 {
		killMidway()
		tb.MustRun(t, "systemctl", "stop", "bpf@slow.service")
		waitLinks(t, "xdp_count", 0, fmt.Sprintf("round %d: after the stop that follows the kill", round))
		tb.NoUnitLeft(t, "slow")

		killMidway()
		tb.MustRun(t, "systemctl", "start", "bpf@slow.service")
		waitLinks(t, "xdp_count", n, fmt.Sprintf("round %d: after the start that follows the kill", round))
		tb.MustRun(t, "systemctl", "stop", "bpf@slow.service")
		waitLinks(t, "xdp_count", 0, "after stop")
	}

	// TimeoutStartSec= shorter than the start: systemd sends SIGTERM
	// (then SIGKILL) to the oneshot midway.
	timeout := max(full/4, 30*time.Millisecond)
	dropIn := "/etc/systemd/system/bpf@slow.service.d/timeout.conf"
	tb.MustWriteFile(t, dropIn, fmt.Sprintf("[Service]\nTimeoutStartSec=%dms\n", timeout.Milliseconds()))
	tb.MustRun(t, "systemctl", "daemon-reload")
	for _, next := range []string{"stop", "start"} {
		if out, err := tb.Systemctl("start", "bpf@slow.service"); err == nil {
			t.Fatalf("start with TimeoutStartSec=%v succeeded: %s", timeout, out)
		}
		if out := tb.MustRun(t, "systemctl", "show", "-P", "Result", "bpf@slow.service"); strings.TrimSpace(out) != "timeout" {
			t.Errorf("Result=%s, want timeout", out)
		}
		t.Logf("start timed out after %v: %d links attached right after", timeout, countLinks(t, "xdp_count"))
		if next == "stop" {
			tb.MustRun(t, "systemctl", "stop", "bpf@slow.service")
			waitLinks(t, "xdp_count", 0, "after the stop that follows the timeout")
			tb.NoUnitLeft(t, "slow")
			continue
		}
		tb.MustRun(t, "rm", dropIn)
		tb.MustRun(t, "systemctl", "daemon-reload")
		tb.MustRun(t, "systemctl", "start", "bpf@slow.service")
		waitLinks(t, "xdp_count", n, "after the start that follows the timeout")
	}
	tb.MustRun(t, "systemctl", "stop", "bpf@slow.service")
	waitLinks(t, "xdp_count", 0, "after stop")
	tb.NoUnitLeft(t, "slow")
}
