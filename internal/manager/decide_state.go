package manager

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/bpfunit/bpfunit/internal/state"
)

// unitFacts is what Status found about a unit, the input of unitState.
type unitFacts struct {
	// stateErr is the error reading the state file, other than "absent".
	stateErr error
	// prev is the state file, nil when absent or unreadable.
	prev *state.Unit
	// staging and links: whether ROOT/NAME/staging and links exist.
	staging, links bool
	// stagingEmpty: staging exists and holds no pin.
	stagingEmpty bool
	// pinned are the links found in links/ plus those prev records as
	// detached on purpose.
	pinned []LinkStatus
}

// unitState decides a unit's State and its Reason. It is pure: Status
// gathers the facts, this says what they mean.
func unitState(f unitFacts) (State, string) {
	switch {
	case f.stateErr != nil:
		return StateBroken, fmt.Sprintf("%v; the next start or stop repairs the unit from its pins", f.stateErr)
	case f.links && f.prev != nil && f.prev.ReloadPending:
		// Whatever a killed reload left in staging/ is its own: the
		// marker tells more than the directory does.
		return StateReloadPending, "a reload was interrupted while it swapped links: some may run the new programs, some the old; reload again or restart"
	case f.staging && f.stagingEmpty && f.links && f.prev != nil:
		// A reload killed before it swapped anything (or a start of
		// the attached unit): an empty directory changes nothing, the
		// links tell the state. The next start or stop removes it.
	case f.staging:
		return StateBroken, "an interrupted start left its staging directory; the next start or stop removes it"
	case f.links && f.prev == nil:
		return StateBroken, "links are pinned but there is no state file (an interrupted start or stop, or the state was removed); the next start or stop repairs it"
	case !f.links && f.prev != nil:
		return StateBroken, "a state file but no links (an interrupted stop); the next start or stop repairs it"
	case !f.links:
		return StateNotStarted, ""
	}
	recorded := map[string]bool{}
	for _, l := range f.prev.Links {
		if !l.Detached {
			recorded[filepath.Base(l.Pin)] = true
		}
	}
	var extra, dead, purposely []string
	seen := map[string]bool{}
	for _, l := range f.pinned {
		n := filepath.Base(l.Pin)
		switch {
		case l.Detached:
			purposely = append(purposely, n)
		case !recorded[n]:
			extra = append(extra, n)
		case !l.Alive:
			dead = append(dead, n)
		}
		seen[n] = true
	}
	var missing []string
	for _, l := range f.prev.Links {
		if n := filepath.Base(l.Pin); !l.Detached && !seen[n] {
			missing = append(missing, n)
		}
	}
	switch {
	case len(extra) > 0:
		return StateBroken, "links pinned that the state does not record: " + strings.Join(extra, ", ") + "; the next start or stop repairs it"
	case len(dead) > 0 || len(missing) > 0:
		var parts []string
		if len(dead) > 0 {
			parts = append(parts, "detached behind bpfunit's back: "+strings.Join(dead, ", "))
		}
		if len(missing) > 0 {
			parts = append(parts, "pin removed behind bpfunit's back: "+strings.Join(missing, ", "))
		}
		if len(purposely) > 0 {
			parts = append(parts, "detached with bpfunit detach: "+strings.Join(purposely, ", "))
		}
		return StatePartial, strings.Join(parts, "; ") + "; reload or restart re-attaches"
	case len(purposely) > 0:
		return StatePartial, "detached with bpfunit detach: " + strings.Join(purposely, ", ") + "; reload or restart re-attaches"
	}
	return StateAttached, ""
}
