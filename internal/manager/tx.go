package manager

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// tx is the one transaction type of the manager: every step of Start,
// Reload, Replace and Detach that changes something registers how to undo
// it; on error the undo steps run in reverse, on success the commit steps
// (what only becomes safe once the new state is in place: dropping old
// links, moving pins) run in order. A failed undo step is logged and the
// next one still runs: the error that caused the rollback is the one
// returned. A failed commit step is reported, not undone: the new programs
// already run, and what is left is repaired by the next stop or start.
type tx struct {
	log  *slog.Logger
	undo []txStep
	done []txStep
	// held are the link and program FDs the undo steps need; close
	// releases them when the transaction is over either way.
	held []io.Closer
}

type txStep struct {
	what string
	fn   func() error
}

func newTx(log *slog.Logger) *tx { return &tx{log: log} }

// onUndo registers how to undo a step that just succeeded.
func (t *tx) onUndo(what string, fn func() error) { t.undo = append(t.undo, txStep{what, fn}) }

// onCommit registers a step to run when the transaction commits.
func (t *tx) onCommit(what string, fn func() error) { t.done = append(t.done, txStep{what, fn}) }

// hold keeps c open until the transaction is closed.
func (t *tx) hold(c ...io.Closer) { t.held = append(t.held, c...) }

// rollback undoes in reverse.
func (t *tx) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		if err := t.undo[i].fn(); err != nil {
			t.log.Warn("rollback step failed", "step", t.undo[i].what, "err", err)
		}
	}
	t.undo, t.done = nil, nil
}

// commit runs the commit steps and forgets the undo steps.
func (t *tx) commit() error {
	var errs []error
	for _, s := range t.done {
		if err := s.fn(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.what, err))
		}
	}
	t.undo, t.done = nil, nil
	return errors.Join(errs...)
}

// close releases the held FDs.
func (t *tx) close() {
	for _, c := range t.held {
		c.Close()
	}
	t.held = nil
}

// finish is deferred by every operation: it rolls back unless *err is nil
// (the operation committed), then closes.
func (t *tx) finish(err *error) {
	if *err != nil {
		t.rollback()
	}
	t.close()
}
