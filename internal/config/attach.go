package config

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/bpfunit/bpfunit/internal/attach"
)

// attachKeys are the keys of [Attach], in the order messages list them:
// Program, Type, then the keys of each attach type (package attach).
var attachKeys = append([]string{"Program", "Type"}, attach.Keys()...)

// pidMax is the kernel's PID_MAX_LIMIT.
const pidMax = 4 << 20

// setAttach assigns one key. An empty value puts the field back to its
// default, like an empty assignment in systemd.
func setAttach(a *Attach, key, v string) error {
	var err error
	switch key {
	case "Program":
		if !isIdent(v) {
			return fmt.Errorf("%q: expected the program's name in the object (a C identifier)", v)
		}
		a.Program = v
	case "Type":
		if v != "" && attach.Lookup(AttachType(v)) == nil {
			return oneOf(v, attach.Names()...)
		}
		a.Type = AttachType(v)
	case "Interface":
		if v != "" {
			err = checkIfName(v)
		}
		a.Interface = v
	case "Namespace":
		if v != "" && (v == "." || v == ".." || strings.Contains(v, "/") || hasSpaceOrControl(v)) {
			err = fmt.Errorf("%q: expected a network namespace name as `ip netns` shows it", v)
		}
		a.Namespace = v
	case "Mode":
		err = optOneOf(v, attach.Values("Mode")...)
		a.Mode = v
	case "Direction":
		err = optOneOf(v, attach.Values("Direction")...)
		a.Direction = v
	case "Order":
		err = checkOrder(v)
		a.Order = v
	case "Cgroup":
		err = checkCgroup(v)
		a.Cgroup = v
	case "Tracepoint":
		if v != "" && !isTraceName(v, ":/") {
			err = fmt.Errorf("%q: expected GROUP:NAME (tracepoint) or NAME (raw_tracepoint)", v)
		}
		a.Tracepoint = v
	case "Function":
		if v != "" && (!isTraceName(v, "") || v[0] >= '0' && v[0] <= '9') {
			err = fmt.Errorf("%q: expected a kernel function or hook name", v)
		}
		a.Function = v
	case "Binary":
		if v != "" {
			err = checkAbsPath(v)
		}
		a.Binary = v
	case "Symbol":
		if hasSpaceOrControl(v) {
			err = fmt.Errorf("%q: whitespace or control character in symbol", v)
		}
		a.Symbol = v
	case "Offset":
		a.Offset = 0
		if v != "" {
			a.Offset, err = strconv.ParseUint(v, 0, 64)
			if err != nil {
				err = fmt.Errorf("%q: expected an unsigned number (decimal, 0x hex or 0 octal)", v)
			}
		}
	case "PID":
		a.PID = 0
		if v != "" {
			a.PID, err = strconv.Atoi(v)
			if err != nil || a.PID < 0 || a.PID > pidMax {
				err = fmt.Errorf("%q: expected a process id, 0 to %d (0: every process)", v, pidMax)
			}
		}
	case "Family":
		err = optOneOf(v, attach.Values("Family")...)
		a.Family = v
	case "Hook":
		err = optOneOf(v, attach.Values("Hook")...)
		a.Hook = v
	case "Priority":
		a.Priority = 0
		if v != "" {
			var p int64
			p, err = strconv.ParseInt(v, 10, 32)
			// The kernel refuses NF_IP_PRI_FIRST and NF_IP_PRI_LAST (INT_MIN, INT_MAX) for BPF.
			if err != nil || p == math.MinInt32 || p == math.MaxInt32 {
				err = fmt.Errorf("%q: expected an integer from %d to %d", v, math.MinInt32+1, math.MaxInt32-1)
			}
			a.Priority = int32(p)
		}
	}
	return err
}

