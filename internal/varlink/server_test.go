package varlink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/bpf"
	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/manager"
	"github.com/bpfunit/bpfunit/internal/pins"
	"github.com/bpfunit/bpfunit/internal/service"
)

// recorder stands in for service.Service to test the transport: framing,
// parameter checks, authorization and the error names. What it does not
// prove, the testbed test does against the real service, systemd and
// kernel (TestVarlinkWithoutDBus in internal/e2e).
type recorder struct {
	mu      sync.Mutex
	calls   []string
	callers []service.Caller
	err     error // returned by every method when set
	units   []service.UnitInfo
	subs    []chan service.Change
	subbed  chan struct{}
	gone    chan struct{} // closed when a Changes ctx ends
	block   chan struct{} // Start waits on it when set
	entered chan struct{} // Start sends on it, when set, before it waits
	object  []byte        // what Replace read
}

func newRecorder() *recorder {
	return &recorder{
		units:  []service.UnitInfo{{Name: "demo", State: "attached", Description: "Demo", ActiveState: "active"}},
		subbed: make(chan struct{}, 8),
		gone:   make(chan struct{}, 8),
	}
}

func (r *recorder) record(c service.Caller, call string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call)
	r.callers = append(r.callers, c)
	return r.err
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func (r *recorder) obj() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.object
}

func (r *recorder) ListUnits(context.Context) ([]service.UnitInfo, error) {
	if err := r.record(service.Caller{}, "ListUnits"); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]service.UnitInfo(nil), r.units...), nil
}

func (r *recorder) GetUnit(_ context.Context, name string) (*manager.Status, error) {
	if err := r.record(service.Caller{}, "GetUnit "+name); err != nil {
		return nil, err
	}
	return &manager.Status{Name: name, State: "attached", Description: "Demo"}, nil
}

func (r *recorder) Start(ctx context.Context, c service.Caller, name string) (service.JobResult, error) {
	if err := r.record(c, "Start "+name); err != nil {
		return "", err
	}
	if r.entered != nil {
		r.entered <- struct{}{}
	}
	if r.block != nil {
		select {
		case <-r.block:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return service.JobDone, nil
}

func (r *recorder) Stop(_ context.Context, c service.Caller, name string) (service.JobResult, error) {
	return service.JobDone, r.record(c, "Stop "+name)
}

func (r *recorder) Reload(_ context.Context, c service.Caller, name string) (service.JobResult, error) {
	return service.JobFailed, r.record(c, "Reload "+name)
}

func (r *recorder) Detach(_ context.Context, c service.Caller, name, link string) error {
	return r.record(c, "Detach "+name+" "+link)
}

func (r *recorder) Replace(_ context.Context, c service.Caller, name, program string, f *os.File) (uint32, error) {
	if err := r.record(c, "Replace "+name+" "+program); err != nil {
		return 0, err
	}
	b, err := io.ReadAll(f)
	r.mu.Lock()
	r.object = b
	r.mu.Unlock()
	return 42, err
}

func (r *recorder) Changes(ctx context.Context) (<-chan service.Change, error) {
	ch := make(chan service.Change, 4)
	r.mu.Lock()
	r.subs = append(r.subs, ch)
	r.mu.Unlock()
	r.subbed <- struct{}{}
	go func() { <-ctx.Done(); r.gone <- struct{}{} }()
	return ch, nil
}

func (r *recorder) notify(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ch := range r.subs {
		ch <- service.Change{Unit: name}
	}
}

// serve starts a server of io.bpfunit.Manager over b on a socket in a
// temporary directory and returns the socket's path.
func serve(t *testing.T, b Backend, tune func(*Server)) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "io.bpfunit.Manager")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := NewManagerServer(b, nil)
	if tune != nil {
		tune(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after its context ended")
		}
	})
	return path
}

