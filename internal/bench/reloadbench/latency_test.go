package reloadbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

// latencyReps is the number of reloads measured per row.
const latencyReps = 10

// TestReloadLatency reloads units of 1, 10 and 100 attachments (XDP in
// native and in generic mode, one per veth; tcx ingress, one per veth) and
// splits each reload's time with the manager's debug timing records:
// loading (verification) of the one program all attachments share, the
// BPF_LINK_UPDATEs, the commit (state file, pins), and the rest (config,
// lock, checking the running links, reusing maps).
func TestReloadLatency(t *testing.T) {
	needBench(t)
	testenv.CheckLeaks(t)
	env := testenv.NewEnv(t)
	ns := fmt.Sprintf("bpfunit-lat-%d", os.Getpid())
	netns(t, ns)
	var batch strings.Builder
	for i := 0; i < 100; i += 2 {
		fmt.Fprintf(&batch, "link add lat%d type veth peer name lat%d\nlink set lat%d up\nlink set lat%d up\n", i, i+1, i, i+1)
	}
	bf := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(bf, []byte(batch.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.MustRun(t, "ip", "-n", ns, "-batch", bf)

	objs := map[string]string{"xdp": env.Object(t, "xdp_counter"), "tcx": env.Object(t, "tcx_counter")}
	type kind struct{ name, obj, prog, extra string }
	kinds := []kind{
		{"xdp native", objs["xdp"], "xdp_count", "Mode=native\n"},
		{"xdp generic", objs["xdp"], "xdp_count", "Mode=generic\n"},
		{"tcx ingress", objs["tcx"], "tcx_ingress", ""},
	}
	rec := &recorder{}
	m := newManager(env, rec)
	ctx := context.Background()
	var rows []string
	for _, k := range kinds {
		for _, n := range []int{1, 10, 100} {
			unit := fmt.Sprintf("lat-%s-%d", strings.ReplaceAll(k.name, " ", "-"), n)
			conf := func(desc string) string {
				var b strings.Builder
				fmt.Fprintf(&b, "[Unit]\nDescription=%s\n[Object]\nPath=%s\nPinMaps=yes\n", desc, k.obj)
				for i := 0; i < n; i++ {
					fmt.Fprintf(&b, "[Attach]\nProgram=%s\nInterface=lat%d\nNamespace=%s\n%s", k.prog, i, ns, k.extra)
				}
				return b.String()
			}
			env.Config(t, unit, conf("rep 0"))
			t0 := time.Now()
			if _, _, err := m.Start(ctx, unit); err != nil {
				t.Fatal(err)
			}
			startTime := time.Since(t0)
			var total, load, swap, perLink, commit, other []time.Duration
			for r := 0; r < latencyReps; r++ {
				env.Config(t, unit, conf(fmt.Sprintf("rep %d", r+1)))
				rec.take()
				t0 := time.Now()
				if _, err := m.Reload(ctx, unit); err != nil {
					t.Fatal(err)
				}
				d := time.Since(t0)
				recs := rec.take()
				l, ok1 := find(recs, "reload: programs loaded")
				s, ok2 := find(recs, "reload: links swapped")
				c, ok3 := find(recs, "reload: committed")
				if !ok1 || !ok2 || !ok3 {
					t.Fatalf("missing reload timing records: %+v", recs)
				}
				var upd []time.Duration
				for _, r := range recs {
					if r.Msg == "reload: link updated" {
						upd = append(upd, r.Took)
					}
				}
				if len(upd) != n {
					t.Fatalf("%d link updates recorded, want %d (every attachment updated in place)", len(upd), n)
				}
				total = append(total, d)
				load = append(load, l.Took)
				swap = append(swap, s.Took)
				perLink = append(perLink, summarize(upd).med)
				commit = append(commit, c.Took)
				other = append(other, d-l.Took-s.Took-c.Took)
			}
			if err := m.Stop(ctx, unit); err != nil {
				t.Fatal(err)
			}
			T, L := summarize(total), summarize(load)
			rows = append(rows, fmt.Sprintf("| %s | %d | %s | %s | %s | %s | %s | %s | **%s** | %s |",
				k.name, n, ms(startTime), ms(T.med), ms(L.med), ms(summarize(swap).med), us(summarize(perLink).med),
				ms(summarize(commit).med), ms(T.med-L.med), ms(summarize(other).med)))
		}
	}
	fmt.Printf("\nreload latency by number of attachments (one program shared by all, %d reloads per row, medians)\n\n", latencyReps)
	fmt.Println("| type | attachments | start | reload | load + verify | link updates | one link update | commit | reload without load | other |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Println(r)
	}
}
