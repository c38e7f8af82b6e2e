package bpf

// Regenerate the committed objects with `make generate` (or `go generate
// ./bpf/...`); it needs clang, llvm-strip and libbpf-dev. Building bpfunit
// needs none of them: the *_bpfel.o files and their Go wrappers are committed.
//
// -I/usr/include/x86_64-linux-gnu: clang -target bpf doesn't search the
// multiarch directory, where Debian keeps <asm/types.h>.

//go:generate go tool bpf2go -tags linux -target bpfel -output-stem xdp_counter xdpCounter xdp_counter.c -- -I/usr/include/x86_64-linux-gnu -Wall -Werror
//go:generate go tool bpf2go -tags linux -target bpfel -output-stem tcx_counter tcxCounter tcx_counter.c -- -I/usr/include/x86_64-linux-gnu -Wall -Werror
//go:generate go tool bpf2go -tags linux -target bpfel -output-stem cgroup_counter cgroupCounter cgroup_counter.c -- -I/usr/include/x86_64-linux-gnu -Wall -Werror
//go:generate go tool bpf2go -tags linux -target bpfel -output-stem trace_counter traceCounter trace_counter.c -- -I/usr/include/x86_64-linux-gnu -Wall -Werror
//go:generate go tool bpf2go -tags linux -target bpfel -output-stem kfunc_counter kfuncCounter kfunc_counter.c -- -I/usr/include/x86_64-linux-gnu -Wall -Werror
//go:generate go tool bpf2go -tags linux -target bpfel -output-stem kprobe_counter kprobeCounter kprobe_counter.c -- -I/usr/include/x86_64-linux-gnu -Wall -Werror
//go:generate go tool bpf2go -tags linux -target bpfel -output-stem uprobe_counter uprobeCounter uprobe_counter.c -- -I/usr/include/x86_64-linux-gnu -Wall -Werror
//go:generate go tool bpf2go -tags linux -target bpfel -output-stem netfilter_counter netfilterCounter netfilter_counter.c -- -I/usr/include/x86_64-linux-gnu -Wall -Werror
//go:generate go tool bpf2go -tags linux -target bpfel -output-stem tailcall tailcall tailcall.c -- -I/usr/include/x86_64-linux-gnu -Wall -Werror
//go:generate go tool bpf2go -tags linux -target bpfel -output-stem bad bad bad.c -- -I/usr/include/x86_64-linux-gnu -Wall -Werror
