package manager

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/pins"
	"github.com/bpfunit/bpfunit/internal/state"
)

// State is what status and list say about a unit, with a Reason.
type State string

// Unit states.
const (
	// StateAttached: every configured link is attached.
	StateAttached State = "attached"
	// StatePartial: some links are not attached: detached on purpose
	// (Detach), or behind bpfunit's back (bpftool link detach, pin
	// removed). Reload or restart brings back what the config says.
	StatePartial State = "partly-attached"
	// StateReloadPending: a reload was interrupted while it swapped
	// links; some may run new programs, some old. Reload again, or
	// restart.
	StateReloadPending State = "reload-pending"
	// StateBroken: pins and state disagree, or the state file is
	// unreadable (Reason says which); the next start or stop repairs it.
	StateBroken State = "broken"
	// StateNotStarted: nothing attached.
	StateNotStarted State = "not-started"
)

// Status describes one unit as the kernel and the pins show it.
type Status struct {
	Name  string `json:"name"`
	State State  `json:"state"`
	// Reason explains State when it is not attached or not-started.
	Reason string `json:"reason,omitempty"`
	// Err is set when the unit could not be read completely (config,
	// state file); the other fields say what could be.
	Err          string       `json:"error,omitempty"`
	Config       string       `json:"config,omitempty"`
	Masked       bool         `json:"masked,omitempty"`
	Description  string       `json:"description,omitempty"`
	ObjectPath   string       `json:"object,omitempty"`
	ConfigDigest string       `json:"config_digest,omitempty"`
	ObjectDigest string       `json:"object_digest,omitempty"`
	Started      time.Time    `json:"started,omitzero"`
	Reloaded     time.Time    `json:"reloaded,omitzero"`
	Links        []LinkStatus `json:"links,omitempty"`
	Maps         []MapStatus  `json:"maps,omitempty"`
}

// LinkStatus is one pinned link.
type LinkStatus struct {
	Pin      string `json:"pin"`
	Program  string `json:"program"`
	Type     string `json:"type"`
	Target   string `json:"target"`
	LinkID   uint32 `json:"link_id"`
	ProgID   uint32 `json:"prog_id"`
	ProgName string `json:"prog_name"`
	ProgTag  string `json:"prog_tag"`
	// Alive is false when the pin is there but the kernel has no link
	// or the link is attached to nothing, and for a Detached link.
	Alive    bool   `json:"alive"`
	LastSwap string `json:"last_swap,omitempty"`
	// Detached is set for a link removed on purpose with Detach: it has
	// no pin any more; reload or restart brings it back.
	Detached bool `json:"detached,omitempty"`
}

// MapStatus is one pinned map.
type MapStatus struct {
	Name       string `json:"name"`
	Pin        string `json:"pin"`
	ID         uint32 `json:"id"`
	Type       string `json:"type"`
	KeySize    uint32 `json:"key_size"`
	ValueSize  uint32 `json:"value_size"`
	MaxEntries uint32 `json:"max_entries"`
	// Values of small u32 -> u64 arrays (counters), per-CPU values summed.
	Values []uint64 `json:"values,omitempty"`
}

// counterArrayMax is the largest array whose values status shows.
const counterArrayMax = 16

// Status reads unit name's pins, state file and kernel objects. It takes no
// lock: it only reads, and a concurrent change shows as what it is.
func (m *Manager) Status(ctx context.Context, name string) (*Status, error) {
	if err := config.ValidateName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m.status(name, loadConfigInfo(m.ConfigDirs, name), true)
}

// configInfo is what status shows of a unit's config.
type configInfo struct {
	path, description string
	masked            bool
	// err is why the config could not be read (wrapping
	// config.ErrNotFound when there is none).
	err error
}

func loadConfigInfo(dirs []string, name string) configInfo {
	u, err := config.Load(dirs, name)
	switch {
	case err == nil:
		return configInfo{path: u.Path, description: u.Description}
	case errors.Is(err, config.ErrMasked):
		return configInfo{masked: true}
	}
	return configInfo{err: err}
}

