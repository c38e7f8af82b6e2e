package loader

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/config"
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
	// Type is the program's attach type when the kernel refused it
	// before the verifier ran for lack of support (a BTF trampoline
	// type loaded as root with EPERM); empty otherwise.
	Type config.AttachType
}

func (e *LoadError) Error() string {
	var ve *ebpf.VerifierError
	if errors.As(e.Err, &ve) {
		return fmt.Sprintf("load program %s: verifier rejected it (%v): %s", e.Program, ve.Cause, VerifierTail(e.Err))
	}
	if e.Type != "" {
		return fmt.Sprintf("load program %s: operation not permitted although running as root: this kernel does not support %s programs (fentry, fexit and lsm need BPF trampolines, CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS; lsm also needs bpf in lsm=)",
			e.Program, e.Type)
	}
	// cilium/ebpf prefixes "program NAME: ", and blames MEMLOCK for any
	// EPERM before the verifier, which is never the cause as root on a
	// kernel ≥ 5.11 (memcg accounting).
	msg := strings.TrimPrefix(oneLine(e.Err), "program "+e.Program+": ")
	msg = strings.Replace(msg, " (MEMLOCK may be too low, consider rlimit.RemoveMemlock)", "", 1)
	return fmt.Sprintf("load program %s: %s", e.Program, msg)
}

func (e *LoadError) Unwrap() error { return e.Err }

// Is makes a LoadError for an unsupported program type match ErrUnsupported.
func (e *LoadError) Is(target error) bool { return target == ErrUnsupported && e.Type != "" }

// unsupportedType returns p's attach type when an EPERM at load means the
// kernel lacks that program type: BTF trampoline types loaded as root.
func unsupportedType(p *ebpf.ProgramSpec, err error) config.AttachType {
	if p == nil || !errors.Is(err, unix.EPERM) || os.Geteuid() != 0 {
		return ""
	}
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return ""
	}
	switch p.Type {
	case ebpf.Tracing, ebpf.LSM, ebpf.Extension:
		if t := kindFromSpec(p); t != nil {
			return t.Name
		}
		return config.AttachType(p.Type.String())
	}
	return ""
}

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
