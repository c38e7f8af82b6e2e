package dbusapi

import (
	"encoding/xml"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/godbus/dbus/v5"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/loader"
	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/service"
)

// The expected labels are what systemd's sd_bus_path_encode produces
// (busctl tree org.freedesktop.systemd1 shows e.g. bpf_40eth0_2eservice).
func TestEscapeLabel(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "_"},
		{"demo", "demo"},
		{"xdp-counter", "xdp_2dcounter"},
		{"bpf@eth0.service", "bpf_40eth0_2eservice"},
		{"a_b", "a_5fb"},
		{"0day", "_30day"},
		{"v6", "v6"},
		{"a:b", "a_3ab"},
		{"\xff", "_ff"},
		{"ÄÖ", "_c3_84_c3_96"},
	} {
		if got := EscapeLabel(c.in); got != c.want {
			t.Errorf("EscapeLabel(%q) = %q, want %q", c.in, got, c.want)
		}
		back, ok := UnescapeLabel(c.want)
		if !ok || back != c.in {
			t.Errorf("UnescapeLabel(%q) = %q, %v; want %q", c.want, back, ok, c.in)
		}
		if p := UnitPath(c.in); !p.IsValid() {
			t.Errorf("UnitPath(%q) = %q is not a valid object path", c.in, p)
		}
	}
}

func TestUnescapeLabelRejects(t *testing.T) {
	for _, l := range []string{"_", "a_", "a_4", "a_zz", "a_41", "_41", "x_2D"} {
		s, ok := UnescapeLabel(l)
		if l == "_" {
			if !ok || s != "" {
				t.Errorf("UnescapeLabel(_) = %q, %v", s, ok)
			}
			continue
		}
		// "a_41" decodes to "aA", which escapes to "aA": not canonical.
		if ok {
			t.Errorf("UnescapeLabel(%q) = %q, accepted a label EscapeLabel never produces", l, s)
		}
	}
}

func TestUnitName(t *testing.T) {
	for _, c := range []struct {
		p    dbus.ObjectPath
		name string
		ok   bool
	}{
		{"/org/bpfunit/unit/xdp_2dcounter", "xdp-counter", true},
		{"/org/bpfunit/unit", "", false},
		{"/org/bpfunit/unit/a/b", "", false},
		{"/org/bpfunit/Manager1", "", false},
	} {
		name, ok := UnitName(c.p)
		if name != c.name || ok != c.ok {
			t.Errorf("UnitName(%q) = %q, %v; want %q, %v", c.p, name, ok, c.name, c.ok)
		}
	}
}

// Every valid unit name has a path, and the path gives the name back.
func FuzzUnitPath(f *testing.F) {
	for _, s := range []string{"demo", "bpf@eth0.100", "a:b-c_d", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if config.ValidateName(name) != nil {
			return
		}
		p := UnitPath(name)
		if !p.IsValid() {
			t.Fatalf("UnitPath(%q) = %q: invalid", name, p)
		}
		if back, ok := UnitName(p); !ok || back != name {
			t.Fatalf("UnitName(UnitPath(%q)) = %q, %v", name, back, ok)
		}
	})
}

func TestErrorName(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("unit x: %w", config.ErrNotFound), ErrNoSuchUnit},
		{fmt.Errorf("unit x: %w", manager.ErrNotStarted), ErrNotRunning},
		{fmt.Errorf("unit x: %w", manager.ErrNoSuchLink), ErrNoSuchLink},
		{fmt.Errorf("unit x: %w", manager.ErrNoSuchProgram), ErrNoSuchProgram},
		{fmt.Errorf("replace: %w", manager.ErrInvalidObject), ErrInvalidObject},
		{fmt.Errorf("replace: %w", service.ErrInvalidObject), ErrInvalidObject},
		{fmt.Errorf("attach: %w", loader.ErrUnsupported), ErrKernelUnsupported},
		{fmt.Errorf("bad: %w", config.ErrInvalidName), ErrInvalidArgs},
		{fmt.Errorf("bad: %w", service.ErrInvalidProgram), ErrInvalidArgs},
		{fmt.Errorf("bad: %w", manager.ErrInvalidLink), ErrInvalidArgs},
		{fmt.Errorf("x: %w", config.ErrMasked), ErrInvalidConfig},
		{fmt.Errorf("x: %w", manager.ErrBusy), ErrBusy},
		{fmt.Errorf("x: %w", manager.ErrAlreadyStarted), ErrConflict},
		{fmt.Errorf("something else"), ErrFailed},
	} {
		if got := ErrorName(c.err); got != c.want {
			t.Errorf("ErrorName(%v) = %s, want %s", c.err, got, c.want)
		}
		e := toDBus(c.err)
		if e.Name != c.want || len(e.Body) != 1 || e.Body[0] != c.err.Error() {
			t.Errorf("toDBus(%v) = %+v", c.err, e)
		}
	}
}

