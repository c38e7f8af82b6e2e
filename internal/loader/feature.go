package loader

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/config"
)

// feature is a kernel capability an attach type needs, probed by looking
// for its enum value in the kernel's own BTF: present means the kernel has
// the code. That touches nothing, and unlike a version check it is right on
// distribution kernels with backports.
type feature struct {
	// enum and value name the BTF enum value that proves the feature.
	enum, value string
	// what and since are for the error message only.
	what, since string
}

var features = map[config.AttachType]feature{
	config.TypeXDP:           {"bpf_link_type", "BPF_LINK_TYPE_XDP", "the XDP bpf_link", "5.9"},
	config.TypeTCX:           {"bpf_link_type", "BPF_LINK_TYPE_TCX", "tcx", "6.6"},
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

var (
	kernelEnumsOnce sync.Once
	kernelEnums     map[string]map[string]bool
	kernelEnumsErr  error
)

func loadKernelEnums() (map[string]map[string]bool, error) {
	kernelEnumsOnce.Do(func() {
		spec, err := btf.LoadKernelSpec()
		if err != nil {
			kernelEnumsErr = err
			return
		}
		kernelEnums = map[string]map[string]bool{}
		for _, name := range []string{"bpf_link_type", "bpf_prog_type", "bpf_attach_type"} {
			var e *btf.Enum
			if err := spec.TypeByName(name, &e); err != nil {
				continue
			}
			vals := map[string]bool{}
			for _, v := range e.Values {
				vals[v.Name] = true
			}
			kernelEnums[name] = vals
		}
	})
	return kernelEnums, kernelEnumsErr
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
	enums, err := loadKernelEnums()
	if err != nil || enums[f.enum] == nil {
		return nil
	}
	if enums[f.enum][f.value] {
		return nil
	}
	return fmt.Errorf("%s needs %s (Linux ≥ %s); this kernel is %s: %w", t, f.what, f.since, kernelRelease(), ErrUnsupported)
}

// Preflight checks every attachment's kernel feature before anything is
// loaded, so an unsupported type fails without touching the kernel.
func Preflight(plan []*Attachment) error {
	var errs []error
	seen := map[config.AttachType]bool{}
	for _, a := range plan {
		if seen[a.Type] {
			continue
		}
		seen[a.Type] = true
		if err := Supported(a.Type); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return strings.TrimRight(string(u.Release[:]), "\x00")
}
