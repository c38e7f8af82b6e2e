package varlink

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"

	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/service"
)

// ManagerInterface is the name of bpfunitd's interface.
const ManagerInterface = "io.bpfunit.Manager"

// SocketPath is where bpfunitd.socket listens.
const SocketPath = "/run/bpfunit/io.bpfunit.Manager"

// ManagerDescription is the interface description of io.bpfunit.Manager,
// as GetInterfaceDescription returns it.
//
//go:embed io.bpfunit.Manager.varlink
var ManagerDescription string

// The errors of io.bpfunit.Manager.
const (
	ErrNoSuchUnit        = ManagerInterface + ".NoSuchUnit"
	ErrNotRunning        = ManagerInterface + ".NotRunning"
	ErrNoSuchLink        = ManagerInterface + ".NoSuchLink"
	ErrNoSuchProgram     = ManagerInterface + ".NoSuchProgram"
	ErrVerifierRejected  = ManagerInterface + ".VerifierRejected"
	ErrKernelUnsupported = ManagerInterface + ".KernelUnsupported"
	ErrInvalidObject     = ManagerInterface + ".InvalidObject"
	ErrInvalidConfig     = ManagerInterface + ".InvalidConfig"
	ErrBusy              = ManagerInterface + ".Busy"
	ErrConflict          = ManagerInterface + ".Conflict"
	ErrPermissionDenied  = ManagerInterface + ".PermissionDenied"
	ErrFailed            = ManagerInterface + ".Failed"
)

// Backend is what the interface calls: internal/service's Service (the
// same operations the D-Bus side calls). Authorization is done here, before.
type Backend interface {
	ListUnits(ctx context.Context) ([]service.UnitInfo, error)
	GetUnit(ctx context.Context, name string) (*manager.Status, error)
	Start(ctx context.Context, c service.Caller, name string) (service.JobResult, error)
	Stop(ctx context.Context, c service.Caller, name string) (service.JobResult, error)
	Reload(ctx context.Context, c service.Caller, name string) (service.JobResult, error)
	Detach(ctx context.Context, c service.Caller, name, link string) error
	Replace(ctx context.Context, c service.Caller, name, program string, f *os.File) (uint32, error)
	Changes(ctx context.Context) (<-chan service.Change, error)
}

var _ Backend = (*service.Service)(nil)

// Unit is one row of ListUnits on the wire.
type Unit struct {
	Name        string `json:"name"`
	State       string `json:"state"`
	Description string `json:"description"`
	ActiveState string `json:"active_state"`
}

// StateRemoved is the state Monitor reports for a unit that is gone (no
// config, nothing attached).
const StateRemoved = "removed"

// DefaultInfo is what GetInfo reports for bpfunitd.
func DefaultInfo() Info {
	version := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = bi.Main.Version
	}
	return Info{Vendor: "bpfunit", Product: "bpfunitd", Version: version, URL: "https://github.com/bpfunit/bpfunit"}
}

// Serve serves io.bpfunit.Manager over b on ln until ctx is done: what
// bpfunitd runs on the socket systemd passes it (bpfunitd.socket).
func Serve(ctx context.Context, ln net.Listener, b Backend, log *slog.Logger) error {
	return NewManagerServer(b, log).Serve(ctx, ln)
}

// Running is a server started by Start.
type Running struct {
	*Server
	done chan error
}

// Wait returns when the server has stopped: its context ended (nil) or
// the listener failed.
func (r *Running) Wait() error { return <-r.done }

// Start serves io.bpfunit.Manager over b on ln in the background until
// ctx is done. Idle and Wait are what internal/daemon needs.
func Start(ctx context.Context, ln net.Listener, b Backend, log *slog.Logger) *Running {
	r := &Running{Server: NewManagerServer(b, log), done: make(chan error, 1)}
	go func() { r.done <- r.Serve(ctx, ln) }()
	return r
}

