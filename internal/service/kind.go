package service

// SEAM (until branch core's "manager API:" commits are merged): the
// manager has no KindOf, Change, Watch or Detach yet. This file stands in
// for them with the same names as docs API.md; after the merge Kind,
// Change and their constants become aliases of the manager's, and KindOf
// defers to manager.KindOf, so callers of this package do not change.

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/loader"
	"github.com/bpfunit/bpfunit/internal/manager"
)

// Kind classifies an error for the transports' named errors.
type Kind int

// The error classes (the manager's, see API.md).
const (
	KindFailed Kind = iota
	KindBadArgs
	KindNoSuchUnit
	KindConfig
	KindObjectMissing
	KindInvalidObject
	KindUnsupported
	KindVerifier
	KindNotRunning
	KindNoSuchLink
	KindNoSuchProgram
	KindBusy
	KindConflict
)

var kindNames = [...]string{"failed", "bad-args", "no-such-unit", "config", "object-missing",
	"invalid-object", "unsupported", "verifier", "not-running", "no-such-link",
	"no-such-program", "busy", "conflict"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// KindOf classifies err.
func KindOf(err error) Kind {
	var ce *config.Error
	var ve *ebpf.VerifierError
	switch {
	case err == nil:
		return KindFailed
	case errors.Is(err, ErrInvalidObject):
		return KindInvalidObject
	case errors.Is(err, config.ErrInvalidName), errors.Is(err, errBadProgram):
		return KindBadArgs
	case errors.Is(err, config.ErrNotFound):
		return KindNoSuchUnit
	case errors.Is(err, config.ErrMasked), errors.Is(err, config.ErrInvalidUnit), errors.As(err, &ce):
		return KindConfig
	case errors.Is(err, loader.ErrUnsupported), errors.Is(err, ebpf.ErrNotSupported):
		return KindUnsupported
	case errors.As(err, &ve):
		return KindVerifier
	case errors.Is(err, manager.ErrNotStarted):
		return KindNotRunning
	case errors.Is(err, manager.ErrAlreadyStarted):
		return KindConflict
	case errors.Is(err, os.ErrNotExist):
		return KindObjectMissing
	}
	return KindFailed
}

// VerifierLog returns the verifier log tail err carries, "" if none.
func VerifierLog(err error) string { return loader.VerifierTail(err) }

// Change names a unit that changed.
type Change struct {
	Unit string
}

var errNoDetach = errors.New("detach is not available in this build (manager without Detach)")

func detach(ctx context.Context, m *manager.Manager, name, link string) error {
	return errNoDetach
}
