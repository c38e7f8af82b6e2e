package manager

// The pure decision tests: no root, no kernel, no files. Run them alone with
//
//	go test -run 'TestDecide' ./internal/manager/

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/state"
)

func decideState(reloadPending bool, links ...state.Link) *state.Unit {
	return &state.Unit{Name: "u", ConfigDigest: "cfg", ObjectDigest: "obj", Links: links, ReloadPending: reloadPending}
}

func decideLink(name, program string) state.Link {
	return state.Link{Pin: "/sys/fs/bpf/bpfunit/u/links/" + name, Program: program}
}

func decideDetached(name, program string) state.Link {
	l := decideLink(name, program)
	l.Detached = true
	return l
}

func attached(names ...string) []pinFact {
	var out []pinFact
	for _, n := range names {
		out = append(out, pinFact{Name: n, Attached: true})
	}
	return out
}

func TestDecideStart(t *testing.T) {
	two := decideState(false, decideLink("p@a", "p"), decideLink("p@b", "p"))
	corrupt := fmt.Errorf("state file /run/bpfunit/state/u.json: %w: unexpected end of JSON input", state.ErrCorrupt)
	for _, c := range []struct {
		name string
		f    startFacts
		want string
	}{
		{"fresh", startFacts{}, "attach"},
		{"stale staging", startFacts{Staging: true}, "clean-staging attach"},
		{"stale state without links (stop killed before the state)", startFacts{Prev: two}, "attach"},
		{"adopt", startFacts{Links: true, Pins: attached("p@a", "p@b"), Prev: two, ConfigDigest: "cfg", ObjectDigest: "obj"}, "adopt"},
		{"adopt after a killed reload's staging", startFacts{Staging: true, Links: true, Pins: attached("p@a", "p@b"), Prev: two, ConfigDigest: "cfg", ObjectDigest: "obj"}, "clean-staging adopt"},
		{"changed config", startFacts{Links: true, Pins: attached("p@a", "p@b"), Prev: two, ConfigDigest: "new", ObjectDigest: "obj"}, "refuse"},
		{"changed object", startFacts{Links: true, Pins: attached("p@a", "p@b"), Prev: two, ConfigDigest: "cfg", ObjectDigest: "new"}, "refuse"},
		{"half started: a pin missing", startFacts{Links: true, Pins: attached("p@a"), Prev: two, ConfigDigest: "cfg", ObjectDigest: "obj"}, "teardown attach"},
		{"half started, keep maps", startFacts{Links: true, Pins: attached("p@a"), Prev: two, ConfigDigest: "cfg", ObjectDigest: "obj", KeepMaps: true}, "teardown(keep-maps) attach"},
		{"links without state", startFacts{Links: true, Pins: attached("p@a")}, "teardown attach"},
		{"corrupt state", startFacts{Links: true, Pins: attached("p@a", "p@b"), PrevErr: corrupt, ConfigDigest: "cfg", ObjectDigest: "obj"}, "teardown attach"},
		{"interrupted reload", startFacts{Links: true, Pins: attached("p@a", "p@b"), Prev: decideState(true, two.Links...), ConfigDigest: "cfg", ObjectDigest: "obj"}, "teardown(keep-maps) attach"},
		{"link detached behind our back", startFacts{Links: true, Pins: []pinFact{{"p@a", true}, {"p@b", false}}, Prev: two, ConfigDigest: "cfg", ObjectDigest: "obj"}, "teardown attach"},
		{"a pin nobody recorded", startFacts{Links: true, Pins: attached("p@a", "p@b", "q@a"), Prev: two, ConfigDigest: "cfg", ObjectDigest: "obj"}, "teardown attach"},
		{"link detached on purpose is adopted as it is", startFacts{Links: true, Pins: attached("p@a"), Prev: decideState(false, decideLink("p@a", "p"), decideDetached("p@b", "p")), ConfigDigest: "cfg", ObjectDigest: "obj"}, "adopt"},
		{"detached on purpose, but pinned again", startFacts{Links: true, Pins: attached("p@a", "p@b"), Prev: decideState(false, decideLink("p@a", "p"), decideDetached("p@b", "p")), ConfigDigest: "cfg", ObjectDigest: "obj"}, "teardown attach"},
	} {
		t.Run(c.name, func(t *testing.T) {
			steps := decideStart(c.f)
			var got []string
			for _, s := range steps {
				got = append(got, s.String())
				if (s.Op == opTeardown || s.Op == opCleanStaging) && s.Why == "" {
					t.Errorf("%s has no reason to log", s)
				}
			}
			if strings.Join(got, " ") != c.want {
				t.Errorf("decideStart = %s, want %s", strings.Join(got, " "), c.want)
			}
		})
	}
}

