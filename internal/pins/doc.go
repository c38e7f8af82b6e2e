// Package pins builds every bpffs path bpfunit uses, and is the only place
// that removes anything from bpffs.
//
// # Layout
//
//	ROOT/NAME/links/<program>@<target>   one pinned bpf_link per attachment
//	ROOT/NAME/staging/                    links of a start that has not committed yet
//	ROOT/NAME/maps/<map>                  pinned maps (PinMaps=yes, PROG_ARRAYs, libbpf pin-by-name)
//
// # Invariants
//
// The links directory exists only complete: a start pins into staging and
// renames staging to links as its last step, so "links exists" means
// "attached". Targets that contain "/" are escaped the way systemd-escape
// --path does, so a pin name is always one path component. Removal refuses
// any path that is not below the root.
package pins
