package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// MaxNameLen is the longest unit name. The name ends up in bpf@NAME.service
// (systemd allows 255 bytes), NAME.bpfunit.d, NAME.json, the lock file and
// the pin directory (255 bytes per path component); 200 leaves room for
// every suffix and prefix those add.
const MaxNameLen = 200

// ValidateName checks a unit name. It must be usable verbatim as a file
// name, a bpffs directory name and a systemd instance name (bpf@NAME.service)
// without escaping, so it is limited to the characters systemd accepts
// unescaped in an instance name: ASCII letters, digits and ":-_.@".
//
// Stricter than systemd, on purpose:
//   - no '\': systemd reads it as the start of an escape, so %i and %I of
//     bpf@.service would disagree about the name;
//   - no leading '-', so a name is never taken for a command-line option;
//   - no leading '.', so "." and "..", and hidden names that could collide
//     with bpfunit's own dot-prefixed staging entries, are impossible.
//
// Errors wrap ErrInvalidName.
func ValidateName(name string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrInvalidName, name, why) }
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: %d bytes long, at most %d allowed", ErrInvalidName, len(name), MaxNameLen)
	case name[0] == '-':
		return bad("must not start with '-'")
	case name[0] == '.':
		return bad("must not start with '.'")
	}
	for _, r := range name {
		if !isNameChar(r) {
			return bad(fmt.Sprintf("character %q not allowed (allowed: letters, digits, ':', '-', '_', '.', '@')", r))
		}
	}
	return nil
}

func isNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(":-_.@", r)
}

func isIdent(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

func hasSpaceOrControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f })
}

func checkAbsPath(p string) error {
	switch {
	case !filepath.IsAbs(p):
		return fmt.Errorf("%q is not an absolute path", p)
	case hasSpaceOrControl(p):
		return fmt.Errorf("%q: whitespace or control character in path", p)
	}
	return nil
}

// setBool accepts what systemd's parse_boolean accepts.
func setBool(dst *bool, v string) error {
	switch strings.ToLower(v) {
	case "1", "yes", "y", "true", "t", "on":
		*dst = true
	case "0", "no", "n", "false", "f", "off":
		*dst = false
	case "":
		*dst = false // empty assignment: back to the default
	default:
		return fmt.Errorf("invalid boolean %q; accepted: 1, yes, true, on, 0, no, false, off", v)
	}
	return nil
}

func parseConstant(v string) (Constant, error) {
	name, val, ok := strings.Cut(v, "=")
	switch {
	case !ok:
		return Constant{}, fmt.Errorf("%q: expected NAME=VALUE", v)
	case !isIdent(name):
		return Constant{}, fmt.Errorf("%q: NAME must be a C identifier (the variable in the object)", name)
	case val == "":
		return Constant{}, fmt.Errorf("%q: empty VALUE; expected NAME=VALUE", v)
	}
	return Constant{Name: name, Value: val}, nil
}

func parseShareMap(v string) (ShareMap, error) {
	m, p, ok := strings.Cut(v, ":")
	switch {
	case !ok:
		return ShareMap{}, fmt.Errorf("%q: expected MAP:/absolute/bpffs/path", v)
	case !isIdent(m):
		return ShareMap{}, fmt.Errorf("%q: MAP must be a C identifier (the map in the object)", m)
	}
	if err := checkAbsPath(p); err != nil {
		return ShareMap{}, err
	}
	return ShareMap{Map: m, Path: filepath.Clean(p)}, nil
}

// docSchemes are the URI schemes systemd accepts in Documentation=.
var docSchemes = []string{"http", "https", "file", "info", "man"}

func checkDocURL(u string) error {
	scheme, rest, ok := strings.Cut(u, ":")
	if ok && rest != "" && slices.Contains(docSchemes, scheme) {
		return nil
	}
	return fmt.Errorf("%q: not a URI; accepted schemes: %s", u, strings.Join(docSchemes, ", "))
}

// unitSuffixes are systemd's unit types.
var unitSuffixes = []string{"service", "socket", "target", "device", "mount", "automount", "swap", "path", "timer", "slice", "scope"}

// checkUnitName accepts what systemd's unit_name_is_valid accepts for
// [Install] targets, loosely: charset and a known type suffix.
func checkUnitName(n string) error {
	dot := strings.LastIndexByte(n, '.')
	if dot <= 0 || !slices.Contains(unitSuffixes, n[dot+1:]) {
		return fmt.Errorf("%q: not a unit name (NAME.TYPE, TYPE one of %s)", n, strings.Join(unitSuffixes, ", "))
	}
	for _, r := range n[:dot] {
		if !isNameChar(r) && r != '\\' {
			return fmt.Errorf("%q: character %q not allowed in a unit name", n, r)
		}
	}
	return nil
}
