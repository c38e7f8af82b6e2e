package attach

// The BTF-based hooks: tp_btf, fentry, fexit and lsm.
var (
	tracingLink = Feature{BTF: "BPF_LINK_TYPE_TRACING", What: "the tracing bpf_link", Since: "5.8"}

	// TPBTF is Type=tp_btf.
	TPBTF = tracingType("tp_btf", 60, "a tp_btf program", tracingLink)
	// Fentry is Type=fentry.
	Fentry = tracingType("fentry", 70, "an fentry program", tracingLink)
	// Fexit is Type=fexit.
	Fexit = tracingType("fexit", 80, "an fexit program", tracingLink)
	// LSM is Type=lsm.
	LSM = tracingType("lsm", 90, "an LSM program", Feature{BTF: "BPF_PROG_TYPE_LSM", What: "BPF LSM programs", Since: "5.7"})
)

func init() { register(TPBTF, Fentry, Fexit, LSM) }

func tracingType(name TypeName, rank int, program string, need Feature) *Type {
	return &Type{
		Name:      name,
		Rank:      rank,
		Keys:      []string{"Function"},
		Program:   program,
		Needs:     []Feature{need},
		Updatable: false,
		Link:      "BPF_LINK_TYPE_TRACING",
		PinTarget: "FUNCTION",
	}
}
