// Package state reads and writes /run/bpfunit/state/NAME.json: what a start
// attached (ids, tags, digests), for status and for deciding whether a
// second start is the same config (adopt) or a different one (reload).
//
// It also records what only bpfunit knows: links detached on purpose
// (Link.Detached), and, in share.go, which units use a ShareMap= map.
//
// The file is advisory: the pins are the truth about what is attached. It is
// written atomically (temp file + rename) before a start commits, so a crash
// leaves either the old file or the new one, never half of one.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrCorrupt is wrapped by Read's error for a state file that cannot be
// parsed.
var ErrCorrupt = errors.New("corrupt")

// Unit is the state of one started unit.
type Unit struct {
	Name         string    `json:"name"`
	ConfigPath   string    `json:"config_path"`
	ConfigDigest string    `json:"config_digest"`
	ObjectPath   string    `json:"object_path"`
	ObjectDigest string    `json:"object_digest"`
	Started      time.Time `json:"started"`
	Reloaded     time.Time `json:"reloaded,omitzero"`
	Links        []Link    `json:"links"`
	// SharedMaps are bpffs paths of ShareMap= maps this unit uses.
	SharedMaps []string `json:"shared_maps,omitempty"`
	// ReloadPending is set while a reload swaps links. Found set, it means
	// a reload was killed halfway: some links may run new programs, some
	// old ones, and the ids above are not to be trusted.
	ReloadPending bool `json:"reload_pending,omitempty"`
	// KeepMaps is the config's KeepMaps=, remembered so that a stop
	// after the config was deleted still honours it.
	KeepMaps bool `json:"keep_maps,omitempty"`
}

// Link is one attachment.
type Link struct {
	Pin     string `json:"pin"`
	Program string `json:"program"`
	Type    string `json:"type"`
	Target  string `json:"target"`
	LinkID  uint32 `json:"link_id"`
	ProgID  uint32 `json:"prog_id"`
	ProgTag string `json:"prog_tag"`
	// LastSwap is "atomic" (BPF_LINK_UPDATE), "make-before-break" or empty
	// when the link was never replaced.
	LastSwap string `json:"last_swap,omitempty"`
	// Detached is set when Detach removed the link on purpose: its pin is
	// gone, the entry stays so that status shows it and reload or
	// restart brings it back.
	Detached bool `json:"detached,omitempty"`
}

// Dir is the state directory below the run dir.
func Dir(runDir string) string { return filepath.Join(runDir, "state") }

func path(runDir, name string) string { return filepath.Join(Dir(runDir), name+".json") }

// Read returns the state of name, or an error wrapping os.ErrNotExist, or
// one wrapping ErrCorrupt that names the file and the parse error.
func Read(runDir, name string) (*Unit, error) {
	data, err := os.ReadFile(path(runDir, name))
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var u Unit
	if err := json.Unmarshal(data, &u); err != nil {
		return nil, fmt.Errorf("state file %s: %w: %w", path(runDir, name), ErrCorrupt, err)
	}
	if u.Name != name {
		return nil, fmt.Errorf("state file %s: %w: it names unit %q", path(runDir, name), ErrCorrupt, u.Name)
	}
	return &u, nil
}

// Write replaces the state of u.Name atomically.
func Write(runDir string, u *Unit) error {
	if err := os.MkdirAll(Dir(runDir), 0o755); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	data, err := json.MarshalIndent(u, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp, err := os.CreateTemp(Dir(runDir), "."+u.Name+".*.tmp")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path(runDir, u.Name)); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// Remove deletes the state of name; a missing file is not an error.
func Remove(runDir, name string) error {
	if err := os.Remove(path(runDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove state: %w", err)
	}
	return nil
}

// List reads every state file. A file that cannot be read is left out and
// its error joined into the error returned with the others.
func List(runDir string) ([]*Unit, error) {
	files, err := filepath.Glob(filepath.Join(Dir(runDir), "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*Unit
	var errs []error
	for _, f := range files {
		name := filepath.Base(f)
		u, err := Read(runDir, name[:len(name)-len(".json")])
		if errors.Is(err, os.ErrNotExist) {
			continue // removed since the glob
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, u)
	}
	return out, errors.Join(errs...)
}

// Names returns the unit names that have a state file, readable or not.
func Names(runDir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(Dir(runDir), "*.json"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	return names, nil
}
