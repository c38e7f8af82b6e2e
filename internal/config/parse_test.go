package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const mainPath = "/etc/bpfunit/x.bpfunit"

// minimal is a valid unit that error cases extend.
const minimal = `[Object]
Path=/o.bpf.o
[Attach]
Program=p
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		// Structure.
		{"text before section", "Path=/o\n" + minimal,
			mainPath + ":1: assignment outside of a section (a file starts with a [Section] header)"},
		{"no closing bracket", "[Object\nPath=/o\n",
			mainPath + ":1: unable to find end of section"},
		{"bracket on next line", "[Obj\nect]\n" + minimal,
			mainPath + ":1: section header without closing ']'"},
		{"garbage after header", "[Object] x\nPath=/o\n",
			mainPath + ":1: found garbage after section name : \"x\""},
		{"no equals", minimal + "Type\nInterface=eth0\n",
			mainPath + ":5: unexpected newline encountered while parsing option name"},
		{"no equals at eof", minimal + "Type",
			mainPath + ":5: unexpected end of file while parsing option name"},
		{"line too long", minimal + "X-Long=" + strings.Repeat("a", 3000) + "\n",
			mainPath + ":5: line too long (max 2048 bytes)"},
		{"unknown section", minimal + "[Service]\nExecStart=/bin/true\n",
			mainPath + ":5: [Service]: unknown section; accepted sections: Unit, Object, Attach, Install (and X-*)"},
		{"unknown key", "[Object]\nPath=/o\nPinmaps=yes\n[Attach]\nProgram=p\n",
			mainPath + ":3: [Object] Pinmaps=: unknown key; accepted keys: Path, PinMaps, KeepMaps, Constant, ShareMap (and X-*)"},
		{"empty key", minimal + "=x\n",
			mainPath + ":5: [Attach]: assignment without a key name"},

		// Required.
		{"no object path", "[Attach]\nProgram=p\n",
			mainPath + ": [Object] Path=: required: absolute path of the BPF object"},
		{"no object path, section at line 3", "[Unit]\nDescription=d\n[Object]\nPinMaps=1\n[Attach]\nProgram=p\n",
			mainPath + ":3: [Object] Path=: required: absolute path of the BPF object"},
		{"no attach", "[Object]\nPath=/o\n",
			mainPath + ": [Attach]: no [Attach] section; a unit needs at least one attachment"},
		{"no program", "[Object]\nPath=/o\n\n[Attach]\nType=xdp\n",
			mainPath + ":4: [Attach] Program=: required: the name of the program in the object"},

		// Values.
		{"relative object path", "[Object]\nPath=o.bpf.o\n",
			mainPath + ":2: [Object] Path=: \"o.bpf.o\" is not an absolute path"},
		{"bad bool", minimal + "[Object]\nPinMaps=maybe\n",
			mainPath + ":6: [Object] PinMaps=: invalid boolean \"maybe\"; accepted: 1, yes, true, on, 0, no, false, off"},
		{"constant without value", "[Object]\nPath=/o\nConstant=x\n",
			mainPath + ":3: [Object] Constant=: \"x\": expected NAME=VALUE"},
		{"constant bad name", "[Object]\nPath=/o\nConstant=1x=2\n",
			mainPath + ":3: [Object] Constant=: \"1x\": NAME must be a C identifier (the variable in the object)"},
		{"sharemap relative", "[Object]\nPath=/o\nShareMap=m:sys/fs/bpf/m\n",
			mainPath + ":3: [Object] ShareMap=: \"sys/fs/bpf/m\" is not an absolute path"},
		{"sharemap no colon", "[Object]\nPath=/o\nShareMap=m\n",
			mainPath + ":3: [Object] ShareMap=: \"m\": expected MAP:/absolute/bpffs/path"},
		{"bad doc", "[Unit]\nDocumentation=https://x ftp://y\n" + minimal,
			mainPath + ":2: [Unit] Documentation=: \"ftp://y\": not a URI; accepted schemes: http, https, file, info, man"},
		{"bad wantedby", minimal + "[Install]\nWantedBy=bpf\n",
			mainPath + ":6: [Install] WantedBy=: \"bpf\": not a unit name (NAME.TYPE, TYPE one of service, socket, target, device, mount, automount, swap, path, timer, slice, scope)"},
		{"bad program", "[Object]\nPath=/o\n[Attach]\nProgram=a-b\n",
			mainPath + ":4: [Attach] Program=: \"a-b\": expected the program's name in the object (a C identifier)"},
		{"bad type", minimal + "Type=sk_lookup\n",
			mainPath + ":5: [Attach] Type=: invalid value \"sk_lookup\"; accepted: xdp, tcx, cgroup, tracepoint, raw_tracepoint, tp_btf, fentry, fexit, lsm, kprobe, kretprobe, uprobe, uretprobe, netfilter"},
		{"bad mode", minimal + "Type=xdp\nInterface=eth0\nMode=fast\n",
			mainPath + ":7: [Attach] Mode=: invalid value \"fast\"; accepted: native, generic, auto"},
		{"bad direction", minimal + "Direction=in\n",
			mainPath + ":5: [Attach] Direction=: invalid value \"in\"; accepted: ingress, egress"},
		{"bad order", minimal + "Order=before:\n",
			mainPath + ":5: [Attach] Order=: invalid value \"before:\"; accepted: first, last, before:PROG, after:PROG (PROG: a program name or id)"},
		{"long interface", minimal + "Interface=abcdefghijklmnop\n",
			mainPath + ":5: [Attach] Interface=: \"abcdefghijklmnop\": interface names are at most 15 bytes"},
		{"interface slash", minimal + "Interface=a/b\n",
			mainPath + ":5: [Attach] Interface=: \"a/b\": not a valid interface name (no '/', ':', whitespace; not . or ..)"},
		{"interface space", minimal + "Interface=a b\n",
			mainPath + ":5: [Attach] Interface=: \"a b\": not a valid interface name (no '/', ':', whitespace; not . or ..)"},
		{"namespace path", minimal + "Namespace=/var/run/netns/x\n",
			mainPath + ":5: [Attach] Namespace=: \"/var/run/netns/x\": expected a network namespace name as `ip netns` shows it"},
		{"cgroup dotdot", minimal + "Cgroup=/sys/../x\n",
			mainPath + ":5: [Attach] Cgroup=: \"/sys/../x\": '..' not allowed in a cgroup path"},
		{"relative binary", minimal + "Binary=bash\n",
			mainPath + ":5: [Attach] Binary=: \"bash\" is not an absolute path"},
		{"bad offset", minimal + "Offset=-1\n",
			mainPath + ":5: [Attach] Offset=: \"-1\": expected an unsigned number (decimal, 0x hex or 0 octal)"},
		{"bad pid", minimal + "PID=99999999\n",
			mainPath + ":5: [Attach] PID=: \"99999999\": expected a process id, 0 to 4194304 (0: every process)"},
		{"bad family", minimal + "Family=inet\n",
			mainPath + ":5: [Attach] Family=: invalid value \"inet\"; accepted: ipv4, ipv6"},
		{"bad hook", minimal + "Hook=local_in\n",
			mainPath + ":5: [Attach] Hook=: invalid value \"local_in\"; accepted: prerouting, input, forward, output, postrouting"},
		{"priority out of range", minimal + "Priority=2147483647\n",
			mainPath + ":5: [Attach] Priority=: \"2147483647\": expected an integer from -2147483647 to 2147483646"},
		{"bad tracepoint", minimal + "Tracepoint=a b\n",
			mainPath + ":5: [Attach] Tracepoint=: \"a b\": expected GROUP:NAME (tracepoint) or NAME (raw_tracepoint)"},
		{"bad function", minimal + "Function=9x\n",
			mainPath + ":5: [Attach] Function=: \"9x\": expected a kernel function or hook name"},

		// Keys and Type=.
		{"key of other type", minimal + "Type=tracepoint\nInterface=eth0\n",
			mainPath + ":6: [Attach] Interface=: does not apply to Type=tracepoint; keys for tracepoint: Program, Type, Tracepoint"},
		{"key of other type before Type", minimal + "Cgroup=x.slice\nType=xdp\nInterface=eth0\n",
			mainPath + ":5: [Attach] Cgroup=: does not apply to Type=xdp; keys for xdp: Program, Type, Interface, Namespace, Mode"},
		{"kprobe takes no binary", minimal + "Type=kprobe\nFunction=do_sys_openat2\nBinary=/bin/sh\n",
			mainPath + ":7: [Attach] Binary=: does not apply to Type=kprobe; keys for kprobe: Program, Type, Function"},
		{"kretprobe takes no symbol", minimal + "Type=kretprobe\nSymbol=x\n",
			mainPath + ":6: [Attach] Symbol=: does not apply to Type=kretprobe; keys for kretprobe: Program, Type, Function"},
		{"xdp without interface", minimal + "Type=xdp\n",
			mainPath + ":3: [Attach] Interface=: required for Type=xdp"},
		{"tcx without interface", minimal + "Type=tcx\n",
			mainPath + ":3: [Attach] Interface=: required for Type=tcx"},
		{"cgroup without cgroup", minimal + "Type=cgroup\n",
			mainPath + ":3: [Attach] Cgroup=: required for Type=cgroup"},
		{"uprobe without binary", minimal + "Type=uprobe\nSymbol=readline\n",
			mainPath + ":3: [Attach] Binary=: required for Type=uprobe"},
		{"uprobe without symbol", minimal + "Type=uretprobe\nBinary=/bin/bash\n",
			mainPath + ":3: [Attach] Symbol=: Type=uretprobe needs Symbol= or Offset= (or both)"},
		{"netfilter without hook", minimal + "Type=netfilter\nFamily=ipv4\n",
			mainPath + ":3: [Attach] Hook=: required for Type=netfilter"},
		{"tracepoint without group", minimal + "Type=tracepoint\nTracepoint=sys_enter\n",
			mainPath + ":6: [Attach] Tracepoint=: \"sys_enter\": Type=tracepoint expects GROUP:NAME or GROUP/NAME"},
		{"raw tracepoint with group", minimal + "Type=raw_tracepoint\nTracepoint=raw_syscalls:sys_enter\n",
			mainPath + ":6: [Attach] Tracepoint=: \"raw_syscalls:sys_enter\": Type=raw_tracepoint expects a bare NAME"},
		{"untyped, keys of two types", minimal + "Interface=eth0\nMode=native\nCgroup=x.slice\n",
			mainPath + ":7: [Attach] Cgroup=: cannot be combined with Interface=, Mode= in one attachment (no Type takes them all)"},
		{"second attach section", minimal + "Type=xdp\nInterface=eth0\n[Attach]\nProgram=q\nType=cgroup\n",
			mainPath + ":7: [Attach] Cgroup=: required for Type=cgroup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x", []File{{Path: mainPath, Data: []byte(tt.data)}})
			checkErr(t, err, tt.want)
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	if got := err.Error(); got != want {
		t.Fatalf("error:\n got %s\nwant %s", got, want)
	}
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidUnit) {
		t.Fatalf("error %v (%T) is not a *Error matching ErrInvalidUnit", err, err)
	}
}

func TestParseErrorInDropIn(t *testing.T) {
	_, err := Parse("x", []File{
		{Path: mainPath, Data: []byte(minimal + "Type=xdp\nInterface=eth0\n")},
		{Path: "/etc/bpfunit/x.bpfunit.d/10-tp.conf", Data: []byte("# switch to a tracepoint\n[Attach]\nProgram=p\nType=tracepoint\n")},
	})
	// Interface= was set in the main file and is wrong only with the drop-in's Type=.
	checkErr(t, err, mainPath+":6: [Attach] Interface=: does not apply to Type=tracepoint; keys for tracepoint: Program, Type, Tracepoint")

	_, err = Parse("x", []File{
		{Path: mainPath, Data: []byte(minimal)},
		{Path: "/run/bpfunit/units/x.bpfunit.d/a.conf", Data: []byte("\n[Object]\nKeepMaps=often\n")},
	})
	checkErr(t, err, "/run/bpfunit/units/x.bpfunit.d/a.conf:3: [Object] KeepMaps=: invalid boolean \"often\"; accepted: 1, yes, true, on, 0, no, false, off")
}

func TestParseFull(t *testing.T) {
	data := `# comment
