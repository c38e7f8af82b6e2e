package loader

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
)

// ErrUnsupported wraps every "this kernel cannot do that" error, together
// with ebpf.ErrNotSupported, so callers can tell it apart from bad input.
var ErrUnsupported = errors.New("not supported by this kernel")

// verifierTailLines is how much of the verifier log an error carries: the
// last lines say why the program was rejected; the whole log goes to the
// journal.
const verifierTailLines = 4

// VerifierTail returns the last lines of a verifier error's log joined into
// one line, or "" when err carries no log.
func VerifierTail(err error) string {
	var ve *ebpf.VerifierError
	if !errors.As(err, &ve) {
		return ""
	}
	var lines []string
	for _, l := range ve.Log {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > verifierTailLines {
		lines = lines[len(lines)-verifierTailLines:]
	}
	return strings.Join(lines, " | ")
}

// LoadError is a program the kernel refused.
type LoadError struct {
	Program string
	Err     error
}

func (e *LoadError) Error() string {
	var ve *ebpf.VerifierError
	if errors.As(e.Err, &ve) {
		return fmt.Sprintf("load program %s: verifier rejected it (%v): %s", e.Program, ve.Cause, VerifierTail(e.Err))
	}
	return fmt.Sprintf("load program %s: %v", e.Program, oneLine(e.Err))
}

func (e *LoadError) Unwrap() error { return e.Err }

// Log is the full verifier log, if any.
func (e *LoadError) Log() []string {
	var ve *ebpf.VerifierError
	if errors.As(e.Err, &ve) {
		return ve.Log
	}
	return nil
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
