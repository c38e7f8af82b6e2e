// Command bpfunit-generator is the systemd generator of bpfunit: at boot
// and at every daemon-reload it wires bpf@NAME.service units for the
// NAME.bpfunit configs. See internal/generator.
package main

import (
	"os"
	"runtime"

	"github.com/bpfunit/bpfunit/internal/generator"
)

func main() {
	// The work is serial, and go-systemd's lexer hands every token to a
	// goroutine over a channel: on one P those handoffs are cheap
	// goroutine switches, on two they become futex wakeups across threads
	// (1000 configs: 80 ms with GOMAXPROCS=2, 62 ms with 1). Set here, not
	// in the library, so that importing it changes nothing.
	runtime.GOMAXPROCS(1)
	os.Exit(generator.Main(os.Args[1:]))
}
