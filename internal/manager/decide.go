package manager

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bpfunit/bpfunit/internal/state"
)

// Decide, then do. Start and Reload first gather facts (the state file,
// what is pinned, what the kernel says of each pin, the plan from the
// config), then a pure function below turns them into a list of steps, and
// only then does an executor run the steps inside one transaction (tx.go).
// The functions here touch nothing: decide_test.go tests every case
// without root.

// pinFact is one pin in ROOT/NAME/links and what the kernel says of it.
type pinFact struct {
	// Name is the pin's file name, "<program>@<target>".
	Name string
	// Attached: the pin holds a link attached to its hook. False for a
	// link detached behind bpfunit's back (bpftool link detach), which
	// lives on attached to nothing, and for a pin that is not a link.
	Attached bool
}

// startFacts is what Start finds before it changes anything.
type startFacts struct {
	// Staging and Links: whether ROOT/NAME/staging and links exist.
	Staging, Links bool
	// Pins are the entries of links/.
	Pins []pinFact
	// Prev is the state file, nil when absent or unreadable; PrevErr is
	// the error reading it, other than "absent".
	Prev    *state.Unit
	PrevErr error
	// ConfigDigest and ObjectDigest are those of the config and object
	// to start now; KeepMaps is the config's KeepMaps=.
	ConfigDigest, ObjectDigest string
	KeepMaps                   bool
}

type startOp int

const (
	// opCleanStaging detaches and removes what a killed start left in
	// staging.
	opCleanStaging startOp = iota
	// opTeardown removes what is attached (a half-done start, stop or
	// reload) as Stop does, keeping the maps when KeepMaps.
	opTeardown
	// opAdopt: the unit is attached as configured; change nothing.
	opAdopt
	// opRefuse: attached with a different config or object.
	opRefuse
	// opAttach loads and attaches everything, pins into staging, writes
	// the state and commits by renaming staging to links.
	opAttach
)

var startOpNames = [...]string{"clean-staging", "teardown", "adopt", "refuse", "attach"}

func (o startOp) String() string { return startOpNames[o] }

type startStep struct {
	Op startOp
	// KeepMaps: opTeardown keeps the unit's maps.
	KeepMaps bool
	// Why is logged when the step repairs something.
	Why string
}

func (s startStep) String() string {
	if s.Op == opTeardown && s.KeepMaps {
		return "teardown(keep-maps)"
	}
	return s.Op.String()
}

// decideStart decides what Start does: adopt, refuse, or (after repairing
// what an interrupted operation left) attach.
func decideStart(f startFacts) []startStep {
	var steps []startStep
	if f.Staging {
		steps = append(steps, startStep{Op: opCleanStaging, Why: "removing what an interrupted start left in staging"})
	}
	if !f.Links {
		// Nothing attached. A state file without links (a stop killed
		// before it removed it) is overwritten by the start.
		return append(steps, startStep{Op: opAttach})
	}
	switch {
	case f.PrevErr != nil:
		steps = append(steps, startStep{Op: opTeardown, KeepMaps: f.KeepMaps,
			Why: fmt.Sprintf("%v; removing what is pinned and starting afresh", f.PrevErr)})
	case f.Prev == nil:
		steps = append(steps, startStep{Op: opTeardown, KeepMaps: f.KeepMaps,
			Why: "links are pinned but there is no state file (an interrupted start or stop); removing them before starting again"})
	case f.Prev.ReloadPending:
		// Old and new programs may be mixed: start afresh from the
		// config, keeping the pinned maps (the reload meant to).
		steps = append(steps, startStep{Op: opTeardown, KeepMaps: true,
			Why: "an interrupted reload left the unit half swapped; starting it afresh"})
	case !complete(f.Prev, f.Pins):
		steps = append(steps, startStep{Op: opTeardown, KeepMaps: f.KeepMaps,
			Why: "unit is half attached (an interrupted start or stop, or a link detached behind bpfunit's back): " + incomplete(f.Prev, f.Pins) + "; removing it before starting again"})
	case f.Prev.ConfigDigest == f.ConfigDigest && f.Prev.ObjectDigest == f.ObjectDigest:
		// Links detached on purpose (Detach) stay detached: a start of
		// a started unit changes nothing; reload or restart re-attach.
		return append(steps, startStep{Op: opAdopt, Why: "already attached with this config; adopting it"})
	default:
		return append(steps, startStep{Op: opRefuse})
	}
	return append(steps, startStep{Op: opAttach})
}

// complete reports whether every link prev records (but those detached on
// purpose) is pinned and attached, and nothing else is pinned.
func complete(prev *state.Unit, pins []pinFact) bool { return incomplete(prev, pins) == "" }

