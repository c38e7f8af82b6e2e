package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	sddbus "github.com/coreos/go-systemd/v22/dbus"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/manager"
)

// Caller identifies who asked, for the journal.
type Caller struct {
	UID     uint32
	PID     uint32
	BusName string // "" over Varlink
}

func (c Caller) attrs() []any {
	a := []any{"caller_uid", c.UID, "caller_pid", c.PID}
	if c.BusName != "" {
		a = append(a, "caller_bus_name", c.BusName)
	}
	return a
}

// Service runs the operations of bpfunitd. Its methods may be called
// concurrently.
type Service struct {
	m   *manager.Manager
	log *slog.Logger

	mu sync.Mutex
	sd *sddbus.Conn // systemd, connected on first use
}

// New returns a Service over m. log receives the journal records of every
// change.
func New(m *manager.Manager, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{m: m, log: log}
}

// Manager is the manager the Service runs on.
func (s *Service) Manager() *manager.Manager { return s.m }

// Close releases the connection to systemd.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sd != nil {
		s.sd.Close()
		s.sd = nil
	}
}

// ServiceName is the systemd unit of bpfunit unit name.
func ServiceName(name string) string { return "bpf@" + name + ".service" }

// systemd returns the connection to systemd, (re)connecting when there is
// none or it broke (dbus-daemon restarted).
func (s *Service) systemd(ctx context.Context) (*sddbus.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sd != nil && s.sd.Connected() {
		return s.sd, nil
	}
	if s.sd != nil {
		s.sd.Close()
		s.sd = nil
	}
	c, err := sddbus.NewSystemConnectionContext(ctx)
	if err != nil {
		// No system bus (a container, dbus-daemon stopped): systemd's
		// private socket, root only. There systemd sends job signals only
		// to connections that subscribed.
		var perr error
		c, perr = sddbus.NewSystemdConnectionContext(ctx)
		if perr != nil {
			return nil, fmt.Errorf("connect to systemd: %w (private socket: %v)", err, perr)
		}
		// (Subscribe has no *Context form in go-systemd v22.7.0.)
		if err := c.Subscribe(); err != nil {
			c.Close()
			return nil, fmt.Errorf("subscribe to systemd's job signals: %w", err)
		}
	}
	s.sd = c
	return c, nil
}

// UnitInfo is one row of ListUnits.
type UnitInfo struct {
	Name, State, Description string
	// Reason explains State (manager.Status.Reason, or why the unit
	// could not be read).
	Reason string
	// ActiveState is systemd's word for bpf@NAME.service: active,
	// inactive, failed, activating... "" from Summaries.
	ActiveState string
}

// Summaries lists every unit the manager knows (configured ones, stopped
// ones too, and ones with pins but no config) with bpfunit's state, from
// the manager's cheap listing (no program or map is read) and without
// asking systemd: D-Bus ListUnits has no column for systemd's state.
func (s *Service) Summaries(ctx context.Context) ([]UnitInfo, error) {
	sums, err := s.m.Summaries(ctx)
	if err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	out := make([]UnitInfo, 0, len(sums))
	for _, u := range sums {
		reason := u.Reason
		if reason == "" {
			reason = u.Err
		}
		out = append(out, UnitInfo{Name: u.Name, State: string(u.State), Description: u.Description, Reason: reason})
	}
	return out, nil
}

// ListUnits is Summaries with systemd's state of each unit's service.
// Without systemd, ActiveState is "".
func (s *Service) ListUnits(ctx context.Context) ([]UnitInfo, error) {
	// systemd answers while the manager reads the units: the call is a
	// millisecond of round trip and of systemd's time.
	ch := make(chan map[string]string, 1)
	go func() {
		active := map[string]string{}
		if sd, err := s.systemd(ctx); err == nil {
			if us, err := sd.ListUnitsByPatternsContext(ctx, nil, []string{"bpf@*.service"}); err == nil {
				for _, u := range us {
					active[u.Name] = u.ActiveState
				}
			}
		}
		ch <- active
	}()
	out, err := s.Summaries(ctx)
	active := <-ch
	if err != nil {
		return nil, err
	}
	for i := range out {
		as, ok := active[ServiceName(out[i].Name)]
		if !ok && len(active) > 0 {
			as = "inactive" // systemd has not loaded it: never started
		}
		out[i].ActiveState = as
	}
	return out, nil
}

// GetUnit returns the status of one unit.
func (s *Service) GetUnit(ctx context.Context, name string) (*manager.Status, error) {
	if err := config.ValidateName(name); err != nil {
		return nil, err
	}
	return s.m.Status(ctx, name)
}

