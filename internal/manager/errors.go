package manager

import (
	"errors"
	"os"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/loader"
	"github.com/bpfunit/bpfunit/internal/lock"
)

// Sentinels of this package, for errors.Is. Each maps to one [Kind].
var (
	// ErrAlreadyStarted is returned by Start when the unit is attached
	// with a different config or object.
	ErrAlreadyStarted = errors.New("already started with a different config or object")
	// ErrNotStarted is returned by Reload, Replace and Detach for a unit
	// that is not attached.
	ErrNotStarted = errors.New("not started")
	// ErrNoSuchLink is returned by Detach for a link the unit does not have.
	ErrNoSuchLink = errors.New("no such link")
	// ErrInvalidLink is returned by Detach for a link name that cannot be
	// a pin name (empty, "/", "." or "..").
	ErrInvalidLink = errors.New("invalid link name")
	// ErrNoSuchProgram is returned by Replace for a program the unit does
	// not attach.
	ErrNoSuchProgram = errors.New("no such program")
	// ErrBusy is returned when the attach point is held by another unit
	// or another tool.
	ErrBusy = errors.New("attach point busy")
	// ErrInvalidObject wraps every error that says the object file is not
	// a usable BPF ELF.
	ErrInvalidObject = errors.New("invalid object")
)

// Kind is the class of an error, for exit codes and for the named errors of
// the D-Bus and Varlink interfaces. [KindOf] is the only mapping.
type Kind int

// Error kinds. The comment gives the oneshot's exit status.
const (
	KindFailed        Kind = iota // anything else (exit 1)
	KindBadArgs                   // invalid unit, link or program name (exit 2)
	KindNoSuchUnit                // no config and nothing attached (exit 6)
	KindConfig                    // config error or masked (exit 6)
	KindObjectMissing             // object file missing (exit 5)
	KindInvalidObject             // not an ELF, or a bad object (exit 1)
	KindUnsupported               // the kernel lacks the attach type (exit 3)
	KindVerifier                  // the verifier rejected a program (exit 1); see VerifierLog
	KindNotRunning                // the unit is not started
	KindNoSuchLink                // Detach: no such link
	KindNoSuchProgram             // Replace: no such program
	KindBusy                      // attach point held by another unit or tool; lock wait ended
	KindConflict                  // already started with a different config
)

var kindNames = [...]string{
	KindFailed:        "failed",
	KindBadArgs:       "bad-args",
	KindNoSuchUnit:    "no-such-unit",
	KindConfig:        "config",
	KindObjectMissing: "object-missing",
	KindInvalidObject: "invalid-object",
	KindUnsupported:   "unsupported",
	KindVerifier:      "verifier",
	KindNotRunning:    "not-running",
	KindNoSuchLink:    "no-such-link",
	KindNoSuchProgram: "no-such-program",
	KindBusy:          "busy",
	KindConflict:      "conflict",
}

// String is the kind's stable name: "failed", "bad-args", ...
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "failed"
	}
	return kindNames[k]
}

// KindOf classifies err. The order matters where an error matches more
// than one class: a missing object is a file that does not exist, but a
// missing config is reported as such first.
func KindOf(err error) Kind {
	var ce *config.Error
	switch {
	case err == nil:
		return KindFailed
	case errors.Is(err, config.ErrInvalidName), errors.Is(err, ErrInvalidLink):
		return KindBadArgs
	case errors.Is(err, loader.ErrUnsupported):
		return KindUnsupported
	case errors.Is(err, config.ErrNotFound):
		return KindNoSuchUnit
	case errors.Is(err, config.ErrMasked), errors.Is(err, config.ErrInvalidUnit), errors.As(err, &ce):
		return KindConfig
	case VerifierLog(err) != "":
		return KindVerifier
	case errors.Is(err, ErrInvalidObject):
		return KindInvalidObject
	case errors.Is(err, config.ErrUntrusted):
		// A config or drop-in others can write (an untrusted object is
		// an invalid object, above).
		return KindConfig
	case errors.Is(err, ErrNotStarted):
		return KindNotRunning
	case errors.Is(err, ErrNoSuchLink):
		return KindNoSuchLink
	case errors.Is(err, ErrNoSuchProgram):
		return KindNoSuchProgram
	case errors.Is(err, ErrBusy), errors.Is(err, lock.ErrTimeout):
		return KindBusy
	case errors.Is(err, ErrAlreadyStarted):
		return KindConflict
	case errors.Is(err, os.ErrNotExist):
		return KindObjectMissing
	}
	return KindFailed
}

// VerifierLog returns the tail of the verifier log err carries, "" if the
// verifier did not reject anything.
func VerifierLog(err error) string {
	return loader.VerifierTail(err)
}
