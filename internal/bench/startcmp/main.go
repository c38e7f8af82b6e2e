// Command startcmp measures the whole-process time and peak RSS of
// attaching one XDP program with bpfunit-oneshot start, with xdp-loader
// load, and with bpftool prog loadall + bpftool net attach, on the same
// object and the same veth interface, in one run, and prints the ratios.
//
// It must run as root inside a private mount namespace (make bench does
// `unshare -m --propagation private`), because xdp-loader and bpftool pin
// under /sys/fs/bpf and this machine has no bpffs there.
//
//	go run ./internal/bench/startcmp -oneshot bin/bpfunit-oneshot -n 20
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/bpfunit/bpfunit/bpf"
)

const (
	netns = "bpfunit-bench"
	iface = "bench0"
	peer  = "bench1"
	bpffs = "/sys/fs/bpf"
)

type sample struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	maxRSS int64         // KiB
}

type tool struct {
	name   string
	attach [][]string // processes timed together
	detach [][]string // untimed cleanup
}

func main() {
	oneshot := flag.String("oneshot", "bin/bpfunit-oneshot", "path of bpfunit-oneshot")
	n := flag.Int("n", 20, "iterations per tool")
	baseline := flag.String("baseline", "", "path of another bpfunit-oneshot (an older build) to time alongside")
	flag.Parse()
	if err := run(*oneshot, *baseline, *n); err != nil {
		fmt.Fprintln(os.Stderr, "startcmp:", err)
		os.Exit(1)
	}
}

