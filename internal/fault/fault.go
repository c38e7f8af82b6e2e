// Package fault lets tests kill a bpfunit process at a named step, to prove
// that whatever a SIGKILL leaves behind, the next start or stop repairs.
//
// Nothing here runs at init: a program that wants the hook (the oneshot,
// bpfunitd) calls [FromEnv] in main and hands the result to the manager
// (manager.Manager.Fault). A nil hook, what real systems have, does
// nothing.
//
// Step names are "<operation>:<where>", e.g. "start:after-load",
// "reload:before-commit", "detach:after-unpin"; Replace runs the reload
// steps.
package fault

import (
	"os"
	"syscall"
)

// Env names the environment variable that arms a fault: BPFUNIT_FAULT=STEP.
const Env = "BPFUNIT_FAULT"

// FromEnv returns the hook armed by BPFUNIT_FAULT, or nil when it is unset.
func FromEnv() func(step string) {
	armed := os.Getenv(Env)
	if armed == "" {
		return nil
	}
	return func(step string) {
		if step == armed {
			Kill()
		}
	}
}

// Kill sends the process SIGKILL and never returns.
func Kill() {
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // SIGKILL is not deliverable late, but never run on
}
