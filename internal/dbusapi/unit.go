package dbusapi

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/godbus/dbus/v5"

	"github.com/bpfunit/bpfunit/internal/manager"
)

// Property types of org.bpfunit.Unit1 (see unitIfaceXML).
type (
	linkProp struct {
		Name, Program, Type, Target string
		LinkID, ProgID              uint32
		ProgTag                     string
		// State: attached, detached (on purpose), dead (pinned, the
		// kernel's link gone).
		State string
	}
	programProp struct {
		Name string
		ID   uint32
		Tag  string
		// StatsEnabled: the kernel counts runs (kernel.bpf_stats_enabled
		// is 1, or a process holds BPF_ENABLE_STATS, which the sysctl
		// does not show but the run time does), so RunCount and
		// RunTimeNs are meaningful.
		StatsEnabled bool
		RunCount     uint64
		RunTimeNs    uint64
	}
	mapProp struct {
		Name, Type                         string
		ID, KeySize, ValueSize, MaxEntries uint32
		Values                             []uint64
	}
)

// unitProperties are the Unit1 properties of a status.
func unitProperties(st *manager.Status) map[string]dbus.Variant {
	var started uint64
	if !st.Started.IsZero() {
		started = uint64(st.Started.UnixMicro())
	}
	links := []linkProp{}
	programs := []programProp{}
	stats := statsEnabled()
	for _, l := range st.Links {
		links = append(links, linkProp{filepath.Base(l.Pin), l.Program, l.Type, l.Target, l.LinkID, l.ProgID, l.ProgTag, linkState(l)})
		if l.ProgID == 0 || slices.ContainsFunc(programs, func(p programProp) bool { return p.ID == l.ProgID }) {
			continue
		}
		p := programProp{Name: l.Program, ID: l.ProgID, Tag: l.ProgTag, StatsEnabled: stats}
		if prog, err := ebpf.NewProgramFromID(ebpf.ProgramID(l.ProgID)); err == nil {
			if s, err := prog.Stats(); err == nil {
				p.RunCount, p.RunTimeNs = s.RunCount, uint64(s.Runtime)
				p.StatsEnabled = p.StatsEnabled || s.Runtime > 0
			}
			prog.Close()
		}
		programs = append(programs, p)
	}
	maps := []mapProp{}
	for _, m := range st.Maps {
		v := m.Values
		if v == nil {
			v = []uint64{}
		}
		maps = append(maps, mapProp{m.Name, m.Type, m.ID, m.KeySize, m.ValueSize, m.MaxEntries, v})
	}
	return map[string]dbus.Variant{
		"Name":        dbus.MakeVariant(st.Name),
		"State":       dbus.MakeVariant(string(st.State)),
		"StateReason": dbus.MakeVariant(stateReason(st)),
		"Description": dbus.MakeVariant(st.Description),
		"ConfigPath":  dbus.MakeVariant(st.Config),
		"ObjectPath":  dbus.MakeVariant(st.ObjectPath),
		"Started":     dbus.MakeVariant(started),
		"Links":       dbus.MakeVariant(links),
		"Programs":    dbus.MakeVariant(programs),
		"Maps":        dbus.MakeVariant(maps),
	}
}

// invalidated are the properties whose changes are announced without the
// value: their counters change on every run of a program.
var invalidated = map[string]bool{"Programs": true, "Maps": true}

// withoutCounters is v with run counts and map values zeroed, to tell a
// real change (ids, tags, maps) from counters moving.
func withoutCounters(name string, v dbus.Variant) any {
	switch name {
	case "Programs":
		ps := slices.Clone(v.Value().([]programProp))
		for i := range ps {
			ps[i].RunCount, ps[i].RunTimeNs = 0, 0
		}
		return ps
	case "Maps":
		ms := slices.Clone(v.Value().([]mapProp))
		for i := range ms {
			ms[i].Values = nil
		}
		return ms
	}
	return v.Value()
}

