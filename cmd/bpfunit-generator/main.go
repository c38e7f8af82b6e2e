// Command bpfunit-generator is the systemd generator of bpfunit: at boot
// and at every daemon-reload it wires bpf@NAME.service units for the
// NAME.bpfunit configs. See internal/generator.
package main

import (
	"os"

	"github.com/bpfunit/bpfunit/internal/generator"
)

func main() {
	os.Exit(generator.Main(os.Args[1:]))
}
