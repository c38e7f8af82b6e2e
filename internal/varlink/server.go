package varlink

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

//go:embed org.varlink.service.varlink
var serviceIDL string

// Peer is who is at the other end of a connection, from SO_PEERCRED: the
// kernel's record of the process that connected, which it cannot forge.
type Peer struct {
	UID, GID uint32
	PID      int32
	// Known is false when the connection is not a Unix socket (no
	// credentials): such a peer is treated as unprivileged.
	Known bool
}

// Root reports whether the peer is uid 0.
func (p Peer) Root() bool { return p.Known && p.UID == 0 }

// Call is one method call as a handler sees it.
type Call struct {
	// Method is the fully qualified name, e.g. io.bpfunit.Manager.Start.
	Method     string
	Parameters json.RawMessage
	// More: the caller accepts several replies (Continue).
	More   bool
	Oneway bool
	Peer   Peer
	// FDs are the descriptors passed with the call (SCM_RIGHTS), at most
	// MaxFDs. The server closes them after the handler returns; a handler
	// that keeps one dups it.
	FDs []*os.File

	c *conn
}

// Decode unmarshals the parameters into v. The server has already checked
// them against the interface description.
func (c *Call) Decode(v any) error {
	if isNull(c.Parameters) {
		return nil
	}
	if err := json.Unmarshal(c.Parameters, v); err != nil {
		return NewError(ErrInvalidParameter, "parameter", "parameters")
	}
	return nil
}

// Continue sends a reply with "continues": more replies follow. Only for
// calls with More; the handler's return value is the last reply.
func (c *Call) Continue(params any) error {
	if !c.More {
		return NewError(ErrExpectedMore)
	}
	if c.Oneway {
		return nil
	}
	return c.c.reply(params, true)
}

// Handler serves one method. It returns the reply's parameters (a struct
// or map; nil for none) or an error, which should be an *Error named in
// the interface description.
type Handler func(ctx context.Context, c *Call) (any, error)

// Info is what org.varlink.service.GetInfo tells about the service.
type Info struct {
	Vendor, Product, Version, URL string
}

// Server serves Varlink interfaces on stream sockets. Set the limits before
// Serve; zero values take the defaults.
type Server struct {
	Info Info
	// MaxMessage bounds one message in bytes (DefaultMaxMessage). A peer
	// that sends more without a NUL is disconnected.
	MaxMessage int
	// MaxConns bounds the connections of non-root peers together (128),
	// MaxConnsPerUID those of one non-root uid (16). Connections over the
	// bound are closed at once. Root is not bounded: it is trusted, and a
	// user filling the table must not lock root out.
	MaxConns, MaxConnsPerUID int
	// IdleTimeout closes a connection that sends nothing for this long
	// while no call of it runs (60 s); a message half-sent for this long
	// closes it too.
	IdleTimeout time.Duration
	// WriteTimeout bounds writing one reply (10 s): a peer that stops
	// reading a Monitor stream is disconnected rather than blocking it.
	WriteTimeout time.Duration
	// Log gets connection and protocol errors at debug level, handler
	// failures that are not *Error at error level.
	Log *slog.Logger

	ifaces map[string]*served
	order  []string

	mu      sync.Mutex
	conns   int
	perUID  map[uint32]int
	active  atomic.Int64
	open    atomic.Int64 // connections, root's too
	lastUse atomic.Int64 // unix nanoseconds
}

type served struct {
	iface    *Interface
	text     string
	handlers map[string]Handler
}

// NewServer returns a server that speaks org.varlink.service.
func NewServer(info Info) *Server {
	s := &Server{Info: info, ifaces: map[string]*served{}, perUID: map[uint32]int{}}
	s.lastUse.Store(time.Now().UnixNano())
	err := s.Register(serviceIDL, map[string]Handler{
		"GetInfo": func(context.Context, *Call) (any, error) {
			return map[string]any{
				"vendor": s.Info.Vendor, "product": s.Info.Product,
				"version": s.Info.Version, "url": s.Info.URL,
				"interfaces": s.order,
			}, nil
		},
		"GetInterfaceDescription": func(_ context.Context, c *Call) (any, error) {
			var p struct {
				Interface string `json:"interface"`
			}
			if err := c.Decode(&p); err != nil {
				return nil, err
			}
			sv := s.ifaces[p.Interface]
			if sv == nil {
				return nil, NewError(ErrInterfaceNotFound, "interface", p.Interface)
			}
			return map[string]any{"description": sv.text}, nil
		},
	})
	if err != nil {
		panic(fmt.Sprintf("org.varlink.service: %v", err)) // the embedded text is ours
	}
	return s
}

