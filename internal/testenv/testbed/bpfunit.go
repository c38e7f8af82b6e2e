package testbed

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/testenv"
)

// Helpers for tests that drive an installed bpfunit inside a testbed (see
// BootInstalled), the way an administrator would.

// MustWriteFile writes data (mode 0644) to path inside the testbed and
// fails tb if it can't.
func (t *Testbed) MustWriteFile(tb testing.TB, path, data string) {
	tb.Helper()
	if err := t.WriteFile(path, []byte(data), 0o644); err != nil {
		tb.Fatalf("write %s: %v", path, err)
	}
}

// UnitState is `systemctl is-active UNIT` inside the testbed: "active",
// "failed", "inactive"... (is-active exits non-zero for all but active, so
// its output is the answer, not its exit code).
func (t *Testbed) UnitState(unit string) string {
	out, _ := t.Systemctl("is-active", unit)
	return strings.TrimSpace(out)
}

// WaitState waits up to d for unit to be in state and fails tb, with the
// unit's journal, if it isn't by then.
func (t *Testbed) WaitState(tb testing.TB, unit, state string, d time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for {
		s := t.UnitState(unit)
		if s == state {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s is %s after %v, want %s\n%s", unit, s, d, state, t.Journal(unit))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Status is `bpfunit status --json NAME` inside the testbed; it fails tb if
// the command fails or its output does not parse.
func (t *Testbed) Status(tb testing.TB, name string) *manager.Status {
	tb.Helper()
	out := t.MustRun(tb, "bpfunit", "status", "--json", name)
	var st manager.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		tb.Fatalf("bpfunit status --json %s: %v\n%s", name, err, out)
	}
	return &st
}

// NewPrograms lists, as NAME(ID), the BPF programs in the kernel that were
// not there in before, other than systemd's own (sd_*). Program IDs are
// global: it reads them from the host.
func NewPrograms(tb testing.TB, before testenv.Objects) []string {
	tb.Helper()
	now, err := testenv.Snapshot()
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, id := range now.Since(before).Progs {
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue // gone meanwhile
		}
		info, err := p.Info()
		p.Close()
		if err == nil && !strings.HasPrefix(info.Name, "sd_") {
			names = append(names, fmt.Sprintf("%s(%d)", info.Name, id))
		}
	}
	return names
}

// TraceCounterObject is where BootInstalled's tree puts the trace_counter
// object (bpf/trace_counter.c).
const TraceCounterObject = "/usr/lib/bpfunit/objects/trace_counter.bpf.o"

// TraceCounterLinks is the [Object] and [Attach] sections of a config with
// two links on TraceCounterObject, a tracepoint (tp_getpid) and a raw
// tracepoint (raw_tp_sys_enter), pinning its maps: enough to detach one
// link and see the other stay, without a network. Tests add their own
// [Unit] and [Install] sections.
const TraceCounterLinks = `[Object]
Path=` + TraceCounterObject + `
PinMaps=yes
[Attach]
Program=tp_getpid
Type=tracepoint
Tracepoint=syscalls:sys_enter_getpid
[Attach]
Program=raw_tp_sys_enter
Type=raw_tracepoint
Tracepoint=sys_enter
`

// NoUnitLeft fails tb (without stopping it) if unit name has pins or a
// state file inside the testbed.
func (t *Testbed) NoUnitLeft(tb testing.TB, name string) {
	tb.Helper()
	for _, p := range []string{"/sys/fs/bpf/bpfunit/" + name, "/run/bpfunit/state/" + name + ".json"} {
		if out, err := t.Run("test", "!", "-e", p); err != nil {
			ls, _ := t.Run("find", p)
			tb.Errorf("%s left: %s%s", p, out, ls)
		}
	}
}
