package dbusapi

import (
	"strings"

	"github.com/godbus/dbus/v5"
)

// Object paths and names on the bus.
const (
	BusName       = "org.bpfunit.Manager1"
	ManagerPath   = dbus.ObjectPath("/org/bpfunit/Manager1")
	ManagerIface  = "org.bpfunit.Manager1"
	UnitIface     = "org.bpfunit.Unit1"
	UnitPathRoot  = dbus.ObjectPath("/org/bpfunit/unit")
	propsIface    = "org.freedesktop.DBus.Properties"
	introIface    = "org.freedesktop.DBus.Introspectable"
	dbusIface     = "org.freedesktop.DBus"
	dbusPath      = dbus.ObjectPath("/org/freedesktop/DBus")
	actionManage  = "org.bpfunit.manage"
	actionReplace = "org.bpfunit.replace"
)

// EscapeLabel escapes s into one object path element the way systemd's
// bus_label_escape does (sd_bus_path_encode): every byte that is not an
// ASCII letter, or a digit after the first byte, becomes _ and two lower
// case hex digits; the empty string is "_".
func EscapeLabel(s string) string {
	if s == "" {
		return "_"
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// UnescapeLabel reverses EscapeLabel; ok is false for a label EscapeLabel
// cannot have produced.
func UnescapeLabel(l string) (s string, ok bool) {
	if l == "_" {
		return "", true
	}
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c != '_' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(l) {
			return "", false
		}
		hi, ok1 := unhex(l[i+1])
		lo, ok2 := unhex(l[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	s = b.String()
	return s, EscapeLabel(s) == l
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// UnitPath is the object path of unit name.
func UnitPath(name string) dbus.ObjectPath {
	return UnitPathRoot + "/" + dbus.ObjectPath(EscapeLabel(name))
}

// UnitName returns the unit name of a unit object path.
func UnitName(p dbus.ObjectPath) (string, bool) {
	rest, ok := strings.CutPrefix(string(p), string(UnitPathRoot)+"/")
	if !ok || strings.Contains(rest, "/") {
		return "", false
	}
	return UnescapeLabel(rest)
}