func statsEnabled() bool {
	b, err := os.ReadFile("/proc/sys/kernel/bpf_stats_enabled")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

// unitChanged sends UnitChanged and the PropertiesChanged of what changed
// since the properties were last sent. For a unit with no record
// (none since the helper started) every property is announced: the
// helper does not read every unit when it starts, so that its first reply
// waits for nothing.
func (s *Server) unitChanged(ctx context.Context, name string) {
	path := UnitPath(name)
	st, err := s.svc.GetUnit(ctx, name)
	if err != nil {
		// The unit is gone (config removed, nothing attached).
		s.mu.Lock()
		delete(s.props, name)
		s.mu.Unlock()
		s.emit(ManagerPath, ManagerIface+".UnitChanged", name, "", path)
		return
	}
	now := unitProperties(st)
	s.mu.Lock()
	before := s.props[name]
	s.props[name] = now
	s.mu.Unlock()
	s.emit(ManagerPath, ManagerIface+".UnitChanged", name, string(st.State), path)
	changed := map[string]dbus.Variant{}
	var inval []string
	for k, v := range now {
		old, ok := before[k]
		if ok && reflect.DeepEqual(withoutCounters(k, old), withoutCounters(k, v)) {
			continue
		}
		if invalidated[k] {
			inval = append(inval, k)
		} else {
			changed[k] = v
		}
	}
	if len(changed) > 0 || len(inval) > 0 {
		slices.Sort(inval)
		if inval == nil {
			inval = []string{}
		}
		s.emit(path, propsIface+".PropertiesChanged", UnitIface, changed, inval)
	}
}

func (s *Server) emit(path dbus.ObjectPath, name string, body ...any) {
	if err := s.conn.Emit(path, name, body...); err != nil {
		s.log.Warn("emit signal", "signal", name, "path", path, "err", err)
	}
}

// unitProps is org.freedesktop.DBus.Properties of every unit object (a
// subtree export: the unit is the message's path).
type unitProps struct{ s *Server }

func (p *unitProps) props(msg dbus.Message, iface string) (map[string]dbus.Variant, *dbus.Error) {
	if iface != UnitIface && iface != "" {
		return nil, newError(ErrUnknownInterface, "no interface "+iface)
	}
	path, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
	name, ok := UnitName(path)
	if !ok {
		return nil, newError(ErrUnknownInterface, "no interface "+iface+" on "+string(path))
	}
	ctx, cancel := p.s.callContext()
	defer cancel()
	st, err := p.s.svc.GetUnit(ctx, name)
	if err != nil {
		return nil, toDBus(err)
	}
	// Not recorded as the base of the next PropertiesChanged: a read that
	// raced a change could record an older value than the one signalled.
	return unitProperties(st), nil
}

func (p *unitProps) Get(msg dbus.Message, iface, name string) (dbus.Variant, *dbus.Error) {
	p.s.enter()
	defer p.s.leave()
	all, e := p.props(msg, iface)
	if e != nil {
		return dbus.Variant{}, e
	}
	v, ok := all[name]
	if !ok {
		return dbus.Variant{}, newError(ErrUnknownProperty, "no property "+name)
	}
	return v, nil
}

func (p *unitProps) GetAll(msg dbus.Message, iface string) (map[string]dbus.Variant, *dbus.Error) {
	p.s.enter()
	defer p.s.leave()
	return p.props(msg, iface)
}

func (p *unitProps) Set(msg dbus.Message, iface, name string, v dbus.Variant) *dbus.Error {
	return newError(ErrPropertyReadOnly, "property "+name+" is read-only")
}

// unitIntrospect introspects /org/bpfunit/unit (its children: every unit)
// and the unit objects below it.
type unitIntrospect struct{ s *Server }

func (u *unitIntrospect) Introspect(msg dbus.Message) (string, *dbus.Error) {
	u.s.enter()
	defer u.s.leave()
	path, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
	if path == UnitPathRoot {
		ctx, cancel := u.s.callContext()
		defer cancel()
		var children []string
		if sts, err := u.s.svc.Summaries(ctx); err == nil {
			for _, st := range sts {
				children = append(children, EscapeLabel(st.Name))
			}
		}
		return nodeXML("", children), nil
	}
	name, ok := UnitName(path)
	if !ok {
		return nodeXML("", nil), nil
	}
	ctx, cancel := u.s.callContext()
	defer cancel()
	if _, err := u.s.svc.GetUnit(ctx, name); err != nil {
		return nodeXML("", nil), nil // no such unit: an empty node, as for any other path
	}
	return nodeXML(unitIfaceXML, nil), nil
}
