// Command kernel-report summarises `go test -json` runs of the kernel matrix
// (scripts/vm/test-kernels.sh) as a table kernel × package × pass/skip/fail,
// followed by every skip with its reason and every failure with its output.
//
//	kernel-report LABEL FILE [LABEL FILE ...]   table; exit 1 on any failure
//	go test -json ... | kernel-report -progress LABEL
//	                                           one line per finished package
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string
	FailedBuild string
}

type testResult struct {
	name, action string
	output       []string
}

type pkgResult struct {
	name             string
	action           string // pass, fail, skip (no test files)
	elapsed          float64
	pass, skip, fail int
	tests            map[string]*testResult
	order            []string
	output           []string // package-level output (build errors, crashes)
}

type run struct {
	label string
	pkgs  map[string]*pkgResult
	order []string
}

func (r *run) pkg(name string) *pkgResult {
	p := r.pkgs[name]
	if p == nil {
		p = &pkgResult{name: name, tests: map[string]*testResult{}}
		r.pkgs[name] = p
		r.order = append(r.order, name)
	}
	return p
}

// add folds one event into r; it returns the package when that finished.
func (r *run) add(e event) *pkgResult {
	if e.Action == "build-output" || e.Action == "build-fail" {
		if e.ImportPath == "" {
			return nil
		}
		name := strings.Fields(e.ImportPath)[0] // "pkg [pkg.test]"
		p := r.pkg(name)
		if e.Output != "" {
			p.output = append(p.output, strings.TrimRight(e.Output, "\n"))
		}
		return nil
	}
	if e.Package == "" {
		return nil
	}
	p := r.pkg(e.Package)
	if e.Test == "" {
		switch e.Action {
		case "output":
			p.output = append(p.output, strings.TrimRight(e.Output, "\n"))
		case "pass", "fail", "skip":
			p.action, p.elapsed = e.Action, e.Elapsed
			return p
		}
		return nil
	}
	t := p.tests[e.Test]
	if t == nil {
		t = &testResult{name: e.Test}
		p.tests[e.Test] = t
		p.order = append(p.order, e.Test)
	}
	switch e.Action {
	case "output":
		t.output = append(t.output, strings.TrimRight(e.Output, "\n"))
	case "pass":
		t.action = e.Action
		p.pass++
	case "skip":
		t.action = e.Action
		p.skip++
	case "fail":
		t.action = e.Action
		p.fail++
	}
	return nil
}

func read(label string, in io.Reader, each func(*pkgResult)) (*run, error) {
	r := &run{label: label, pkgs: map[string]*pkgResult{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// not JSON: go test's own messages (e.g. a failed -exec)
			r.pkg("(go test)").output = append(r.pkg("(go test)").output, string(line))
			continue
		}
		if p := r.add(e); p != nil && each != nil {
			each(p)
		}
	}
	return r, sc.Err()
}

var modulePrefix = "github.com/bpfunit/bpfunit/"

func short(pkg string) string { return strings.TrimPrefix(pkg, modulePrefix) }

func result(p *pkgResult) string {
	switch {
	case p.action == "" && len(p.tests) == 0 && len(p.output) > 0 && p.name == "(go test)":
		return "NOTE"
	case p.action == "":
		return "FAIL?" // no final event: killed
	case p.action == "fail":
		if p.fail == 0 {
			return "FAIL!" // build failure or crash outside a test
		}
		return "FAIL"
	case p.action == "skip":
		return "-"
	}
	return "ok"
}

// reason is what a skipped test logged, without go test's framing lines.
func reason(t *testResult) string {
	var parts []string
	for _, l := range t.output {
		s := strings.TrimSpace(l)
		if s == "" || strings.HasPrefix(s, "=== ") || strings.HasPrefix(s, "--- ") {
			continue
		}
		parts = append(parts, s)
	}
	if len(parts) > 3 {
		parts = parts[len(parts)-3:]
	}
	return strings.Join(parts, " | ")
}

