package varlink

import (
	"fmt"
	"regexp"
	"strings"
)

// Interface is a parsed Varlink interface description (the IDL of
// varlink.org's "Interface Definition"). The server keeps the text it was
// parsed from: GetInterfaceDescription returns it unchanged.
type Interface struct {
	Name    string
	Methods map[string]*Method
	Types   map[string]*Type
	Errors  map[string]*Type // the error's parameter struct
	// Order is the declaration order of methods, types and errors.
	Order []string
}

// Method is one method: its input and output structs.
type Method struct {
	Name string
	In   *Type
	Out  *Type
}

// TypeKind says what a Type is.
type TypeKind int

// The kinds of the IDL's types.
const (
	KindBool TypeKind = iota
	KindInt
	KindFloat
	KindString
	KindObject // foreign, untyped
	KindStruct
	KindEnum
	KindNamed
	KindArray
	KindDict
)

// Type is an IDL type. Nullable is the "?" prefix.
type Type struct {
	Kind     TypeKind
	Nullable bool
	Fields   []Field  // KindStruct
	Enum     []string // KindEnum
	Name     string   // KindNamed
	Elem     *Type    // KindArray, KindDict
}

// Field is one field of a struct.
type Field struct {
	Name string
	Type *Type
}

var (
	// varlink.org's grammar has lowercase labels only; systemd, whose
	// interfaces are io.systemd.Manager and the like, accepts uppercase
	// letters too (varlink_idl_interface_name_is_valid), and so does this.
	interfaceNameRE = regexp.MustCompile(`^[A-Za-z]([-]*[A-Za-z0-9])*(\.[A-Za-z0-9]([-]*[A-Za-z0-9])*)+$`)
	memberNameRE    = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
	fieldNameRE     = regexp.MustCompile(`^[A-Za-z](_?[A-Za-z0-9])*$`)
)

// ParseInterface parses an interface description. Errors name the line.
func ParseInterface(text string) (*Interface, error) {
	p := &idlParser{src: text}
	return p.parse()
}

type idlParser struct {
	src string
	pos int
}

func (p *idlParser) errorf(format string, args ...any) error {
	return fmt.Errorf("varlink idl: line %d: %s", strings.Count(p.src[:p.pos], "\n")+1, fmt.Sprintf(format, args...))
}

// skip passes whitespace and comments ("#" to the end of the line).
func (p *idlParser) skip() {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			p.pos++
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

// word reads a run of identifier characters (letters, digits, '_', '-', '.').
func (p *idlParser) word() string {
	p.skip()
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			p.pos++
			continue
		}
		break
	}
	return p.src[start:p.pos]
}

func (p *idlParser) peek(s string) bool {
	p.skip()
	return strings.HasPrefix(p.src[p.pos:], s)
}

func (p *idlParser) expect(s string) error {
	if !p.peek(s) {
		return p.errorf("expected %q", s)
	}
	p.pos += len(s)
	return nil
}

