package dbusapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/polkit"
	"github.com/bpfunit/bpfunit/internal/service"
)

// callTimeout bounds one method call: a systemd job (a start attaching to
// many interfaces) and a polkit check included.
const callTimeout = 3 * time.Minute

// Options configure a Server.
type Options struct {
	// Version is the Version property.
	Version string
	// Log receives denials and errors; the service journals changes.
	Log *slog.Logger
}

// Server is org.bpfunit.Manager1 on one bus connection.
type Server struct {
	conn    *dbus.Conn
	svc     *service.Service
	log     *slog.Logger
	version string

	mu sync.Mutex
	// calls counts method calls in progress (polkit checks included).
	calls int
	// last is when the last call ended (or the server started).
	last time.Time
	// subs are the unique bus names of subscribed peers.
	subs map[string]bool
	// props are the last Unit1 properties sent per unit, to send
	// PropertiesChanged only for what changed. Filled lazily, by
	// unitChanged alone: a unit that did not change since the helper
	// started has none.
	props map[string]map[string]dbus.Variant

	sigs    chan *dbus.Signal
	changes <-chan service.Change
}

// New returns a Server for svc on conn; Listen exports it.
func New(conn *dbus.Conn, svc *service.Service, opts Options) *Server {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Server{conn: conn, svc: svc, log: opts.Log, version: opts.Version,
		last: time.Now(), subs: map[string]bool{}, props: map[string]map[string]dbus.Variant{}}
}

// Listen exports the objects and takes the bus name: when it returns nil,
// calls are being served (the daemon then tells systemd it is ready).
func (s *Server) Listen(ctx context.Context) error {
	if err := s.export(); err != nil {
		return err
	}
	s.sigs = make(chan *dbus.Signal, 64)
	s.conn.Signal(s.sigs)
	if err := s.conn.AddMatchSignalContext(ctx, dbus.WithMatchSender(dbusIface), dbus.WithMatchInterface(dbusIface),
		dbus.WithMatchMember("NameOwnerChanged")); err != nil {
		return fmt.Errorf("watch bus clients: %w", err)
	}
	changes, err := s.svc.Changes(ctx)
	if err != nil {
		return fmt.Errorf("watch units: %w", err)
	}
	s.changes = changes
	// No snapshot of the units before the name is ours: the first call
	// must not wait for one. PropertiesChanged compares with what was
	// last sent or read of a unit (see unitChanged).
	reply, err := s.conn.RequestName(BusName, dbus.NameFlagDoNotQueue)
	if err != nil {
		return fmt.Errorf("request bus name %s: %w", BusName, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		return fmt.Errorf("request bus name %s: already owned (reply %d)", BusName, reply)
	}
	return nil
}

// Serve sends the signals of unit changes and follows subscribers until
// ctx is done (it returns nil) or the bus connection closes (dbus-daemon
// restarted: the next call activates a new helper). Call Listen first.
func (s *Server) Serve(ctx context.Context) error {
	defer s.conn.RemoveSignal(s.sigs)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.conn.Context().Done():
			return fmt.Errorf("bus connection closed: %w", context.Cause(s.conn.Context()))
		case sig, ok := <-s.sigs:
			if !ok {
				return errors.New("bus connection closed")
			}
			s.onSignal(sig)
		case c, ok := <-s.changes:
			if !ok {
				return nil
			}
			s.unitChanged(ctx, c.Unit)
		}
	}
}

// Idle reports how long the server has had no call in progress and no
// subscriber (0 while it has).
func (s *Server) Idle() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls > 0 || len(s.subs) > 0 {
		return 0
	}
	return time.Since(s.last)
}

// Quiet reports how long the server has had no call in progress (0 while
// it has), subscribers or not.
func (s *Server) Quiet() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls > 0 {
		return 0
	}
	return time.Since(s.last)
}

func (s *Server) enter() {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
}

func (s *Server) leave() {
	s.mu.Lock()
	s.calls--
	s.last = time.Now()
	s.mu.Unlock()
}

func (s *Server) export() error {
	m := &manager1{s}
	for _, e := range []struct {
		v     any
		path  dbus.ObjectPath
		iface string
		sub   bool
	}{
		{m, ManagerPath, ManagerIface, false},
		{&managerProps{s}, ManagerPath, propsIface, false},
		{introspection(nodeXML(managerIfaceXML, nil)), ManagerPath, introIface, false},
		{&unitProps{s}, UnitPathRoot, propsIface, true},
		{&unitIntrospect{s}, UnitPathRoot, introIface, true},
	} {
		var err error
		if e.sub {
			err = s.conn.ExportSubtree(e.v, e.path, e.iface)
		} else {
			err = s.conn.Export(e.v, e.path, e.iface)
		}
		if err != nil {
			return fmt.Errorf("export %s on %s: %w", e.iface, e.path, err)
		}
	}
	return nil
}

