package manager

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bpfunit/bpfunit/internal/lock"
	"github.com/bpfunit/bpfunit/internal/pins"
	"github.com/bpfunit/bpfunit/internal/state"
)

// Detach removes one attachment of a running unit: link is the pin's file
// name as status shows it ("xdp_count@eth0"). The link is detached and
// unpinned, and the state records it as detached, so that status shows the
// unit partly attached and a start adopts it as it is. Reload and restart
// bring back what the config says; Stop removes the rest as usual.
// Detaching a link that is already detached is not an error; one a killed
// Detach recorded but left pinned is detached now.
func (m *Manager) Detach(ctx context.Context, name, link string) error {
	if link == "" || link == "." || link == ".." || filepath.Base(link) != link {
		return fmt.Errorf("detach %q from unit %s: %w", link, name, ErrInvalidLink)
	}
	changed := false
	err := m.withUnitLock(ctx, name, func(ctx context.Context, s lock.Scope) error {
		var err error
		changed, err = m.detach(s, name, link)
		return err
	})
	if changed {
		m.changed(name)
	}
	return err
}

func (m *Manager) detach(s lock.Scope, name, link string) (changed bool, err error) {
	if err := s.Check(); err != nil {
		return false, err
	}
	ud := m.Root.Unit(name)
	prev, err := m.readState(name)
	if err != nil {
		return false, fmt.Errorf("unit %s: %w", name, err)
	}
	if prev == nil || !pins.Exists(ud.Links()) {
		return false, fmt.Errorf("unit %s: %w; start it with: systemctl start bpf@%s.service", name, ErrNotStarted, name)
	}
	i := slices.IndexFunc(prev.Links, func(l state.Link) bool { return filepath.Base(l.Pin) == link })
	if i < 0 {
		return false, fmt.Errorf("unit %s: %w %s; it has: %s", name, ErrNoSuchLink, link, linkNames(prev))
	}
	pin := filepath.Join(ud.Links(), link)
	if prev.Links[i].Detached && !pins.Exists(pin) {
		return false, nil
	}
	t := newTx(m.log())
	defer t.finish(&err)
	// State first: a kill after it leaves a link the state calls detached
	// but still pinned, which status shows as a pin the state does not
	// record, and which the next Detach finishes (or the next start or
	// stop repairs); a kill before it changes nothing.
	if err := state.Write(m.RunDir, markDetached(prev, link)); err != nil {
		return false, err
	}
	t.onUndo("restore state", func() error { return state.Write(m.RunDir, prev) })
	m.fault("detach:after-state")
	if err := detachPin(pin, nil); err != nil {
		return false, fmt.Errorf("unit %s: %w", name, err)
	}
	m.fault("detach:after-unpin")
	if err := t.commit(); err != nil {
		return true, err
	}
	m.log().Info("detached", "unit", name, "link", link, "link_id", prev.Links[i].LinkID)
	return true, nil
}

func linkNames(st *state.Unit) string {
	var names []string
	for _, l := range st.Links {
		names = append(names, filepath.Base(l.Pin))
	}
	return strings.Join(names, ", ")
}

// markDetached returns a copy of st with link marked detached.
func markDetached(st *state.Unit, link string) *state.Unit {
	next := *st
	next.Links = slices.Clone(st.Links)
	for i := range next.Links {
		if filepath.Base(next.Links[i].Pin) == link {
			next.Links[i].Detached = true
		}
	}
	return &next
}
