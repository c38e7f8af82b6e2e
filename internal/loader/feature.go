package loader

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/bpfunit/bpfunit/internal/attach"
	"github.com/bpfunit/bpfunit/internal/config"
)

// vmlinuxBTF is the kernel's own BTF.
const vmlinuxBTF = "/sys/kernel/btf/vmlinux"

// scanKernelBTF reports which of names occur in the string section of the
// kernel's BTF, and false for known when the kernel has no BTF. An enum
// value's name is there exactly when the kernel has the value. Parsing all
// of vmlinux's BTF would cost ~12 ms of every start, reading the whole
// string section ~2 ms; the scan stops as soon as every name was seen, so
// on a kernel that has the features it reads a fraction of it. kernelHas
// (featurecache.go) caches the answers per boot.
func scanKernelBTF(names []string) (found map[string]bool, known bool) {
	f, err := os.Open(vmlinuxBTF)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	// struct btf_header: magic u16, version u8, flags u8, hdr_len u32,
	// type_off u32, type_len u32, str_off u32, str_len u32.
	var hdr [24]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return nil, false
	}
	bo := binary.NativeEndian
	if bo.Uint16(hdr[0:]) != 0xeb9f {
		return nil, false
	}
	hdrLen, strOff, strLen := bo.Uint32(hdr[4:]), bo.Uint32(hdr[16:]), bo.Uint32(hdr[20:])
	r := io.NewSectionReader(f, int64(hdrLen)+int64(strOff), int64(strLen))

	found = map[string]bool{}
	overlap := 0
	for _, n := range names {
		overlap = max(overlap, len(n)+2)
	}
	buf := make([]byte, 0, 256<<10+overlap)
	chunk := make([]byte, 256<<10)
	for len(found) < len(names) {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for _, name := range names {
			if !found[name] && bytes.Contains(buf, []byte("\x00"+name+"\x00")) {
				found[name] = true
			}
		}
		if err != nil {
			break
		}
		// Keep the tail: a name may straddle two chunks.
		buf = append(buf[:0], buf[max(0, len(buf)-overlap):]...)
	}
	return found, true
}

// UnsupportedError is an attach type whose kernel feature this kernel
// lacks. It matches ErrUnsupported.
type UnsupportedError struct {
	Type    config.AttachType
	Feature attach.Feature
	// Release is the running kernel's, as uname -r.
	Release string
}

func (e *UnsupportedError) Error() string {
	f := e.Feature
	if f.Since == "" {
		return fmt.Sprintf("Type=%s needs %s, and this kernel (%s) was built without them (%s)", e.Type, f.What, e.Release, f.Option)
	}
	return fmt.Sprintf("Type=%s needs %s, new in Linux %s; this kernel is %s", e.Type, f.What, f.Since, e.Release)
}

// Is makes the error match ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// Preflight checks every attachment's kernel features before anything is
// loaded, so an unsupported type fails without touching the kernel. Each
// type missing a feature gives one *UnsupportedError; they are joined.
func Preflight(plan []*Attachment) error {
	var names []string
	var kinds []*attach.Type
	for _, a := range plan {
		k := attach.Lookup(a.Type)
		if k == nil || slices.Contains(kinds, k) {
			continue
		}
		kinds = append(kinds, k)
		for _, f := range k.Needs {
			if !slices.Contains(names, f.BTF) {
				names = append(names, f.BTF)
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	found, known := kernelHas(names)
	if !known {
		return nil
	}
	var errs []error
	for _, k := range kinds {
		for _, f := range k.Needs {
			if !found[f.BTF] {
				errs = append(errs, &UnsupportedError{Type: k.Name, Feature: f, Release: kernelRelease()})
				break
			}
		}
	}
	return joinErrors(errs)
}

// joinErrors is errors.Join on one line.
func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return multiError(errs)
}

type multiError []error

func (m multiError) Error() string {
	s := make([]string, len(m))
	for i, e := range m {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

func (m multiError) Unwrap() []error { return m }

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return strings.TrimRight(string(u.Release[:]), "\x00")
}
