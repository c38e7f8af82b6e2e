package attach

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

const configDoc = "../../docs/config.md"

// typesMarker starts the generated table of docs/config.md.
const typesMarker = "<!-- attach types: rendered from internal/attach by TestDocsTypesTable; edit the descriptors, not this table -->"

// typesTable renders docs/config.md's table of attach types.
func typesTable() string {
	var b strings.Builder
	b.WriteString("| `Type=` | program | keys | kernel needs | link | `BPF_LINK_UPDATE` | link pin |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, t := range All() {
		var keys []string
		for _, k := range t.Keys {
			s := "`" + k + "=`"
			if slices.Contains(t.Required, k) {
				s += " (required)"
			}
			keys = append(keys, s)
		}
		if len(keys) == 0 {
			keys = []string{"—"}
		}
		var needs []string
		for _, f := range t.Needs {
			if f.Since != "" {
				needs = append(needs, fmt.Sprintf("%s, Linux %s", f.What, f.Since))
			} else {
				needs = append(needs, fmt.Sprintf("%s, `%s`", f.What, f.Option))
			}
		}
		var pinsList []string
		for _, p := range strings.Split(t.PinTarget, ", ") {
			pinsList = append(pinsList, "`PROGRAM@"+p+"`")
		}
		update := "no (make-before-break)"
		if t.Updatable {
			update = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s |\n", t.Name, t.Program, strings.Join(keys, ", "),
			strings.Join(needs, "; "), t.Link, update, strings.Join(pinsList, ", "))
	}
	return b.String()
}

// TestDocsTypesTable checks docs/config.md's table of attach types against
// the descriptors: it must be exactly what typesTable renders. With
// BPFUNIT_UPDATE_DOCS=1 it rewrites the table instead.
func TestDocsTypesTable(t *testing.T) {
	data, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := strings.Cut(string(data), typesMarker+"\n")
	if !ok {
		t.Fatalf("%s has no line %q", configDoc, typesMarker)
	}
	got, after, _ := strings.Cut(rest, "\n\n")
	want := typesTable()
	if got+"\n" == want {
		return
	}
	if os.Getenv("BPFUNIT_UPDATE_DOCS") == "1" {
		doc := before + typesMarker + "\n" + want + "\n" + after
		if err := os.WriteFile(configDoc, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: the table after %q is stale; run BPFUNIT_UPDATE_DOCS=1 go test -run TestDocsTypesTable ./internal/attach/, or replace it with:\n\n%s", configDoc, typesMarker, want)
}

// TestDocsKeyTable checks the "types" column of docs/config.md's [Attach]
// key table: each key row names exactly the types that take the key, and
// the Type= row lists every type, in order.
func TestDocsKeyTable(t *testing.T) {
	data, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "## `[Attach]`")
	if !ok {
		t.Fatalf("%s has no [Attach] section", configDoc)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(rest, "\n") {
		if strings.HasPrefix(line, "#") {
			break
		}
		cols := strings.Split(line, " | ")
		if len(cols) < 3 || !strings.HasPrefix(line, "| `") {
			continue
		}
		var keys []string
		for _, k := range strings.Split(strings.TrimPrefix(cols[0], "| "), ", ") {
			k = strings.Trim(k, "`")
			k, _, _ = strings.Cut(k, "=")
			keys = append(keys, k)
		}
		switch keys[0] {
		case "Program":
			continue
		case "Type":
			want := "`" + strings.Join(Names(), " ") + "`"
			if !strings.HasPrefix(cols[2], want) {
				t.Errorf("Type= row lists %q, want it to start with %s", cols[2], want)
			}
			continue
		}
		for _, k := range keys {
			seen[k] = true
			var want []string
			for _, ty := range All() {
				if ty.Takes(k) {
					want = append(want, string(ty.Name))
				}
			}
			if got := cols[1]; got != strings.Join(want, ", ") {
				t.Errorf("%s= row: types %q, want %q", k, got, strings.Join(want, ", "))
			}
			for _, v := range Values(k) {
				if !strings.Contains(cols[2], v) {
					t.Errorf("%s= row does not mention the value %q", k, v)
				}
			}
		}
	}
	for _, k := range Keys() {
		if !seen[k] {
			t.Errorf("%s has no row for %s=", configDoc, k)
		}
	}
}
