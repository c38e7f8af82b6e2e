package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/unit"
)

// FuzzParse feeds a main file and one drop-in to Parse. Seeds are in
// testdata/fuzz/FuzzParse. Besides "no panic" it checks the error contract
// and that the line scanner agrees with go-systemd on every file both accept.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal+"Type=xdp\nInterface=eth0\n"), []byte("[Attach]\nProgram=p\nMode=generic\n"))
	f.Fuzz(func(t *testing.T, main, dropIn []byte) {
		files := []File{{Path: "/etc/bpfunit/f.bpfunit", Data: main}, {Path: "/etc/bpfunit/f.bpfunit.d/a.conf", Data: dropIn}}
		u, err := Parse("f", files)
		if err != nil {
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("error is not one line: %q", msg)
			}
			var ce *Error
			if !errors.As(err, &ce) && !errors.Is(err, ErrInvalidName) && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrMasked) {
				t.Fatalf("error %q (%T) is neither *Error nor a sentinel", msg, err)
			}
		} else {
			if len(u.Digest) != 64 || len(u.Attach) == 0 || u.Object.Path == "" {
				t.Fatalf("incomplete unit %+v", u)
			}
			u2, err := Parse("f", files)
			if err != nil || u2.Digest != u.Digest {
				t.Fatalf("not deterministic: %v, %s vs %s", err, u2.Digest, u.Digest)
			}
		}
		for _, data := range [][]byte{main, dropIn} {
			checkScanAgrees(t, data)
		}
	})
}

// checkScanAgrees: where go-systemd and scanLines both accept a file,
// they see the same sections and keys in the same order.
func checkScanAgrees(t *testing.T, data []byte) {
	secs, err := unit.DeserializeSections(bytes.NewReader(data))
	marks, prob := scanLines(data)
	switch {
	case err != nil && prob == nil:
		t.Fatalf("go-systemd rejects (%v), scanner accepts: the error would have no line", err)
	case err == nil && prob != nil && prob.goToo && prob.line > 0 &&
		prob.msg != unit.ErrLineTooLong.Error() && !strings.Contains(prob.msg, "closing ']'"):
		// go-systemd's line-length check depends on its buffer, and it
		// lets a section name span lines; anything else claimed shared must be.
		t.Fatalf("scanner: %q at line %d, go-systemd accepts", prob.msg, prob.line)
	case err != nil || prob != nil:
		return
	}
	var want []mark
	for _, s := range secs {
		want = append(want, mark{section: true, name: s.Section})
		for _, e := range s.Entries {
			want = append(want, mark{name: e.Name})
		}
	}
	if len(want) != len(marks) {
		t.Fatalf("go-systemd sees %d sections and keys, scanner %d:\n%+v\n%+v", len(want), len(marks), want, marks)
	}
	for i := range want {
		if want[i].section != marks[i].section || want[i].name != marks[i].name {
			t.Fatalf("item %d: go-systemd %+v, scanner %+v", i, want[i], marks[i])
		}
	}
}
