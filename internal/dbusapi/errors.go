package dbusapi

import (
	"context"
	"errors"

	"github.com/godbus/dbus/v5"

	"github.com/bpfunit/bpfunit/internal/service"
)

// Error names. The org.bpfunit.Error ones are documented in docs/dbus.md.
const (
	ErrNoSuchUnit        = "org.bpfunit.Error.NoSuchUnit"
	ErrNotRunning        = "org.bpfunit.Error.NotRunning"
	ErrNoSuchLink        = "org.bpfunit.Error.NoSuchLink"
	ErrNoSuchProgram     = "org.bpfunit.Error.NoSuchProgram"
	ErrVerifierRejected  = "org.bpfunit.Error.VerifierRejected"
	ErrKernelUnsupported = "org.bpfunit.Error.KernelUnsupported"
	ErrInvalidObject     = "org.bpfunit.Error.InvalidObject"
	ErrObjectMissing     = "org.bpfunit.Error.ObjectMissing"
	ErrInvalidConfig     = "org.bpfunit.Error.InvalidConfig"
	ErrBusy              = "org.bpfunit.Error.Busy"
	ErrConflict          = "org.bpfunit.Error.Conflict"
	ErrNotSubscribed     = "org.bpfunit.Error.NotSubscribed"
	ErrAccessDenied      = "org.freedesktop.DBus.Error.AccessDenied"
	ErrInteractive       = "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"
	ErrInvalidArgs       = "org.freedesktop.DBus.Error.InvalidArgs"
	ErrFailed            = "org.freedesktop.DBus.Error.Failed"
	ErrTimeout           = "org.freedesktop.DBus.Error.Timeout"
	ErrPropertyReadOnly  = "org.freedesktop.DBus.Error.PropertyReadOnly"
	ErrUnknownProperty   = "org.freedesktop.DBus.Error.UnknownProperty"
	ErrUnknownInterface  = "org.freedesktop.DBus.Error.UnknownInterface"
)

var kindErrors = map[service.Kind]string{
	service.KindBadArgs:       ErrInvalidArgs,
	service.KindNoSuchUnit:    ErrNoSuchUnit,
	service.KindConfig:        ErrInvalidConfig,
	service.KindObjectMissing: ErrObjectMissing,
	service.KindInvalidObject: ErrInvalidObject,
	service.KindUnsupported:   ErrKernelUnsupported,
	service.KindVerifier:      ErrVerifierRejected,
	service.KindNotRunning:    ErrNotRunning,
	service.KindNoSuchLink:    ErrNoSuchLink,
	service.KindNoSuchProgram: ErrNoSuchProgram,
	service.KindBusy:          ErrBusy,
	service.KindConflict:      ErrConflict,
}

// ErrorName is the bus error name of err, from the manager's class of it.
func ErrorName(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrTimeout
	}
	if n, ok := kindErrors[service.KindOf(err)]; ok {
		return n
	}
	return ErrFailed
}

// toDBus turns err into the bus error the caller gets: its name and one
// line of text (for VerifierRejected the text carries the verifier log's
// tail, which the error message already contains).
func toDBus(err error) *dbus.Error {
	if err == nil {
		return nil
	}
	return dbus.NewError(ErrorName(err), []any{err.Error()})
}

func newError(name, msg string) *dbus.Error { return dbus.NewError(name, []any{msg}) }