// Register adds an interface: its description (IDL text) and a handler
// for each of its methods, by short name. A handler for a method the text
// does not declare is an error; a declared method without a handler
// answers MethodNotImplemented.
func (s *Server) Register(description string, handlers map[string]Handler) error {
	iface, err := ParseInterface(description)
	if err != nil {
		return err
	}
	if s.ifaces[iface.Name] != nil {
		return fmt.Errorf("register %s: already registered", iface.Name)
	}
	for name := range handlers {
		if iface.Methods[name] == nil {
			return fmt.Errorf("register %s: handler for undeclared method %s", iface.Name, name)
		}
	}
	s.ifaces[iface.Name] = &served{iface: iface, text: description, handlers: handlers}
	s.order = append(s.order, iface.Name)
	return nil
}

// Active returns the number of calls running (a Monitor stream counts
// while it runs), for the daemon's idle exit.
func (s *Server) Active() int { return int(s.active.Load()) }

// LastActivity is when the last call or connection started or ended.
func (s *Server) LastActivity() time.Time { return time.Unix(0, s.lastUse.Load()) }

// Idle is how long the server has had no connection open, 0 while it has
// one: what bpfunitd's idle exit asks (internal/daemon.VarlinkServer).
func (s *Server) Idle() time.Duration {
	if s.open.Load() > 0 {
		return 0
	}
	return time.Since(s.LastActivity())
}

func (s *Server) defaults() {
	if s.MaxMessage <= 0 {
		s.MaxMessage = DefaultMaxMessage
	}
	if s.MaxConns <= 0 {
		s.MaxConns = 128
	}
	if s.MaxConnsPerUID <= 0 {
		s.MaxConnsPerUID = 16
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = 60 * time.Second
	}
	if s.WriteTimeout <= 0 {
		s.WriteTimeout = 10 * time.Second
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
}

// Serve accepts connections on ln until ctx is done, then closes ln, ends
// every connection and returns when all are gone. ln is typically the
// socket systemd passed (bpfunitd.socket).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.defaults()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	backoff := 5 * time.Millisecond
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// EMFILE and the like: wait rather than spin.
			s.Log.Debug("varlink accept", "error", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		peer := peerOf(nc)
		if !s.admit(peer) {
			s.Log.Debug("varlink connection refused: too many", "uid", peer.UID, "pid", peer.PID)
			nc.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.release(peer)
			s.serveConn(ctx, nc, peer)
		}()
	}
}

func (s *Server) admit(p Peer) bool {
	if p.Root() {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns >= s.MaxConns || s.perUID[p.UID] >= s.MaxConnsPerUID {
		return false
	}
	s.conns++
	s.perUID[p.UID]++
	return true
}

func (s *Server) release(p Peer) {
	if p.Root() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns--
	if s.perUID[p.UID]--; s.perUID[p.UID] == 0 {
		delete(s.perUID, p.UID)
	}
}

// ServeConn serves one connection (not counted against the limits) until
// the peer closes it, it breaks the protocol, or ctx is done.
func (s *Server) ServeConn(ctx context.Context, nc net.Conn) {
	s.defaults()
	s.serveConn(ctx, nc, peerOf(nc))
}

// peerOf reads SO_PEERCRED of a Unix socket.
func peerOf(nc net.Conn) Peer {
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		return Peer{}
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Peer{}
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return Peer{}
	}
	return Peer{UID: cred.Uid, GID: cred.Gid, PID: cred.Pid, Known: true}
}

type conn struct {
	s    *Server
	nc   net.Conn
	wmu  sync.Mutex
	busy atomic.Bool
}

func (c *conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.s.WriteTimeout)); err != nil {
		return err
	}
	_, err := c.nc.Write(b)
	return err
}

func (c *conn) reply(params any, continues bool) error {
	r := struct {
		Parameters any  `json:"parameters,omitempty"`
		Continues  bool `json:"continues,omitempty"`
	}{params, continues}
	b, err := encode(r, c.s.MaxMessage)
	if err != nil {
		return err
	}
	return c.write(b)
}

func (c *conn) replyError(e *Error) error {
	r := struct {
		Parameters map[string]any `json:"parameters,omitempty"`
		Error      string         `json:"error"`
	}{e.Parameters, e.Name}
	b, err := encode(r, c.s.MaxMessage)
	if err != nil {
		return err
	}
	return c.write(b)
}