// checkAttach runs the checks that need the whole section after every
// drop-in: required keys, and keys that don't apply to Type=.
func checkAttach(at *attachState) error {
	a := at.a
	header := func(key, msg string) error {
		return &Error{File: a.File, Line: a.Line, Section: secAttach, Key: key, Msg: msg}
	}
	atKey := func(key, msg string) error {
		p := at.set[key]
		return &Error{File: p.file, Line: p.line, Section: secAttach, Key: key, Msg: msg}
	}
	var set []string                   // in attachKeys order, for stable messages
	for _, k := range attachKeys[2:] { // all but Program and Type
		if _, ok := at.set[k]; ok {
			set = append(set, k)
		}
	}
	if a.Program == "" {
		return header("Program", "required: the name of the program in the object")
	}

	if a.Type == "" {
		// The loader takes the type from the ELF section; still, keys that
		// no single type takes can be refused now.
		for i, k := range set {
			if len(typesTaking(set[:i+1])) == 0 {
				return atKey(k, fmt.Sprintf("cannot be combined with %s in one attachment (no Type takes them all)", keyList(set[:i])))
			}
		}
		return nil
	}

	t := attach.Lookup(a.Type)
	for _, k := range set {
		if !t.Takes(k) {
			return atKey(k, fmt.Sprintf("does not apply to Type=%s; keys for %s: %s",
				a.Type, a.Type, strings.Join(append([]string{"Program", "Type"}, t.Keys...), ", ")))
		}
	}
	for _, k := range t.Required {
		if _, ok := at.set[k]; !ok {
			return header(k, fmt.Sprintf("required for Type=%s", a.Type))
		}
	}
	if t.Check != nil {
		isSet := func(k string) bool { _, ok := at.set[k]; return ok }
		if k, msg := t.Check(a, isSet); k != "" {
			if isSet(k) {
				return atKey(k, msg)
			}
			return header(k, msg)
		}
	}
	return nil
}

// typesTaking returns the types that accept every key of keys.
func typesTaking(keys []string) []AttachType {
	var out []AttachType
	for _, t := range attach.All() {
		ok := true
		for _, k := range keys {
			ok = ok && t.Takes(k)
		}
		if ok {
			out = append(out, t.Name)
		}
	}
	return out
}

func keyList(keys []string) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = k + "="
	}
	return strings.Join(s, ", ")
}

func oneOf(v string, accepted ...string) error {
	return fmt.Errorf("invalid value %q; accepted: %s", v, strings.Join(accepted, ", "))
}

// optOneOf is oneOf where empty means "the default".
func optOneOf(v string, accepted ...string) error {
	if v == "" || slices.Contains(accepted, v) {
		return nil
	}
	return oneOf(v, accepted...)
}

// checkIfName mirrors the kernel's dev_valid_name.
func checkIfName(v string) error {
	switch {
	case len(v) >= 16:
		return fmt.Errorf("%q: interface names are at most 15 bytes", v)
	case v == "." || v == ".." || strings.ContainsAny(v, "/:") || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("%q: not a valid interface name (no '/', ':', whitespace; not . or ..)", v)
	}
	return nil
}

func checkOrder(v string) error {
	if v == "" || v == "first" || v == "last" {
		return nil
	}
	rel, prog, ok := strings.Cut(v, ":")
	if ok && (rel == "before" || rel == "after") {
		if _, err := strconv.ParseUint(prog, 10, 32); err == nil || isIdent(prog) {
			return nil
		}
	}
	return fmt.Errorf("invalid value %q; accepted: first, last, before:PROG, after:PROG (PROG: a program name or id)", v)
}

func checkCgroup(v string) error {
	if v == "" {
		return nil
	}
	if hasSpaceOrControl(v) {
		return fmt.Errorf("%q: whitespace or control character in cgroup", v)
	}
	if slices.Contains(strings.Split(v, "/"), "..") {
		return fmt.Errorf("%q: '..' not allowed in a cgroup path", v)
	}
	return nil
}

// isTraceName accepts the characters of tracefs event and kernel symbol
// names, plus the separators in seps.
func isTraceName(v, seps string) bool {
	if v == "" {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' || strings.ContainsRune(seps, r)) {
			return false
		}
	}
	return true
}
