package reloadbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/testenv"
)

const (
	swaps      = 100 // reloads, and replace rounds, per run
	udpPayload = 64
	window     = 128
	udpPort    = 9999
)

// zlUnit is the zero-loss unit: xdp_count and tcx_ingress on B's veth,
// both counting into pinned maps. desc is what a reload flips (the
// programs don't see it); drop is xdp_counter's constant.
func zlUnit(obj string, p *testenv.Pair, mode, desc string, drop int) string {
	return fmt.Sprintf(`[Unit]
Description=%s
[Object]
Path=%s
PinMaps=yes
Constant=drop=%d
[Attach]
Program=xdp_count
Interface=%s
Namespace=%s
Mode=%s
[Attach]
Program=tcx_ingress
Interface=%s
Namespace=%s
`, desc, obj, drop, p.IfB, p.NsB, mode, p.IfB, p.NsB)
}

type counters struct{ xdp, tcx *ebpf.Map }

func openCounters(t *testing.T, env *testenv.Env, unit string) counters {
	t.Helper()
	var c counters
	for _, x := range []struct {
		m    **ebpf.Map
		name string
	}{{&c.xdp, "xdp_stats"}, {&c.tcx, "tcx_stats"}} {
		m, err := ebpf.LoadPinnedMap(filepath.Join(env.PinRoot, unit, "maps", x.name), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		*x.m = m
	}
	return c
}

// read returns xdp_stats[0] (packets seen by XDP) and tcx_stats[0]
// (ingress packets seen by tcx).
func (c counters) read(t *testing.T) (xdp, tcx uint64) {
	t.Helper()
	if err := c.xdp.Lookup(uint32(0), &xdp); err != nil {
		t.Fatal(err)
	}
	if err := c.tcx.Lookup(uint32(0), &tcx); err != nil {
		t.Fatal(err)
	}
	return xdp, tcx
}

// TestZeroLossReplace sends sequence-numbered UDP from A to B while the
// unit's two programs (XDP and tcx ingress on B's veth) are swapped 100
// times by Reload and 100 times by Replace (each program; every swap is a
// BPF_LINK_UPDATE), and checks that every datagram sent was received and
// counted by both programs. A quiet netns (no IPv6, static ARP) makes the
// counters' deltas exactly the benchmark's datagrams.
func TestZeroLossReplace(t *testing.T) {
	needBench(t)
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	obj := combinedObject(t, env)
	objData, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, mode := range []string{"native", "generic"} {
		pair := quietPair(t)
		m := newManager(env, nil)
		ctx := context.Background()
		unit := "zl-" + mode
		env.Config(t, unit, zlUnit(obj, pair, mode, "round 0", 0))
		if _, _, err := m.Start(ctx, unit); err != nil {
			t.Fatal(err)
		}
		stopped := false
		stop := func() {
			if !stopped {
				stopped = true
				if err := m.Stop(ctx, unit); err != nil {
					t.Error(err)
				}
			}
		}
		defer stop()
		c := openCounters(t, env, unit)
		x0, c0 := c.read(t)
		time.Sleep(300 * time.Millisecond)
		if x1, c1 := c.read(t); x1 != x0 || c1 != c0 {
			t.Fatalf("%s: background traffic in the quiet netns: xdp %d->%d tcx %d->%d", mode, x0, x1, c0, c1)
		}

		ops := map[string]func(i int) error{
			"Reload (Description= flipped)": func(i int) error {
				env.Config(t, unit, zlUnit(obj, pair, mode, fmt.Sprintf("round %d", i+1), 0))
				st, err := m.Reload(ctx, unit)
				if err == nil {
					for _, l := range st.Links {
						if l.LastSwap != manager.SwapAtomic {
							return fmt.Errorf("%s@%s swapped %q, want %q", l.Program, l.Target, l.LastSwap, manager.SwapAtomic)
						}
					}
				}
				return err
			},
			"Replace xdp_count + tcx_ingress": func(i int) error {
				for _, prog := range []string{"xdp_count", "tcx_ingress"} {
					if _, err := m.Replace(ctx, unit, prog, bytes.NewReader(objData)); err != nil {
						return err
					}
				}
				return nil
			},
		}
		for _, name := range []string{"Reload (Description= flipped)", "Replace xdp_count + tcx_ingress"} {
			r := zeroLossRun(t, pair, c, ops[name])
			rows = append(rows, fmt.Sprintf("| %s | %s | %d | %.0f k/s | %d | %d | %d | %d | %d | %s |",
				mode, name, r.swaps, r.pps/1000, r.sent, r.received, r.xdp, r.tcx, len(r.missing), ms(r.op.med)))
			if r.received != r.sent || r.xdp != r.received || r.tcx != r.received || r.dups != 0 {
				t.Errorf("%s, %s: sent %d, received %d (%d duplicates), XDP counted %d, tcx counted %d; missing %v; %s",
					mode, name, r.sent, r.received, r.dups, r.xdp, r.tcx, head(r.missing), dropStats(t, pair))
			}
		}
		stop()
	}
	fmt.Printf("\nzero-loss replace: %d swaps of both programs per run, UDP %d-byte payload, at most %d datagrams in flight\n\n", swaps, udpPayload, window)
	fmt.Println("| XDP mode | swap | swaps | rate | sent | received | counted by XDP | counted by tcx | missing | swap call (median) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Println(r)
	}
}

type zlResult struct {
	swaps                    int
	sent, received, xdp, tcx int64
	dups                     int64
	missing                  []int64
	pps                      float64
	op                       stats
}

func zeroLossRun(t *testing.T, pair *testenv.Pair, c counters, op func(int) error) zlResult {
	t.Helper()
	x0, c0 := c.read(t)
	f := &flow{NsA: pair.NsA, NsB: pair.NsB, Dst: netip.AddrPortFrom(netip.MustParseAddr(pair.IPB), udpPort),
		Size: udpPayload, Window: window, Stall: 5 * time.Millisecond}
	if err := f.start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	var durs []time.Duration
	var opErr error
	for i := 0; i < swaps && opErr == nil; i++ {
		t0 := time.Now()
		opErr = op(i)
		durs = append(durs, time.Since(t0))
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	elapsed := time.Since(f.t0)
	if err := f.finish(); err != nil {
		t.Fatal(err)
	}
	if opErr != nil {
		t.Fatal(opErr)
	}
	x1, c1 := c.read(t)
	return zlResult{
		swaps: len(durs), sent: f.sent.Load(), received: f.received.Load(),
		xdp: int64(x1 - x0), tcx: int64(c1 - c0), dups: f.dups, missing: f.missing(),
		pps: float64(f.sent.Load()) / elapsed.Seconds(), op: summarize(durs),
	}
}

// TestSwapToDrop reloads the unit to xdp_counter with Constant=drop=1
// during traffic and measures when the new program took over: the send
// time of the last datagram that got through and of the first one that was
// dropped, relative to the reload call's return and to the link update.
func TestSwapToDrop(t *testing.T) {
	needBench(t)
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	obj := combinedObject(t, env)
	pair := quietPair(t)
	rec := &recorder{}
	m := newManager(env, rec)
	ctx := context.Background()
	const unit = "drop"
	env.Config(t, unit, zlUnit(obj, pair, "native", "pass", 0))
	if _, _, err := m.Start(ctx, unit); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := m.Stop(ctx, unit); err != nil {
			t.Error(err)
		}
	}()
	const reps = 10
	var lastOK, firstDrop, lastOKUpd, firstDropUpd, firstDropEnd, arrive, call, upd []time.Duration
	var gapsBefore int
	for i := 0; i < reps; i++ {
		env.Config(t, unit, zlUnit(obj, pair, "native", "pass", 0))
		if _, err := m.Reload(ctx, unit); err != nil {
			t.Fatal(err)
		}
		f := &flow{NsA: pair.NsA, NsB: pair.NsB, Dst: netip.AddrPortFrom(netip.MustParseAddr(pair.IPB), udpPort),
			Size: udpPayload, Window: window, Stall: time.Millisecond}
		if err := f.start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond)
		env.Config(t, unit, zlUnit(obj, pair, "native", "drop", 1))
		rec.take()
		tCall := f.now()
		_, err := m.Reload(ctx, unit)
		tRet := f.now()
		recs := rec.take()
		time.Sleep(50 * time.Millisecond)
		if ferr := f.finish(); ferr != nil {
			t.Fatal(ferr)
		}
		if err != nil {
			t.Fatal(err)
		}
		var xu timing
		for _, r := range recs {
			if r.Msg == "reload: link updated" && strings.Contains(filepath.Base(r.Link), "xdp_count@") {
				xu = r
			}
		}
		if xu.At.IsZero() {
			t.Fatal("no 'reload: link updated' debug record for xdp_count from the manager")
		}
		swEnd := int64(xu.At.Sub(f.t0))
		swStart := swEnd - int64(xu.Took)
		L := f.lastRecv
		if L < 0 || L+1 >= f.sent.Load() {
			t.Fatalf("rep %d: last received %d of %d sent: no drop observed", i, L, f.sent.Load())
		}
		for seq := int64(0); seq < L; seq++ {
			if !f.seen[seq] {
				gapsBefore++
			}
		}
		d := func(a, b int64) time.Duration { return time.Duration(a - b) }
		lastOK = append(lastOK, d(f.sendAt[L], tRet))
		firstDrop = append(firstDrop, d(f.sendAt[L+1], tRet))
		lastOKUpd = append(lastOKUpd, d(f.sendAt[L], swStart))
		firstDropUpd = append(firstDropUpd, d(f.sendAt[L+1], swStart))
		firstDropEnd = append(firstDropEnd, d(f.sendAt[L+1], swEnd))
		arrive = append(arrive, d(f.lastAt, tRet))
		call = append(call, d(tRet, tCall))
		upd = append(upd, d(swEnd, swStart))
	}
	if gapsBefore != 0 {
		t.Errorf("%d datagrams were lost before the swap to drop=1", gapsBefore)
	}
	fmt.Printf("\nswap to a dropping program (Reload to Constant=drop=1, XDP native), %d runs; negative = before\n\n", reps)
	fmt.Println("| measure | median | min | max |")
	fmt.Println("|---|---|---|---|")
	row := func(name string, ds []time.Duration) {
		s := summarize(ds)
		fmt.Printf("| %s | %s | %s | %s |\n", name, us(s.med), us(s.min), us(s.max))
	}
	row("Reload call, start to return", call)
	row("BPF_LINK_UPDATE of the XDP link, start to end", upd)
	row("last datagram passed: sent, relative to Reload's return", lastOK)
	row("first datagram dropped: sent, relative to Reload's return", firstDrop)
	row("last datagram passed: received, relative to Reload's return", arrive)
	row("last datagram passed: sent, relative to the start of the XDP link update", lastOKUpd)
	row("first datagram dropped: sent, relative to the start of the XDP link update", firstDropUpd)
	row("first datagram dropped: sent, relative to the end of the XDP link update", firstDropEnd)
	fmt.Printf("\ndatagrams lost before the swap: %d\n", gapsBefore)
}

