package loader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/config"
)

// feature is a kernel capability an attach type needs, probed by looking
// for its enum value in the kernel's own BTF: present means the kernel has
// the code. That touches nothing, and unlike a version check it is right on
// distribution kernels with backports.
type feature struct {
	// enum and value name the BTF enum value that proves the feature
	// (enum documents where it lives; the string alone is searched).
	enum, value string
	// what and since are for the error message only.
	what, since string
}

var features = map[config.AttachType]feature{
	config.TypeXDP:           {"bpf_link_type", "BPF_LINK_TYPE_XDP", "the XDP bpf_link", "5.9"},
	config.TypeTCX:           {"bpf_link_type", "BPF_LINK_TYPE_TCX", "the tcx bpf_link", "6.6"},
	config.TypeCgroup:        {"bpf_link_type", "BPF_LINK_TYPE_CGROUP", "the cgroup bpf_link", "5.7"},
	config.TypeTracepoint:    {"bpf_link_type", "BPF_LINK_TYPE_PERF_EVENT", "the perf-event bpf_link (pinnable tracepoint links)", "5.15"},
	config.TypeUprobe:        {"bpf_link_type", "BPF_LINK_TYPE_PERF_EVENT", "the perf-event bpf_link (pinnable uprobe links)", "5.15"},
	config.TypeUretprobe:     {"bpf_link_type", "BPF_LINK_TYPE_PERF_EVENT", "the perf-event bpf_link (pinnable uprobe links)", "5.15"},
	config.TypeRawTracepoint: {"bpf_link_type", "BPF_LINK_TYPE_RAW_TRACEPOINT", "the raw tracepoint bpf_link", "5.8"},
	config.TypeTPBTF:         {"bpf_link_type", "BPF_LINK_TYPE_TRACING", "the tracing bpf_link", "5.8"},
	config.TypeFentry:        {"bpf_link_type", "BPF_LINK_TYPE_TRACING", "the tracing bpf_link", "5.8"},
	config.TypeFexit:         {"bpf_link_type", "BPF_LINK_TYPE_TRACING", "the tracing bpf_link", "5.8"},
	config.TypeLSM:           {"bpf_prog_type", "BPF_PROG_TYPE_LSM", "BPF LSM programs", "5.7"},
	config.TypeNetfilter:     {"bpf_link_type", "BPF_LINK_TYPE_NETFILTER", "the netfilter bpf_link", "6.4"},
}

// vmlinuxBTF is the kernel's own BTF.
const vmlinuxBTF = "/sys/kernel/btf/vmlinux"

// scanKernelBTF reports which of names occur in the string section of the
// kernel's BTF, and false for known when the kernel has no BTF. An enum
// value's name is there exactly when the kernel has the value. Parsing all
// of vmlinux's BTF would cost ~12 ms of every start, reading the whole
// string section ~2 ms; the scan stops as soon as every name was seen, so
// on a kernel that has the features it reads a fraction of it. kernelHas
// (featurecache.go) caches the answers per boot.
func scanKernelBTF(names []string) (found map[string]bool, known bool) {
	f, err := os.Open(vmlinuxBTF)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	// struct btf_header: magic u16, version u8, flags u8, hdr_len u32,
	// type_off u32, type_len u32, str_off u32, str_len u32.
	var hdr [24]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return nil, false
	}
	bo := binary.NativeEndian
	if bo.Uint16(hdr[0:]) != 0xeb9f {
		return nil, false
	}
	hdrLen, strOff, strLen := bo.Uint32(hdr[4:]), bo.Uint32(hdr[16:]), bo.Uint32(hdr[20:])
	r := io.NewSectionReader(f, int64(hdrLen)+int64(strOff), int64(strLen))

	found = map[string]bool{}
	overlap := 0
	for _, n := range names {
		overlap = max(overlap, len(n)+2)
	}
	buf := make([]byte, 0, 256<<10+overlap)
	chunk := make([]byte, 256<<10)
	for len(found) < len(names) {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for _, name := range names {
			if !found[name] && bytes.Contains(buf, []byte("\x00"+name+"\x00")) {
				found[name] = true
			}
		}
		if err != nil {
			break
		}
		// Keep the tail: a name may straddle two chunks.
		buf = append(buf[:0], buf[max(0, len(buf)-overlap):]...)
	}
	return found, true
}

// Supported reports whether the kernel has what attach type t needs. It
// returns nil when it has, an error wrapping ErrUnsupported naming the
// feature and the Linux version that introduced it when it hasn't, and nil
// when it can't tell (no kernel BTF): then the attach itself will say.
func Supported(t config.AttachType) error {
	f, ok := features[t]
	if !ok {
		return nil
	}
	found, known := kernelHas([]string{f.value})
	if !known || found[f.value] {
		return nil
	}
	return fmt.Errorf("%s: %w", unsupportedMsg(t, f), ErrUnsupported)
}

func unsupportedMsg(t config.AttachType, f feature) string {
	return fmt.Sprintf("%s needs %s (Linux ≥ %s); this kernel is %s", t, f.what, f.since, kernelRelease())
}

// Preflight checks every attachment's kernel feature before anything is
// loaded, so an unsupported type fails without touching the kernel.
func Preflight(plan []*Attachment) error {
	var names []string
	for _, a := range plan {
		if f, ok := features[a.Type]; ok && !slices.Contains(names, f.value) {
			names = append(names, f.value)
		}
	}
	found, known := kernelHas(names)
	if !known {
		return nil
	}
	var errs []string
	seen := map[config.AttachType]bool{}
	for _, a := range plan {
		if f := features[a.Type]; !seen[a.Type] && f.value != "" && !found[f.value] {
			errs = append(errs, unsupportedMsg(a.Type, f))
		}
		seen[a.Type] = true
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", strings.Join(errs, "; "), ErrUnsupported)
	}
	return nil
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return strings.TrimRight(string(u.Release[:]), "\x00")
}
