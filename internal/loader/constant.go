package loader

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/bpfunit/bpfunit/internal/config"
)

// setConstant writes a Constant=NAME=VALUE into the variable's initial
// value, parsed according to its BTF type.
func setConstant(cs *ebpf.CollectionSpec, c config.Constant) error {
	v, ok := cs.Variables[c.Name]
	if !ok {
		return fmt.Errorf("Constant=%s: no global variable %q in the object used by the unit's programs (it has: %s)",
			c.Name, c.Name, keyList(cs.Variables))
	}
	val, err := parseValue(v, c.Value)
	if err != nil {
		return fmt.Errorf("Constant=%s=%s: %w", c.Name, c.Value, err)
	}
	if err := v.Set(val); err != nil {
		return fmt.Errorf("Constant=%s: %w", c.Name, err)
	}
	return nil
}

func parseValue(v *ebpf.VariableSpec, s string) (any, error) {
	var typ btf.Type
	if v.Type != nil {
		typ = btf.UnderlyingType(v.Type.Type)
	}
	size := v.Size()
	signed := false
	switch t := typ.(type) {
	case *btf.Int:
		if t.Encoding&btf.Bool != 0 {
			b, err := parseBool(s)
			if err != nil {
				return nil, err
			}
			if b {
				return uint8(1), nil
			}
			return uint8(0), nil
		}
		signed = t.Encoding&btf.Signed != 0
	case *btf.Enum:
		signed = t.Signed
		for _, val := range t.Values {
			if val.Name == s {
				s = strconv.FormatUint(val.Value, 10)
			}
		}
	case nil:
	default:
		return nil, fmt.Errorf("variable of type %s can't be set from a config; only integers, enums and bools", typ)
	}
	if signed {
		n, err := strconv.ParseInt(s, 0, int(size*8))
		if err != nil {
			return nil, fmt.Errorf("not a %d-bit signed integer", size*8)
		}
		switch size {
		case 1:
			return int8(n), nil
		case 2:
			return int16(n), nil
		case 4:
			return int32(n), nil
		case 8:
			return n, nil
		}
	} else {
		n, err := strconv.ParseUint(s, 0, int(size*8))
		if err != nil {
			return nil, fmt.Errorf("not a %d-bit unsigned integer", size*8)
		}
		switch size {
		case 1:
			return uint8(n), nil
		case 2:
			return uint16(n), nil
		case 4:
			return uint32(n), nil
		case 8:
			return n, nil
		}
	}
	return nil, fmt.Errorf("variable has unsupported size %d", size)
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "yes", "true", "on":
		return true, nil
	case "0", "no", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean (yes/no, true/false, on/off, 1/0)")
}
