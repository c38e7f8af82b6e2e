// Package polkit asks polkitd whether a caller on the system bus may do an
// action: org.freedesktop.PolicyKit1.Authority.CheckAuthorization with the
// caller's unique bus name as the subject, as systemd's hostnamed does.
//
// # Deny unless polkit says yes
//
// Any error (polkit not on the bus, a timeout, a malformed reply) denies.
// Check reports whether polkit is absent, so that the caller can fall back
// to "root only", and whether polkit wants interactive authentication the
// caller did not allow, for InteractiveAuthorizationRequired.
package polkit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
)

// polkit's names.
const (
	busName       = "org.freedesktop.PolicyKit1"
	objectPath    = "/org/freedesktop/PolicyKit1/Authority"
	checkMethod   = "org.freedesktop.PolicyKit1.Authority.CheckAuthorization"
	subjectKind   = "system-bus-name"
	flagAllowUser = 1 // CheckAuthorizationFlags.AllowUserInteraction
)

// Timeout bounds one check when the caller's context has no earlier
// deadline. An interactive check waits for a human at an agent: systemd
// allows the same 25 s of a default D-Bus call.
const (
	Timeout            = 5 * time.Second
	InteractiveTimeout = 25 * time.Second
)

// Errors of Check besides a plain denial.
var (
	// ErrDenied: polkit answered no.
	ErrDenied = errors.New("not authorized")
	// ErrChallenge: polkit would allow after authentication, but the
	// caller did not allow interactive authorization.
	ErrChallenge = errors.New("interactive authorization required")
	// ErrUnavailable: polkit is not on the bus (not installed or masked).
	ErrUnavailable = errors.New("polkit is not available")
)

// Check asks polkit whether the bus client sender may do action. It
// returns nil when authorized and an error wrapping ErrDenied,
// ErrChallenge or ErrUnavailable (or another error: deny) otherwise.
func Check(ctx context.Context, conn *dbus.Conn, sender, action string, interactive bool) error {
	timeout := Timeout
	var flags uint32
	if interactive {
		timeout, flags = InteractiveTimeout, flagAllowUser
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	subject := struct {
		Kind    string
		Details map[string]dbus.Variant
	}{subjectKind, map[string]dbus.Variant{"name": dbus.MakeVariant(sender)}}
	var res struct {
		IsAuthorized, IsChallenge bool
		Details                   map[string]string
	}
	call := conn.Object(busName, objectPath).CallWithContext(ctx, checkMethod, 0,
		subject, action, map[string]string{}, flags, "")
	if call.Err != nil {
		var de dbus.Error
		if errors.As(call.Err, &de) && unavailable(de.Name) {
			return fmt.Errorf("check %s: %w (%s)", action, ErrUnavailable, de.Name)
		}
		return fmt.Errorf("check %s: %w", action, call.Err)
	}
	if err := call.Store(&res); err != nil {
		return fmt.Errorf("check %s: read polkit's answer: %w", action, err)
	}
	switch {
	case res.IsAuthorized:
		return nil
	case res.IsChallenge && !interactive:
		return fmt.Errorf("%s: %w", action, ErrChallenge)
	}
	return fmt.Errorf("%s: %w", action, ErrDenied)
}

// unavailable reports whether a bus error means polkit is not there, as
// opposed to a polkit that failed.
func unavailable(name string) bool {
	switch name {
	case "org.freedesktop.DBus.Error.ServiceUnknown",
		"org.freedesktop.DBus.Error.NameHasNoOwner",
		"org.freedesktop.systemd1.UnitMasked",
		"org.freedesktop.systemd1.NoSuchUnit":
		return true
	}
	return false
}
