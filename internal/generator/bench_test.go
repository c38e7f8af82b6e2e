package generator_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/bpfunit/bpfunit/internal/generator"
)

// BenchmarkRun1000 runs the generator over 1000 configs (every tenth with
// a drop-in, every twentieth invalid), as at a boot or a daemon-reload.
// Target: at most 50 ms per run.
func BenchmarkRun1000(b *testing.B) {
	// As the generator binary runs (see Main).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	dir := b.TempDir()
	etc, lib := filepath.Join(dir, "etc"), filepath.Join(dir, "lib")
	for i := range 1000 {
		d := lib
		if i%2 == 0 {
			d = etc
		}
		attach := []string{
			fmt.Sprintf("Program=p\nType=xdp\nInterface=eth%d\n", i%8),
			"Program=q\nType=cgroup\nCgroup=nginx.service\n",
			"Program=r\nType=tracepoint\nTracepoint=syscalls:sys_enter_getpid\n",
		}
		data := config(fmt.Sprintf("unit %d", i), "WantedBy=bpf.target", attach...)
		if i%20 == 0 {
			data += "[Object]\nPinMaps=maybe\n"
		}
		writeFile(b, filepath.Join(d, fmt.Sprintf("unit-%04d.bpfunit", i)), data)
		if i%10 == 0 {
			writeFile(b, filepath.Join(d, fmt.Sprintf("unit-%04d.bpfunit.d", i), "10-desc.conf"), "[Unit]\nDescription=overridden\n")
		}
	}
	// The output goes to /run/systemd/generator, a tmpfs: write it to one
	// (/dev/shm), since a disk's mkdir and symlink cost dominates otherwise.
	outDir := b.TempDir()
	if d, err := os.MkdirTemp("/dev/shm", "bpfunit-generator-bench-"); err == nil {
		outDir = d
		b.Cleanup(func() { os.RemoveAll(d) })
	} else {
		b.Logf("no /dev/shm (%v): output on %s", err, outDir)
	}
	opts := generator.Options{ConfigDirs: []string{etc, lib}, Udev: true}
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		out := filepath.Join(outDir, fmt.Sprintf("out%d", i))
		b.StartTimer()
		if err := generator.Run(opts, generator.Dirs{Normal: out, Early: out, Late: out}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(out)
		b.StartTimer()
	}
}

func writeFile(tb testing.TB, path, data string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		tb.Fatal(err)
	}
}