// incomplete says what is wrong with the links, "" when nothing is.
func incomplete(prev *state.Unit, pins []pinFact) string {
	byName := map[string]pinFact{}
	for _, p := range pins {
		byName[p.Name] = p
	}
	var problems []string
	want := map[string]bool{}
	for _, l := range prev.Links {
		n := filepath.Base(l.Pin)
		if l.Detached {
			continue
		}
		want[n] = true
		p, ok := byName[n]
		switch {
		case !ok:
			problems = append(problems, n+" is not pinned")
		case !p.Attached:
			problems = append(problems, n+" is attached to nothing")
		}
	}
	for _, p := range pins {
		if !want[p.Name] {
			problems = append(problems, p.Name+" is pinned but not recorded")
		}
	}
	return strings.Join(problems, ", ")
}

// planned is one attachment of the plan, as decideReload needs it.
type planned struct {
	// Link is the pin name, Program the program it attaches.
	Link, Program string
	// Updatable: the link type supports BPF_LINK_UPDATE.
	Updatable bool
}

// reloadFacts is what Reload (and Replace) find before changing anything.
type reloadFacts struct {
	Links   bool
	Pins    []pinFact
	Prev    *state.Unit
	PrevErr error
	// Plan is the config's plan (for Replace, the program's part of it).
	Plan []planned
	// Only is the program Replace swaps; "" for Reload.
	Only string
}

type reloadOp int

const (
	// opUpdate swaps the program of the pinned link with
	// BPF_LINK_UPDATE (atomic).
	opUpdate reloadOp = iota
	// opMakeBeforeBreak attaches the new program with a new link in
	// staging; at commit it is renamed over the old pin and the old link
	// is detached.
	opMakeBeforeBreak
	// opAdd attaches and pins a link that is not there: added to the
	// config, detached on purpose before, or unpinned behind our back.
	opAdd
	// opDrop detaches and unpins at commit a link the config no longer
	// has.
	opDrop
	// opKeep leaves a link of another program alone (Replace).
	opKeep
	// opForget drops from the state a link detached on purpose that the
	// config no longer has.
	opForget
)

var reloadOpNames = [...]string{"update", "make-before-break", "add", "drop", "keep", "forget"}

func (o reloadOp) String() string { return reloadOpNames[o] }

type reloadStep struct {
	Op reloadOp
	// Link is the pin name.
	Link string
	// Program is the program the link attaches: the new one for update,
	// make-before-break and add, the old one otherwise.
	Program string
}

func (s reloadStep) String() string { return s.Op.String() + " " + s.Link }

// decideReload decides, link by link, how Reload or Replace gets from what
// is attached to what the plan says. It refuses a unit that is not started
// or whose pins and state disagree in a way only a restart repairs.
func decideReload(f reloadFacts) ([]reloadStep, error) {
	if f.PrevErr != nil {
		return nil, fmt.Errorf("%w; restart the unit to repair it", f.PrevErr)
	}
	if f.Prev == nil || !f.Links {
		return nil, ErrNotStarted
	}
	if f.Only != "" && len(f.Plan) == 0 {
		return nil, fmt.Errorf("%w: no [Attach] for program %s", ErrNoSuchProgram, f.Only)
	}
	pins := map[string]pinFact{}
	for _, p := range f.Pins {
		pins[p.Name] = p
	}
	old := map[string]state.Link{}
	for _, l := range f.Prev.Links {
		old[filepath.Base(l.Pin)] = l
	}
	for _, p := range f.Pins {
		if l, ok := old[p.Name]; !ok || l.Detached {
			return nil, fmt.Errorf("link %s is pinned but not recorded in the state; restart the unit to repair it", p.Name)
		}
	}
	var steps []reloadStep
	inPlan := map[string]bool{}
	for _, a := range f.Plan {
		inPlan[a.Link] = true
		l, existed := old[a.Link]
		p, pinned := pins[a.Link]
		op := opMakeBeforeBreak
		switch {
		case !existed || l.Detached || !pinned:
			op = opAdd
		case !p.Attached:
			// BPF_LINK_UPDATE would swap the program of a link that
			// runs nowhere: make a new one instead.
		case a.Updatable:
			op = opUpdate
		}
		steps = append(steps, reloadStep{Op: op, Link: a.Link, Program: a.Program})
	}
	for _, l := range f.Prev.Links {
		n := filepath.Base(l.Pin)
		if inPlan[n] || slices.ContainsFunc(steps, func(s reloadStep) bool { return s.Link == n }) {
			continue
		}
		_, pinned := pins[n]
		op := opDrop
		switch {
		case f.Only != "" && l.Program != f.Only:
			op = opKeep
		case l.Detached || !pinned:
			op = opForget
		}
		steps = append(steps, reloadStep{Op: op, Link: n, Program: l.Program})
	}
	return steps, nil
}