// Start asks systemd to start bpf@NAME.service and waits for the job.
func (s *Service) Start(ctx context.Context, c Caller, name string) (JobResult, error) {
	return s.job(ctx, c, "start", name, (*sddbus.Conn).StartUnitContext)
}

// Stop asks systemd to stop bpf@NAME.service and waits for the job.
func (s *Service) Stop(ctx context.Context, c Caller, name string) (JobResult, error) {
	return s.job(ctx, c, "stop", name, (*sddbus.Conn).StopUnitContext)
}

// Reload asks systemd to reload bpf@NAME.service and waits for the job.
func (s *Service) Reload(ctx context.Context, c Caller, name string) (JobResult, error) {
	return s.job(ctx, c, "reload", name, (*sddbus.Conn).ReloadUnitContext)
}

type jobFunc func(c *sddbus.Conn, ctx context.Context, name, mode string, ch chan<- string) (int, error)

func (s *Service) job(ctx context.Context, c Caller, verb, name string, run jobFunc) (JobResult, error) {
	if err := config.ValidateName(name); err != nil {
		return "", err
	}
	// A name with neither config nor pins is no unit: say so instead of
	// letting systemd run a oneshot that fails with "not configured".
	before, err := s.m.Status(ctx, name)
	if err != nil {
		return "", err
	}
	sd, err := s.systemd(ctx)
	if err != nil {
		return "", err
	}
	ch := make(chan string, 1)
	if _, err := run(sd, ctx, ServiceName(name), "replace", ch); err != nil {
		return "", fmt.Errorf("%s %s: %w", verb, ServiceName(name), err)
	}
	var res JobResult
	select {
	case r := <-ch:
		res = JobResult(r)
	case <-ctx.Done():
		// The job goes on in systemd; go-systemd drops its listener when
		// the job ends (ch is buffered, nothing blocks).
		return "", fmt.Errorf("wait for %s job of %s: %w", verb, ServiceName(name), ctx.Err())
	}
	after, _ := s.m.Status(ctx, name)
	s.log.Info("unit "+verb, append(c.attrs(), "unit", name, "job_result", string(res),
		"before", programsOf(before), "after", programsOf(after))...)
	return res, nil
}

// Detach removes one link of a running unit; the unit stays active.
func (s *Service) Detach(ctx context.Context, c Caller, name, link string) error {
	if err := config.ValidateName(name); err != nil {
		return err
	}
	before, err := s.m.Status(ctx, name)
	if err != nil {
		return err
	}
	if err := s.m.Detach(ctx, name, link); err != nil {
		return err
	}
	s.log.Info("link detached", append(c.attrs(), "unit", name, "link", link, "before", programsOf(before))...)
	return nil
}

// Replace swaps program of a running unit for the same-named program of
// the object in f, keeping the unit's maps. f must be a regular file of
// at most MaxObjectSize bytes; it is read within ReadTimeout.
func (s *Service) Replace(ctx context.Context, c Caller, name, program string, f *os.File) (newProgID uint32, err error) {
	if err := config.ValidateName(name); err != nil {
		return 0, err
	}
	if err := ValidateProgram(program); err != nil {
		return 0, err
	}
	obj, err := readObject(ctx, f)
	if err != nil {
		return 0, err
	}
	if err := hasProgram(obj, program); err != nil {
		return 0, fmt.Errorf("replace %s in unit %s: %w", program, name, err)
	}
	before, err := s.m.Status(ctx, name)
	if err != nil {
		return 0, err
	}
	st, err := s.m.Replace(ctx, name, program, bytes.NewReader(obj))
	if err != nil {
		return 0, err
	}
	for _, l := range st.Links {
		if l.Program == program {
			newProgID = l.ProgID
			break
		}
	}
	s.log.Info("program replaced", append(c.attrs(), "unit", name, "program", program,
		"before", programsOf(before), "after", programsOfState(st))...)
	return newProgID, nil
}

// Changes delivers the name of every unit that changed, whoever changed
// it (this Service, the oneshot under systemd, another bpfunit process),
// until ctx is done: the manager's Watch.
func (s *Service) Changes(ctx context.Context) (<-chan Change, error) {
	return s.m.Watch(ctx)
}

// ErrInvalidProgram is returned for a program name that can't be one.
var ErrInvalidProgram = errors.New("invalid program name")

// ValidateProgram checks a program name given by a caller: a C identifier,
// as the ELF symbol of a BPF program is.
func ValidateProgram(p string) error {
	if p == "" || len(p) > 255 {
		return fmt.Errorf("%w: %d bytes long", ErrInvalidProgram, len(p))
	}
	for i, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || i > 0 && r >= '0' && r <= '9') {
			return fmt.Errorf("%w %q: want a C identifier", ErrInvalidProgram, p)
		}
	}
	return nil
}