// status builds the status of unit name from its config ci, its state
// file and pins. full reads program info and maps too; without it (a
// listing) the links are only checked for being attached, which is all
// the State needs, and the state file and the links directory's listing
// come through m.states and m.links.
func (m *Manager) status(name string, ci configInfo, full bool) (*Status, error) {
	st := &Status{Name: name, State: StateNotStarted, Config: ci.path, Description: ci.description, Masked: ci.masked}
	cfgErr := ci.err
	ud := m.Root.Unit(name)
	var prev *state.Unit
	var stateErr error
	if full {
		prev, stateErr = m.readState(name)
	} else {
		prev, stateErr = m.states.read(m, name)
	}
	if errors.Is(cfgErr, config.ErrNotFound) && prev == nil && stateErr == nil && !pins.Exists(ud.Dir()) {
		return nil, fmt.Errorf("unit %s: no config and nothing attached: %w", name, config.ErrNotFound)
	}
	if cfgErr != nil && !errors.Is(cfgErr, config.ErrNotFound) {
		st.Err = cfgErr.Error()
	}
	if stateErr != nil {
		st.Err = stateErr.Error()
	}
	if prev != nil {
		st.ObjectPath, st.ConfigDigest, st.ObjectDigest, st.Started, st.Reloaded = prev.ObjectPath, prev.ConfigDigest, prev.ObjectDigest, prev.Started, prev.Reloaded
		if st.Config == "" {
			st.Config = prev.ConfigPath
		}
	}
	var names []string
	var err error
	if full {
		names, err = pins.List(ud.Links())
	} else {
		names, err = m.links.list(ud.Links())
	}
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		st.Links = append(st.Links, m.linkStatus(filepath.Join(ud.Links(), n), prev, full))
	}
	if prev != nil {
		for _, l := range prev.Links {
			if l.Detached {
				st.Links = append(st.Links, LinkStatus{Pin: l.Pin, Program: l.Program, Type: l.Type, Target: l.Target,
					LinkID: l.LinkID, ProgID: l.ProgID, ProgTag: l.ProgTag, LastSwap: l.LastSwap, Detached: true})
			}
		}
	}
	// pins.List: nil when the directory does not exist. An unreadable
	// staging/ counts as one with pins in it.
	var staged []string
	var stagedErr error
	if pins.Exists(ud.Staging()) { // one lstat where there is none, the common case
		staged, stagedErr = pins.List(ud.Staging())
	}
	st.State, st.Reason = unitState(unitFacts{
		stateErr: stateErr, prev: prev,
		staging: staged != nil || stagedErr != nil, stagingEmpty: stagedErr == nil && staged != nil && len(staged) == 0,
		links:  names != nil,
		pinned: st.Links,
	})
	if !full {
		return st, nil
	}
	mapNames, err := pins.List(ud.Maps())
	if err != nil && st.Err == "" {
		st.Err = err.Error()
	}
	for _, n := range mapNames {
		st.Maps = append(st.Maps, mapStatus(n, filepath.Join(ud.Maps(), n)))
	}
	return st, nil
}

