// Command mangen preprocesses a Markdown man page for go-md2man (see
// package mangen): mangen PAGE.md > OUT.md
package main

import (
	"fmt"
	"os"

	"github.com/bpfunit/bpfunit/internal/mangen"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mangen PAGE.md")
		os.Exit(2)
	}
	out, err := mangen.Page(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "mangen:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