func head(s []int64) string {
	if len(s) > 20 {
		return fmt.Sprint(s[:20]) + "..."
	}
	return fmt.Sprint(s)
}

// dropStats says where the kernel dropped datagrams: veth drop counters on
// both sides, UDP receive errors in B.
func dropStats(t *testing.T, p *testenv.Pair) string {
	var b strings.Builder
	for _, c := range [][2]string{{p.NsA, p.IfA}, {p.NsB, p.IfB}} {
		out, _ := testenv.Run("ip", "-n", c[0], "-s", "-j", "link", "show", c[1])
		var l []struct {
			Stats map[string]map[string]int64 `json:"stats64"`
		}
		if json.Unmarshal([]byte(out), &l) == nil && len(l) == 1 {
			fmt.Fprintf(&b, "%s rx_dropped=%d tx_dropped=%d; ", c[1], l[0].Stats["rx"]["dropped"], l[0].Stats["tx"]["dropped"])
		}
	}
	out, _ := testenv.Run("ip", "netns", "exec", p.NsB, "cat", "/proc/net/snmp")
	lines := strings.Split(out, "\n")
	for i := 0; i+1 < len(lines); i++ {
		if strings.HasPrefix(lines[i], "Udp:") && strings.HasPrefix(lines[i+1], "Udp:") {
			fmt.Fprintf(&b, "B %s / %s", strings.TrimSpace(lines[i]), strings.TrimSpace(lines[i+1]))
			break
		}
	}
	return b.String()
}
