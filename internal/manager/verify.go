package manager

import (
	"context"
	"fmt"

	"github.com/bpfunit/bpfunit/internal/config"
	"github.com/bpfunit/bpfunit/internal/loader"
)

// VerifyResult says what a verify loaded.
type VerifyResult struct {
	Unit     string   `json:"unit"`
	Object   string   `json:"object"`
	Programs []string `json:"programs"`
	Attach   []string `json:"attach"`
}

// Verify parses u's object, plans its attachments, checks the kernel has
// every attach type, and loads the programs into the kernel (so the
// verifier runs) without pinning or attaching anything; everything is
// closed again before it returns.
func (m *Manager) Verify(ctx context.Context, u *config.Unit) (*VerifyResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	spec, err := readObject(u.Object.Path)
	if err != nil {
		return nil, err
	}
	plan, err := loader.Plan(u, spec)
	if err != nil {
		return nil, err
	}
	if err := loader.Preflight(plan); err != nil {
		return nil, fmt.Errorf("unit %s: %w", u.Name, err)
	}
	loaded, err := loader.Load(spec, loader.LoadOptions{
		Programs:  programsOf(plan),
		Constants: u.Object.Constants,
		Prepare:   loader.Prepare(plan),
		NoPin:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("unit %s: %w", u.Name, err)
	}
	loaded.Close()
	res := &VerifyResult{Unit: u.Name, Object: u.Object.Path, Programs: programsOf(plan)}
	for _, a := range plan {
		res.Attach = append(res.Attach, a.String())
	}
	return res, nil
}
