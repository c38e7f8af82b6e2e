package manager

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/pins"
	"github.com/bpfunit/bpfunit/internal/state"
)

// Summary is a unit as a listing shows it: its state and description. It is
// what Status says of the unit without the programs' names and tags and
// without the maps, which a listing does not show and which cost a
// syscall or more each.
type Summary struct {
	Name        string `json:"name"`
	State       State  `json:"state"`
	Reason      string `json:"reason,omitempty"`
	Err         string `json:"error,omitempty"`
	Description string `json:"description,omitempty"`
	Config      string `json:"config,omitempty"`
	Masked      bool   `json:"masked,omitempty"`
}

func summaryOf(st *Status) Summary {
	return Summary{Name: st.Name, State: st.State, Reason: st.Reason, Err: st.Err,
		Description: st.Description, Config: st.Config, Masked: st.Masked}
}

// Summaries lists the units List lists, with the same State and Reason,
// reading per unit only its state file, its pins and whether each pinned
// link is attached. Configs are parsed once per version of their files
// (see configCache): a long-lived process (bpfunitd) answers a listing of
// 100 units without parsing 100 files each time.
func (m *Manager) Summaries(ctx context.Context) ([]Summary, error) {
	names, entries, err := m.unitNames()
	if err != nil {
		return nil, err
	}
	// What is left is syscalls, a dozen per unit; they run in parallel
	// on every CPU there is, each worker with its own config reader.
	out := make([]Summary, len(names))
	workers := min(runtime.GOMAXPROCS(0), 4, max(1, len(names)/8))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &configReader{dirs: map[string]string{}}
			for i := int(next.Add(1) - 1); i < len(names) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				st, err := m.summaryStatus(names[i], entries, r)
				if err != nil {
					st = unreadable(names[i], err)
				}
				out[i] = summaryOf(st)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.configs.prune(entries)
	m.states.prune(names)
	keep := make(map[string]bool, len(names))
	for _, n := range names {
		keep[m.Root.Unit(n).Links()] = true
	}
	m.links.prune(keep)
	return out, nil
}

func (m *Manager) summaryStatus(name string, entries map[string]config.Entry, r *configReader) (*Status, error) {
	if err := config.ValidateName(name); err != nil {
		return nil, err
	}
	e, ok := entries[name]
	if !ok {
		return m.status(name, configInfo{err: fmt.Errorf("%w: %s (searched %s)", config.ErrNotFound, name, strings.Join(m.ConfigDirs, ":"))}, false)
	}
	return m.status(name, m.configs.get(e, r), false)
}

// stateCache holds the state files Summaries read, each with the identity
// of the file (inode, size, mtime, ctime): state.Write replaces a state
// file by renaming a new one over it, so every write makes a new inode.
// Files younger than racyWindow are read every time all the same. The
// zero value is ready.
type stateCache struct {
	mu     sync.Mutex
	byName map[string]cachedState
}

type cachedState struct {
	key  fileKey
	unit *state.Unit
}

type fileKey struct {
	dev, ino     uint64
	size         int64
	mtime, ctime unix.Timespec
}

// read is readState through the cache. The file is looked at before it
// is read: what is read is at least as new as the key it is cached under,
// so a later change always shows as a different key.
func (c *stateCache) read(m *Manager, name string) (*state.Unit, error) {
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(state.Dir(m.RunDir), name+".json"), &st); err != nil {
		// Absent, or unreadable: readState says which, as for Status.
		c.forget(name)
		return m.readState(name)
	}
	key := fileKey{uint64(st.Dev), st.Ino, st.Size, st.Mtim, st.Ctim}
	c.mu.Lock()
	hit, ok := c.byName[name]
	c.mu.Unlock()
	if ok && hit.key == key {
		return hit.unit, nil
	}
	u, err := m.readState(name)
	if err != nil || u == nil || racy(st.Mtim, st.Ctim) {
		c.forget(name)
		return u, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byName == nil {
		c.byName = map[string]cachedState{}
	}
	c.byName[name] = cachedState{key, u}
	return u, nil
}

