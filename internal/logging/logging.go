// Package logging gives the bpfunit binaries one slog.Logger that writes
// structured records to the journal when stderr is connected to it (as
// under systemd), and plain text to stderr otherwise.
//
// In the journal every slog attribute becomes a field named BPFUNIT_ and
// the key in upper case, other characters made '_' (unit → BPFUNIT_UNIT=,
// prog_id → BPFUNIT_PROG_ID=, link → BPFUNIT_LINK=, target →
// BPFUNIT_TARGET=, verifier_log → BPFUNIT_VERIFIER_LOG=), so `journalctl
// BPFUNIT_UNIT=demo` finds one unit's history.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/coreos/go-systemd/v22/journal"
)

// ToJournal reports whether stderr is connected to the journal (as under
// systemd), where multi-line structured fields are at home.
func ToJournal() bool {
	ok, _ := journal.StderrIsJournalStream()
	return ok && journal.Enabled()
}

// New returns the logger for a binary called ident.
func New(ident string, stderr io.Writer, debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	if ToJournal() {
		return slog.New(&journalHandler{ident: ident, level: level})
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
}

type journalHandler struct {
	ident string
	level slog.Level
	attrs []slog.Attr
}

func (h *journalHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *journalHandler) Handle(_ context.Context, r slog.Record) error {
	vars := map[string]string{"SYSLOG_IDENTIFIER": h.ident}
	var text strings.Builder
	text.WriteString(r.Message)
	add := func(a slog.Attr) {
		key := fieldName(a.Key)
		val := a.Value.String()
		vars[key] = val
		// Multi-line values (a verifier log) stay out of the message line.
		if !strings.Contains(val, "\n") {
			fmt.Fprintf(&text, " %s=%s", a.Key, val)
		}
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })
	return journal.Send(text.String(), priority(r.Level), vars)
}

func (h *journalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &n
}

func (h *journalHandler) WithGroup(string) slog.Handler { return h }

// fieldName maps an attribute key to a journal field: upper case, with a
// BPFUNIT_ prefix so our fields never collide with the journal's own.
func fieldName(k string) string {
	var b strings.Builder
	b.WriteString("BPFUNIT_")
	for _, c := range strings.ToUpper(k) {
		if (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func priority(l slog.Level) journal.Priority {
	switch {
	case l >= slog.LevelError:
		return journal.PriErr
	case l >= slog.LevelWarn:
		return journal.PriWarning
	case l >= slog.LevelInfo:
		return journal.PriInfo
	}
	return journal.PriDebug
}
