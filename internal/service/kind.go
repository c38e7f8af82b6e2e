package service

import (
	"errors"

	"github.com/bpfunit/bpfunit/internal/manager"
)

// Kind is the manager's error class; the transports map it to their named
// errors.
type Kind = manager.Kind

// The error classes, re-exported so that a transport needs this package only.
const (
	KindFailed        = manager.KindFailed
	KindBadArgs       = manager.KindBadArgs
	KindNoSuchUnit    = manager.KindNoSuchUnit
	KindConfig        = manager.KindConfig
	KindObjectMissing = manager.KindObjectMissing
	KindInvalidObject = manager.KindInvalidObject
	KindUnsupported   = manager.KindUnsupported
	KindVerifier      = manager.KindVerifier
	KindNotRunning    = manager.KindNotRunning
	KindNoSuchLink    = manager.KindNoSuchLink
	KindNoSuchProgram = manager.KindNoSuchProgram
	KindBusy          = manager.KindBusy
	KindConflict      = manager.KindConflict
)

// KindOf classifies an error of this package: manager.KindOf, plus the
// argument checks this package makes itself.
func KindOf(err error) Kind {
	if errors.Is(err, ErrInvalidProgram) {
		return KindBadArgs
	}
	return manager.KindOf(err)
}

// VerifierLog returns the verifier log tail err carries, "" if none.
func VerifierLog(err error) string { return manager.VerifierLog(err) }

// Change names a unit that changed.
type Change = manager.Change