func dial(t *testing.T, path string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// raw sends bytes on a fresh connection and returns the replies read until
// the server closes the connection or n replies came.
func raw(t *testing.T, path string, send string, n int) ([]map[string]any, error) {
	t.Helper()
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(nc, send); err != nil {
		return nil, err
	}
	r := newReader(nc, DefaultMaxMessage)
	var out []map[string]any
	for len(out) < n {
		msg, err := r.next(nil)
		if err != nil {
			return out, err
		}
		var m map[string]any
		if err := json.Unmarshal(msg, &m); err != nil {
			t.Fatalf("reply %q is not JSON: %v", msg, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func wantError(t *testing.T, err error, name string, params ...string) *Error {
	t.Helper()
	var ve *Error
	if !errors.As(err, &ve) || ve.Name != name {
		t.Fatalf("error %v, want %s", err, name)
	}
	for i := 0; i+1 < len(params); i += 2 {
		if got := ve.Param(params[i]); got != params[i+1] {
			t.Fatalf("%s: parameter %s = %q, want %q", name, params[i], got, params[i+1])
		}
	}
	return ve
}

func TestGetInfoAndDescription(t *testing.T) {
	c := dial(t, serve(t, newRecorder(), nil))
	ctx := context.Background()
	var info struct {
		Vendor, Product, Version, URL string
		Interfaces                    []string
	}
	if err := c.Call(ctx, "org.varlink.service.GetInfo", nil, &info); err != nil {
		t.Fatal(err)
	}
	if info.Product != "bpfunitd" || info.Version == "" || strings.Join(info.Interfaces, ",") != "org.varlink.service,io.bpfunit.Manager" {
		t.Fatalf("GetInfo: %+v", info)
	}
	for _, name := range info.Interfaces {
		var d struct{ Description string }
		if err := c.Call(ctx, "org.varlink.service.GetInterfaceDescription", map[string]string{"interface": name}, &d); err != nil {
			t.Fatal(err)
		}
		iface, err := ParseInterface(d.Description)
		if err != nil {
			t.Fatalf("description of %s does not parse: %v", name, err)
		}
		if iface.Name != name {
			t.Fatalf("description of %s declares %s", name, iface.Name)
		}
	}
	err := c.Call(ctx, "org.varlink.service.GetInterfaceDescription", map[string]string{"interface": "org.example.none"}, nil)
	wantError(t, err, ErrInterfaceNotFound, "interface", "org.example.none")
}

func TestProtocolErrors(t *testing.T) {
	b := newRecorder()
	c := dial(t, serve(t, b, nil))
	ctx := context.Background()
	wantError(t, c.Call(ctx, "org.example.none.Foo", nil, nil), ErrInterfaceNotFound, "interface", "org.example.none")
	wantError(t, c.Call(ctx, "io.bpfunit.Manager.Explode", nil, nil), ErrMethodNotFound, "method", "io.bpfunit.Manager.Explode")
	wantError(t, c.Call(ctx, "NoDot", nil, nil), ErrInterfaceNotFound)
	for _, tc := range []struct {
		params any
		param  string
	}{
		{nil, "name"},
		{map[string]any{"name": 7}, "name"},
		{map[string]any{"name": "demo", "force": true}, "force"},
		{map[string]any{"name": "../etc"}, "name"},
		{map[string]any{"name": strings.Repeat("a", 300)}, "name"},
		{map[string]any{"name": "-x"}, "name"},
	} {
		wantError(t, c.Call(ctx, "io.bpfunit.Manager.GetUnit", tc.params, nil), ErrInvalidParameter, "parameter", tc.param)
	}
	wantError(t, c.Call(ctx, "io.bpfunit.Manager.Detach", map[string]any{"name": "demo", "link": ""}, nil), ErrInvalidParameter, "parameter", "link")
	wantError(t, c.Call(ctx, "io.bpfunit.Manager.Replace", map[string]any{"name": "demo", "program": "1x", "path": "/x"}, nil), ErrInvalidParameter, "parameter", "program")
	wantError(t, c.Call(ctx, "io.bpfunit.Manager.Replace", map[string]any{"name": "demo", "program": "p", "path": "rel/x.o"}, nil), ErrInvalidParameter, "parameter", "path")
	wantError(t, c.Call(ctx, "io.bpfunit.Manager.Monitor", nil, nil), ErrExpectedMore)
	// None of them reached the backend.
	if len(b.got()) != 0 {
		t.Fatalf("backend called: %v", b.got())
	}
	// The connection still works after all those errors.
	var lu struct{ Units []Unit }
	if err := c.Call(ctx, "io.bpfunit.Manager.ListUnits", nil, &lu); err != nil || len(lu.Units) != 1 || lu.Units[0].ActiveState != "active" {
		t.Fatalf("ListUnits: %+v, %v", lu, err)
	}
}

func TestWire(t *testing.T) {
	path := serve(t, newRecorder(), nil)
	// Parameters absent, null and {} mean the same (sd-varlink(3)).
	for _, p := range []string{``, `,"parameters":null`, `,"parameters":{}`} {
		out, err := raw(t, path, `{"method":"io.bpfunit.Manager.ListUnits"`+p+"}\x00", 1)
		if err != nil || out[0]["error"] != nil || out[0]["parameters"] == nil {
			t.Fatalf("parameters %q: %v, %v", p, out, err)
		}
	}
	// Pipelined calls, oneway among them: one reply per call without
	// oneway, in call order.
	out, err := raw(t, path,
		`{"method":"io.bpfunit.Manager.GetUnit","parameters":{"name":"a"}}`+"\x00"+
			`{"method":"io.bpfunit.Manager.GetUnit","parameters":{"name":"b"},"oneway":true}`+"\x00"+
			`{"method":"io.bpfunit.Manager.Explode"}`+"\x00"+
			`{"method":"io.bpfunit.Manager.GetUnit","parameters":{"name":"c"}}`+"\x00", 3)
	if err != nil {
		t.Fatal(err)
	}
	name := func(m map[string]any) string {
		p, _ := m["parameters"].(map[string]any)
		st, _ := p["status"].(map[string]any)
		s, _ := st["name"].(string)
		return s
	}
	if name(out[0]) != "a" || out[1]["error"] != ErrMethodNotFound || name(out[2]) != "c" {
		t.Fatalf("pipelined replies: %v", out)
	}
	// An error reply has the error's name and its parameters.
	out, _ = raw(t, path, `{"method":"io.bpfunit.Manager.Explode"}`+"\x00", 1)
	if p, _ := out[0]["parameters"].(map[string]any); p["method"] != "io.bpfunit.Manager.Explode" {
		t.Fatalf("error reply: %v", out)
	}
	// Broken protocol: the server hangs up, without a reply.
	for _, bad := range []string{"not json\x00", "{}\x00", `{"method":5}` + "\x00"} {
		out, err := raw(t, path, bad, 1)
		if len(out) != 0 || !errors.Is(err, io.EOF) {
			t.Fatalf("%q: replies %v, %v; want the connection closed", bad, out, err)
		}
	}
	// upgrade is not offered.
	out, _ = raw(t, path, `{"method":"io.bpfunit.Manager.ListUnits","upgrade":true}`+"\x00", 1)
	if out[0]["error"] != ErrInvalidParameter {
		t.Fatalf("upgrade: %v", out)
	}
}

func TestMessageCap(t *testing.T) {
	path := serve(t, newRecorder(), func(s *Server) { s.MaxMessage = 4096 })
	// A call larger than the cap: disconnected before the NUL arrives.
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	big := `{"method":"io.bpfunit.Manager.GetUnit","parameters":{"name":"` + strings.Repeat("a", 1<<20)
	_, werr := io.WriteString(nc, big)
	var buf [1]byte
	_, rerr := nc.Read(buf[:])
	if werr == nil && !errors.Is(rerr, io.EOF) {
		t.Fatalf("oversized call: write %v, read %v; want the connection closed", werr, rerr)
	}
	// The server still serves others.
	var lu struct{ Units []Unit }
	if err := dial(t, path).Call(context.Background(), "io.bpfunit.Manager.ListUnits", nil, &lu); err != nil {
		t.Fatal(err)
	}
	// A reply above the cap is an error reply, not a broken connection.
	b := newRecorder()
	for i := range 200 {
		b.units = append(b.units, service.UnitInfo{Name: fmt.Sprintf("unit%03d", i), Description: strings.Repeat("d", 40)})
	}
	c := dial(t, serve(t, b, func(s *Server) { s.MaxMessage = 4096 }))
	wantError(t, c.Call(context.Background(), "io.bpfunit.Manager.ListUnits", nil, nil), ErrFailed)
	if err := c.Call(context.Background(), "io.bpfunit.Manager.GetUnit", map[string]string{"name": "x"}, nil); err != nil {
		t.Fatalf("call after an oversized reply: %v", err)
	}
}

func TestIdleTimeout(t *testing.T) {
	const idle = 500 * time.Millisecond
	b := newRecorder()
	b.block = make(chan struct{})
	b.entered = make(chan struct{}, 1)
	path := serve(t, b, func(s *Server) { s.IdleTimeout = idle })
	// Half a message, then silence: closed after the idle timeout.
	nc, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, `{"method":`)
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var buf [1]byte
	if _, err := nc.Read(buf[:]); !errors.Is(err, io.EOF) {
		t.Fatalf("half a message: %v, want the connection closed", err)
	}
	// A call that runs longer than the idle timeout keeps its connection.
	// The clock starts when the handler runs, not when the test dials: under
	// CPU emulation (the kernel matrix) dialling alone can take a while.
	c := dial(t, path)
	go func() { <-b.entered; time.Sleep(3 * idle); close(b.block) }()
	var res struct{ Result string }
	if err := c.Call(context.Background(), "io.bpfunit.Manager.Start", map[string]string{"name": "demo"}, &res); err != nil || res.Result != "done" {
		t.Fatalf("long call: %+v, %v", res, err)
	}
}

func TestConnectionLimits(t *testing.T) {
	if os.Getuid() == 0 {
		// Root is exempt; a non-root peer is tested in
		// TestPeerConnectionLimit.
		path := serve(t, newRecorder(), func(s *Server) { s.MaxConns, s.MaxConnsPerUID = 1, 1 })
		for range 3 {
			c := dial(t, path)
			if err := c.Call(context.Background(), "io.bpfunit.Manager.ListUnits", nil, nil); err != nil {
				t.Fatalf("root over the limit: %v", err)
			}
		}
		return
	}
	path := serve(t, newRecorder(), func(s *Server) { s.MaxConnsPerUID = 2 })
	c1, c2 := dial(t, path), dial(t, path)
	for _, c := range []*Client{c1, c2} {
		if err := c.Call(context.Background(), "io.bpfunit.Manager.ListUnits", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := dial(t, path).Call(context.Background(), "io.bpfunit.Manager.ListUnits", nil, nil); err == nil {
		t.Fatal("third connection of one uid served, want it closed")
	}
}

func TestChangesNeedRoot(t *testing.T) {
	// The handlers decide on the peer the kernel reported; here a call
	// as a non-root peer would see it (a real one: TestUnprivilegedPeer).
	b := newRecorder()
	h := &handlers{b: b}
	for _, tc := range []struct {
		method string
		fn     Handler
		params string
	}{
		{"Start", h.job((Backend).Start), `{"name":"demo"}`},
		{"Stop", h.job((Backend).Stop), `{"name":"demo"}`},
		{"Reload", h.job((Backend).Reload), `{"name":"demo"}`},
		{"Detach", h.detach, `{"name":"demo","link":"x@y"}`},
		{"Replace", h.replace, `{"name":"demo","program":"p","path":"/etc/passwd"}`},
	} {
		for _, peer := range []Peer{{UID: 1000, Known: true}, {UID: 0, Known: false}} {
			_, err := tc.fn(context.Background(), &Call{Method: ManagerInterface + "." + tc.method, Parameters: json.RawMessage(tc.params), Peer: peer})
			wantError(t, err, ErrPermissionDenied, "method", ManagerInterface+"."+tc.method)
		}
	}
	if len(b.got()) != 0 {
		t.Fatalf("backend called: %v", b.got())
	}
	for _, fn := range []Handler{h.listUnits, h.getUnit} {
		if _, err := fn(context.Background(), &Call{Parameters: json.RawMessage(`{"name":"demo"}`), Peer: Peer{UID: 1000, Known: true}}); err != nil {
			t.Fatalf("read as non-root: %v", err)
		}
	}
}

func TestRootChanges(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("changes need a root peer: run as root (CI does)")
	}
	b := newRecorder()
	c := dial(t, serve(t, b, nil))
	ctx := context.Background()
	var res struct{ Result string }
	for _, m := range []string{"Start", "Stop", "Reload"} {
		if err := c.Call(ctx, "io.bpfunit.Manager."+m, map[string]string{"name": "demo"}, &res); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
	}
	if res.Result != "failed" { // the recorder's Reload result, passed on
		t.Fatalf("Reload result %q", res.Result)
	}
	if err := c.Call(ctx, "io.bpfunit.Manager.Detach", map[string]string{"name": "demo", "link": "xdp_count@eth0"}, nil); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(t.TempDir(), "new.o")
	os.WriteFile(obj, []byte("\x7fELF..."), 0o644)
	var rep struct {
		ProgID uint32 `json:"prog_id"`
	}
	if err := c.Call(ctx, "io.bpfunit.Manager.Replace", map[string]string{"name": "demo", "program": "xdp_count", "path": obj}, &rep); err != nil || rep.ProgID != 42 {
		t.Fatalf("Replace: %+v, %v", rep, err)
	}
	if string(b.obj()) != "\x7fELF..." {
		t.Fatalf("Replace read %q from the file", b.obj())
	}
	want := "Start demo,Stop demo,Reload demo,Detach demo xdp_count@eth0,Replace demo xdp_count"
	if got := strings.Join(b.got(), ","); got != want {
		t.Fatalf("calls %s, want %s", got, want)
	}
	b.mu.Lock()
	callers := b.callers
	b.mu.Unlock()
	for _, cl := range callers {
		if cl.UID != 0 || cl.PID != uint32(os.Getpid()) {
			t.Fatalf("caller %+v, want uid 0 pid %d (SO_PEERCRED)", cl, os.Getpid())
		}
	}
	// Replace opens the path itself: what is not a regular file below the
	// cap is refused before the backend sees it.
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := mkfifo(fifo); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "big.o")
	f, _ := os.Create(big)
	f.Truncate(service.MaxObjectSize + 1)
	f.Close()
	for _, p := range []string{"/dev/zero", fifo, big, t.TempDir(), "/nonexistent/x.o"} {
		err := c.Call(ctx, "io.bpfunit.Manager.Replace", map[string]string{"name": "demo", "program": "xdp_count", "path": p}, nil)
		wantError(t, err, ErrInvalidObject)
	}
	if len(b.got()) != 5 {
		t.Fatalf("backend called for a bad path: %v", b.got()[5:])
	}
}

func TestErrorNames(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("changes need a root peer: run as root (CI does)")
	}
	// Errors as the manager and config packages make them, classified
	// by service.KindOf.
	for _, tc := range []struct {
		err  error
		name string
	}{
		{fmt.Errorf("load demo: %w", config.ErrNotFound), ErrNoSuchUnit},
		{fmt.Errorf("unit demo: %w", manager.ErrNotStarted), ErrNotRunning},
		{fmt.Errorf("demo: %w", config.ErrMasked), ErrInvalidConfig},
		{&config.Error{File: "/etc/bpfunit/demo.bpfunit", Line: 3, Key: "Type", Msg: "bad"}, ErrInvalidConfig},
		{fmt.Errorf("%w: not ELF", service.ErrInvalidObject), ErrInvalidObject},
		{fmt.Errorf("demo: %w", manager.ErrAlreadyStarted), ErrConflict},
		{errors.New("something else\nsecond line"), ErrFailed},
	} {
		b := newRecorder()
		b.err = tc.err
		c := dial(t, serve(t, b, nil))
		err := c.Call(context.Background(), "io.bpfunit.Manager.Start", map[string]string{"name": "demo"}, nil)
		ve := wantError(t, err, tc.name)
		if msg := ve.Param("message"); msg == "" || strings.Contains(msg, "\n") {
			t.Fatalf("%s: message %q, want one line", tc.name, msg)
		}
		if tc.name == ErrNoSuchUnit && ve.Param("name") != "demo" {
			t.Fatalf("NoSuchUnit without the name: %v", ve.Parameters)
		}
		if tc.name == ErrFailed && ve.Param("kind") != "failed" {
			t.Fatalf("Failed: kind %q", ve.Param("kind"))
		}
		if !strings.HasPrefix(err.Error(), tc.name+": ") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("error text %q: want one line starting with the name", err)
		}
	}
}

func TestMonitor(t *testing.T) {
	b := newRecorder()
	path := serve(t, b, nil)
	c := dial(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	replies := make(chan json.RawMessage, 8)
	done := make(chan error, 1)
	go func() {
		done <- c.CallMore(ctx, "io.bpfunit.Manager.Monitor", nil, func(r json.RawMessage) error {
			replies <- r
			return nil
		})
	}()
	next := func() map[string]json.RawMessage {
		t.Helper()
		select {
		case r := <-replies:
			var m map[string]json.RawMessage
			json.Unmarshal(r, &m)
			return m
		case <-time.After(5 * time.Second):
			t.Fatal("no reply from Monitor")
			return nil
		}
	}
	first := next()
	if !strings.Contains(string(first["units"]), `"demo"`) {
		t.Fatalf("first reply %v, want the unit list", first)
	}
	b.notify("demo")
	if got := string(next()["changed"]); !strings.Contains(got, `"state":"attached"`) {
		t.Fatalf("change: %s", got)
	}
	b.mu.Lock()
	b.units = nil
	b.mu.Unlock()
	b.notify("demo")
	if got := string(next()["changed"]); !strings.Contains(got, `"state":"removed"`) {
		t.Fatalf("change of a removed unit: %s", got)
	}
	// Hanging up ends the call in the server: its subscription goes.
	c.Close()
	select {
	case <-b.gone:
	case <-time.After(5 * time.Second):
		t.Fatal("Monitor still subscribed after the peer hung up")
	}
	<-done
}

func TestRealServiceReads(t *testing.T) {
	// The real service.Service over a manager on temporary directories:
	// reads need no root, no bpffs and no systemd, and give what the
	// manager gives (the CLI reads the manager directly: same answers).
	dir := t.TempDir()
	for _, d := range []string{"etc", "obj", "run"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	obj, err := bpf.Object("xdp_counter")
	if err != nil {
		t.Fatal(err)
	}
	objPath := filepath.Join(dir, "obj", "xdp_counter.bpf.o")
	os.WriteFile(objPath, obj, 0o644)
	os.WriteFile(filepath.Join(dir, "etc", "demo.bpfunit"), []byte("[Unit]\nDescription=Demo counter\n[Object]\nPath="+objPath+
		"\n[Attach]\nProgram=xdp_count\nType=xdp\nInterface=lo\n"), 0o644)
	m := &manager.Manager{Root: pins.Root(filepath.Join(dir, "nobpffs")), RunDir: filepath.Join(dir, "run"),
		ConfigDirs: []string{filepath.Join(dir, "etc")}, Log: slog.New(slog.DiscardHandler)}
	s := service.New(m, nil)
	defer s.Close()
	c := dial(t, serve(t, s, nil))
	ctx := context.Background()
	var lu struct{ Units []Unit }
	if err := c.Call(ctx, "io.bpfunit.Manager.ListUnits", nil, &lu); err != nil {
		t.Fatal(err)
	}
	if len(lu.Units) != 1 || lu.Units[0].Name != "demo" || lu.Units[0].Description != "Demo counter" || lu.Units[0].State == "" {
		t.Fatalf("units %+v", lu.Units)
	}
	var gu struct{ Status json.RawMessage }
	if err := c.Call(ctx, "io.bpfunit.Manager.GetUnit", map[string]string{"name": "demo"}, &gu); err != nil {
		t.Fatal(err)
	}
	st, err := m.Status(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := json.Marshal(st)
	if string(gu.Status) != string(direct) {
		t.Fatalf("GetUnit %s\nmanager    %s", gu.Status, direct)
	}
	err = c.Call(ctx, "io.bpfunit.Manager.GetUnit", map[string]string{"name": "missing"}, nil)
	wantError(t, err, ErrNoSuchUnit, "name", "missing")
}

func mkfifo(path string) error { return unix.Mkfifo(path, 0o600) }

func TestIdle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := Start(ctx, ln, newRecorder(), nil)
	c := dial(t, path)
	if err := c.Call(ctx, "org.varlink.service.GetInfo", nil, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if r.Idle() != 0 {
		t.Fatalf("idle %v with a connection open", r.Idle())
	}
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for r.Idle() < 10*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatal("not idle after the connection closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := r.Wait(); err != nil {
		t.Fatal(err)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func TestPassedFDs(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("Replace needs a root peer: run as root (CI does)")
	}
	b := newRecorder()
	path := serve(t, b, nil)
	c := dial(t, path)
	ctx := context.Background()
	obj := filepath.Join(t.TempDir(), "new.o")
	os.WriteFile(obj, []byte("\x7fELF passed"), 0o644)
	f, err := os.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	time.Sleep(50 * time.Millisecond) // connections of earlier tests close
	before := openFDs(t)
	var rep struct {
		ProgID uint32 `json:"prog_id"`
	}
	if err := c.CallFDs(ctx, "io.bpfunit.Manager.Replace", map[string]any{"name": "demo", "program": "p", "fd": 0}, []*os.File{f}, &rep); err != nil || rep.ProgID != 42 {
		t.Fatalf("Replace with a passed fd: %+v, %v", rep, err)
	}
	if string(b.obj()) != "\x7fELF passed" {
		t.Fatalf("Replace read %q", b.obj())
	}
	for _, tc := range []struct {
		params map[string]any
		fds    []*os.File
		param  string
	}{
		{map[string]any{"name": "demo", "program": "p", "fd": 1}, []*os.File{f}, "fd"},
		{map[string]any{"name": "demo", "program": "p", "fd": 0}, nil, "fd"},
		{map[string]any{"name": "demo", "program": "p", "fd": 0, "path": obj}, []*os.File{f}, "fd"},
		{map[string]any{"name": "demo", "program": "p", "fd": -1}, []*os.File{f}, "fd"},
	} {
		err := c.CallFDs(ctx, "io.bpfunit.Manager.Replace", tc.params, tc.fds, nil)
		wantError(t, err, ErrInvalidParameter, "parameter", tc.param)
	}
	// Descriptors passed with any call are closed after it: none is kept.
	if err := c.CallFDs(ctx, "io.bpfunit.Manager.ListUnits", nil, []*os.File{f, f}, nil); err != nil {
		t.Fatal(err)
	}
	waitFDs(t, before, "the calls")
	// More than MaxFDs: the connection is closed, the server goes on.
	many := make([]*os.File, MaxFDs+1)
	for i := range many {
		many[i] = f
	}
	c2, err := Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.CallFDs(ctx, "io.bpfunit.Manager.ListUnits", nil, many, nil); err == nil {
		t.Fatal("call with too many descriptors answered")
	}
	c2.Close()
	if err := c.Call(ctx, "io.bpfunit.Manager.ListUnits", nil, nil); err != nil {
		t.Fatal(err)
	}
	waitFDs(t, before, "a refused call")
}

// waitFDs waits for the process to have at most want descriptors open
// (other tests' connections may still be closing).
func waitFDs(t *testing.T, want int, after string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for openFDs(t) > want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := openFDs(t); n > want {
		t.Fatalf("%d descriptors open after %s, %d before", n, after, want)
	}
}
