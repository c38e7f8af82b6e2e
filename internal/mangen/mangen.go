package mangen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var includeRe = regexp.MustCompile(`^<!--\s*include\s+(\S+)\s*-->$`)

// Page reads the man page source at path and returns it preprocessed.
func Page(path string) ([]byte, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read man page: %w", err)
	}
	var out []string
	for i, line := range strings.Split(string(src), "\n") {
		m := includeRe.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			out = append(out, line)
			continue
		}
		inc := filepath.Join(filepath.Dir(path), m[1])
		data, err := os.ReadFile(inc)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: include: %w", path, i+1, err)
		}
		out = append(out, Included(string(data))...)
	}
	return []byte(strings.Join(Tables(out), "\n")), nil
}

// Included returns the lines of an included document: its title (the first
// "# " heading) dropped, every other heading one level up, section headings
// in capitals as man pages have them.
func Included(doc string) []string {
	var out []string
	fence := false
	title := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "```") {
			fence = !fence
		}
		switch {
		case fence:
		case !title && strings.HasPrefix(line, "# "):
			title = true
			continue
		case strings.HasPrefix(line, "## "):
			line = "# " + strings.ToUpper(strings.TrimPrefix(line, "## "))
		case strings.HasPrefix(line, "### "):
			line = "## " + strings.TrimPrefix(line, "### ")
		}
		out = append(out, line)
	}
	return out
}

// Tables replaces each Markdown table by a definition list: the first cell
// is the term; the middle cells, in parentheses, and the last make the
// definition.
func Tables(lines []string) []string {
	var out []string
	for i := 0; i < len(lines); i++ {
		if !isRow(lines[i]) || i+1 >= len(lines) || !isSeparator(lines[i+1]) {
			out = append(out, lines[i])
			continue
		}
		header := cells(lines[i])
		i += 2
		for ; i < len(lines) && isRow(lines[i]); i++ {
			c := cells(lines[i])
			if len(c) == 0 {
				continue
			}
			var def bytes.Buffer
			if len(c) > 2 {
				var mid []string
				for j := 1; j < len(c)-1; j++ {
					if c[j] == "" {
						continue
					}
					h := ""
					if j < len(header) && header[j] != "" {
						h = header[j] + ": "
					}
					mid = append(mid, h+c[j])
				}
				if len(mid) > 0 {
					fmt.Fprintf(&def, "(%s) ", strings.Join(mid, "; "))
				}
			}
			if len(c) > 1 {
				def.WriteString(c[len(c)-1])
			}
			out = append(out, c[0], ":   "+def.String(), "")
		}
		i--
	}
	return out
}

func isRow(line string) bool {
	t := strings.TrimSpace(line)
	return len(t) > 1 && t[0] == '|' && t[len(t)-1] == '|'
}

func isSeparator(line string) bool {
	if !isRow(line) {
		return false
	}
	return strings.Trim(strings.TrimSpace(line), "|:- ") == ""
}

// cells splits a table row at the pipes that are not inside backquotes or
// escaped.
func cells(line string) []string {
	t := strings.TrimSpace(line)
	t = t[1 : len(t)-1]
	var out []string
	var cur strings.Builder
	code := false
	for i := 0; i < len(t); i++ {
		ch := t[i]
		switch {
		case ch == '\\' && i+1 < len(t) && t[i+1] == '|':
			cur.WriteByte('|')
			i++
			continue
		case ch == '`':
			code = !code
		case ch == '|' && !code:
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteByte(ch)
	}
	return append(out, strings.TrimSpace(cur.String()))
}