; another
[Unit]
Description=Drop traffic from blocked addresses
Documentation=man:bpfunit(5) \
  https://example.org/doc

[Object]
Path=/usr/lib/bpfunit/objects/blocklist.bpf.o
PinMaps=yes
KeepMaps=ON
Constant=threshold=1000
Constant=mode=a=b
ShareMap=blocked:/sys/fs/bpf/bpfunit/common/maps/blocked

[X-Vendor]
Anything=goes

[Attach]
Program=xdp_blocklist
Type=xdp
Interface=eth0
Namespace=blue
Mode=native
X-Note=ignored

[Attach]
Program=tc_in
Type=tcx
Interface=eth0
Direction=egress
Order=before:xdp_blocklist

[Attach]
Program=up
Type=uprobe
Binary=/bin/bash
Symbol=readline
Offset=0x10
PID=42

[Attach]
Program=nf
Type=netfilter
Family=ipv6
Hook=postrouting
Priority=-128

[Attach]
Program=untyped

[Install]
WantedBy=bpf.target
WantedBy=multi-user.target
Alias=blocklist.service
`
	u, err := Parse("blocklist", []File{{Path: mainPath, Data: []byte(data)}})
	if err != nil {
		t.Fatal(err)
	}
	want := &Unit{
		Name:          "blocklist",
		Path:          mainPath,
		Description:   "Drop traffic from blocked addresses",
		Documentation: []string{"man:bpfunit(5)", "https://example.org/doc"},
		Object: Object{
			Path:      "/usr/lib/bpfunit/objects/blocklist.bpf.o",
			PinMaps:   true,
			KeepMaps:  true,
			Constants: []Constant{{"threshold", "1000", 12}, {"mode", "a=b", 13}},
			ShareMaps: []ShareMap{{"blocked", "/sys/fs/bpf/bpfunit/common/maps/blocked", 14}},
		},
		Attach: []Attach{
			{File: mainPath, Line: 19, Program: "xdp_blocklist", Type: TypeXDP, Interface: "eth0", Namespace: "blue", Mode: "native"},
			{File: mainPath, Line: 27, Program: "tc_in", Type: TypeTCX, Interface: "eth0", Direction: "egress", Order: "before:xdp_blocklist"},
			{File: mainPath, Line: 34, Program: "up", Type: TypeUprobe, Binary: "/bin/bash", Symbol: "readline", Offset: 16, PID: 42},
			{File: mainPath, Line: 42, Program: "nf", Type: TypeNetfilter, Family: "ipv6", Hook: "postrouting", Priority: -128},
			{File: mainPath, Line: 49, Program: "untyped"},
		},
		Install: Install{WantedBy: []string{"bpf.target", "multi-user.target"}, Alias: []string{"blocklist.service"}},
	}
	want.Digest = u.Digest
	if !reflect.DeepEqual(u, want) {
		t.Errorf("got\n%+v\nwant\n%+v", u, want)
	}
	if len(u.Digest) != 64 {
		t.Errorf("digest %q is not hex sha256", u.Digest)
	}
}

func TestParseLineNumbers(t *testing.T) {
	// CRLF, continuations (of values and of comments), indentation.
	data := "[Object]\r\n" + // 1
		"Path=/o\r\n" + // 2
		"# a comment \\\n" + // 3: continues into 4 (go-systemd does this)
		"Constant=ignored=1\n" + // 4
		"Constant=a=1 \\\n" + // 5
		"  2\n" + // 6
		"\n" + // 7
		"   Constant=b=2\n" + // 8
		"[Attach]\n" + // 9
		"Program=p\n" + // 10
		"Type=xdp\n" + // 11
		"Interface=eth0\n" + // 12
		"Mode=bad\n" // 13
	_, err := Parse("x", []File{{Path: mainPath, Data: []byte(data)}})
	checkErr(t, err, mainPath+":13: [Attach] Mode=: invalid value \"bad\"; accepted: native, generic, auto")

	u, err := Parse("x", []File{{Path: mainPath, Data: []byte(strings.ReplaceAll(data, "Mode=bad\n", ""))}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Constant{{"a", "1  2", 5}, {"b", "2", 8}}
	if !reflect.DeepEqual(u.Object.Constants, want) {
		t.Errorf("constants %+v, want %+v", u.Object.Constants, want)
	}
	if u.Attach[0].Line != 9 {
		t.Errorf("attach line %d, want 9", u.Attach[0].Line)
	}
}

func TestDropIns(t *testing.T) {
	main := `[Unit]
