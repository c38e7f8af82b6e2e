package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/coreos/go-systemd/v22/unit"
)

// section is one [Section] of one file, with the line of every entry.
// go-systemd's unit package does the parsing; it has no line numbers, so
// scanLines walks the file with the same lexical rules and the two results
// are matched in order.
type section struct {
	Name    string
	Line    int
	Entries []entry
}

type entry struct {
	Key, Value string
	Line       int
}

// mark is a section header or an assignment found by scanLines.
type mark struct {
	section bool
	name    string
	line    int
}

// scanProblem is the first line scanLines considers malformed. goToo says
// go-systemd rejects the same thing (so its message is the one to show);
// otherwise the problem is one go-systemd silently tolerates and we don't.
type scanProblem struct {
	line  int
	msg   string
	goToo bool
}

// readSections parses one file. Errors are *Error.
func readSections(f File) ([]section, error) {
	secs, goErr := unit.DeserializeSections(bytes.NewReader(f.Data))
	marks, prob := scanLines(f.Data)
	switch {
	case prob != nil && (goErr == nil || !prob.goToo):
		return nil, &Error{File: f.Path, Line: prob.line, Msg: prob.msg}
	case goErr != nil:
		msg := goErr.Error()
		if errors.Is(goErr, io.EOF) {
			// go-systemd hands back the bare io.EOF for "Key" without "=" on the last line.
			msg = "unexpected end of file while parsing option name"
		}
		line := 0
		if prob != nil {
			line = prob.line
		}
		return nil, &Error{File: f.Path, Line: line, Msg: msg}
	}

	out := make([]section, 0, len(secs))
	i := 0
	// lineOf returns the scanned line of the next mark if it is the one
	// go-systemd reports; 0 if the two ever disagree (FuzzParse checks they don't).
	lineOf := func(isSection bool, name string) int {
		if i < len(marks) && marks[i].section == isSection && marks[i].name == name {
			i++
			return marks[i-1].line
		}
		i = len(marks)
		return 0
	}
	for _, s := range secs {
		sec := section{Name: s.Section, Line: lineOf(true, s.Section)}
		for _, e := range s.Entries {
			sec.Entries = append(sec.Entries, entry{Key: e.Name, Value: normalizeValue(e.Value), Line: lineOf(false, e.Name)})
		}
		out = append(out, sec)
	}
	return out, nil
}

// normalizeValue turns go-systemd's continuation ("a \\\n  b") into what
// systemd makes of it ("a  b"): the backslash becomes a space and the next
// line's indentation goes.
func normalizeValue(v string) string {
	if !strings.Contains(v, "\n") {
		return v
	}
	parts := strings.Split(v, "\n")
	for i, p := range parts {
		if i < len(parts)-1 {
			p = strings.TrimSuffix(p, "\\")
		}
		if i > 0 {
			p = strings.TrimLeftFunc(p, unicode.IsSpace)
		}
		parts[i] = p
	}
	return strings.TrimSpace(strings.Join(parts, " "))
}

// scanLines follows go-systemd's lexer line by line (it reads runes; the
// differences that matter are spelled out below) and records where each
// section header and assignment starts.
func scanLines(data []byte) ([]mark, *scanProblem) {
	lines := strings.Split(string(data), "\n")
	// go-systemd strips "\r" only from a last line without "\n" (it trims
	// "\r" before "\n"), so CRLF lines keep their "\r" everywhere else.
	lines[len(lines)-1] = strings.TrimSuffix(lines[len(lines)-1], "\r")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}

	var marks []mark
	inSection := false
	for i := 0; i < len(lines); i++ {
		n := i + 1
		if len(lines[i]) >= unit.SYSTEMD_LINE_MAX {
			// go-systemd's own check depends on its buffer position; this
			// one is stricter and deterministic.
			return marks, &scanProblem{n, unit.ErrLineTooLong.Error(), true}
		}
		t := strings.TrimLeftFunc(lines[i], unicode.IsSpace)
		switch {
		case t == "":
		case t[0] == '#' || t[0] == ';':
			// A comment ending in a backslash swallows the next line in go-systemd.
			for strings.HasSuffix(strings.TrimSuffix(lines[i], " "), "\\") && i+1 < len(lines) {
				i++
			}
		case t[0] == '[':
			end := strings.IndexByte(t, ']')
			if end < 0 {
				return marks, &scanProblem{n, "section header without closing ']'", true}
			}
			if rest := strings.TrimSpace(t[end+1:]); rest != "" {
				return marks, &scanProblem{n, fmt.Sprintf("unexpected %q after section header", rest), true}
			}
			marks = append(marks, mark{section: true, name: t[1:end], line: n})
			inSection = true
		case !inSection:
			return marks, &scanProblem{n, "assignment outside of a section (a file starts with a [Section] header)", false}
		default:
			eq := strings.IndexByte(t, '=')
			if eq < 0 || strings.ContainsRune(t[:eq], '\r') {
				return marks, &scanProblem{n, "expected KEY=VALUE", true}
			}
			marks = append(marks, mark{name: strings.TrimSpace(runes(t[:eq])), line: n})
			// Continuation: a value line ending in a backslash goes on
			// until a line that is empty or does not end in one.
			cont := strings.TrimSpace(t[eq+1:]) != "" && strings.HasSuffix(t, "\\")
			for cont && i+1 < len(lines) {
				i++
				cont = strings.TrimSpace(lines[i]) != "" && strings.HasSuffix(lines[i], "\\")
			}
		}
	}
	return marks, nil
}

// runes re-encodes s rune by rune, as go-systemd builds key names: each
// invalid byte becomes U+FFFD.
func runes(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}
