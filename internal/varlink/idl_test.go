package varlink

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestEmbeddedDescriptionsParse(t *testing.T) {
	for _, text := range []string{serviceIDL, ManagerDescription} {
		iface, err := ParseInterface(text)
		if err != nil {
			t.Fatal(err)
		}
		if len(iface.Methods) == 0 {
			t.Fatalf("%s: no methods", iface.Name)
		}
	}
	iface, _ := ParseInterface(ManagerDescription)
	if iface.Name != ManagerInterface {
		t.Fatalf("interface %q, want %q", iface.Name, ManagerInterface)
	}
	// The same verbs as org.bpfunit.Manager1 on D-Bus, plus Monitor.
	for _, m := range []string{"ListUnits", "GetUnit", "Start", "Stop", "Reload", "Detach", "Replace", "Monitor"} {
		if iface.Methods[m] == nil {
			t.Errorf("method %s missing", m)
		}
	}
	// Every error name this package sends is declared.
	for _, e := range []string{ErrNoSuchUnit, ErrNotRunning, ErrNoSuchLink, ErrNoSuchProgram, ErrVerifierRejected,
		ErrKernelUnsupported, ErrInvalidObject, ErrInvalidConfig, ErrBusy, ErrConflict, ErrPermissionDenied, ErrFailed} {
		if iface.Errors[strings.TrimPrefix(e, ManagerInterface+".")] == nil {
			t.Errorf("error %s not declared", e)
		}
	}
	svc, _ := ParseInterface(serviceIDL)
	for _, e := range []string{ErrInterfaceNotFound, ErrMethodNotFound, ErrMethodNotImplemented, ErrInvalidParameter, ErrPermissionDeniedProto, ErrExpectedMore} {
		if svc.Errors[strings.TrimPrefix(e, "org.varlink.service.")] == nil {
			t.Errorf("error %s not declared", e)
		}
	}
}

func TestParseInterface(t *testing.T) {
	const good = `
# doc comment
interface org.example.more-test
type T (a: int, b: ?[]string, c: [string](x, y), d: ?(e: bool), f: [string]())
type E (one, two)
method M(t: T, e: ?E) -> ()
method N() -> (o: object, f: float)
error Bad (reason: string)
`
	iface, err := ParseInterface(good)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(iface.Order, ","); got != "T,E,M,N,Bad" {
		t.Fatalf("order %s", got)
	}
	tt := iface.Types["T"]
	if len(tt.Fields) != 5 || !tt.Fields[1].Type.Nullable || tt.Fields[1].Type.Kind != KindArray ||
		tt.Fields[2].Type.Elem.Kind != KindEnum || tt.Fields[3].Type.Kind != KindStruct {
		t.Fatalf("type T parsed as %+v", tt)
	}
	for _, bad := range []struct{ text, why string }{
		{"", `expected "interface"`},
		{"interface 0rg.example\nmethod A() -> ()", "invalid interface name"},
		{"interface org..example\nmethod A() -> ()", "invalid interface name"},
		{"interface org\nmethod A() -> ()", "invalid interface name"},
		{"interface org.example", "declares nothing"},
		{"interface org.example\nmethod a() -> ()", "invalid method name"},
		{"interface org.example\nmethod A() -> ()\nmethod A() -> ()", "declared twice"},
		{"interface org.example\nmethod A(x: int, x: int) -> ()", "declared twice"},
		{"interface org.example\nmethod A(x: Missing) -> ()", "not declared"},
		{"interface org.example\nmethod A(x: int)", `expected "->"`},
		{"interface org.example\nmethod A(x: int, y) -> ()", "mixed"},
		{"interface org.example\nmethod A(one, two) -> ()", "enum"},
		{"interface org.example\nmethod A(x: ??int) -> ()", "nullable only once"},
		{"interface org.example\nmethod A(_x: int) -> ()", "invalid field name"},
		{"interface org.example\nsignal A()", "expected method, type or error"},
	} {
		_, err := ParseInterface(bad.text)
		if err == nil || !strings.Contains(err.Error(), bad.why) {
			t.Errorf("%q: error %v, want one containing %q", bad.text, err, bad.why)
		}
	}
}

func TestCheckParams(t *testing.T) {
	iface, err := ParseInterface(`interface org.example
type T (n: int, s: ?string)
method M(name: string, t: ?T, list: ?[]int, mode: ?(fast, slow), d: ?[string]bool) -> ()
`)
	if err != nil {
		t.Fatal(err)
	}
	in := iface.Methods["M"].In
	for _, tc := range []struct {
		params string
		bad    string // parameter named in the error, "" for valid
	}{
		{`{"name":"x"}`, ""},
		{`{"name":"x","t":{"n":1},"list":[1,2],"mode":"fast","d":{"a":true}}`, ""},
		{`{"name":"x","t":null}`, ""},
		{``, "name"},
		{`null`, "name"},
		{`{}`, "name"},
		{`[]`, "parameters"},
		{`{"name":1}`, "name"},
		{`{"name":null}`, "name"},
		{`{"name":"x","extra":1}`, "extra"},
		{`{"name":"x","t":{"n":"1"}}`, "t.n"},
		{`{"name":"x","t":{"n":1.5}}`, "t.n"},
		{`{"name":"x","t":{}}`, "t.n"},
		{`{"name":"x","t":{"n":1,"z":0}}`, "t.z"},
		{`{"name":"x","list":[1,"a"]}`, "list[1]"},
		{`{"name":"x","mode":"medium"}`, "mode"},
		{`{"name":"x","d":{"a":1}}`, "d.a"},
	} {
		err := checkParams(iface, in, json.RawMessage(tc.params))
		var pe *paramError
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%s: %v, want valid", tc.params, err)
		case tc.bad != "" && (!errors.As(err, &pe) || pe.param != tc.bad):
			t.Errorf("%s: %v, want an error naming %s", tc.params, err, tc.bad)
		}
	}
}
