package manager

import (
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

// Unit states as status and list report them.
const (
	StateAttached    = "attached"
	StateNotAttached = "not-attached"
	// StateBroken: pins and state disagree (an interrupted start or stop,
	// or a link detached behind bpfunit's back); the next start or stop
	// repairs it.
	StateBroken = "broken"
)

// Status describes one unit as the kernel and the pins show it.
type Status struct {
	Name         string       `json:"name"`
	State        string       `json:"state"`
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
	// Alive is false when the pin is there but the kernel has no link.
	Alive    bool   `json:"alive"`
	LastSwap string `json:"last_swap,omitempty"`
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
func (m *Manager) Status(name string) (*Status, error) {
	if err := config.ValidateName(name); err != nil {
		return nil, err
	}
	st := &Status{Name: name, State: StateNotAttached}
	cfgErr := error(nil)
	if u, err := config.Load(m.ConfigDirs, name); err == nil {
		st.Config, st.Description = u.Path, u.Description
	} else if errors.Is(err, config.ErrMasked) {
		st.Masked = true
	} else {
		cfgErr = err
	}
	ud := m.Root.Unit(name)
	prev, _ := state.Read(m.RunDir, name)
	if errors.Is(cfgErr, config.ErrNotFound) && prev == nil && !pins.Exists(ud.Dir()) {
		return nil, fmt.Errorf("unit %s: no config and nothing attached: %w", name, config.ErrNotFound)
	}
	if prev != nil {
		st.ObjectPath, st.ConfigDigest, st.ObjectDigest, st.Started, st.Reloaded = prev.ObjectPath, prev.ConfigDigest, prev.ObjectDigest, prev.Started, prev.Reloaded
		if st.Config == "" {
			st.Config = prev.ConfigPath
		}
	}
	names, err := pins.List(ud.Links())
	if err != nil {
		return nil, err
	}
	broken := pins.Exists(ud.Staging()) || (pins.Exists(ud.Links()) && prev == nil)
	for _, n := range names {
		ls := m.linkStatus(filepath.Join(ud.Links(), n), prev)
		broken = broken || !ls.Alive
		st.Links = append(st.Links, ls)
	}
	if prev != nil && len(names) != len(prev.Links) {
		broken = true
	}
	if prev != nil && prev.ReloadPending {
		broken = true
	}
	switch {
	case broken:
		st.State = StateBroken
	case pins.Exists(ud.Links()):
		st.State = StateAttached
	}
	mapNames, _ := pins.List(ud.Maps())
	for _, n := range mapNames {
		st.Maps = append(st.Maps, mapStatus(n, filepath.Join(ud.Maps(), n)))
	}
	return st, nil
}

func (m *Manager) linkStatus(pin string, prev *state.Unit) LinkStatus {
	ls := LinkStatus{Pin: pin, Program: pins.Program(filepath.Base(pin))}
	if prev != nil {
		if i := slices.IndexFunc(prev.Links, func(l state.Link) bool { return l.Pin == pin }); i >= 0 {
			ls.Type, ls.Target, ls.LastSwap = prev.Links[i].Type, prev.Links[i].Target, prev.Links[i].LastSwap
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
// has pins or state without a config (removed while attached).
func (m *Manager) List() ([]*Status, error) {
	entries, err := config.Discover(m.ConfigDirs)
	if err != nil && len(entries) == 0 {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	pinned, err := m.Root.Units()
	if err != nil {
		return nil, err
	}
	states, _ := state.List(m.RunDir)
	for _, s := range states {
		pinned = append(pinned, s.Name)
	}
	for _, n := range pinned {
		if !slices.Contains(names, n) && config.ValidateName(n) == nil {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var out []*Status
	for _, n := range names {
		st, err := m.Status(n)
		if err != nil {
			continue
		}
		out = append(out, st)
	}
	return out, nil
}