func (c *stateCache) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byName, name)
}

// prune forgets units no longer listed.
func (c *stateCache) prune(names []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for n := range c.byName {
		if !slices.Contains(names, n) {
			delete(c.byName, n)
		}
	}
}

// racy: a file changed so recently that a change within the same clock
// tick would not show in its timestamps.
func racy(mtime, ctime unix.Timespec) bool {
	now := time.Now()
	return now.Sub(time.Unix(mtime.Unix())) < racyWindow || now.Sub(time.Unix(ctime.Unix())) < racyWindow
}

// dirCache holds the listings of links directories Summaries read, each
// with the directory's identity: bpffs sets a directory's mtime and ctime
// whenever a pin is created, removed or renamed in it (and a unit's
// links/ is replaced whole by a start's rename). Directories younger
// than racyWindow are listed every time. The zero value is ready.
type dirCache struct {
	mu     sync.Mutex
	byPath map[string]cachedDir
}

type cachedDir struct {
	key   fileKey
	names []string
}

// list is pins.List through the cache; the names returned are shared, not
// to be changed.
func (c *dirCache) list(dir string) ([]string, error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		c.mu.Lock()
		delete(c.byPath, dir)
		c.mu.Unlock()
		return pins.List(dir)
	}
	key := fileKey{uint64(st.Dev), st.Ino, st.Size, st.Mtim, st.Ctim}
	c.mu.Lock()
	hit, ok := c.byPath[dir]
	c.mu.Unlock()
	if ok && hit.key == key {
		return hit.names, nil
	}
	names, err := pins.List(dir)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil || names == nil || racy(st.Mtim, st.Ctim) {
		delete(c.byPath, dir)
		return names, err
	}
	if c.byPath == nil {
		c.byPath = map[string]cachedDir{}
	}
	c.byPath[dir] = cachedDir{key, names}
	return names, nil
}

// prune forgets directories not in keep.
func (c *dirCache) prune(keep map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for d := range c.byPath {
		if !keep[d] {
			delete(c.byPath, d)
		}
	}
}

// configCache holds the parsed configs of Summaries, each with the
// identity of the files it was parsed from. An entry is used only while
// every file (the unit file and its drop-ins, as Discover lists them now)
// and every directory above them is the same: same inode, size, mtime and
// ctime for a file (ctime moves on chmod and chown too), same inode,
// owner and mode for a directory (what the trust check looks at). A file
// changed within the timestamp granularity of its filesystem could keep
// its mtime; a file changed less than racyWindow ago is not cached.
// The zero value is ready.
type configCache struct {
	mu     sync.Mutex
	byName map[string]cachedConfig
	// loads counts the configs parsed, for the tests.
	loads int
}

type cachedConfig struct {
	key  string
	info configInfo
}

// racyWindow: files younger than this are parsed every time (the kernel's
// timestamps are as coarse as a jiffy). A variable for the cache's tests.
var racyWindow = 2 * time.Second

// configReader reads configs for one Summaries call: one trust cache for
// every file, and the identity of each directory looked at.
type configReader struct {
	r    config.Reader
	dirs map[string]string // dir -> its identity and its parents'; "" if not cacheable
}

