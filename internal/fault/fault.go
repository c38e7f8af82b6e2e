// Package fault lets tests kill a bpfunit process at a named step, to prove
// that whatever a SIGKILL leaves behind, the next start or stop repairs.
//
// The hook is the environment variable BPFUNIT_FAULT=STEP: when the process
// reaches Point(STEP) it sends itself SIGKILL. It is inert otherwise; real
// systems never set it.
package fault

import (
	"os"
	"syscall"
)

// Env names the environment variable that arms a fault.
const Env = "BPFUNIT_FAULT"

var armed = os.Getenv(Env)

// Point kills the process with SIGKILL if step is the armed fault.
func Point(step string) {
	if armed != "" && armed == step {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL is not deliverable late, but never run on
	}
}
