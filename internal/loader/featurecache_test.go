package loader

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain keeps the package's tests away from the machine's cache in
// /run/bpfunit: each test that probes uses its own (withCache).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bpfunit-loader-test-")
	if err != nil {
		panic(err)
	}
	featureCachePath = filepath.Join(dir, "feature-probe")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// withCache points the cache at a fresh path and returns it.
func withCache(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(vmlinuxBTF); err != nil {
		t.Skip("kernel has no BTF at", vmlinuxBTF)
	}
	old := featureCachePath
	featureCachePath = filepath.Join(t.TempDir(), "run", "feature-probe")
	t.Cleanup(func() { featureCachePath = old })
	return featureCachePath
}

func currentKey(t *testing.T) probeKey {
	t.Helper()
	k, ok := currentProbeKey()
	if !ok {
		t.Fatalf("no boot id at %s", bootIDPath)
	}
	return k
}

const xdpLink = "BPF_LINK_TYPE_XDP"

// TestFeatureCacheWrittenAndUsed: a scan writes the cache, and the next
// probe answers from it without a scan, which a forged answer under this
// boot's key shows.
func TestFeatureCacheWrittenAndUsed(t *testing.T) {
	path := withCache(t)
	found, known := kernelHas([]string{xdpLink, "BPF_LINK_TYPE_NO_SUCH_THING"})
	if !known || !found[xdpLink] || found["BPF_LINK_TYPE_NO_SUCH_THING"] {
		t.Fatalf("scan: found %v known %v", found, known)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no cache after a scan: %v", err)
	}
	key := currentKey(t)
	want := featureCacheMagic + "\n" + key.String() + "has BPF_LINK_TYPE_NO_SUCH_THING false\nhas BPF_LINK_TYPE_XDP true\n"
	if string(data) != want {
		t.Fatalf("cache:\n%s\nwant:\n%s", data, want)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("cache mode: %v %v", fi.Mode(), err)
	}

	// Only a cache answer can say the kernel lacks the XDP link.
	if err := writeFeatureCache(path, key, map[string]bool{xdpLink: false}); err != nil {
		t.Fatal(err)
	}
	if found, known := kernelHas([]string{xdpLink}); !known || found[xdpLink] {
		t.Fatalf("probe did not answer from the cache: found %v known %v", found, known)
	}
	// A name the cache lacks is scanned for and added; the rest is kept.
	if found, _ := kernelHas([]string{xdpLink, "BPF_LINK_TYPE_TCX"}); found[xdpLink] {
		t.Errorf("cached answer for %s not used with a name not in the cache: %v", xdpLink, found)
	}
	data, _ = os.ReadFile(path)
	if !strings.Contains(string(data), "has BPF_LINK_TYPE_TCX ") || !strings.Contains(string(data), "has BPF_LINK_TYPE_XDP false\n") {
		t.Errorf("cache after adding a name:\n%s", data)
	}
}

// TestFeatureCacheIgnored: what can't be trusted to be this boot's answer
// is ignored, and a fresh scan rewrites it.
func TestFeatureCacheIgnored(t *testing.T) {
	forged := func(t *testing.T, path string, key probeKey) {
		t.Helper()
		if err := writeFeatureCache(path, key, map[string]bool{xdpLink: false}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(t *testing.T, path string) {
		t.Helper()
		if found, known := kernelHas([]string{xdpLink}); !known || !found[xdpLink] {
			t.Fatalf("answered from a cache to be ignored: found %v known %v", found, known)
		}
		if got := readFeatureCache(path, currentKey(t)); got == nil || !got[xdpLink] {
			t.Errorf("cache not rewritten by the scan: %v", got)
		}
	}
	t.Run("other boot", func(t *testing.T) {
		path := withCache(t)
		key := currentKey(t)
		key.boot = "00000000-0000-0000-0000-000000000000"
		forged(t, path, key)
		check(t, path)
	})
	t.Run("other kernel BTF", func(t *testing.T) {
		path := withCache(t)
		key := currentKey(t)
		key.btfMtime++
		forged(t, path, key)
		check(t, path)
	})
	for name, data := range map[string]string{
		"empty":     "",
		"truncated": featureCacheMagic + "\nboot ",
		"garbage":   "\x00\x01\x02",
		"bad value": featureCacheMagic + "\n%s" + "has BPF_LINK_TYPE_XDP maybe\n",
		"no eol":    featureCacheMagic + "\n%s" + "has BPF_LINK_TYPE_XDP false",
	} {
		t.Run("corrupt "+name, func(t *testing.T) {
			path := withCache(t)
			data := strings.Replace(data, "%s", currentKey(t).String(), 1)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			check(t, path)
		})
	}
	t.Run("writable by others", func(t *testing.T) {
		path := withCache(t)
		forged(t, path, currentKey(t))
		if err := os.Chmod(path, 0o666); err != nil {
			t.Fatal(err)
		}
		if found, _ := kernelHas([]string{xdpLink}); !found[xdpLink] {
			t.Fatal("answered from a world-writable cache")
		}
	})
}

// TestFeatureCacheNoBootID: without a boot id nothing is cached, and the
// probe still answers.
func TestFeatureCacheNoBootID(t *testing.T) {
	path := withCache(t)
	old := bootIDPath
	bootIDPath = filepath.Join(t.TempDir(), "none")
	defer func() { bootIDPath = old }()
	if found, known := kernelHas([]string{xdpLink}); !known || !found[xdpLink] {
		t.Fatalf("found %v known %v", found, known)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("cache written without a boot id: %v", err)
	}
}