// linkStatus reads one pinned link; full adds its program's name and tag.
func (m *Manager) linkStatus(pin string, prev *state.Unit, full bool) LinkStatus {
	ls := LinkStatus{Pin: pin, Program: pins.Program(filepath.Base(pin))}
	recorded := uint32(0)
	if prev != nil {
		if i := slices.IndexFunc(prev.Links, func(l state.Link) bool { return l.Pin == pin }); i >= 0 {
			ls.Type, ls.Target, ls.LastSwap = prev.Links[i].Type, prev.Links[i].Target, prev.Links[i].LastSwap
			recorded = prev.Links[i].LinkID
		}
	}
	if !full && recorded != 0 {
		// A listing: the short way, when the pin holds the link the
		// state records.
		if id, prog, alive, err := rawLinkInfo(pin); err == nil && id == recorded {
			ls.LinkID, ls.ProgID, ls.Alive = id, prog, alive
			return ls
		}
	}
	l, err := link.LoadPinnedLink(pin, nil)
	if err != nil {
		return ls
	}
	defer l.Close()
	info, err := l.Info()
	if err != nil {
		return ls
	}
	ls.Alive = linkAttached(info)
	ls.LinkID, ls.ProgID = uint32(info.ID), uint32(info.Program)
	if !full {
		return ls
	}
	if p, err := ebpf.NewProgramFromID(info.Program); err == nil {
		if pi, err := p.Info(); err == nil {
			ls.ProgName, ls.ProgTag = pi.Name, pi.Tag
		}
		p.Close()
	}
	return ls
}

func mapStatus(name, pin string) MapStatus {
	ms := MapStatus{Name: name, Pin: pin}
	mp, err := ebpf.LoadPinnedMap(pin, &ebpf.LoadPinOptions{ReadOnly: true})
	if err != nil {
		return ms
	}
	defer mp.Close()
	ms.Type, ms.KeySize, ms.ValueSize, ms.MaxEntries = mp.Type().String(), mp.KeySize(), mp.ValueSize(), mp.MaxEntries()
	if info, err := mp.Info(); err == nil {
		id, _ := info.ID()
		ms.ID = uint32(id)
	}
	ms.Values = counters(mp)
	return ms
}

// counters reads a small array of u64 counters, the shape of most
// statistics maps, so that status shows them without bpftool.
func counters(mp *ebpf.Map) []uint64 {
	if mp.KeySize() != 4 || mp.ValueSize() != 8 || mp.MaxEntries() > counterArrayMax {
		return nil
	}
	var vals []uint64
	for k := uint32(0); k < mp.MaxEntries(); k++ {
		switch mp.Type() {
		case ebpf.Array:
			var v uint64
			if err := mp.Lookup(k, &v); err != nil {
				return nil
			}
			vals = append(vals, v)
		case ebpf.PerCPUArray:
			var per []uint64
			if err := mp.Lookup(k, &per); err != nil {
				return nil
			}
			var sum uint64
			for _, v := range per {
				sum += v
			}
			vals = append(vals, sum)
		default:
			return nil
		}
	}
	return vals
}

// List returns the status of every configured unit and of every unit that
// has pins or state without a config (removed while attached). A unit whose
// status cannot be read is listed with Err set, never left out. It reads
// every program and map; Summaries is the cheap listing.
func (m *Manager) List(ctx context.Context) ([]*Status, error) {
	names, _, err := m.unitNames()
	if err != nil {
		return nil, err
	}
	var out []*Status
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st, err := m.Status(ctx, n)
		if err != nil {
			st = unreadable(n, err)
		}
		out = append(out, st)
	}
	return out, nil
}

func unreadable(name string, err error) *Status {
	return &Status{Name: name, State: StateBroken, Reason: "its status could not be read", Err: err.Error()}
}

// unitNames are the names of every configured unit and of every unit with
// pins or a state file, sorted, with the config entries Discover found.
func (m *Manager) unitNames() ([]string, map[string]config.Entry, error) {
	entries, err := config.Discover(m.ConfigDirs)
	if err != nil && len(entries) == 0 {
		return nil, nil, err
	}
	byName := make(map[string]config.Entry, len(entries))
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		byName[e.Name] = e
		names = append(names, e.Name)
	}
	pinned, err := m.Root.Units()
	if err != nil {
		return nil, nil, err
	}
	states, err := state.Names(m.RunDir)
	if err != nil {
		return nil, nil, err
	}
	pinned = append(pinned, states...)
	for _, n := range pinned {
		// A name that is no unit name (a directory someone made under
		// the pin root) is listed too, with the error Status gives it.
		if _, ok := byName[n]; !ok && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, byName, nil
}
