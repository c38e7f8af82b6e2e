package pins

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"
	"golang.org/x/sys/unix"
)

// DefaultRoot is where units pin their objects unless configured otherwise.
const DefaultRoot = "/sys/fs/bpf/bpfunit"

// ErrOutsideRoot is returned when asked to remove something that is not below the pin root.
var ErrOutsideRoot = errors.New("path outside the pin root")

// ErrNotBPFFS is returned when the pin root is not on a bpf filesystem.
var ErrNotBPFFS = errors.New("not on a bpf filesystem")

// Root is the bpffs directory that holds one directory per unit.
type Root string

// Unit returns the directory of unit name.
func (r Root) Unit(name string) Unit {
	if r == "" || name == "" {
		panic("pins: empty root or unit name")
	}
	return Unit{root: r, name: name}
}

// Check makes sure the root's parent is a bpffs and creates the root.
func (r Root) Check() error {
	parent := filepath.Dir(string(r))
	var st unix.Statfs_t
	if err := unix.Statfs(parent, &st); err != nil {
		return fmt.Errorf("pin root %s: %w", r, err)
	}
	if st.Type != unix.BPF_FS_MAGIC {
		return fmt.Errorf("pin root %s: %s %w (mount one with: mount -t bpf bpf %s)", r, parent, ErrNotBPFFS, parent)
	}
	if err := os.MkdirAll(string(r), 0o700); err != nil {
		return fmt.Errorf("create pin root: %w", err)
	}
	return nil
}

// Units lists the unit directories present under the root.
func (r Root) Units() ([]string, error) {
	ents, err := os.ReadDir(string(r))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list pin root: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, unescapeDots(e.Name()))
		}
	}
	return names, nil
}

// Unit is the pin directory of one unit.
type Unit struct {
	root Root
	name string
}

// Name is the unit's name.
func (u Unit) Name() string { return u.name }

// Dir is ROOT/NAME (dots escaped, see escapeDots).
func (u Unit) Dir() string { return filepath.Join(string(u.root), escapeDots(u.name)) }

// Links is the committed links directory.
func (u Unit) Links() string { return filepath.Join(u.Dir(), "links") }

// Staging is where a start pins links before committing.
func (u Unit) Staging() string { return filepath.Join(u.Dir(), "staging") }

// Maps holds the unit's pinned maps.
func (u Unit) Maps() string { return filepath.Join(u.Dir(), "maps") }

// LinkName is the pin name of program attached to target: "<program>@<escaped target>".
func LinkName(program, target string) string {
	return program + "@" + EscapeTarget(target)
}

// EscapeTarget escapes a target the way systemd-escape --path does when it
// contains a "/", so that it is a single path component; other targets are
// escaped as plain strings. Dots are escaped too (see escapeDots).
func EscapeTarget(target string) string {
	if strings.Contains(target, "/") {
		return escapeDots(unit.UnitNamePathEscape(target))
	}
	return escapeDots(unit.UnitNameEscape(target))
}

// escapeDots escapes "." as systemd escapes other bytes, "\x2e": bpffs
// refuses names with a dot ("reserved for future extensions", EPERM), and
// unit names (bpf@eth0.100), interfaces (eth0.100) and cgroups
// (system.slice) have them. Unit names have no backslash, so the escape
// is unambiguous.
func escapeDots(s string) string { return strings.ReplaceAll(s, ".", `\x2e`) }

func unescapeDots(s string) string { return strings.ReplaceAll(s, `\x2e`, ".") }

// UnitName is the unit name of a unit directory's file name (the inverse
// of the escaping Unit.Dir does).
func UnitName(dirName string) string { return unescapeDots(dirName) }

// Program returns the program name part of a link pin name.
func Program(linkName string) string {
	p, _, _ := strings.Cut(linkName, "@")
	return p
}

// Remove unlinks path (a pin or an empty directory) if it exists. It refuses
// anything that is not strictly below the root.
func (r Root) Remove(path string) error {
	rel, err := filepath.Rel(string(r), path)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") || filepath.IsAbs(rel) {
		return fmt.Errorf("remove %s: %w %s", path, ErrOutsideRoot, r)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove pin: %w", err)
	}
	return nil
}

// List returns the entry names of dir, nil if it doesn't exist.
func List(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, nil
}

// Exists reports whether path exists.
func Exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
