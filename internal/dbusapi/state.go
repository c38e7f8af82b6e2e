package dbusapi

import "github.com/bpfunit/bpfunit/internal/manager"

// SEAM until core's manager API (typed State with Reason, LinkStatus.Detached).

func stateReason(st *manager.Status) string { return "" }

func linkState(l manager.LinkStatus) string {
	if l.Alive {
		return "attached"
	}
	return "dead"
}
