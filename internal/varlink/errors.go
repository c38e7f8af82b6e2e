package varlink

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The errors of org.varlink.service, which every service speaks.
const (
	ErrInterfaceNotFound     = "org.varlink.service.InterfaceNotFound"
	ErrMethodNotFound        = "org.varlink.service.MethodNotFound"
	ErrMethodNotImplemented  = "org.varlink.service.MethodNotImplemented"
	ErrInvalidParameter      = "org.varlink.service.InvalidParameter"
	ErrPermissionDeniedProto = "org.varlink.service.PermissionDenied"
	// ErrExpectedMore: the method streams and the call lacked "more"
	// (systemd's sd-varlink uses the same name).
	ErrExpectedMore = "org.varlink.service.ExpectedMore"
)

// Error is a named Varlink error with its parameters: what a handler
// returns to fail a call, and what the client returns for an error reply.
type Error struct {
	Name       string
	Parameters map[string]any
}

// NewError builds an error; params are name, value pairs.
func NewError(name string, params ...any) *Error {
	e := &Error{Name: name, Parameters: map[string]any{}}
	for i := 0; i+1 < len(params); i += 2 {
		e.Parameters[params[i].(string)] = params[i+1]
	}
	return e
}

// Error renders the name and, when the error carries one, its message
// parameter, else the other parameters: one line.
func (e *Error) Error() string {
	if msg, ok := e.Parameters["message"].(string); ok && msg != "" {
		return e.Name + ": " + oneLine(msg)
	}
	keys := make([]string, 0, len(e.Parameters))
	for k := range e.Parameters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(e.Name)
	for i, k := range keys {
		if i == 0 {
			b.WriteString(":")
		}
		fmt.Fprintf(&b, " %s=%v", k, e.Parameters[k])
	}
	return oneLine(b.String())
}

// Param returns parameter key as a string ("" when absent).
func (e *Error) Param(key string) string {
	s, _ := e.Parameters[key].(string)
	return s
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func errorFromReply(r *Reply) *Error {
	e := &Error{Name: r.Error, Parameters: map[string]any{}}
	if !isNull(r.Parameters) {
		// A malformed error body still leaves the name, which is what
		// callers dispatch on.
		_ = json.Unmarshal(r.Parameters, &e.Parameters)
	}
	return e
}