func TestDecideStartNamesTheCorruptStateFile(t *testing.T) {
	err := fmt.Errorf("state file /run/bpfunit/state/u.json: %w: invalid character", state.ErrCorrupt)
	steps := decideStart(startFacts{Links: true, Pins: attached("p@a"), PrevErr: err})
	if !strings.Contains(steps[0].Why, "/run/bpfunit/state/u.json") || !strings.Contains(steps[0].Why, "invalid character") {
		t.Errorf("repair of a corrupt state logs %q; want the file and the parse error", steps[0].Why)
	}
}

func TestDecideReload(t *testing.T) {
	xa := decideLink("x@a", "x")
	xb := decideLink("x@b", "x")
	tp := decideLink("t@sys", "t")
	upd := func(link, prog string) planned { return planned{Link: link, Program: prog, Updatable: true} }
	mbb := func(link, prog string) planned { return planned{Link: link, Program: prog} }
	for _, c := range []struct {
		name string
		f    reloadFacts
		want string
	}{
		{"update in place", reloadFacts{Links: true, Pins: attached("x@a"), Prev: decideState(false, xa), Plan: []planned{upd("x@a", "x")}},
			"update x@a"},
		{"make-before-break for a link without BPF_LINK_UPDATE", reloadFacts{Links: true, Pins: attached("t@sys"), Prev: decideState(false, tp), Plan: []planned{mbb("t@sys", "t")}},
			"make-before-break t@sys"},
		{"attachment added", reloadFacts{Links: true, Pins: attached("x@a"), Prev: decideState(false, xa), Plan: []planned{upd("x@a", "x"), upd("x@b", "x")}},
			"update x@a add x@b"},
		{"attachment removed", reloadFacts{Links: true, Pins: attached("x@a", "x@b"), Prev: decideState(false, xa, xb), Plan: []planned{upd("x@a", "x")}},
			"update x@a drop x@b"},
		{"attachment changed (new target)", reloadFacts{Links: true, Pins: attached("x@a"), Prev: decideState(false, xa), Plan: []planned{upd("x@b", "x")}},
			"add x@b drop x@a"},
		{"detached on purpose comes back", reloadFacts{Links: true, Pins: attached("x@a"), Prev: decideState(false, xa, decideDetached("x@b", "x")), Plan: []planned{upd("x@a", "x"), upd("x@b", "x")}},
			"update x@a add x@b"},
		{"detached on purpose and removed from the config", reloadFacts{Links: true, Pins: attached("x@a"), Prev: decideState(false, xa, decideDetached("x@b", "x")), Plan: []planned{upd("x@a", "x")}},
			"update x@a forget x@b"},
		{"link detached behind our back is replaced", reloadFacts{Links: true, Pins: []pinFact{{"x@a", false}}, Prev: decideState(false, xa), Plan: []planned{upd("x@a", "x")}},
			"make-before-break x@a"},
		{"pin removed behind our back is re-added", reloadFacts{Links: true, Pins: attached("x@a"), Prev: decideState(false, xa, xb), Plan: []planned{upd("x@a", "x"), upd("x@b", "x")}},
			"update x@a add x@b"},
		{"interrupted reload is redone", reloadFacts{Links: true, Pins: attached("x@a"), Prev: decideState(true, xa), Plan: []planned{upd("x@a", "x")}},
			"update x@a"},
		{"replace keeps the other programs", reloadFacts{Links: true, Pins: attached("x@a", "t@sys"), Prev: decideState(false, xa, tp), Plan: []planned{upd("x@a", "x")}, Only: "x"},
			"update x@a keep t@sys"},
	} {
		t.Run(c.name, func(t *testing.T) {
			steps, err := decideReload(c.f)
			if err != nil {
				t.Fatalf("decideReload: %v", err)
			}
			var got []string
			for _, s := range steps {
				got = append(got, s.String())
			}
			if strings.Join(got, " ") != c.want {
				t.Errorf("decideReload = %s, want %s", strings.Join(got, " "), c.want)
			}
		})
	}
}

func TestDecideReloadRefuses(t *testing.T) {
	xa := decideLink("x@a", "x")
	corrupt := fmt.Errorf("state file u.json: %w: x", state.ErrCorrupt)
	for _, c := range []struct {
		name string
		f    reloadFacts
		want error
	}{
		{"not started", reloadFacts{}, ErrNotStarted},
		{"state without links", reloadFacts{Prev: decideState(false, xa)}, ErrNotStarted},
		{"links without state", reloadFacts{Links: true, Pins: attached("x@a")}, ErrNotStarted},
		{"corrupt state", reloadFacts{Links: true, Pins: attached("x@a"), PrevErr: corrupt}, state.ErrCorrupt},
		{"replace of a program the unit lacks", reloadFacts{Links: true, Pins: attached("x@a"), Prev: decideState(false, xa), Only: "nope"}, ErrNoSuchProgram},
		{"a pin nobody recorded", reloadFacts{Links: true, Pins: attached("x@a", "y@a"), Prev: decideState(false, xa), Plan: []planned{{Link: "x@a", Program: "x"}}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := decideReload(c.f)
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
				t.Errorf("decideReload: %v, want an error matching %v", err, c.want)
			}
		})
	}
}

