package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Suffixes of unit files and of their drop-in directories and files.
const (
	UnitSuffix   = ".bpfunit"
	DropInSuffix = ".bpfunit.d"
	ConfSuffix   = ".conf"
)

// PathEnv overrides the search path; see SearchPath.
const PathEnv = "BPFUNIT_CONFIG_PATH"

// DefaultSearchPath is the search path, first wins: the admin's files,
// then runtime ones, then local and vendor ones.
var DefaultSearchPath = []string{"/etc/bpfunit", "/run/bpfunit/units", "/usr/local/lib/bpfunit", "/usr/lib/bpfunit"}

// SearchPath returns the config dirs, first wins: $BPFUNIT_CONFIG_PATH
// (colon-separated) if set and not empty, else DefaultSearchPath. As with
// $SYSTEMD_UNIT_PATH, a trailing ':' appends the default path.
func SearchPath() []string {
	env := os.Getenv(PathEnv)
	if env == "" {
		return slices.Clone(DefaultSearchPath)
	}
	var dirs []string
	for d := range strings.SplitSeq(env, ":") {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	if strings.HasSuffix(env, ":") {
		dirs = append(dirs, DefaultSearchPath...)
	}
	return dirs
}

// Entry is a unit visible on the search path.
type Entry struct {
	Name string
	// Path of the NAME.bpfunit that wins (possibly a symlink; not resolved).
	Path string
	// Masked: Path is a symlink to /dev/null. DropIns is empty then.
	Masked bool
	// DropIns are the NAME.bpfunit.d/*.conf files that apply, in order.
	DropIns []string
}

// Discover lists every unit on dirs, sorted by name. Files with an invalid
// unit name are skipped; a missing dir is skipped; any other unreadable dir
// is an error.
func Discover(dirs []string) ([]Entry, error) {
	// Each directory is listed once, and what the listings say is used
	// for masking and drop-in directories, instead of asking the
	// filesystem again per unit: with 1000 units at boot, the generator's
	// time is mostly syscalls.
	listings := make([][]fs.DirEntry, len(dirs))
	present := map[string]bool{} // dir/entry names that exist
	for i, dir := range dirs {
		des, err := readDir(dir)
		if err != nil {
			return nil, err
		}
		listings[i] = des
		for _, de := range des {
			present[filepath.Join(dir, de.Name())] = true
		}
	}
	seen := map[string]bool{}
	var out []Entry
	for i, dir := range dirs {
		for _, de := range listings[i] {
			name, ok := strings.CutSuffix(de.Name(), UnitSuffix)
			if !ok || seen[name] || de.IsDir() || ValidateName(name) != nil {
				continue
			}
			seen[name] = true
			e := Entry{Name: name, Path: filepath.Join(dir, de.Name())}
			if de.Type()&fs.ModeSymlink != 0 {
				masked, err := isMasked(e.Path)
				if err != nil {
					return nil, err
				}
				if e.Masked = masked; masked {
					out = append(out, e)
					continue
				}
			}
			var drops []string
			for _, d := range dirs {
				if p := filepath.Join(d, name+DropInSuffix); present[p] {
					drops = append(drops, p)
				}
			}
			var err error
			if e.DropIns, err = collectDropIns(drops); err != nil {
				return nil, err
			}
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Load finds unit name on dirs and parses it with its drop-ins. Errors wrap
// ErrInvalidName, ErrNotFound or ErrMasked, are *Error for a bad config, or
// are the I/O error.
func Load(dirs []string, name string) (*Unit, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	e, err := lookup(dirs, name)
	if err != nil {
		return nil, err
	}
	return load(e)
}

// LoadFile parses a unit file outside the search path (bpfunit verify FILE),
// with the drop-ins in FILE.d/*.conf beside it. The name is the file's base
// name without ".bpfunit".
func LoadFile(path string) (*Unit, error) {
	name, ok := strings.CutSuffix(filepath.Base(path), UnitSuffix)
	if !ok {
		return nil, fmt.Errorf("%w: file %s does not end in %s", ErrInvalidName, path, UnitSuffix)
	}
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	masked, err := isMasked(path)
	if err != nil {
		return nil, err
	}
	if masked {
		return nil, fmt.Errorf("%w: %s is a symlink to /dev/null", ErrMasked, path)
	}
	dropIns, err := collectDropIns([]string{path + ".d"})
	if err != nil {
		return nil, err
	}
	return load(Entry{Name: name, Path: path, DropIns: dropIns})
}

func load(e Entry) (*Unit, error) {
	var r Reader
	return r.Load(e)
}

// Reader reads the files of units: regular files of at most MaxFileSize
// bytes that only root could have written (see trust.go). A fifo, a device
// or a huge file would block or never end; a file someone else could write
// would let them choose what root runs in the kernel. The one reader of
// config files, for the oneshot and the generator alike. It remembers the
// directories it has checked, so reuse one for many units read in one pass
// (a generator run), not for longer: it would miss a chmod. The zero value
// is ready; not safe for concurrent use.
type Reader struct {
	t trust
}

// Load parses the unit e, as Discover found it, with its drop-ins, without
// looking it up again. Errors are *Error for a bad config, or name the file
// that could not be read and why (wrapping ErrUntrusted for a file others
// could write).
func (r *Reader) Load(e Entry) (*Unit, error) {
	files := make([]File, 0, 1+len(e.DropIns))
	for _, p := range append([]string{e.Path}, e.DropIns...) {
		data, err := r.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read unit %s: %w", e.Name, err)
		}
		files = append(files, File{Path: p, Data: data})
	}
	return Parse(e.Name, files)
}

// ReadFile reads one unit or drop-in file with the checks of Reader.
func (r *Reader) ReadFile(path string) ([]byte, error) { return r.t.readFile(path) }

// MaxFileSize bounds a unit or drop-in file; real ones are a few hundred bytes.
const MaxFileSize = 1 << 20

// lookup finds the NAME.bpfunit that wins on dirs.
func lookup(dirs []string, name string) (Entry, error) {
	for _, dir := range dirs {
		p := filepath.Join(dir, name+UnitSuffix)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Entry{}, err
		}
		if fi.IsDir() {
			continue // as Discover does
		}
		e, err := entryAt(dirs, name, p)
		if err != nil {
			return Entry{}, err
		}
		if e.Masked {
			return Entry{}, fmt.Errorf("%w: %s (%s is a symlink to /dev/null)", ErrMasked, name, p)
		}
		return e, nil
	}
	return Entry{}, fmt.Errorf("%w: %s (searched %s)", ErrNotFound, name, strings.Join(dirs, ":"))
}

func entryAt(dirs []string, name, path string) (Entry, error) {
	e := Entry{Name: name, Path: path}
	var err error
	if e.Masked, err = isMasked(path); err != nil || e.Masked {
		return e, err
	}
	drops := make([]string, len(dirs))
	for i, d := range dirs {
		drops[i] = filepath.Join(d, name+DropInSuffix)
	}
	e.DropIns, err = collectDropIns(drops)
	return e, err
}

// collectDropIns applies systemd's rule: *.conf from every dir, a file
// name in an earlier dir hides the same name in later dirs, a /dev/null
// symlink hides it and applies nothing; the result is sorted by file name.
func collectDropIns(dirs []string) ([]string, error) {
	byName := map[string]string{} // file name -> path; "" when masked
	for _, dir := range dirs {
		des, err := readDir(dir)
		if err != nil {
			return nil, err
		}
		for _, de := range des {
			n := de.Name()
			if _, ok := byName[n]; ok || !strings.HasSuffix(n, ConfSuffix) || de.IsDir() {
				continue
			}
			p := filepath.Join(dir, n)
			masked, err := isMasked(p)
			if err != nil {
				return nil, err
			}
			if masked {
				p = ""
			}
			byName[n] = p
		}
	}
	var out []string
	for _, n := range slices.Sorted(maps.Keys(byName)) {
		if byName[n] != "" {
			out = append(out, byName[n])
		}
	}
	return out, nil
}

// isMasked: a symlink whose target is a character device, i.e. /dev/null
// (by any path). Unlike systemd, an empty file is not a mask: it is an
// invalid unit, reported as such rather than silently disabled.
func isMasked(path string) (bool, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return false, err
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return false, nil
	}
	fi, err = os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // dangling: reading it reports the problem
	}
	if err != nil {
		return false, err
	}
	return fi.Mode()&fs.ModeCharDevice != 0, nil
}

// readDir is os.ReadDir where a missing directory is empty.
func readDir(dir string) ([]fs.DirEntry, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return des, err
}
