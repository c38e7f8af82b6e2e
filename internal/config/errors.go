package config

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinels for errors.Is. Every error of this package that is not an *Error
// wraps one of them, or is an error of the filesystem (fs.ErrNotExist,
// fs.ErrPermission) wrapped with the path.
var (
	// ErrNotFound: no NAME.bpfunit on the search path.
	ErrNotFound = errors.New("unit not found")
	// ErrMasked: the first NAME.bpfunit on the search path is a symlink to /dev/null.
	ErrMasked = errors.New("unit is masked")
	// ErrInvalidName: the name fails ValidateName.
	ErrInvalidName = errors.New("invalid unit name")
	// ErrInvalidUnit matches every *Error, so callers can tell "the config
	// is wrong" (exit status, D-Bus error name) from I/O failures.
	ErrInvalidUnit = errors.New("invalid unit configuration")
	// ErrUntrusted: a config, drop-in or object, or a directory above it,
	// could have been written by someone other than root (see trust.go).
	ErrUntrusted = errors.New("file writable by others than root")
)

// Error is a problem in a config file, at a position. Empty parts are left
// out of the message, so a missing key reads "FILE: [Object] Path=: ...".
type Error struct {
	File    string
	Line    int // 1-based; 0 when the problem has no single line
	Section string
	Key     string
	Msg     string
}

// Error renders "FILE:LINE: [Section] Key=: message" on exactly one line:
// newlines that came from the input are escaped so that the message stays
// one line in the journal and in `bpfunit verify` output.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":")
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Section != "" {
		b.WriteString("[" + e.Section + "]")
		if e.Key != "" {
			b.WriteString(" ")
		}
	}
	if e.Key != "" {
		b.WriteString(e.Key + "=")
	}
	if e.Section != "" || e.Key != "" {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return oneLine(b.String())
}

// Is makes errors.Is(err, ErrInvalidUnit) true for every *Error.
func (e *Error) Is(target error) bool { return target == ErrInvalidUnit }

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}