func TestDecideUnitState(t *testing.T) {
	two := decideState(false, decideLink("p@a", "p"), decideLink("p@b", "p"))
	alive := func(names ...string) []LinkStatus {
		var out []LinkStatus
		for _, n := range names {
			out = append(out, LinkStatus{Pin: "/x/links/" + n, Alive: true})
		}
		return out
	}
	for _, c := range []struct {
		name   string
		f      unitFacts
		want   State
		reason string
	}{
		{"not started", unitFacts{}, StateNotStarted, ""},
		{"attached", unitFacts{prev: two, links: true, pinned: alive("p@a", "p@b")}, StateAttached, ""},
		{"corrupt state", unitFacts{stateErr: errors.New("state file /run/x.json: corrupt"), links: true}, StateBroken, "/run/x.json"},
		{"staging", unitFacts{staging: true}, StateBroken, "staging"},
		{"links without state", unitFacts{links: true, pinned: alive("p@a")}, StateBroken, "no state file"},
		{"state without links", unitFacts{prev: two}, StateBroken, "interrupted stop"},
		{"reload pending", unitFacts{prev: decideState(true, two.Links...), links: true, pinned: alive("p@a", "p@b")}, StateReloadPending, "reload"},
		// A reload or replace killed after it swapped a link (fault point
		// reload:after-swap): its staging directory is still there, with
		// the new pin of a make-before-break swap or empty after an update
		// in place. The links work; the marker says what happened.
		{"reload killed after a swap, staged pin left", unitFacts{prev: decideState(true, two.Links...), links: true, staging: true,
			pinned: alive("p@a", "p@b")}, StateReloadPending, "reload was interrupted"},
		{"reload killed after a swap, empty staging left", unitFacts{prev: decideState(true, two.Links...), links: true, staging: true, stagingEmpty: true,
			pinned: alive("p@a", "p@b")}, StateReloadPending, "reload was interrupted"},
		// Killed after loading, before the marker (reload:after-load): an
		// empty staging directory, nothing changed.
		{"reload killed before a swap, empty staging left", unitFacts{prev: two, links: true, staging: true, stagingEmpty: true,
			pinned: alive("p@a", "p@b")}, StateAttached, ""},
		{"staging with pins beside links", unitFacts{prev: two, links: true, staging: true, pinned: alive("p@a", "p@b")}, StateBroken, "staging"},
		{"empty staging of a start, nothing else", unitFacts{staging: true, stagingEmpty: true}, StateBroken, "staging"},
		{"detached behind our back", unitFacts{prev: two, links: true, pinned: append(alive("p@a"), LinkStatus{Pin: "/x/links/p@b"})}, StatePartial, "behind bpfunit's back: p@b"},
		{"pin removed behind our back", unitFacts{prev: two, links: true, pinned: alive("p@a")}, StatePartial, "pin removed behind bpfunit's back: p@b"},
		{"detached on purpose", unitFacts{prev: decideState(false, decideLink("p@a", "p"), decideDetached("p@b", "p")), links: true,
			pinned: append(alive("p@a"), LinkStatus{Pin: "/x/links/p@b", Detached: true})}, StatePartial, "bpfunit detach: p@b"},
		{"unrecorded pin", unitFacts{prev: two, links: true, pinned: alive("p@a", "p@b", "q@c")}, StateBroken, "q@c"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, reason := unitState(c.f)
			if got != c.want || !strings.Contains(reason, c.reason) || (got != StateAttached && got != StateNotStarted && reason == "") {
				t.Errorf("unitState = %s (%q), want %s with a reason containing %q", got, reason, c.want, c.reason)
			}
		})
	}
}

func TestDecideKindOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want Kind
	}{
		{fmt.Errorf("unit x: %w", ErrNotStarted), KindNotRunning},
		{fmt.Errorf("unit x: %w", ErrAlreadyStarted), KindConflict},
		{fmt.Errorf("x: %w", ErrInvalidLink), KindBadArgs},
		{fmt.Errorf("x: %w", ErrNoSuchLink), KindNoSuchLink},
		{fmt.Errorf("x: %w", ErrNoSuchProgram), KindNoSuchProgram},
		{fmt.Errorf("x: %w", ErrBusy), KindBusy},
		// An untrusted config is a config error (exit 6), an untrusted
		// object an invalid object (exit 1), not a bare failure.
		{fmt.Errorf("/etc/bpfunit/x.bpfunit: %w", config.ErrUntrusted), KindConfig},
		{&objectError{err: fmt.Errorf("object /x.o: world-writable: %w", config.ErrUntrusted)}, KindInvalidObject},
		{&objectError{path: "/x.o", err: errors.New("not an ELF")}, KindInvalidObject},
		{errors.New("something"), KindFailed},
	} {
		if got := KindOf(c.err); got != c.want {
			t.Errorf("KindOf(%v) = %s, want %s", c.err, got, c.want)
		}
	}
	if slices.Contains(kindNames[:], "") {
		t.Errorf("a Kind without a name: %q", kindNames)
	}
}