func (s *Server) onSignal(sig *dbus.Signal) {
	if sig.Name != dbusIface+".NameOwnerChanged" || len(sig.Body) != 3 {
		return
	}
	name, _ := sig.Body[0].(string)
	newOwner, _ := sig.Body[2].(string)
	if newOwner != "" {
		return
	}
	s.mu.Lock()
	if s.subs[name] {
		delete(s.subs, name)
		s.last = time.Now()
		s.log.Debug("subscriber left the bus", "bus_name", name)
	}
	s.mu.Unlock()
}

func senderOf(msg dbus.Message) string {
	v, _ := msg.Headers[dbus.FieldSender].Value().(string)
	return v
}

// caller asks the bus who sent msg.
func (s *Server) caller(ctx context.Context, msg dbus.Message) (service.Caller, error) {
	c := service.Caller{BusName: senderOf(msg)}
	if c.BusName == "" {
		return c, errors.New("message without a sender")
	}
	bus := s.conn.BusObject()
	if err := bus.CallWithContext(ctx, dbusIface+".GetConnectionUnixUser", 0, c.BusName).Store(&c.UID); err != nil {
		return c, fmt.Errorf("get uid of %s: %w", c.BusName, err)
	}
	// The pid is for the journal only; a bus that can't tell is no reason to deny.
	_ = bus.CallWithContext(ctx, dbusIface+".GetConnectionUnixProcessID", 0, c.BusName).Store(&c.PID)
	return c, nil
}

// authorize lets root do anything and asks polkit about everyone else.
func (s *Server) authorize(ctx context.Context, msg dbus.Message, action, verb, unit string) (service.Caller, *dbus.Error) {
	c, err := s.caller(ctx, msg)
	if err != nil {
		s.log.Warn("deny: caller unknown", "verb", verb, "unit", unit, "bus_name", c.BusName, "err", err)
		return c, newError(ErrAccessDenied, "cannot identify the caller: "+err.Error())
	}
	if c.UID == 0 {
		return c, nil
	}
	interactive := msg.Flags&dbus.FlagAllowInteractiveAuthorization != 0
	err = polkit.Check(ctx, s.conn, c.BusName, action, interactive)
	if err == nil {
		return c, nil
	}
	s.log.Info("deny", "verb", verb, "unit", unit, "action", action, "caller_uid", c.UID, "caller_pid", c.PID,
		"caller_bus_name", c.BusName, "reason", err)
	switch {
	case errors.Is(err, polkit.ErrChallenge):
		return c, newError(ErrInteractive, fmt.Sprintf("%s %s needs authentication as an administrator (action %s); allow interactive authorization", verb, unit, action))
	case errors.Is(err, polkit.ErrUnavailable):
		return c, newError(ErrAccessDenied, fmt.Sprintf("%s %s: only root may (polkit is not available)", verb, unit))
	}
	return c, newError(ErrAccessDenied, fmt.Sprintf("%s %s: not authorized (action %s)", verb, unit, action))
}

// checkName validates a unit name argument before anything else.
func checkName(name string) *dbus.Error {
	if err := config.ValidateName(name); err != nil {
		return newError(ErrInvalidArgs, err.Error())
	}
	return nil
}

// checkLink validates a link argument: the pin's file name, one path
// component of printable ASCII.
func checkLink(link string) *dbus.Error {
	bad := link == "" || len(link) > 255 || link == "." || link == ".."
	for i := 0; i < len(link) && !bad; i++ {
		bad = link[i] <= ' ' || link[i] >= 0x7f || link[i] == '/'
	}
	if bad {
		return newError(ErrInvalidArgs, fmt.Sprintf("invalid link name %q: want the pin's file name as bpfunit status shows it", link))
	}
	return nil
}

func (s *Server) callContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), callTimeout)
}

// manager1 holds the methods of org.bpfunit.Manager1 (godbus exports
// every exported method of the type).
type manager1 struct{ s *Server }

type unitRow struct {
	Name, State, Description string
	Path                     dbus.ObjectPath
}

func (m *manager1) ListUnits(msg dbus.Message) ([]unitRow, *dbus.Error) {
	s := m.s
	s.enter()
	defer s.leave()
	ctx, cancel := s.callContext()
	defer cancel()
	us, err := s.svc.Summaries(ctx)
	if err != nil {
		return nil, toDBus(err)
	}
	rows := make([]unitRow, 0, len(us))
	for _, u := range us {
		rows = append(rows, unitRow{u.Name, u.State, u.Description, UnitPath(u.Name)})
	}
	return rows, nil
}

func (m *manager1) GetUnit(msg dbus.Message, name string) (dbus.ObjectPath, *dbus.Error) {
	s := m.s
	s.enter()
	defer s.leave()
	if e := checkName(name); e != nil {
		return "/", e
	}
	ctx, cancel := s.callContext()
	defer cancel()
	if _, err := s.svc.GetUnit(ctx, name); err != nil {
		return "/", toDBus(err)
	}
	return UnitPath(name), nil
}

func (m *manager1) Start(msg dbus.Message, name string) (string, *dbus.Error) {
	return m.s.job(msg, "start", name, m.s.svc.Start)
}