func tail(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

func main() {
	progress := flag.Bool("progress", false, "read go test -json on stdin, print a line per finished package, copy nothing")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: kernel-report LABEL FILE [LABEL FILE ...] | kernel-report -progress LABEL")
		flag.PrintDefaults()
	}
	flag.Parse()
	args := flag.Args()

	if *progress {
		if len(args) != 1 {
			flag.Usage()
			os.Exit(2)
		}
		start := time.Now()
		_, err := read(args[0], os.Stdin, func(p *pkgResult) {
			if p.action == "skip" {
				return
			}
			fmt.Printf("  %s  %-7s %-36s pass %3d  skip %3d  fail %3d  %6.1fs  (%s)\n",
				args[0], result(p), short(p.name), p.pass, p.skip, p.fail, p.elapsed, time.Since(start).Round(time.Second))
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		return
	}

	if len(args) == 0 || len(args)%2 != 0 {
		flag.Usage()
		os.Exit(2)
	}
	var runs []*run
	for i := 0; i < len(args); i += 2 {
		f, err := os.Open(args[i+1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		r, err := read(args[i], f, nil)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		runs = append(runs, r)
	}

	failed := false
	lw := len("KERNEL")
	pw := len("PACKAGE")
	for _, r := range runs {
		lw = max(lw, len(r.label))
		for _, n := range r.order {
			pw = max(pw, len(short(n)))
		}
	}
	fmt.Printf("%-*s  %-*s  %-6s %5s %5s %5s %8s\n", lw, "KERNEL", pw, "PACKAGE", "RESULT", "PASS", "SKIP", "FAIL", "TIME")
	for _, r := range runs {
		var notests []string
		var tp, ts, tf int
		for _, n := range r.order {
			p := r.pkgs[n]
			res := result(p)
			if res == "-" {
				notests = append(notests, short(n))
				continue
			}
			if res == "NOTE" {
				continue
			}
			if strings.HasPrefix(res, "FAIL") {
				failed = true
			}
			tp, ts, tf = tp+p.pass, ts+p.skip, tf+p.fail
			fmt.Printf("%-*s  %-*s  %-6s %5d %5d %5d %7.1fs\n", lw, r.label, pw, short(n), res, p.pass, p.skip, p.fail, p.elapsed)
		}
		fmt.Printf("%-*s  %-*s  %-6s %5d %5d %5d\n", lw, r.label, pw, "(total)", "", tp, ts, tf)
		if len(notests) > 0 {
			sort.Strings(notests)
			fmt.Printf("%-*s  no test files: %s\n", lw, r.label, strings.Join(notests, " "))
		}
	}

	fmt.Println("\nSkipped:")
	for _, r := range runs {
		for _, n := range r.order {
			p := r.pkgs[n]
			for _, tn := range p.order {
				if t := p.tests[tn]; t.action == "skip" {
					fmt.Printf("  %s  %s %s: %s\n", r.label, short(n), tn, reason(t))
				}
			}
		}
	}

	if failed {
		fmt.Println("\nFailed:")
		for _, r := range runs {
			for _, n := range r.order {
				p := r.pkgs[n]
				res := result(p)
				if !strings.HasPrefix(res, "FAIL") && res != "NOTE" {
					continue
				}
				leaf := 0
				for _, tn := range p.order {
					t := p.tests[tn]
					if t.action != "fail" && (t.action != "" || p.action == "") {
						continue
					}
					// report the innermost failures only
					inner := false
					for _, o := range p.order {
						if strings.HasPrefix(o, tn+"/") && p.tests[o].action == "fail" {
							inner = true
						}
					}
					if inner {
						continue
					}
					leaf++
					fmt.Printf("  %s  %s %s:\n", r.label, short(n), tn)
					for _, l := range tail(t.output, 15) {
						fmt.Printf("      %s\n", l)
					}
				}
				if leaf == 0 && len(p.output) > 0 {
					fmt.Printf("  %s  %s:\n", r.label, short(n))
					for _, l := range tail(p.output, 15) {
						fmt.Printf("      %s\n", l)
					}
				}
			}
		}
		os.Exit(1)
	}
}
