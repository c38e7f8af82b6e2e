package config

import (
	"fmt"
	"slices"
	"strings"
)

// File is one input file: the main NAME.bpfunit or a drop-in.
type File struct {
	// Path is used in error messages and in Unit.Path/DropIns only.
	Path string
	Data []byte
}

// Section names.
const (
	secUnit    = "Unit"
	secObject  = "Object"
	secAttach  = "Attach"
	secInstall = "Install"
)

var sectionNames = []string{secUnit, secObject, secAttach, secInstall}

var sectionKeys = map[string][]string{
	secUnit:    {"Description", "Documentation"},
	secObject:  {"Path", "PinMaps", "KeepMaps", "Constant", "ShareMap"},
	secAttach:  attachKeys,
	secInstall: {"WantedBy", "RequiredBy", "Alias"},
}

// Parse builds a Unit from files[0] (the main file) and then the drop-ins
// files[1:], in order. It touches no filesystem. Config errors are *Error;
// a bad name wraps ErrInvalidName.
func Parse(name string, files []File) (*Unit, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, &Error{Msg: fmt.Sprintf("unit %s: no configuration file", name)}
	}
	b := &builder{u: &Unit{Name: name, Path: files[0].Path}}
	for i, f := range files {
		if i > 0 {
			b.u.DropIns = append(b.u.DropIns, f.Path)
		}
		secs, err := readSections(f)
		if err != nil {
			return nil, err
		}
		for _, s := range secs {
			if err := b.section(f.Path, i > 0, s); err != nil {
				return nil, err
			}
		}
	}
	if err := b.finish(files[0].Path); err != nil {
		return nil, err
	}
	b.u.Digest = digest(b.u)
	return b.u, nil
}

// pos is where a key was last assigned.
type pos struct {
	file string
	line int
}

type attachState struct {
	a   *Attach
	set map[string]pos // keys with a non-empty value, for the per-type checks
}

type builder struct {
	u         *Unit
	attach    []*attachState
	objectPos pos // first [Object] header, to point "Path= missing" at it
}

func (b *builder) section(file string, dropIn bool, s section) error {
	if strings.HasPrefix(s.Name, "X-") {
		return nil
	}
	keys, ok := sectionKeys[s.Name]
	if !ok {
		return &Error{File: file, Line: s.Line, Section: s.Name,
			Msg: "unknown section; accepted sections: " + strings.Join(sectionNames, ", ") + " (and X-*)"}
	}
	if s.Name == secObject && b.objectPos.file == "" {
		b.objectPos = pos{file, s.Line}
	}
	var at *attachState
	if s.Name == secAttach {
		at = b.attachFor(file, dropIn, s)
	}
	for _, e := range s.Entries {
		if strings.HasPrefix(e.Key, "X-") {
			continue
		}
		fail := func(msg string) error {
			return &Error{File: file, Line: e.Line, Section: s.Name, Key: e.Key, Msg: msg}
		}
		if e.Key == "" {
			return fail("assignment without a key name")
		}
		if !slices.Contains(keys, e.Key) {
			return fail("unknown key; accepted keys: " + strings.Join(keys, ", ") + " (and X-*)")
		}
		var err error
		switch s.Name {
		case secUnit:
			err = b.setUnit(e)
		case secObject:
			err = b.setObject(e)
		case secAttach:
			err = setAttach(at.a, e.Key, e.Value)
			if err == nil {
				if e.Value == "" {
					delete(at.set, e.Key)
				} else {
					at.set[e.Key] = pos{file, e.Line}
				}
			}
		case secInstall:
			err = b.setInstall(e)
		}
		if err != nil {
			return fail(err.Error())
		}
	}
	return nil
}

// attachFor picks the attachment an [Attach] section applies to: in a
// drop-in, the one existing attachment with the same Program=, if there is
// exactly one; else a new one.
func (b *builder) attachFor(file string, dropIn bool, s section) *attachState {
	if dropIn {
		prog := ""
		for _, e := range s.Entries {
			if e.Key == "Program" {
				prog = e.Value
			}
		}
		var match []*attachState
		for _, at := range b.attach {
			if prog != "" && at.a.Program == prog {
				match = append(match, at)
			}
		}
		if len(match) == 1 {
			return match[0]
		}
	}
	at := &attachState{a: &Attach{File: file, Line: s.Line}, set: map[string]pos{}}
	b.attach = append(b.attach, at)
	return at
}

func (b *builder) setUnit(e entry) error {
	switch e.Key {
	case "Description":
		b.u.Description = e.Value
	case "Documentation":
		return appendWords(&b.u.Documentation, e.Value, checkDocURL)
	}
	return nil
}

func (b *builder) setObject(e entry) error {
	o := &b.u.Object
	var err error
	switch e.Key {
	case "Path":
		if e.Value != "" {
			err = checkAbsPath(e.Value)
		}
		if err == nil {
			o.Path = e.Value
		}
	case "PinMaps":
		err = setBool(&o.PinMaps, e.Value)
	case "KeepMaps":
		err = setBool(&o.KeepMaps, e.Value)
	case "Constant":
		if e.Value == "" {
			o.Constants = nil
			return nil
		}
		var c Constant
		if c, err = parseConstant(e.Value); err == nil {
			c.Line = e.Line
			// A later Constant= for the same name replaces the earlier one, so
			// a drop-in can change one value without resetting the list.
			o.Constants = slices.DeleteFunc(o.Constants, func(x Constant) bool { return x.Name == c.Name })
			o.Constants = append(o.Constants, c)
		}
	case "ShareMap":
		if e.Value == "" {
			o.ShareMaps = nil
			return nil
		}
		var m ShareMap
		if m, err = parseShareMap(e.Value); err == nil {
			m.Line = e.Line
			o.ShareMaps = slices.DeleteFunc(o.ShareMaps, func(x ShareMap) bool { return x.Map == m.Map })
			o.ShareMaps = append(o.ShareMaps, m)
		}
	}
	return err
}

func (b *builder) setInstall(e entry) error {
	in := &b.u.Install
	switch e.Key {
	case "WantedBy":
		return appendWords(&in.WantedBy, e.Value, checkUnitName)
	case "RequiredBy":
		return appendWords(&in.RequiredBy, e.Value, checkUnitName)
	case "Alias":
		return appendWords(&in.Alias, e.Value, checkUnitName)
	}
	return nil
}

// appendWords implements systemd's list assignment: words are appended,
// an empty assignment resets the list.
func appendWords(list *[]string, v string, check func(string) error) error {
	if v == "" {
		*list = nil
		return nil
	}
	words := strings.Fields(v)
	for _, w := range words {
		if err := check(w); err != nil {
			return err
		}
	}
	*list = append(*list, words...)
	return nil
}

// finish runs the checks that need the whole unit: required keys and the
// keys that depend on Type=, which a drop-in may have changed.
func (b *builder) finish(main string) error {
	if b.u.Object.Path == "" {
		p := b.objectPos
		if p.file == "" {
			p.file = main
		}
		return &Error{File: p.file, Line: p.line, Section: secObject, Key: "Path",
			Msg: "required: absolute path of the BPF object"}
	}
	if len(b.attach) == 0 {
		return &Error{File: main, Section: secAttach,
			Msg: "no [Attach] section; a unit needs at least one attachment"}
	}
	for _, at := range b.attach {
		b.u.Attach = append(b.u.Attach, *at.a)
		if err := checkAttach(at); err != nil {
			return err
		}
	}
	return nil
}