func (s *Server) serveConn(ctx context.Context, nc net.Conn, peer Peer) {
	s.open.Add(1)
	s.lastUse.Store(time.Now().UnixNano())
	defer func() {
		s.lastUse.Store(time.Now().UnixNano())
		s.open.Add(-1)
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer nc.Close()
	// Closing the socket is what ends a blocked read or write.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()

	c := &conn{s: s, nc: nc}
	type message struct {
		data []byte
		fds  []*os.File
	}
	msgs := make(chan message)
	var src io.Reader = nc
	var fr *fdReader
	if uc, ok := nc.(*net.UnixConn); ok {
		fr = &fdReader{uc: uc}
		src = fr
	}
	defer func() {
		// Descriptors of calls never handled. Cancel first: it closes
		// the socket, which ends the reader, which closes msgs.
		cancel()
		for m := range msgs {
			closeAll(m.fds)
		}
		if fr != nil {
			closeAll(fr.take())
		}
	}()
	go func() {
		// The reader reads at most one message ahead of the handler, so a
		// connection holds at most two messages in memory. It keeps
		// reading while a call runs, to notice the peer hanging up on a
		// Monitor stream (which cancels the call's context).
		defer close(msgs)
		defer cancel()
		r := newReader(src, s.MaxMessage)
		for {
			if err := nc.SetReadDeadline(time.Now().Add(s.IdleTimeout)); err != nil {
				return
			}
			msg, err := r.next(func(err error) bool {
				// Idle between messages while a call runs is fine.
				return errors.Is(err, os.ErrDeadlineExceeded) && c.busy.Load() &&
					nc.SetReadDeadline(time.Now().Add(s.IdleTimeout)) == nil
			})
			if err != nil {
				if !errors.Is(err, io.EOF) && ctx.Err() == nil {
					s.Log.Debug("varlink connection closed", "uid", peer.UID, "pid", peer.PID, "error", err)
				}
				return
			}
			m := message{data: msg}
			if fr != nil {
				m.fds = fr.take()
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				closeAll(m.fds)
				return
			}
		}
	}()
	for m := range msgs {
		err := s.handle(ctx, c, peer, m.data, m.fds)
		closeAll(m.fds)
		if err != nil {
			if ctx.Err() == nil {
				s.Log.Debug("varlink connection dropped", "uid", peer.UID, "pid", peer.PID, "error", err)
			}
			return
		}
	}
}

// handle serves one message. An error ends the connection: the peer broke
// the protocol, or the reply could not be written.
func (s *Server) handle(ctx context.Context, c *conn, peer Peer, msg []byte, fds []*os.File) error {
	var req Request
	if err := json.Unmarshal(msg, &req); err != nil {
		return fmt.Errorf("decode call: %w", err)
	}
	if req.Method == "" {
		return errors.New("call without a method")
	}
	call := &Call{Method: req.Method, Parameters: req.Parameters, More: req.More, Oneway: req.Oneway, Peer: peer, FDs: fds, c: c}
	fail := func(e *Error) error {
		if req.Oneway {
			return nil
		}
		return c.replyError(e)
	}
	if req.Upgrade {
		return fail(NewError(ErrInvalidParameter, "parameter", "upgrade"))
	}
	dot := strings.LastIndexByte(req.Method, '.')
	if dot <= 0 {
		return fail(NewError(ErrInterfaceNotFound, "interface", req.Method))
	}
	sv := s.ifaces[req.Method[:dot]]
	if sv == nil {
		return fail(NewError(ErrInterfaceNotFound, "interface", req.Method[:dot]))
	}
	m := sv.iface.Methods[req.Method[dot+1:]]
	if m == nil {
		return fail(NewError(ErrMethodNotFound, "method", req.Method))
	}
	h := sv.handlers[m.Name]
	if h == nil {
		return fail(NewError(ErrMethodNotImplemented, "method", req.Method))
	}
	if err := checkParams(sv.iface, m.In, req.Parameters); err != nil {
		var pe *paramError
		if errors.As(err, &pe) {
			return fail(NewError(ErrInvalidParameter, "parameter", pe.param))
		}
		return fail(NewError(ErrInvalidParameter, "parameter", "parameters"))
	}

	s.active.Add(1)
	c.busy.Store(true)
	s.lastUse.Store(time.Now().UnixNano())
	res, err := h(ctx, call)
	c.busy.Store(false)
	s.lastUse.Store(time.Now().UnixNano())
	s.active.Add(-1)

	if err != nil {
		var ve *Error
		if !errors.As(err, &ve) {
			s.Log.Error("varlink call failed", "method", req.Method, "uid", peer.UID, "pid", peer.PID, "error", err)
			name := sv.iface.Name + ".Failed"
			if sv.iface.Errors["Failed"] == nil {
				name = ErrMethodNotImplemented
			}
			ve = NewError(name, "message", err.Error())
		}
		if ctx.Err() != nil {
			return ctx.Err() // the peer left; nobody to tell
		}
		return fail(ve)
	}
	if req.Oneway {
		return nil
	}
	if err := c.reply(res, false); err != nil {
		if errors.Is(err, ErrMessageTooLarge) {
			return fail(NewError(sv.iface.Name+".Failed", "message", err.Error()))
		}
		return err
	}
	return nil
}
