package service

import (
	"fmt"
	"strings"

	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/state"
)

// programsOf sums up the programs behind a unit's links for the journal:
// "link=prog_id/tag,..." ("-" for none).
func programsOf(st *manager.Status) string {
	if st == nil || len(st.Links) == 0 {
		return "-"
	}
	var b []string
	for _, l := range st.Links {
		b = append(b, fmt.Sprintf("%s=%d/%s", baseName(l.Pin), l.ProgID, l.ProgTag))
	}
	return strings.Join(b, ",")
}

func programsOfState(st *state.Unit) string {
	if st == nil || len(st.Links) == 0 {
		return "-"
	}
	var b []string
	for _, l := range st.Links {
		b = append(b, fmt.Sprintf("%s=%d/%s", baseName(l.Pin), l.ProgID, l.ProgTag))
	}
	return strings.Join(b, ",")
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