// NewManagerServer returns a server of io.bpfunit.Manager over b (and
// org.varlink.service). Its Active and LastActivity tell the daemon
// whether it is idle.
func NewManagerServer(b Backend, log *slog.Logger) *Server {
	s := NewServer(DefaultInfo())
	s.Log = log
	h := &handlers{b: b}
	if err := s.Register(ManagerDescription, map[string]Handler{
		"ListUnits": h.listUnits,
		"GetUnit":   h.getUnit,
		"Start":     h.job((Backend).Start),
		"Stop":      h.job((Backend).Stop),
		"Reload":    h.job((Backend).Reload),
		"Detach":    h.detach,
		"Replace":   h.replace,
		"Monitor":   h.monitor,
	}); err != nil {
		panic(fmt.Sprintf("%s: %v", ManagerInterface, err)) // the embedded text is ours
	}
	return s
}

type handlers struct{ b Backend }

type nameParams struct {
	Name    string `json:"name"`
	Link    string `json:"link"`
	Program string `json:"program"`
	Path    string `json:"path"`
	FD      *int   `json:"fd"`
}

// decodeName decodes the parameters and checks the unit name as the
// oneshot does, before anything else sees it.
func decodeName(c *Call) (*nameParams, error) {
	var p nameParams
	if err := c.Decode(&p); err != nil {
		return nil, err
	}
	if config.ValidateName(p.Name) != nil {
		return nil, NewError(ErrInvalidParameter, "parameter", "name")
	}
	return &p, nil
}

// authorize lets root change units and denies everyone else: over Varlink
// there is no polkit subject to ask about, only the peer's uid.
func authorize(c *Call) (service.Caller, error) {
	if !c.Peer.Root() {
		return service.Caller{}, NewError(ErrPermissionDenied, "method", c.Method,
			"message", fmt.Sprintf("%s needs uid 0 (caller uid %d)", c.Method, c.Peer.UID))
	}
	return service.Caller{UID: c.Peer.UID, PID: uint32(c.Peer.PID)}, nil
}

func toUnits(in []service.UnitInfo) []Unit {
	out := make([]Unit, 0, len(in))
	for _, u := range in {
		out = append(out, Unit{Name: u.Name, State: u.State, Description: u.Description, ActiveState: u.ActiveState})
	}
	return out
}

func (h *handlers) listUnits(ctx context.Context, c *Call) (any, error) {
	us, err := h.b.ListUnits(ctx)
	if err != nil {
		return nil, mapError(err, c.Method, nameParams{})
	}
	return map[string]any{"units": toUnits(us)}, nil
}

func (h *handlers) getUnit(ctx context.Context, c *Call) (any, error) {
	p, err := decodeName(c)
	if err != nil {
		return nil, err
	}
	st, err := h.b.GetUnit(ctx, p.Name)
	if err != nil {
		return nil, mapError(err, c.Method, *p)
	}
	return map[string]any{"status": st}, nil
}

func (h *handlers) job(run func(Backend, context.Context, service.Caller, string) (service.JobResult, error)) Handler {
	return func(ctx context.Context, c *Call) (any, error) {
		p, err := decodeName(c)
		if err != nil {
			return nil, err
		}
		caller, err := authorize(c)
		if err != nil {
			return nil, err
		}
		res, err := run(h.b, ctx, caller, p.Name)
		if err != nil {
			return nil, mapError(err, c.Method, *p)
		}
		return map[string]any{"result": string(res)}, nil
	}
}

func (h *handlers) detach(ctx context.Context, c *Call) (any, error) {
	p, err := decodeName(c)
	if err != nil {
		return nil, err
	}
	if p.Link == "" || len(p.Link) > 255 {
		return nil, NewError(ErrInvalidParameter, "parameter", "link")
	}
	caller, err := authorize(c)
	if err != nil {
		return nil, err
	}
	if err := h.b.Detach(ctx, caller, p.Name, p.Link); err != nil {
		return nil, mapError(err, c.Method, *p)
	}
	return nil, nil
}

