package loader

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/bpfunit/bpfunit/internal/config"
)

// Spec is a parsed ELF object.
type Spec struct {
	*ebpf.CollectionSpec
	// Digest is the hex SHA-256 of the object's bytes.
	Digest string
}

// ReadSpec parses an ELF object. r is read completely.
func ReadSpec(r io.Reader) (*Spec, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read object: %w", err)
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(strings.NewReader(string(data)))
	if err != nil {
		return nil, fmt.Errorf("parse ELF: %v", oneLine(err))
	}
	sum := sha256.Sum256(data)
	return &Spec{CollectionSpec: spec, Digest: hex.EncodeToString(sum[:])}, nil
}

// LoadOptions says what of a Spec to load and how.
type LoadOptions struct {
	// Programs are the program names to load; every other program is
	// left out unless a kept PROG_ARRAY refers to it.
	Programs []string
	// Constants override global variables before load.
	Constants []config.Constant
	// SkipUnusedConstants ignores Constants whose variable none of the
	// loaded programs uses, instead of failing: Replace loads one program
	// of a unit whose constants may belong to its other programs.
	SkipUnusedConstants bool
	// MapPinDir is where pinned maps live (the unit's maps dir).
	MapPinDir string
	// PinAllMaps pins every map that isn't global data (PinMaps=yes).
	// PROG_ARRAYs and maps the ELF marks pin-by-name are pinned regardless.
	PinAllMaps bool
	// NoPin pins nothing at all, whatever the object asks (verify).
	NoPin bool
	// Replacements are maps to use instead of creating them (ShareMap=,
	// and the old maps on reload), by map name.
	Replacements map[string]*ebpf.Map
	// Prepare adjusts each kept program spec before load (attach type or
	// target from the config). Optional.
	Prepare func(*ebpf.ProgramSpec) error
}

// Loaded is a loaded collection.
type Loaded struct {
	*ebpf.Collection
	// PinnedMaps are the maps pinned under MapPinDir, by name.
	PinnedMaps []string
}

// Load loads the programs named in opts from spec. The spec is copied, so
// one Spec can be loaded several times.
func Load(spec *Spec, opts LoadOptions) (*Loaded, error) {
	cs := spec.Copy()
	if err := prune(cs, opts.Programs); err != nil {
		return nil, err
	}
	for _, c := range opts.Constants {
		if _, used := cs.Variables[c.Name]; !used && opts.SkipUnusedConstants {
			continue
		}
		if err := setConstant(cs, c); err != nil {
			return nil, err
		}
	}
	// Replacements for maps the kept programs don't use would make
	// cilium/ebpf refuse the whole collection.
	repl := map[string]*ebpf.Map{}
	for name, m := range opts.Replacements {
		if _, ok := cs.Maps[name]; ok {
			repl[name] = m
		}
	}
	var pinned []string
	for name, m := range cs.Maps {
		if _, ok := opts.Replacements[name]; ok {
			m.Pinning = ebpf.PinNone
			continue
		}
		if m.Type == ebpf.ProgramArray || (opts.PinAllMaps && !isGlobalData(name)) {
			m.Pinning = ebpf.PinByName
		}
		if opts.NoPin {
			m.Pinning = ebpf.PinNone
		}
		if m.Pinning == ebpf.PinByName {
			// The pin file name is the map name, and the kernel truncates
			// map names to 15 bytes: keep the ELF name, which is what
			// configs and tools refer to.
			m.Name = name
			pinned = append(pinned, name)
		}
	}
	slices.Sort(pinned)
	if opts.Prepare != nil {
		for _, p := range cs.Programs {
			if err := opts.Prepare(p); err != nil {
				return nil, err
			}
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(cs, ebpf.CollectionOptions{
		Maps:            ebpf.MapOptions{PinPath: opts.MapPinDir},
		MapReplacements: repl,
	})
	if err != nil {
		return nil, loadError(cs, err)
	}
	return &Loaded{Collection: coll, PinnedMaps: pinned}, nil
}

func loadError(cs *ebpf.CollectionSpec, err error) error {
	// cilium/ebpf says which program: "program xdp_bad: load program: ..."
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "program "); ok {
		if name, _, ok := strings.Cut(rest, ":"); ok {
			return &LoadError{Program: name, Err: err, Type: unsupportedType(cs.Programs[name], err)}
		}
	}
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return &LoadError{Program: "?", Err: err}
	}
	return fmt.Errorf("load object: %s: %w", oneLine(err), errors.Unwrap(err))
}

func isGlobalData(name string) bool {
	return strings.HasPrefix(name, ".")
}

// prune deletes programs and maps the named programs don't need.
func prune(cs *ebpf.CollectionSpec, names []string) error {
	keep := map[string]bool{}
	var queue []string
	for _, n := range names {
		if _, ok := cs.Programs[n]; !ok {
			return fmt.Errorf("program %q not found in object (it has: %s)", n, keyList(cs.Programs))
		}
		if !keep[n] {
			keep[n] = true
			queue = append(queue, n)
		}
	}
	usedMaps := map[string]bool{}
	for len(queue) > 0 {
		p := cs.Programs[queue[0]]
		queue = queue[1:]
		for _, ins := range p.Instructions {
			ref := ins.Reference()
			if ref == "" || !ins.IsLoadFromMap() && !isMapRef(ins) {
				continue
			}
			if m, ok := cs.Maps[ref]; ok && !usedMaps[ref] {
				usedMaps[ref] = true
				// A PROG_ARRAY initialised with programs pulls them in.
				for _, kv := range m.Contents {
					if prog, ok := kv.Value.(string); ok && !keep[prog] {
						if _, exists := cs.Programs[prog]; exists {
							keep[prog] = true
							queue = append(queue, prog)
						}
					}
				}
			}
		}
	}
	for n := range cs.Programs {
		if !keep[n] {
			delete(cs.Programs, n)
		}
	}
	for n := range cs.Maps {
		if !usedMaps[n] {
			delete(cs.Maps, n)
		}
	}
	for n, v := range cs.Variables {
		if _, ok := cs.Maps[v.SectionName]; !ok {
			delete(cs.Variables, n)
		}
	}
	return nil
}

func isMapRef(ins asm.Instruction) bool {
	return ins.OpCode.IsDWordLoad() && ins.Reference() != ""
}
