package varlink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// paramError names the parameter that is wrong, for InvalidParameter.
type paramError struct {
	param string
	why   string
}

func (e *paramError) Error() string { return fmt.Sprintf("parameter %s: %s", e.param, e.why) }

// checkParams checks the call's parameters against the method's input
// struct: an object, no unknown field, every non-nullable field present,
// every value of its declared type. Handlers then decode into Go structs
// knowing that the shape is right; they still validate the values (names).
func checkParams(iface *Interface, in *Type, raw json.RawMessage) error {
	if isNull(raw) {
		raw = json.RawMessage("{}")
	}
	return checkValue(iface, in, raw, "parameters", 0)
}

const maxDepth = 32

func checkValue(iface *Interface, t *Type, raw json.RawMessage, path string, depth int) error {
	if depth > maxDepth {
		return &paramError{path, "nested too deeply"}
	}
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		if t.Nullable {
			return nil
		}
		return &paramError{path, "must not be null"}
	}
	switch t.Kind {
	case KindNamed:
		nt := *iface.Types[t.Name]
		nt.Nullable = t.Nullable
		return checkValue(iface, &nt, raw, path, depth+1)
	case KindBool:
		var v bool
		return wantJSON(raw, &v, path, "a boolean")
	case KindInt:
		var v json.Number
		// json.Number also accepts a quoted number: refuse strings first.
		if raw[0] == '"' {
			return &paramError{path, "must be an integer"}
		}
		if err := wantJSON(raw, &v, path, "an integer"); err != nil {
			return err
		}
		if _, err := v.Int64(); err != nil {
			return &paramError{path, "must be an integer"}
		}
		return nil
	case KindFloat:
		var v float64
		return wantJSON(raw, &v, path, "a number")
	case KindString:
		var v string
		return wantJSON(raw, &v, path, "a string")
	case KindEnum:
		var v string
		if err := wantJSON(raw, &v, path, "a string"); err != nil {
			return err
		}
		if !slices.Contains(t.Enum, v) {
			return &paramError{path, fmt.Sprintf("must be one of %v", t.Enum)}
		}
		return nil
	case KindObject:
		var v map[string]json.RawMessage
		return wantJSON(raw, &v, path, "an object")
	case KindArray:
		var v []json.RawMessage
		if err := wantJSON(raw, &v, path, "an array"); err != nil {
			return err
		}
		for i, e := range v {
			if err := checkValue(iface, t.Elem, e, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
		return nil
	case KindDict:
		var v map[string]json.RawMessage
		if err := wantJSON(raw, &v, path, "an object"); err != nil {
			return err
		}
		for k, e := range v {
			if err := checkValue(iface, t.Elem, e, path+"."+k, depth+1); err != nil {
				return err
			}
		}
		return nil
	case KindStruct:
		var v map[string]json.RawMessage
		if err := wantJSON(raw, &v, path, "an object"); err != nil {
			return err
		}
		prefix := path + "."
		if path == "parameters" {
			prefix = ""
		}
		for k := range v {
			if !slices.ContainsFunc(t.Fields, func(f Field) bool { return f.Name == k }) {
				return &paramError{prefix + k, "unknown field"}
			}
		}
		for _, f := range t.Fields {
			fv, ok := v[f.Name]
			if !ok {
				if f.Type.Nullable {
					continue
				}
				return &paramError{prefix + f.Name, "missing"}
			}
			if err := checkValue(iface, f.Type, fv, prefix+f.Name, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return &paramError{path, "has a type this server cannot check"}
}

func wantJSON(raw json.RawMessage, v any, path, what string) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return &paramError{path, "must be " + what}
	}
	return nil
}