func (h *handlers) replace(ctx context.Context, c *Call) (any, error) {
	p, err := decodeName(c)
	if err != nil {
		return nil, err
	}
	if service.ValidateProgram(p.Program) != nil {
		return nil, NewError(ErrInvalidParameter, "parameter", "program")
	}
	switch {
	case p.FD != nil && p.Path != "":
		return nil, NewError(ErrInvalidParameter, "parameter", "fd")
	case p.FD != nil && (*p.FD < 0 || *p.FD >= len(c.FDs)):
		return nil, NewError(ErrInvalidParameter, "parameter", "fd")
	case p.FD == nil && (!filepath.IsAbs(p.Path) || len(p.Path) > unix.PathMax):
		return nil, NewError(ErrInvalidParameter, "parameter", "path")
	}
	// Authorize before the path is opened: only root names a file the
	// service opens, and root could read it anyway.
	caller, err := authorize(c)
	if err != nil {
		return nil, err
	}
	var f *os.File
	if p.FD != nil {
		// The service checks it is a regular file below the cap.
		f = c.FDs[*p.FD]
	} else {
		if f, err = openObject(p.Path); err != nil {
			return nil, NewError(ErrInvalidObject, "message", err.Error())
		}
		defer f.Close()
	}
	id, err := h.b.Replace(ctx, caller, p.Name, p.Program, f)
	if err != nil {
		return nil, mapError(err, c.Method, *p)
	}
	return map[string]any{"prog_id": id}, nil
}

// openObject opens path for Replace. O_NONBLOCK: opening a FIFO must not
// wait for a writer (the service then refuses it as not a regular file).
func openObject(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Size() > service.MaxObjectSize {
		f.Close()
		return nil, fmt.Errorf("%s is %d bytes, more than the %d bytes an object may have", path, fi.Size(), service.MaxObjectSize)
	}
	return f, nil
}

func (h *handlers) monitor(ctx context.Context, c *Call) (any, error) {
	if !c.More {
		return nil, NewError(ErrExpectedMore)
	}
	// Subscribe before the snapshot, so no change falls between them.
	ch, err := h.b.Changes(ctx)
	if err != nil {
		return nil, mapError(err, c.Method, nameParams{})
	}
	us, err := h.b.ListUnits(ctx)
	if err != nil {
		return nil, mapError(err, c.Method, nameParams{})
	}
	if err := c.Continue(map[string]any{"units": toUnits(us)}); err != nil {
		return nil, err
	}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case chg, ok := <-ch:
			if !ok {
				return nil, ctx.Err()
			}
			u, err := h.unit(ctx, chg.Unit)
			if err != nil {
				return nil, mapError(err, c.Method, nameParams{Name: chg.Unit})
			}
			if err := c.Continue(map[string]any{"changed": u}); err != nil {
				return nil, err
			}
		}
	}
}

// unit is the current row of one unit, "removed" when it is not listed.
func (h *handlers) unit(ctx context.Context, name string) (Unit, error) {
	us, err := h.b.ListUnits(ctx)
	if err != nil {
		return Unit{}, err
	}
	for _, u := range us {
		if u.Name == name {
			return toUnits([]service.UnitInfo{u})[0], nil
		}
	}
	return Unit{Name: name, State: StateRemoved}, nil
}

// mapError turns an error of the backend into the interface's named error,
// from the manager's error classes. The message is the error's one line.
func mapError(err error, method string, p nameParams) *Error {
	var ve *Error
	if errors.As(err, &ve) {
		return ve
	}
	msg := oneLine(err.Error())
	switch k := service.KindOf(err); k {
	case service.KindBadArgs:
		param := "name"
		switch {
		case p.Link != "":
			param = "link"
		case p.Program != "":
			param = "program"
		}
		return NewError(ErrInvalidParameter, "parameter", param)
	case service.KindNoSuchUnit:
		return NewError(ErrNoSuchUnit, "name", p.Name, "message", msg)
	case service.KindNotRunning:
		return NewError(ErrNotRunning, "name", p.Name, "message", msg)
	case service.KindNoSuchLink:
		return NewError(ErrNoSuchLink, "name", p.Name, "link", p.Link, "message", msg)
	case service.KindNoSuchProgram:
		return NewError(ErrNoSuchProgram, "name", p.Name, "program", p.Program, "message", msg)
	case service.KindVerifier:
		return NewError(ErrVerifierRejected, "name", p.Name, "log", service.VerifierLog(err), "message", msg)
	case service.KindUnsupported:
		return NewError(ErrKernelUnsupported, "message", msg)
	case service.KindInvalidObject, service.KindObjectMissing:
		return NewError(ErrInvalidObject, "message", msg)
	case service.KindConfig:
		return NewError(ErrInvalidConfig, "message", msg)
	case service.KindBusy:
		return NewError(ErrBusy, "message", msg)
	case service.KindConflict:
		return NewError(ErrConflict, "message", msg)
	default:
		return NewError(ErrFailed, "kind", k.String(), "message", msg)
	}
}
