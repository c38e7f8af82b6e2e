package config

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	valid := []string{"a", "blocklist", "xdp-counter", "a_b.c:d@e", "A9", strings.Repeat("x", MaxNameLen)}
	for _, n := range valid {
		if err := ValidateName(n); err != nil {
			t.Errorf("ValidateName(%q): %v", n, err)
		}
	}
	invalid := map[string]string{
		"":                                `invalid unit name: empty`,
		strings.Repeat("x", MaxNameLen+1): `invalid unit name: 201 bytes long, at most 200 allowed`,
		"a/b":                             `invalid unit name "a/b": character '/' not allowed (allowed: letters, digits, ':', '-', '_', '.', '@')`,
		".":                               `invalid unit name ".": must not start with '.'`,
		"..":                              `invalid unit name "..": must not start with '.'`,
		".hidden":                         `invalid unit name ".hidden": must not start with '.'`,
		"-x":                              `invalid unit name "-x": must not start with '-'`,
		"a b":                             `invalid unit name "a b": character ' ' not allowed (allowed: letters, digits, ':', '-', '_', '.', '@')`,
		"a\tb":                            `invalid unit name "a\tb": character '\t' not allowed (allowed: letters, digits, ':', '-', '_', '.', '@')`,
		"a\nb":                            `invalid unit name "a\nb": character '\n' not allowed (allowed: letters, digits, ':', '-', '_', '.', '@')`,
		"a\x00":                           `invalid unit name "a\x00": character '\x00' not allowed (allowed: letters, digits, ':', '-', '_', '.', '@')`,
		`a\x2db`:                          `invalid unit name "a\\x2db": character '\\' not allowed (allowed: letters, digits, ':', '-', '_', '.', '@')`,
		"caf\u00e9":                       `invalid unit name "café": character 'é' not allowed (allowed: letters, digits, ':', '-', '_', '.', '@')`,
		"a\xff":                           `invalid unit name "a\xff": character '�' not allowed (allowed: letters, digits, ':', '-', '_', '.', '@')`,
	}
	for n, want := range invalid {
		err := ValidateName(n)
		if !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", n, err)
			continue
		}
		if err.Error() != want {
			t.Errorf("ValidateName(%q):\n got %s\nwant %s", n, err, want)
		}
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "/f", Line: 3, Section: "Attach", Key: "Mode", Msg: "bad"}, "/f:3: [Attach] Mode=: bad"},
		{Error{File: "/f", Section: "Object", Key: "Path", Msg: "required"}, "/f: [Object] Path=: required"},
		{Error{File: "/f", Line: 2, Section: "Foo", Msg: "unknown section"}, "/f:2: [Foo]: unknown section"},
		{Error{File: "/f", Line: 2, Msg: "syntax"}, "/f:2: syntax"},
		{Error{Msg: "no file"}, "no file"},
		{Error{File: "/f", Section: "A\nB", Msg: "x\ny"}, `/f: [A\nB]: x\ny`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
