package daemonbench

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/bpfunit/bpfunit/internal/testenv"
	"github.com/bpfunit/bpfunit/internal/testenv/testbed"
	"github.com/bpfunit/bpfunit/internal/varlink"
)

func TestMain(m *testing.M) { testbed.Main(m) }

const (
	units       = 100
	activations = 15  // cold activations per daemon, alternating
	calls       = 300 // calls per latency figure

	targetActivationRatio = 1.2
	targetRSSKiB          = 15 * 1024
	targetLatency         = 5 * time.Millisecond

	netns = "daemonbench"
)

// daemon is a bus-activated service to start cold.
type daemon struct {
	name, unit, dest, path, iface, prop string
}

var (
	bpfunitd  = daemon{"bpfunitd", "bpfunitd.service", "org.bpfunit.Manager1", "/org/bpfunit/Manager1", "org.bpfunit.Manager1", "Version"}
	hostnamed = daemon{"systemd-hostnamed", "systemd-hostnamed.service", "org.freedesktop.hostname1", "/org/freedesktop/hostname1", "org.freedesktop.hostname1", "Hostname"}
)

// TestDaemonBench: in one testbed, cold bus activation to first reply of
// bpfunitd against systemd-hostnamed activated the same way, bpfunitd's
// idle RSS, and ListUnits/GetUnit latency with 100 units over D-Bus and
// Varlink.
func TestDaemonBench(t *testing.T) {
	if os.Getenv("BPFUNIT_BENCH") != "1" {
		t.Skip("benchmark: runs with BPFUNIT_BENCH=1 (make bench-daemon)")
	}
	testenv.CheckLeaks(t)
	tb := testbed.BootInstalled(t, "../../..", testbed.Options{})
	bus, err := dbus.Connect("unix:path=" + tb.Root() + "/run/dbus/system_bus_socket")
	if err != nil {
		t.Fatalf("connect to the testbed's bus: %v", err)
	}
	defer bus.Close()

	// Both are started more often than systemd's start limit allows.
	for _, d := range []daemon{bpfunitd, hostnamed} {
		if err := tb.WriteFile("/etc/systemd/system/"+d.unit+".d/bench.conf", []byte("[Unit]\nStartLimitIntervalSec=0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tb.MustRun(t, "systemctl", "daemon-reload")

	// Listening as on a booted system (sockets.target), so every
	// activation also gets the Varlink socket, as it would there.
	tb.MustRun(t, "systemctl", "start", "bpfunitd.socket")

	// Cold activation with no unit configured, alternating so that both
	// see the same machine.
	emptyCold := coldRounds(t, tb, bus)
	activate(t, tb, bus, bpfunitd)
	time.Sleep(2 * time.Second)
	rssEmpty := rssKiB(t, tb, bpfunitd.unit)

	// 100 units, attached: XDP on 100 idle veths in a network namespace
	// (a tracepoint takes at most 64 programs), started at once through
	// bpf.target.
	tb.MustRun(t, "ip", "netns", "add", netns)
	t.Cleanup(func() { tb.Run("ip", "netns", "del", netns) })
	var batch strings.Builder
	for i := range units {
		fmt.Fprintf(&batch, "link add db%d type veth peer name db%dp\nlink set db%d up\nlink set db%dp up\n", i, i, i, i)
	}
	if err := tb.WriteFile("/tmp/daemonbench.batch", []byte(batch.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tb.MustRun(t, "ip", "-n", netns, "-batch", "/tmp/daemonbench.batch")
	for i := range units {
		cfg := fmt.Sprintf("[Unit]\nDescription=bench unit %d\n[Object]\nPath=/usr/lib/bpfunit/objects/xdp_counter.bpf.o\nPinMaps=yes\n"+
			"[Attach]\nProgram=xdp_count\nInterface=db%d\nNamespace=%s\n[Install]\nWantedBy=bpf.target\n", i, i, netns)
		if err := tb.WriteFile(fmt.Sprintf("/etc/bpfunit/u%03d.bpfunit", i), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tb.MustRun(t, "systemctl", "daemon-reload")
	start := time.Now()
	tb.MustRun(t, "systemctl", "start", "bpf.target")
	t.Logf("%d units started through bpf.target in %v", units, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { tb.Run("systemctl", "stop", "bpf.target") })
	if out := tb.MustRun(t, "sh", "-c", "systemctl list-units --state=active --no-legend 'bpf@*' | wc -l"); strings.TrimSpace(out) != strconv.Itoa(units) {
		failed, _ := tb.Run("sh", "-c", "systemctl list-units --failed --no-legend 'bpf@*' | head -3")
		first := strings.Fields(failed + " none")[0]
		if first == "●" {
			first = strings.Fields(failed)[1]
		}
		t.Fatalf("%s units active, want %d; failed:\n%s\n%s", strings.TrimSpace(out), units, failed, tb.Journal(first))
	}

	// And with 100 units.
	cold := coldRounds(t, tb, bus)
	mb, mh := median(cold[bpfunitd.name]), median(cold[hostnamed.name])
	ratio := float64(mb) / float64(mh)
	me, mhe := median(emptyCold[bpfunitd.name]), median(emptyCold[hostnamed.name])

	// The manager's List alone, in a process of its own (the CLI reads
	// the manager directly), against the CLI doing nothing.
	var cliList, cliNoop []time.Duration
	for range 10 {
		cliList = append(cliList, timed(t, tb, "bpfunit list --json >/dev/null"))
		cliNoop = append(cliNoop, timed(t, tb, "bpfunit help >/dev/null"))
	}

	// Idle RSS: after an activation and a ListUnits over 100 units.
	activate(t, tb, bus, bpfunitd)
	if err := bus.Object(bpfunitd.dest, dbus.ObjectPath(bpfunitd.path)).Call(bpfunitd.iface+".ListUnits", 0).Err; err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	rss := rssKiB(t, tb, bpfunitd.unit)
	activate(t, tb, bus, hostnamed)
	time.Sleep(2 * time.Second)
	rssHost := rssKiB(t, tb, hostnamed.unit)

	// Latency with 100 units, warm, over D-Bus...
	obj := bus.Object(bpfunitd.dest, dbus.ObjectPath(bpfunitd.path))
	lat := map[string][]time.Duration{}
	for range calls {
		t0 := time.Now()
		var rows [][]any
		if err := obj.Call(bpfunitd.iface+".ListUnits", 0).Store(&rows); err != nil || len(rows) != units {
			t.Fatalf("ListUnits: %d rows, %v", len(rows), err)
		}
		lat["D-Bus ListUnits"] = append(lat["D-Bus ListUnits"], time.Since(t0))
		t0 = time.Now()
		var p dbus.ObjectPath
		if err := obj.Call(bpfunitd.iface+".GetUnit", 0, "u050").Store(&p); err != nil {
			t.Fatal(err)
		}
		// GetUnit returns the object path; a client then reads its
		// properties: that is the round trip that shows one unit.
		if err := bus.Object(bpfunitd.dest, p).Call("org.freedesktop.DBus.Properties.GetAll", 0, "org.bpfunit.Unit1").Err; err != nil {
			t.Fatal(err)
		}
		lat["D-Bus GetUnit+GetAll"] = append(lat["D-Bus GetUnit+GetAll"], time.Since(t0))
	}
	// ... and over Varlink.
	vc, err := dialVarlink(tb)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	ctx := context.Background()
	for range calls {
		t0 := time.Now()
		var lu struct{ Units []varlink.Unit }
		if err := vc.Call(ctx, "io.bpfunit.Manager.ListUnits", nil, &lu); err != nil || len(lu.Units) != units {
			t.Fatalf("Varlink ListUnits: %d units, %v", len(lu.Units), err)
		}
		lat["Varlink ListUnits"] = append(lat["Varlink ListUnits"], time.Since(t0))
		t0 = time.Now()
		if err := vc.Call(ctx, "io.bpfunit.Manager.GetUnit", map[string]string{"name": "u050"}, nil); err != nil {
			t.Fatal(err)
		}
		lat["Varlink GetUnit"] = append(lat["Varlink GetUnit"], time.Since(t0))
	}

	var b strings.Builder
	cpus, _ := os.ReadFile("/proc/cpuinfo")
	fmt.Fprintf(&b, "machine: %d CPUs, kernel %s\n\n", strings.Count(string(cpus), "processor\t:"), kernel())
	fmt.Fprintf(&b, "| cold bus activation to first reply (Properties.Get, median of %d) | bpfunitd | systemd-hostnamed | ratio | target |\n|---|---|---|---|---|\n", activations)
	fmt.Fprintf(&b, "| no unit configured | %v | %v | %.2f× | ≤ %.1f× |\n", me.Round(100*time.Microsecond), mhe.Round(100*time.Microsecond), float64(me)/float64(mhe), targetActivationRatio)
	fmt.Fprintf(&b, "| %d units attached | %v | %v | %.2f× | ≤ %.1f× |\n\n", units, mb.Round(100*time.Microsecond), mh.Round(100*time.Microsecond), ratio, targetActivationRatio)
	fmt.Fprintf(&b, "| idle RSS (VmRSS, 2 s after the last call) | bpfunitd | systemd-hostnamed | target |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| after activation, no unit | %.1f MiB | | ≤ %d MiB |\n", float64(rssEmpty)/1024, targetRSSKiB/1024)
	fmt.Fprintf(&b, "| after ListUnits of %d units | %.1f MiB | %.1f MiB | ≤ %d MiB |\n\n", units, float64(rss)/1024, float64(rssHost)/1024, targetRSSKiB/1024)
	fmt.Fprintf(&b, "| %d units, warm, %d calls | median | p95 | max | target (median) |\n|---|---|---|---|---|\n", units, calls)
	keys := []string{"D-Bus ListUnits", "D-Bus GetUnit+GetAll", "Varlink ListUnits", "Varlink GetUnit"}
	for _, k := range keys {
		fmt.Fprintf(&b, "| %s | %v | %v | %v | ≤ %v |\n", k, median(lat[k]).Round(10*time.Microsecond), pct(lat[k], 95).Round(10*time.Microsecond), slices.Max(lat[k]).Round(10*time.Microsecond), targetLatency)
	}
	fmt.Fprintf(&b, "| `bpfunit list --json` (manager.List in a new process) | %v | | | |\n| `bpfunit help` (process start alone) | %v | | | |\n",
		median(cliList).Round(10*time.Microsecond), median(cliNoop).Round(10*time.Microsecond))
	t.Logf("results:\n%s", b.String())
	if out := os.Getenv("BENCH_OUT"); out != "" {
		os.WriteFile(out, []byte(b.String()), 0o644)
	}

	// The targets are the issue's. Like the other benchmarks this one
	// reports its figures; a miss fails it only with BENCH_STRICT=1 (a
	// noisy shared machine should not break `make bench`).
	miss := t.Logf
	if os.Getenv("BENCH_STRICT") == "1" {
		miss = t.Errorf
	}
	if ratio > targetActivationRatio {
		miss("TARGET MISSED: cold activation %.2f× systemd-hostnamed's, target ≤ %.1f×", ratio, targetActivationRatio)
	}
	if rss > targetRSSKiB {
		miss("TARGET MISSED: idle RSS %d KiB, target ≤ %d KiB", rss, targetRSSKiB)
	}
	for _, k := range keys {
		if m := median(lat[k]); m > targetLatency {
			miss("TARGET MISSED: %s median %v, target ≤ %v", k, m, targetLatency)
		}
	}
}

// coldRounds activates both daemons cold, alternating.
func coldRounds(t *testing.T, tb *testbed.Testbed, bus *dbus.Conn) map[string][]time.Duration {
	t.Helper()
	cold := map[string][]time.Duration{}
	for range activations {
		for _, d := range []daemon{bpfunitd, hostnamed} {
			cold[d.name] = append(cold[d.name], activate(t, tb, bus, d))
		}
	}
	return cold
}

// timed runs a shell command inside the testbed and returns how long it
// took, measured inside (nsenter's own start-up is not counted).
func timed(t *testing.T, tb *testbed.Testbed, cmd string) time.Duration {
	t.Helper()
	out := tb.MustRun(t, "sh", "-c", `s=$(date +%s%N); `+cmd+` || exit 1; e=$(date +%s%N); echo $((e-s))`)
	f := strings.Fields(out)
	ns, err := strconv.ParseInt(f[len(f)-1], 10, 64)
	if err != nil {
		t.Fatalf("%s: %q", cmd, out)
	}
	return time.Duration(ns)
}

// activate stops d, waits until it is gone, then times one property read
// that bus-activates it: dbus-daemon asks systemd to start the unit and
// delivers the call once the name is owned.
func activate(t *testing.T, tb *testbed.Testbed, bus *dbus.Conn, d daemon) time.Duration {
	t.Helper()
	tb.Run("systemctl", "stop", d.unit)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var owned bool
		bus.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, d.dest).Store(&owned)
		out, _ := tb.Run("systemctl", "is-active", d.unit)
		if !owned && strings.TrimSpace(out) != "active" && strings.TrimSpace(out) != "deactivating" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still running after stop", d.unit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	obj := bus.Object(d.dest, dbus.ObjectPath(d.path))
	t0 := time.Now()
	if err := obj.Call("org.freedesktop.DBus.Properties.Get", 0, d.iface, d.prop).Err; err != nil {
		t.Fatalf("%s: first call: %v\n%s", d.name, err, tb.Journal(d.unit))
	}
	return time.Since(t0)
}

// rssKiB is VmRSS of unit's main process, read inside the testbed.
func rssKiB(t *testing.T, tb *testbed.Testbed, unit string) int {
	t.Helper()
	pid := strings.TrimSpace(tb.MustRun(t, "systemctl", "show", "-P", "MainPID", unit))
	if pid == "0" || pid == "" {
		t.Fatalf("%s has no main process", unit)
	}
	status := tb.MustRun(t, "cat", "/proc/"+pid+"/status")
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.Fields(v)[0])
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no VmRSS for %s (pid %s)", unit, pid)
	return 0
}

func dialVarlink(tb *testbed.Testbed) (*varlink.Client, error) {
	nc, err := net.Dial("unix", tb.Root()+"/run/bpfunit/io.bpfunit.Manager")
	if err != nil {
		return nil, err
	}
	return varlink.NewClient(nc), nil
}

func median(ds []time.Duration) time.Duration { return pct(ds, 50) }

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}
