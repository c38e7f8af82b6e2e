package dbusapi

import "github.com/bpfunit/bpfunit/internal/manager"

// stateReason explains State; a unit that could not be read completely
// says why.
func stateReason(st *manager.Status) string {
	switch {
	case st.Reason != "":
		return st.Reason
	case st.Err != "":
		return st.Err
	}
	return ""
}

func linkState(l manager.LinkStatus) string {
	switch {
	case l.Detached:
		return "detached"
	case l.Alive:
		return "attached"
	}
	return "dead"
}