func (c *configCache) get(e config.Entry, r *configReader) configInfo {
	if e.Masked {
		return configInfo{masked: true}
	}
	key, cacheable := r.key(e)
	if cacheable {
		c.mu.Lock()
		hit, ok := c.byName[e.Name]
		c.mu.Unlock()
		if ok && hit.key == key {
			return hit.info
		}
	}
	var ci configInfo
	c.mu.Lock()
	c.loads++
	c.mu.Unlock()
	u, err := r.r.Load(e)
	if err == nil {
		ci = configInfo{path: u.Path, description: u.Description}
	} else {
		ci = configInfo{err: err}
		// An I/O error or a refused file may be gone on the next read;
		// a config error lasts as long as the files do.
		cacheable = cacheable && errors.Is(err, config.ErrInvalidUnit)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cacheable {
		if c.byName == nil {
			c.byName = map[string]cachedConfig{}
		}
		c.byName[e.Name] = cachedConfig{key, ci}
	} else {
		delete(c.byName, e.Name)
	}
	return ci
}

// prune forgets units that are no longer configured.
func (c *configCache) prune(entries map[string]config.Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for n := range c.byName {
		if _, ok := entries[n]; !ok {
			delete(c.byName, n)
		}
	}
}

// key is the identity of e's files and of the directories above them;
// false when one of them is not a plain file or directory (a symlink is
// followed by the reader, and its target is not looked at here) or was
// changed too recently to tell a later change by its timestamps.
func (r *configReader) key(e config.Entry) (string, bool) {
	var b strings.Builder
	for _, p := range append([]string{e.Path}, e.DropIns...) {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			return "", false
		}
		if racy(st.Mtim, st.Ctim) {
			return "", false
		}
		d := r.dirKey(filepath.Dir(p))
		if d == "" {
			return "", false
		}
		fmt.Fprintf(&b, "%s %d:%d %d %d.%d %d.%d %o %d:%d|%s\n", p, st.Dev, st.Ino, st.Size,
			st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec, st.Mode, st.Uid, st.Gid, d)
	}
	return b.String(), true
}

// dirKey is the identity of dir and of every directory above it, "" if
// one is not a directory (a symlink on the way).
func (r *configReader) dirKey(dir string) string {
	if k, ok := r.dirs[dir]; ok {
		return k
	}
	var k string
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		k = fmt.Sprintf("%d:%d %o %d:%d", st.Dev, st.Ino, st.Mode, st.Uid, st.Gid)
		if parent := filepath.Dir(dir); parent != dir {
			if pk := r.dirKey(parent); pk != "" {
				k += " " + pk
			} else {
				k = ""
			}
		}
	}
	r.dirs[dir] = k
	return k
}

// Link types of the kernel's uapi whose info says whether they are
// attached (as linkAttached reads them through cilium/ebpf).
const (
	linkTypeCgroup = 3
	linkTypeNetns  = 5
	linkTypeXDP    = 6
	linkTypeTCX    = 11
)

// rawLinkInfo asks the kernel about the object pinned at pin in three
// syscalls (BPF_OBJ_GET, BPF_OBJ_GET_INFO_BY_FD, close), where
// link.LoadPinnedLink and Info take six. It does not check that the object
// is a link: the caller trusts the answer only when the id is the one the
// state file records for the pin.
func rawLinkInfo(pin string) (id, prog uint32, alive bool, err error) {
	path, err := unix.BytePtrFromString(pin)
	if err != nil {
		return 0, 0, false, err
	}
	get := struct {
		pathname        uint64
		bpfFD, flags    uint32
		pathFD, padding int32
	}{pathname: uint64(uintptr(unsafe.Pointer(path)))}
	fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_OBJ_GET, uintptr(unsafe.Pointer(&get)), unsafe.Sizeof(get))
	runtime.KeepAlive(path)
	if errno != 0 {
		return 0, 0, false, errno
	}
	defer unix.Close(int(fd))
	var info struct {
		typ, id, prog, _ uint32
		extra            [48]byte
	}
	attr := struct {
		fd, infoLen uint32
		info        uint64
	}{uint32(fd), uint32(unsafe.Sizeof(info)), uint64(uintptr(unsafe.Pointer(&info)))}
	_, _, errno = unix.Syscall(unix.SYS_BPF, unix.BPF_OBJ_GET_INFO_BY_FD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(&info)
	if errno != 0 {
		return 0, 0, false, errno
	}
	alive = true
	switch info.typ {
	case linkTypeXDP, linkTypeTCX, linkTypeNetns:
		alive = binary.NativeEndian.Uint32(info.extra[:4]) != 0
	case linkTypeCgroup:
		alive = binary.NativeEndian.Uint64(info.extra[:8]) != 0
	}
	return info.id, info.prog, alive, nil
}
