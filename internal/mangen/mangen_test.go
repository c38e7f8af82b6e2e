package mangen_test

import (
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/bpfunit/bpfunit/internal/cli"
	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/mangen"
)

func TestTables(t *testing.T) {
	in := []string{
		"before",
		"| key | types | meaning |",
		"|---|---|---|",
		"| `Mode=` | xdp | `native` or `a\\|b` |",
		"| `Code=` | `x|y` | last |",
		"after",
	}
	want := []string{
		"before",
		"`Mode=`", ":   (types: xdp) `native` or `a|b`", "",
		"`Code=`", ":   (types: `x|y`) last", "",
		"after",
	}
	if got := mangen.Tables(in); !slices.Equal(got, want) {
		t.Errorf("Tables:\n got %q\nwant %q", got, want)
	}
}

func TestIncluded(t *testing.T) {
	got := mangen.Included("# Title\n\nintro\n\n## `[Unit]`\n\n### Sub\n\n```\n# not a heading\n## nor this\n```\n")
	want := []string{"", "intro", "", "# `[UNIT]`", "", "## Sub", "", "```", "# not a heading", "## nor this", "```", ""}
	if !slices.Equal(got, want) {
		t.Errorf("Included:\n got %q\nwant %q", got, want)
	}
}

// accepted asks the config parser which keys (or values) it accepts, from
// the list its error message gives for a config that has a bad one.
func accepted(t *testing.T, data string) []string {
	t.Helper()
	_, err := config.Parse("x", []config.File{{Path: "/x.bpfunit", Data: []byte(data)}})
	if err == nil {
		t.Fatalf("config.Parse accepted:\n%s", data)
	}
	m := regexp.MustCompile(`accepted(?: keys)?: ([^(]*)`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("config.Parse error lists no accepted keys or values: %v", err)
	}
	return strings.Split(strings.TrimSpace(m[1]), ", ")
}

// TestConfigPageCoversParser fails when bpfunit.bpfunit(5) (which includes
// docs/config.md) and the config parser drift apart: every key the parser
// accepts is documented in its section, and so is every value of the
// enumerated keys.
func TestConfigPageCoversParser(t *testing.T) {
	page, err := mangen.Page("../../docs/man/bpfunit.bpfunit.5.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	cur := ""
	for _, line := range strings.Split(string(page), "\n") {
		if strings.HasPrefix(line, "# ") {
			cur = strings.ToUpper(strings.Trim(strings.Fields(line)[1], "`"))
		}
		sections[cur] += line + "\n"
	}
	const obj = "[Object]\nPath=/x.o\n"
	for _, sec := range []string{"Unit", "Object", "Attach", "Install"} {
		text, ok := sections["["+strings.ToUpper(sec)+"]"]
		if !ok {
			t.Errorf("bpfunit.bpfunit(5) has no section [%s]", strings.ToUpper(sec))
			continue
		}
		for _, k := range accepted(t, obj+"["+sec+"]\nNoSuchKey=1\n") {
			if !strings.Contains(text, k+"=") {
				t.Errorf("bpfunit.bpfunit(5) [%s] does not document %s=", sec, k)
			}
		}
	}
	attach := sections["[ATTACH]"]
	values := map[string]string{
		"Type":      "[Attach]\nProgram=p\nType=nosuch\n",
		"Mode":      "[Attach]\nProgram=p\nType=xdp\nInterface=lo\nMode=nosuch\n",
		"Direction": "[Attach]\nProgram=p\nType=tcx\nInterface=lo\nDirection=nosuch\n",
		"Family":    "[Attach]\nProgram=p\nType=netfilter\nHook=input\nFamily=nosuch\n",
		"Hook":      "[Attach]\nProgram=p\nType=netfilter\nFamily=ipv4\nHook=nosuch\n",
	}
	for key, cfg := range values {
		for _, v := range accepted(t, obj+cfg) {
			if !regexp.MustCompile(`\b` + regexp.QuoteMeta(v) + `\b`).MatchString(attach) {
				t.Errorf("bpfunit.bpfunit(5) [ATTACH] does not document %s=%s", key, v)
			}
		}
	}
}

// TestCLIPageCoversCommands fails when a command of the CLI is missing from
// bpfunit(1).
func TestCLIPageCoversCommands(t *testing.T) {
	page, err := mangen.Page("../../docs/man/bpfunit.1.md")
	if err != nil {
		t.Fatal(err)
	}
	root := cli.New(io.Discard, io.Discard)
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" {
			continue
		}
		if !strings.Contains(string(page), "**"+c.Name()+"**") {
			t.Errorf("bpfunit(1) does not document the command %q", c.Name())
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name != "help" && !strings.Contains(string(page), "**--"+f.Name+"**") {
				t.Errorf("bpfunit(1) does not document %s --%s", c.Name(), f.Name)
			}
		})
	}
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		if !strings.Contains(string(page), "**--"+f.Name+"**") {
			t.Errorf("bpfunit(1) does not document --%s", f.Name)
		}
	})
}
