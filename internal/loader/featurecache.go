package loader

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The feature probe's answers hold for as long as the kernel runs: every
// start would otherwise read ~300 KB of vmlinux BTF strings, 4 KiB per
// read(2) from sysfs, which was the largest part of a start after the
// link itself. So they are cached per boot in a small file under
// /run/bpfunit (tmpfs), keyed by the boot id and by the size and mtime of
// /sys/kernel/btf/vmlinux. A cache that is missing, corrupt, of another
// boot or kernel BTF, or that could have been written by someone other than
// root is ignored and rewritten; the cache can only ever answer what a
// scan answered on this boot.

// featureCachePath is the cache file; tests point it elsewhere.
var featureCachePath = "/run/bpfunit/feature-probe"

// bootIDPath identifies this boot; tests point it elsewhere.
var bootIDPath = "/proc/sys/kernel/random/boot_id"

const featureCacheMagic = "bpfunit feature probe v1"

// probeKey is what the cached answers depend on.
type probeKey struct {
	boot     string
	btfSize  int64 // -1: no kernel BTF
	btfMtime int64 // ns
}

func (k probeKey) String() string {
	return fmt.Sprintf("boot %s\nbtf %d %d\n", k.boot, k.btfSize, k.btfMtime)
}

// kernelHas reports which of names the kernel's BTF has (see scanKernelBTF),
// from the cache when it has them all, else by a scan whose answers are
// added to the cache.
func kernelHas(names []string) (found map[string]bool, known bool) {
	key, keyOK := currentProbeKey()
	var cached map[string]bool
	if keyOK {
		cached = readFeatureCache(featureCachePath, key)
		if key.btfSize < 0 {
			return nil, false
		}
		if cached != nil && !slices.ContainsFunc(names, func(n string) bool { _, ok := cached[n]; return !ok }) {
			found = map[string]bool{}
			for _, n := range names {
				if cached[n] {
					found[n] = true
				}
			}
			return found, true
		}
	}
	// Scan only for what the cache lacks: an absent name costs a read of
	// the whole string table.
	var want []string
	for _, n := range names {
		if _, ok := cached[n]; !ok && !slices.Contains(want, n) {
			want = append(want, n)
		}
	}
	all, known := scanKernelBTF(want)
	if !known {
		return nil, false
	}
	if keyOK {
		merged := maps.Clone(cached)
		if merged == nil {
			merged = map[string]bool{}
		}
		for _, n := range want {
			merged[n] = all[n]
		}
		writeFeatureCache(featureCachePath, key, merged) // best effort: a cache
	}
	found = map[string]bool{}
	for _, n := range names {
		if all[n] || cached[n] {
			found[n] = true
		}
	}
	return found, true
}

// currentProbeKey returns the key of this boot and kernel BTF; false when
// it can't tell (no boot id), and then nothing is cached.
func currentProbeKey() (probeKey, bool) {
	data, err := os.ReadFile(bootIDPath)
	boot := strings.TrimSpace(string(data))
	if err != nil || boot == "" || strings.ContainsAny(boot, " \n") {
		return probeKey{}, false
	}
	k := probeKey{boot: boot, btfSize: -1}
	var st unix.Stat_t
	if err := unix.Stat(vmlinuxBTF, &st); err == nil {
		k.btfSize, k.btfMtime = st.Size, st.Mtim.Nano()
	}
	return k, true
}

// readFeatureCache returns the cached answers for key, nil if there are
// none that can be trusted.
func readFeatureCache(path string, key probeKey) map[string]bool {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	// The answers decide what is refused as unsupported: only root's.
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Uid != uint32(os.Geteuid()) && st.Uid != 0 || st.Mode&0o022 != 0 || st.Size > 64<<10 {
		return nil
	}
	buf := make([]byte, st.Size+1)
	n, err := unix.Read(fd, buf)
	if err != nil || int64(n) != st.Size {
		return nil
	}
	return parseFeatureCache(buf[:n], key)
}

// parseFeatureCache reads the format writeFeatureCache writes; nil for
// anything else or another key.
func parseFeatureCache(data []byte, key probeKey) map[string]bool {
	head := featureCacheMagic + "\n" + key.String()
	rest, ok := bytes.CutPrefix(data, []byte(head))
	if !ok || len(rest) == 0 || rest[len(rest)-1] != '\n' {
		return nil
	}
	has := map[string]bool{}
	for line := range strings.SplitSeq(strings.TrimSuffix(string(rest), "\n"), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "has" {
			return nil
		}
		v, err := strconv.ParseBool(f[2])
		if err != nil {
			return nil
		}
		has[f[1]] = v
	}
	return has
}

func formatFeatureCache(key probeKey, has map[string]bool) []byte {
	var b bytes.Buffer
	b.WriteString(featureCacheMagic + "\n" + key.String())
	for _, n := range slices.Sorted(maps.Keys(has)) {
		fmt.Fprintf(&b, "has %s %t\n", n, has[n])
	}
	return b.Bytes()
}

// writeFeatureCache replaces the cache atomically (a temporary file and
// rename(2)), so that concurrent starts at boot read a whole file or none.
func writeFeatureCache(path string, key probeKey, has map[string]bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(formatFeatureCache(key, has)); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
