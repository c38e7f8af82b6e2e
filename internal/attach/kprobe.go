package attach

var (
	// Kprobe is Type=kprobe.
	Kprobe = kprobeType("kprobe", 100)
	// Kretprobe is Type=kretprobe.
	Kretprobe = kprobeType("kretprobe", 110)
)

func init() { register(Kprobe, Kretprobe) }

// kprobes is the kernel's kprobe support. register_kprobe is only built
// with CONFIG_KPROBES, and without it neither the perf-event nor the
// kprobe_multi link can attach.
var kprobes = Feature{BTF: "register_kprobe", What: "kprobes", Option: "CONFIG_KPROBES"}

func kprobeType(name TypeName, rank int) *Type {
	return &Type{
		Name:    name,
		Rank:    rank,
		Keys:    []string{"Function"},
		Program: "a " + string(name) + " program",
		Needs: []Feature{kprobes,
			{BTF: "BPF_LINK_TYPE_PERF_EVENT", What: "the perf-event bpf_link (pinnable " + string(name) + " links)", Since: "5.15"}},
		// Neither the kprobe_multi nor the perf-event link can update.
		Updatable: false,
		Link:      "BPF_LINK_TYPE_KPROBE_MULTI, else BPF_LINK_TYPE_PERF_EVENT",
		PinTarget: "FUNCTION",
		// Where the kernel's kprobe PMU is missing, cilium/ebpf creates
		// the probe in tracefs's kprobe_events.
		Deps: func(*Section, DepEnv) Deps { return Deps{Mounts: []string{Tracefs}} },
	}
}