// Every kind has its own bus error name (except the catch-all).
func TestEveryKindNamed(t *testing.T) {
	seen := map[string]service.Kind{}
	for k := service.KindBadArgs; k <= service.KindConflict; k++ {
		n, ok := kindErrors[k]
		if !ok {
			t.Errorf("kind %v has no bus error name", k)
			continue
		}
		if prev, dup := seen[n]; dup {
			t.Errorf("kinds %v and %v share %s", prev, k, n)
		}
		seen[n] = k
	}
}

func TestCheckLink(t *testing.T) {
	for _, l := range []string{"xdp_count@eth0", "raw_tp@sys_enter", `cg@\x2fsys\x2ffs`} {
		if e := checkLink(l); e != nil {
			t.Errorf("checkLink(%q) = %v", l, e)
		}
	}
	for _, l := range []string{"", ".", "..", "a/b", "a\nb", "a b", string(make([]byte, 256))} {
		if e := checkLink(l); e == nil || e.Name != ErrInvalidArgs {
			t.Errorf("checkLink(%q) = %v, want InvalidArgs", l, e)
		}
	}
}

type xmlNode struct {
	Interfaces []struct {
		Name    string `xml:"name,attr"`
		Methods []struct {
			Name string   `xml:"name,attr"`
			Args []xmlArg `xml:"arg"`
		} `xml:"method"`
		Signals []struct {
			Name string   `xml:"name,attr"`
			Args []xmlArg `xml:"arg"`
		} `xml:"signal"`
		Properties []struct {
			Name string `xml:"name,attr"`
			Type string `xml:"type,attr"`
		} `xml:"property"`
	} `xml:"interface"`
}

type xmlArg struct {
	Name string `xml:"name,attr"`
	Type string `xml:"type,attr"`
}

// Every argument is named and typed: gdbus and busctl show the names.
func TestIntrospectionComplete(t *testing.T) {
	for _, x := range []string{nodeXML(managerIfaceXML, nil), nodeXML(unitIfaceXML, nil)} {
		var n xmlNode
		if err := xml.Unmarshal([]byte(x), &n); err != nil {
			t.Fatalf("introspection XML does not parse: %v\n%s", err, x)
		}
		for _, i := range n.Interfaces {
			for _, m := range i.Methods {
				for _, a := range m.Args {
					if _, err := dbus.ParseSignature(a.Type); a.Name == "" || a.Type == "" || err != nil {
						t.Errorf("%s.%s: argument %+v: name or type missing or bad", i.Name, m.Name, a)
					}
				}
			}
			for _, m := range i.Signals {
				for _, a := range m.Args {
					if a.Name == "" || a.Type == "" {
						t.Errorf("signal %s.%s: argument %+v unnamed", i.Name, m.Name, a)
					}
				}
			}
		}
	}
}

// The Unit1 properties have the types the introspection declares.
func TestUnitPropertyTypes(t *testing.T) {
	var n xmlNode
	if err := xml.Unmarshal([]byte(nodeXML(unitIfaceXML, nil)), &n); err != nil {
		t.Fatal(err)
	}
	st := &manager.Status{Name: "demo", State: manager.StateAttached,
		Links: []manager.LinkStatus{{Pin: "/sys/fs/bpf/bpfunit/demo/links/p@eth0", Program: "p", Alive: true}},
		Maps:  []manager.MapStatus{{Name: "m", Values: []uint64{1}}}}
	props := unitProperties(st)
	declared := 0
	for _, i := range n.Interfaces {
		if i.Name != UnitIface {
			continue
		}
		for _, p := range i.Properties {
			declared++
			v, ok := props[p.Name]
			if !ok {
				t.Errorf("property %s declared, not served", p.Name)
				continue
			}
			if got := v.Signature().String(); got != p.Type {
				t.Errorf("property %s: serves %s, introspection says %s", p.Name, got, p.Type)
			}
		}
	}
	if declared != len(props) {
		t.Errorf("%d properties declared, %d served", declared, len(props))
	}
	if got := props["Links"].Value().([]linkProp); len(got) != 1 || got[0].Name != "p@eth0" || got[0].State != "attached" {
		t.Errorf("Links = %+v", got)
	}
}

// A verifier rejection is VerifierRejected, and its text carries the tail
// of the verifier log.
func TestVerifierError(t *testing.T) {
	ve := &ebpf.VerifierError{Cause: syscall.EACCES, Log: []string{"0: R1=ctx", "1: (61) r0 = *(u32 *)(r1 +0)", "invalid access to packet, off=0 size=4, R1(id=0,off=0,r=0)"}}
	err := fmt.Errorf("replace xdp_bad in unit b: %w", &loader.LoadError{Program: "xdp_bad", Err: ve})
	e := toDBus(err)
	if e.Name != ErrVerifierRejected {
		t.Fatalf("error name %s, want %s", e.Name, ErrVerifierRejected)
	}
	if msg := e.Body[0].(string); !strings.Contains(msg, "invalid access to packet") || !strings.Contains(msg, "verifier rejected") {
		t.Errorf("message %q lacks the verifier log's tail", msg)
	}
}
