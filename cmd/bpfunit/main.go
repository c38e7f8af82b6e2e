// Command bpfunit is the admin CLI: list, status, verify.
package main

import (
	"os"

	"github.com/bpfunit/bpfunit/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
