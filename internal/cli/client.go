package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/bpfunit/bpfunit/internal/dbusapi"
	"github.com/bpfunit/bpfunit/internal/varlink"
)

// helper is bpfunitd as the change verbs see it, over either transport.
type helper interface {
	// Transport is "dbus" or "varlink".
	Transport() string
	Job(ctx context.Context, verb, name string) (string, error)
	Detach(ctx context.Context, name, link string) error
	Replace(ctx context.Context, name, program string, f *os.File) (uint32, error)
	// Monitor calls fn for every change of a unit until ctx is done or
	// fn fails. ready is called once the subscription is in place.
	Monitor(ctx context.Context, ready func(), fn func(change) error) error
	Close() error
}

// change is one line of `bpfunit monitor`.
type change struct {
	Unit  string `json:"unit"`
	State string `json:"state"`
}

// Transports for --transport.
const (
	transportAuto    = "auto"
	transportDBus    = "dbus"
	transportVarlink = "varlink"
)

// envVarlinkSocket overrides the Varlink socket's path (tests, testbeds
// reached from outside).
const envVarlinkSocket = "BPFUNIT_VARLINK_SOCKET"

func varlinkSocket() string {
	if p := os.Getenv(envVarlinkSocket); p != "" {
		return p
	}
	return varlink.SocketPath
}

// connectHelper reaches bpfunitd: over the system bus (which activates it)
// when there is one, else over its Varlink socket (which systemd
// activates). transport forces one of them.
func connectHelper(ctx context.Context, transport string) (helper, error) {
	switch transport {
	case transportDBus:
		return dialDBus()
	case transportVarlink:
		return dialVarlink(ctx)
	case transportAuto:
		h, err := dialDBus()
		if err == nil {
			return h, nil
		}
		h2, err2 := dialVarlink(ctx)
		if err2 == nil {
			return h2, nil
		}
		return nil, fmt.Errorf("reach bpfunitd: no system bus (%v) and no Varlink socket (%v)", err, err2)
	}
	return nil, fmt.Errorf("--transport=%s: want auto, dbus or varlink", transport)
}

type dbusHelper struct {
	conn *dbus.Conn
	obj  dbus.BusObject
}

func dialDBus() (*dbusHelper, error) {
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		return nil, fmt.Errorf("connect to the system bus: %w", err)
	}
	return &dbusHelper{conn: conn, obj: conn.Object(dbusapi.BusName, dbusapi.ManagerPath)}, nil
}

func (h *dbusHelper) Transport() string { return transportDBus }
func (h *dbusHelper) Close() error      { return h.conn.Close() }

// call sets ALLOW_INTERACTIVE_AUTHORIZATION: a polkit agent of the
// caller's session may ask for a password (auth_admin_keep), as systemctl
// does.
func (h *dbusHelper) call(ctx context.Context, method string, args ...any) *dbus.Call {
	return h.obj.CallWithContext(ctx, dbusapi.ManagerIface+"."+method, dbus.FlagAllowInteractiveAuthorization, args...)
}

func (h *dbusHelper) Job(ctx context.Context, verb, name string) (string, error) {
	var res string
	err := h.call(ctx, methodOf(verb), name).Store(&res)
	return res, dbusError(err)
}

func (h *dbusHelper) Detach(ctx context.Context, name, link string) error {
	return dbusError(h.call(ctx, "Detach", name, link).Store())
}

func (h *dbusHelper) Replace(ctx context.Context, name, program string, f *os.File) (uint32, error) {
	var id uint32
	err := h.call(ctx, "Replace", name, program, dbus.UnixFD(f.Fd())).Store(&id)
	return id, dbusError(err)
}