Documentation=man:a(1)
[Object]
Path=/o
Constant=a=1
Constant=b=2
ShareMap=m:/sys/fs/bpf/m
[Attach]
Program=p
Type=xdp
Interface=eth0
Mode=native
[Attach]
Program=q
Type=cgroup
Cgroup=a.slice
[Attach]
Program=q
Type=cgroup
Cgroup=b.slice
[Install]
WantedBy=bpf.target
`
	drop1 := `[Object]
PinMaps=yes
Constant=b=3
Constant=c=4
[Attach]
Program=p
Interface=eth1
Mode=
[Attach]
Program=q
Type=cgroup
Cgroup=c.slice
[Attach]
Program=r
Type=tracepoint
`
	drop2 := `[Unit]
Documentation=
Documentation=man:b(1)
[Object]
Path=/o2
ShareMap=
[Install]
WantedBy=multi-user.target
`
	u, err := Parse("x", []File{
		{Path: "/m", Data: []byte(main)},
		{Path: "/d/1.conf", Data: []byte(drop1)},
		{Path: "/d/2.conf", Data: []byte(drop2)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/d/1.conf", "/d/2.conf"}; !reflect.DeepEqual(u.DropIns, want) {
		t.Errorf("DropIns %v, want %v", u.DropIns, want)
	}
	if want := []string{"man:b(1)"}; !reflect.DeepEqual(u.Documentation, want) {
		t.Errorf("Documentation %v, want %v", u.Documentation, want)
	}
	wantObj := Object{Path: "/o2", PinMaps: true, Constants: []Constant{{"a", "1", 5}, {"b", "3", 3}, {"c", "4", 4}}}
	if !reflect.DeepEqual(u.Object, wantObj) {
		t.Errorf("Object %+v, want %+v", u.Object, wantObj)
	}
	wantAttach := []Attach{
		// Modified in place: same File/Line, keys overridden, Mode= reset.
		{File: "/m", Line: 8, Program: "p", Type: TypeXDP, Interface: "eth1"},
		{File: "/m", Line: 13, Program: "q", Type: TypeCgroup, Cgroup: "a.slice"},
		{File: "/m", Line: 17, Program: "q", Type: TypeCgroup, Cgroup: "b.slice"},
		// Program=q is ambiguous, so the drop-in adds an attachment.
		{File: "/d/1.conf", Line: 9, Program: "q", Type: TypeCgroup, Cgroup: "c.slice"},
		{File: "/d/1.conf", Line: 13, Program: "r", Type: TypeTracepoint},
	}
	if !reflect.DeepEqual(u.Attach, wantAttach) {
		t.Errorf("Attach\n%+v\nwant\n%+v", u.Attach, wantAttach)
	}
	if want := []string{"bpf.target", "multi-user.target"}; !reflect.DeepEqual(u.Install.WantedBy, want) {
		t.Errorf("WantedBy %v, want %v", u.Install.WantedBy, want)
	}
}

func TestDigest(t *testing.T) {
	parse := func(files ...File) string {
		t.Helper()
		u, err := Parse("x", files)
		if err != nil {
			t.Fatal(err)
		}
		return u.Digest
	}
	base := parse(File{"/etc/bpfunit/x.bpfunit", []byte(minimal + "Type=xdp\nInterface=eth0\n")})
	same := []string{
		// Other place, other name, comments, layout.
		parse(File{"/usr/lib/bpfunit/y.bpfunit", []byte("# hi\n" + minimal + "\n  Type=xdp\nInterface=eth0\n")}),
		// The same keys split over a drop-in.
		parse(File{"/a", []byte(minimal + "Type=xdp\nInterface=lo\n")}, File{"/a.d/1.conf", []byte("[Attach]\nProgram=p\nInterface=eth0\n")}),
	}
	for i, d := range same {
		if d != base {
			t.Errorf("same config %d: digest %s, want %s", i, d, base)
		}
	}
	if d := parse(File{"/etc/bpfunit/x.bpfunit", []byte(minimal + "Type=xdp\nInterface=eth1\n")}); d == base {
		t.Error("different configs have the same digest")
	}
}

// TestExamples keeps the shipped examples valid.
func TestExamples(t *testing.T) {
	paths, _ := filepath.Glob("../../examples/*.bpfunit")
	if len(paths) == 0 {
		t.Skip("no examples/*.bpfunit")
	}
	for _, p := range paths {
		if _, err := LoadFile(p); err != nil {
			t.Error(err)
		}
	}
}

func TestParseNoFiles(t *testing.T) {
	_, err := Parse("x", nil)
	if !errors.Is(err, ErrInvalidUnit) {
		t.Errorf("got %v", err)
	}
	if _, err := Parse("a/b", []File{{Path: "/x", Data: []byte(minimal)}}); !errors.Is(err, ErrInvalidName) {
		t.Errorf("got %v", err)
	}
	_ = os.Getpagesize
}

// TestDigestCoversEveryField: a change to any field of the effective
// configuration changes the digest, and positions don't.
func TestDigestCoversEveryField(t *testing.T) {
	u, err := Parse("x", []File{{"/etc/bpfunit/x.bpfunit", []byte(minimal + "Type=xdp\nInterface=eth0\n")}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	check := func(p string, positional bool, base string) {
		t.Helper()
		seen[p] = true
		switch d := digest(u); {
		case positional && d != base:
			t.Errorf("changing %s changed the digest", p)
		case !positional && d == base:
			t.Errorf("changing %s left the digest as it was", p)
		}
	}
	var visit func(path string, v reflect.Value, base string)
	leaf := func(p string, fv reflect.Value, positional bool, base string) {
		old := reflect.New(fv.Type()).Elem()
		old.Set(fv)
		defer fv.Set(old)
		switch fv.Kind() {
		case reflect.String:
			fv.SetString(fv.String() + "z")
		case reflect.Bool:
			fv.SetBool(!fv.Bool())
		case reflect.Int, reflect.Int32, reflect.Int64:
			fv.SetInt(fv.Int() + 7)
		case reflect.Uint, reflect.Uint32, reflect.Uint64:
			fv.SetUint(fv.Uint() + 7)
		default:
			t.Fatalf("%s: a %s field; teach digest and this test about it", p, fv.Kind())
		}
		check(p, positional, base)
	}
	visit = func(path string, v reflect.Value, base string) {
		for i := range v.NumField() {
			f, fv := v.Type().Field(i), v.Field(i)
			p := path + f.Name
			positional := f.Name == "File" || f.Name == "Line"
			switch {
			case path == "" && (f.Name == "Name" || f.Name == "Path" || f.Name == "DropIns" || f.Name == "Digest"):
			case fv.Kind() == reflect.Struct:
				visit(p+".", fv, base)
			case fv.Kind() == reflect.Slice:
				old := fv.Slice(0, fv.Len())
				if fv.Len() == 0 {
					fv.Set(reflect.Append(fv, reflect.New(fv.Type().Elem()).Elem()))
					check(p, false, base)
				}
				elemBase := digest(u)
				if e := fv.Index(0); e.Kind() == reflect.Struct {
					visit(p+"[0].", e, elemBase)
				} else {
					leaf(p+"[0]", e, false, elemBase)
				}
				fv.Set(old)
			default:
				leaf(p, fv, positional, base)
			}
		}
	}
	base := u.Digest
	visit("", reflect.ValueOf(u).Elem(), base)
	if digest(u) != base {
		t.Fatal("digest changed after restoring every field")
	}
	for _, p := range []string{"Attach[0].Interface", "Attach[0].Line", "Object.Path", "Object.Constants[0].Value", "Object.ShareMaps[0].Line", "Install.WantedBy[0]"} {
		if !seen[p] {
			t.Errorf("%s not visited", p)
		}
	}
}