func (p *idlParser) parse() (*Interface, error) {
	if w := p.word(); w != "interface" {
		return nil, p.errorf("expected \"interface\", found %q", w)
	}
	iface := &Interface{Methods: map[string]*Method{}, Types: map[string]*Type{}, Errors: map[string]*Type{}}
	iface.Name = p.word()
	if !interfaceNameRE.MatchString(iface.Name) {
		return nil, p.errorf("invalid interface name %q", iface.Name)
	}
	for {
		p.skip()
		if p.pos == len(p.src) {
			break
		}
		kw := p.word()
		name := p.word()
		if !memberNameRE.MatchString(name) {
			return nil, p.errorf("invalid %s name %q", kw, name)
		}
		if _, dup := iface.Methods[name]; dup || iface.Types[name] != nil || iface.Errors[name] != nil {
			return nil, p.errorf("%s %s: name declared twice", kw, name)
		}
		switch kw {
		case "method":
			in, err := p.structType()
			if err != nil {
				return nil, err
			}
			if err := p.expect("->"); err != nil {
				return nil, err
			}
			out, err := p.structType()
			if err != nil {
				return nil, err
			}
			iface.Methods[name] = &Method{Name: name, In: in, Out: out}
		case "type":
			t, err := p.parenType()
			if err != nil {
				return nil, err
			}
			iface.Types[name] = t
		case "error":
			t, err := p.structType()
			if err != nil {
				return nil, err
			}
			iface.Errors[name] = t
		default:
			return nil, p.errorf("expected method, type or error, found %q", kw)
		}
		iface.Order = append(iface.Order, name)
	}
	if len(iface.Methods) == 0 && len(iface.Types) == 0 && len(iface.Errors) == 0 {
		return nil, p.errorf("interface %s declares nothing", iface.Name)
	}
	// Every named type must be declared.
	var check func(t *Type) error
	check = func(t *Type) error {
		switch t.Kind {
		case KindNamed:
			if iface.Types[t.Name] == nil {
				return fmt.Errorf("varlink idl: type %s is not declared", t.Name)
			}
		case KindArray, KindDict:
			return check(t.Elem)
		case KindStruct:
			for _, f := range t.Fields {
				if err := check(f.Type); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, name := range iface.Order {
		var ts []*Type
		if m := iface.Methods[name]; m != nil {
			ts = []*Type{m.In, m.Out}
		} else if t := iface.Types[name]; t != nil {
			ts = []*Type{t}
		} else {
			ts = []*Type{iface.Errors[name]}
		}
		for _, t := range ts {
			if err := check(t); err != nil {
				return nil, err
			}
		}
	}
	return iface, nil
}

func (p *idlParser) structType() (*Type, error) {
	t, err := p.parenType()
	if err != nil {
		return nil, err
	}
	if t.Kind != KindStruct {
		return nil, p.errorf("expected a struct, found an enum")
	}
	return t, nil
}

// parenType parses "(...)": a struct (fields with types) or an enum (bare
// names). "()" is the empty struct.
func (p *idlParser) parenType() (*Type, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	t := &Type{Kind: KindStruct}
	if p.peek(")") {
		p.pos++
		return t, nil
	}
	seen := map[string]bool{}
	for i := 0; ; i++ {
		name := p.word()
		if !fieldNameRE.MatchString(name) {
			return nil, p.errorf("invalid field name %q", name)
		}
		if seen[name] {
			return nil, p.errorf("field %s declared twice", name)
		}
		seen[name] = true
		isField := p.peek(":")
		if i == 0 && !isField {
			t.Kind = KindEnum
		}
		if (t.Kind == KindStruct) != isField {
			return nil, p.errorf("%s: struct fields and enum names mixed", name)
		}
		if isField {
			p.pos++
			ft, err := p.typ()
			if err != nil {
				return nil, err
			}
			t.Fields = append(t.Fields, Field{Name: name, Type: ft})
		} else {
			t.Enum = append(t.Enum, name)
		}
		if p.peek(",") {
			p.pos++
			continue
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return t, nil
	}
}

func (p *idlParser) typ() (*Type, error) {
	nullable := false
	if p.peek("?") {
		p.pos++
		nullable = true
		if p.peek("?") {
			return nil, p.errorf("a type is nullable only once")
		}
	}
	var t *Type
	switch {
	case p.peek("[]"):
		p.pos += 2
		elem, err := p.typ()
		if err != nil {
			return nil, err
		}
		t = &Type{Kind: KindArray, Elem: elem}
	case p.peek("[string]"):
		p.pos += len("[string]")
		elem, err := p.typ()
		if err != nil {
			return nil, err
		}
		t = &Type{Kind: KindDict, Elem: elem}
	case p.peek("("):
		var err error
		if t, err = p.parenType(); err != nil {
			return nil, err
		}
	default:
		switch w := p.word(); w {
		case "bool":
			t = &Type{Kind: KindBool}
		case "int":
			t = &Type{Kind: KindInt}
		case "float":
			t = &Type{Kind: KindFloat}
		case "string":
			t = &Type{Kind: KindString}
		case "object":
			t = &Type{Kind: KindObject}
		default:
			if !memberNameRE.MatchString(w) {
				return nil, p.errorf("invalid type %q", w)
			}
			t = &Type{Kind: KindNamed, Name: w}
		}
	}
	t.Nullable = nullable
	return t, nil
}