func run(oneshot, baseline string, n int) error {
	oneshot, _ = filepath.Abs(oneshot)
	dir, err := os.MkdirTemp("", "bpfunit-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := syscall.Mount("bpf", bpffs, "bpf", 0, ""); err != nil {
		return fmt.Errorf("mount bpffs (run inside unshare -m): %w", err)
	}
	defer syscall.Unmount(bpffs, syscall.MNT_DETACH)

	obj := filepath.Join(dir, "xdp_counter.bpf.o")
	data, err := bpf.Object("xdp_counter")
	if err != nil {
		return err
	}
	if err := os.WriteFile(obj, data, 0o644); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	// The state and lock files live in /run/bpfunit, a tmpfs on every
	// systemd machine; this one's /tmp and /run are ext4, where creating
	// the state file cost ~1 ms more.
	run := filepath.Join(dir, "run")
	if err := os.Mkdir(run, 0o755); err != nil {
		return err
	}
	if err := syscall.Mount("tmpfs", run, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=0755"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", run, err)
	}
	defer syscall.Unmount(run, syscall.MNT_DETACH)
	conf := filepath.Join(dir, "conf")
	os.Mkdir(conf, 0o755)
	os.WriteFile(filepath.Join(conf, "bench.bpfunit"), []byte(fmt.Sprintf(
		"[Object]\nPath=%s\n[Attach]\nProgram=xdp_count\nInterface=%s\nMode=native\n", obj, iface)), 0o644)

	if err := sh("ip", "netns", "add", netns); err != nil {
		return err
	}
	defer sh("ip", "netns", "del", netns)
	if err := sh("ip", "-n", netns, "link", "add", iface, "type", "veth", "peer", "name", peer); err != nil {
		return err
	}
	sh("ip", "-n", netns, "link", "set", iface, "up")
	sh("ip", "-n", netns, "link", "set", peer, "up")

	in := func(args ...string) []string {
		return append([]string{"nsenter", "--net=/run/netns/" + netns}, args...)
	}
	pin := bpffs + "/bench-bpftool"
	tools := []tool{
		{
			name:   "bpfunit-oneshot start",
			attach: [][]string{in(oneshot, "start", "bench")},
			detach: [][]string{in(oneshot, "stop", "bench")},
		},
		{
			name:   "xdp-loader load",
			attach: [][]string{in("xdp-loader", "load", "-m", "native", "-n", "xdp_count", iface, obj)},
			detach: [][]string{in("xdp-loader", "unload", "--all", iface)},
		},
		{
			name: "bpftool prog loadall + net attach",
			attach: [][]string{
				in("bpftool", "prog", "loadall", obj, pin, "type", "xdp"),
				in("bpftool", "net", "attach", "xdpdrv", "pinned", pin+"/xdp_count", "dev", iface),
			},
			detach: [][]string{in("bpftool", "net", "detach", "xdpdrv", "dev", iface), {"rm", "-rf", pin}},
		},
	}
	if baseline != "" {
		baseline, _ = filepath.Abs(baseline)
		tools = append(tools, tool{
			name:   "baseline oneshot start",
			attach: [][]string{in(baseline, "start", "bench")},
			detach: [][]string{in(baseline, "stop", "bench")},
		})
	}
	env := append(os.Environ(), "BPFUNIT_PIN_ROOT="+bpffs+"/bpfunit", "BPFUNIT_RUN_DIR="+run, "BPFUNIT_CONFIG_PATH="+conf)

	results := make([][]sample, len(tools))
	// Interleave the tools so that machine noise hits all of them alike,
	// and rotate who goes first: the tool right after another's detach
	// pays for the kernel's deferred freeing (~5 %, measured by swapping
	// two builds of the oneshot).
	for i := 0; i < n+1; i++ {
		for k := range tools {
			t := (i + k) % len(tools)
			tl := tools[t]
			s, err := measure(tl.attach, env)
			if err != nil {
				return fmt.Errorf("%s: %w", tl.name, err)
			}
			for _, d := range tl.detach {
				if out, err := command(d, env).CombinedOutput(); err != nil {
					return fmt.Errorf("%s cleanup: %v: %s", tl.name, err, out)
				}
			}
			if i > 0 { // the first round warms caches
				results[t] = append(results[t], s)
			}
		}
	}

	fmt.Printf("attach one XDP program to a veth (native mode), %d runs each, median wall time of the whole process(es), median CPU time (user+system), peak RSS\n\n", n)
	fmt.Printf("%-36s %10s %10s %10s %12s\n", "tool", "median", "p90", "CPU", "peak RSS")
	med := make([]time.Duration, len(tools))
	cpu := make([]time.Duration, len(tools))
	for t, tl := range tools {
		walls := make([]time.Duration, 0, n)
		cpus := make([]time.Duration, 0, n)
		var rss int64
		for _, s := range results[t] {
			walls = append(walls, s.wall)
			cpus = append(cpus, s.cpu)
			rss = max(rss, s.maxRSS)
		}
		slices.Sort(walls)
		slices.Sort(cpus)
		med[t], cpu[t] = walls[len(walls)/2], cpus[len(cpus)/2]
		fmt.Printf("%-36s %8.1fms %8.1fms %8.1fms %9.1f MiB\n", tl.name, ms(med[t]), ms(walls[len(walls)*9/10]), ms(cpu[t]), float64(rss)/1024)
	}
	fmt.Println()
	// The wall time is mostly the kernel's XDP link creation, which
	// waits (rtnl, RCU) and moves by a timer tick from run to run; the
	// CPU time is each tool's own work.
	for t := 1; t < len(tools); t++ {
		fmt.Printf("ratio bpfunit-oneshot / %s: %.2fx wall, %.2fx CPU\n", tools[t].name, float64(med[0])/float64(med[t]), float64(cpu[0])/float64(cpu[t]))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func command(args []string, env []string) *exec.Cmd {
	c := exec.Command(args[0], args[1:]...)
	c.Env = env
	return c
}

// measure runs the processes one after another and returns their summed
// wall time and the largest peak RSS among them.
func measure(procs [][]string, env []string) (sample, error) {
	var s sample
	for _, p := range procs {
		c := command(p, env)
		var out strings.Builder
		c.Stdout, c.Stderr = &out, &out
		t0 := time.Now()
		err := c.Run()
		s.wall += time.Since(t0)
		if err != nil {
			return s, fmt.Errorf("%s: %v: %s", strings.Join(p, " "), err, out.String())
		}
		if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
			s.maxRSS = max(s.maxRSS, ru.Maxrss)
		}
		s.cpu += c.ProcessState.UserTime() + c.ProcessState.SystemTime()
	}
	return s, nil
}

func sh(args ...string) error {
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}