func (h *dbusHelper) Monitor(ctx context.Context, ready func(), fn func(change) error) error {
	if err := h.conn.AddMatchSignalContext(ctx, dbus.WithMatchObjectPath(dbusapi.ManagerPath),
		dbus.WithMatchInterface(dbusapi.ManagerIface), dbus.WithMatchMember("UnitChanged")); err != nil {
		return fmt.Errorf("subscribe to UnitChanged: %w", err)
	}
	sigs := make(chan *dbus.Signal, 64)
	h.conn.Signal(sigs)
	// Subscribe keeps bpfunitd from exiting while we listen; it ends with
	// our connection.
	if err := h.obj.CallWithContext(ctx, dbusapi.ManagerIface+".Subscribe", 0).Store(); err != nil {
		return dbusError(err)
	}
	ready()
	for {
		select {
		case <-ctx.Done():
			return nil
		case s, ok := <-sigs:
			if !ok {
				return errors.New("system bus connection closed")
			}
			if s.Name != dbusapi.ManagerIface+".UnitChanged" || len(s.Body) < 2 {
				continue
			}
			name, _ := s.Body[0].(string)
			state, _ := s.Body[1].(string)
			if state == "" {
				state = varlink.StateRemoved
			}
			if err := fn(change{Unit: name, State: state}); err != nil {
				return err
			}
		}
	}
}

// dbusError renders a D-Bus error reply as one line: "NAME: message".
func dbusError(err error) error {
	var de dbus.Error
	var dep *dbus.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &dep):
		de = *dep
	case errors.As(err, &de):
	default:
		return err
	}
	msg := ""
	if len(de.Body) > 0 {
		msg, _ = de.Body[0].(string)
	}
	return &remoteError{Name: de.Name, Message: msg}
}

// remoteError is a named error of bpfunitd, from either transport.
type remoteError struct {
	Name    string
	Message string
}

func (e *remoteError) Error() string {
	if e.Message == "" {
		return e.Name
	}
	return e.Name + ": " + firstLine(e.Message)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

type varlinkHelper struct {
	c *varlink.Client
}

func dialVarlink(ctx context.Context) (*varlinkHelper, error) {
	c, err := varlink.Dial(ctx, varlinkSocket())
	if err != nil {
		return nil, err
	}
	return &varlinkHelper{c: c}, nil
}

func (h *varlinkHelper) Transport() string { return transportVarlink }
func (h *varlinkHelper) Close() error      { return h.c.Close() }

func (h *varlinkHelper) Job(ctx context.Context, verb, name string) (string, error) {
	var res struct {
		Result string `json:"result"`
	}
	err := h.c.Call(ctx, varlink.ManagerInterface+"."+methodOf(verb), map[string]string{"name": name}, &res)
	return res.Result, varlinkError(err)
}

func (h *varlinkHelper) Detach(ctx context.Context, name, link string) error {
	return varlinkError(h.c.Call(ctx, varlink.ManagerInterface+".Detach", map[string]string{"name": name, "link": link}, nil))
}

// Replace passes the file the CLI opened as a descriptor (SCM_RIGHTS), as
// over D-Bus: bpfunitd reads what this process opened, whatever mount
// namespace it is in (bpfunitd has PrivateTmp=: a path under /tmp would
// name another file).
func (h *varlinkHelper) Replace(ctx context.Context, name, program string, f *os.File) (uint32, error) {
	var res struct {
		ProgID uint32 `json:"prog_id"`
	}
	err := h.c.CallFDs(ctx, varlink.ManagerInterface+".Replace", map[string]any{"name": name, "program": program, "fd": 0}, []*os.File{f}, &res)
	return res.ProgID, varlinkError(err)
}

func (h *varlinkHelper) Monitor(ctx context.Context, ready func(), fn func(change) error) error {
	first := true
	err := h.c.CallMore(ctx, varlink.ManagerInterface+".Monitor", nil, func(raw json.RawMessage) error {
		var r struct {
			Changed *varlink.Unit `json:"changed"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("decode Monitor reply: %w", err)
		}
		if first {
			first = false
			ready() // the first reply is the snapshot: subscribed
		}
		if r.Changed == nil {
			return nil
		}
		return fn(change{Unit: r.Changed.Name, State: r.Changed.State})
	})
	if ctx.Err() != nil {
		return nil
	}
	return varlinkError(err)
}

func varlinkError(err error) error {
	var ve *varlink.Error
	if errors.As(err, &ve) {
		msg := ve.Param("message")
		if msg == "" {
			// InvalidParameter and the like: their parameters say what.
			msg = strings.TrimSpace(strings.TrimPrefix(ve.Error(), ve.Name+":"))
		}
		return &remoteError{Name: ve.Name, Message: msg}
	}
	return err
}

// methodOf is the method of a job verb: start → Start.
func methodOf(verb string) string { return strings.ToUpper(verb[:1]) + verb[1:] }