func (m *manager1) Stop(msg dbus.Message, name string) (string, *dbus.Error) {
	return m.s.job(msg, "stop", name, m.s.svc.Stop)
}

func (m *manager1) Reload(msg dbus.Message, name string) (string, *dbus.Error) {
	return m.s.job(msg, "reload", name, m.s.svc.Reload)
}

func (s *Server) job(msg dbus.Message, verb, name string, run func(context.Context, service.Caller, string) (service.JobResult, error)) (string, *dbus.Error) {
	s.enter()
	defer s.leave()
	if e := checkName(name); e != nil {
		return "", e
	}
	ctx, cancel := s.callContext()
	defer cancel()
	c, e := s.authorize(ctx, msg, actionManage, verb, name)
	if e != nil {
		return "", e
	}
	res, err := run(ctx, c, name)
	if err != nil {
		return "", toDBus(err)
	}
	return string(res), nil
}

func (m *manager1) Detach(msg dbus.Message, name, link string) *dbus.Error {
	s := m.s
	s.enter()
	defer s.leave()
	if e := checkName(name); e != nil {
		return e
	}
	if e := checkLink(link); e != nil {
		return e
	}
	ctx, cancel := s.callContext()
	defer cancel()
	c, e := s.authorize(ctx, msg, actionManage, "detach", name)
	if e != nil {
		return e
	}
	return toDBus(s.svc.Detach(ctx, c, name, link))
}

func (m *manager1) Replace(msg dbus.Message, name, program string, object dbus.UnixFD) (uint32, *dbus.Error) {
	s := m.s
	s.enter()
	defer s.leave()
	// The fd is ours from here on, whatever happens.
	f := os.NewFile(uintptr(object), "passed object")
	if f == nil {
		return 0, newError(ErrInvalidArgs, "no file descriptor passed")
	}
	defer f.Close()
	if e := checkName(name); e != nil {
		return 0, e
	}
	if err := service.ValidateProgram(program); err != nil {
		return 0, newError(ErrInvalidArgs, err.Error())
	}
	ctx, cancel := s.callContext()
	defer cancel()
	c, e := s.authorize(ctx, msg, actionReplace, "replace", name)
	if e != nil {
		return 0, e
	}
	id, err := s.svc.Replace(ctx, c, name, program, f)
	if err != nil {
		return 0, toDBus(err)
	}
	return id, nil
}

func (m *manager1) Subscribe(msg dbus.Message) *dbus.Error {
	s := m.s
	s.enter()
	defer s.leave()
	name := senderOf(msg)
	s.mu.Lock()
	s.subs[name] = true
	s.mu.Unlock()
	// A peer that left between its call and now would never be dropped.
	ctx, cancel := s.callContext()
	defer cancel()
	var has bool
	if err := s.conn.BusObject().CallWithContext(ctx, dbusIface+".NameHasOwner", 0, name).Store(&has); err == nil && !has {
		s.mu.Lock()
		delete(s.subs, name)
		s.mu.Unlock()
	}
	return nil
}

func (m *manager1) Unsubscribe(msg dbus.Message) *dbus.Error {
	s := m.s
	s.enter()
	defer s.leave()
	s.mu.Lock()
	defer s.mu.Unlock()
	name := senderOf(msg)
	if !s.subs[name] {
		return newError(ErrNotSubscribed, "not subscribed")
	}
	delete(s.subs, name)
	return nil
}

// introspection is a fixed Introspect answer.
type introspection string

func (i introspection) Introspect() (string, *dbus.Error) { return string(i), nil }

// managerProps is org.freedesktop.DBus.Properties of the manager object.
type managerProps struct{ s *Server }

func (p *managerProps) all() map[string]dbus.Variant {
	return map[string]dbus.Variant{
		"Version": dbus.MakeVariant(p.s.version),
		"PinRoot": dbus.MakeVariant(string(p.s.svc.Manager().Root)),
	}
}

func (p *managerProps) Get(iface, name string) (dbus.Variant, *dbus.Error) {
	p.s.enter()
	defer p.s.leave()
	if iface != ManagerIface {
		return dbus.Variant{}, newError(ErrUnknownInterface, "no interface "+iface)
	}
	v, ok := p.all()[name]
	if !ok {
		return dbus.Variant{}, newError(ErrUnknownProperty, "no property "+name)
	}
	return v, nil
}

func (p *managerProps) GetAll(iface string) (map[string]dbus.Variant, *dbus.Error) {
	p.s.enter()
	defer p.s.leave()
	if iface != ManagerIface && iface != "" {
		return nil, newError(ErrUnknownInterface, "no interface "+iface)
	}
	return p.all(), nil
}

func (p *managerProps) Set(iface, name string, v dbus.Variant) *dbus.Error {
	return newError(ErrPropertyReadOnly, "property "+name+" is read-only")
}

// Busy reports whether a call is in progress.
func (s *Server) Busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls > 0
}
