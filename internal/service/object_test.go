package service

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadObjectRefuses(t *testing.T) {
	ctx := context.Background()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	zero, err := os.Open("/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	defer zero.Close()
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	big, err := os.Create(filepath.Join(t.TempDir(), "big.o"))
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	if err := big.Truncate(MaxObjectSize + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		f    *os.File
		want string
	}{
		{"pipe", r, "pipe"},
		{"/dev/zero", zero, "character device"},
		{"directory", dir, "directory"},
		{"oversized", big, "at most"},
		{"nil", nil, "no file"},
	} {
		_, err := readObject(ctx, c.f)
		if !errors.Is(err, ErrInvalidObject) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrInvalidObject saying %q", c.name, err, c.want)
		}
		if KindOf(err) != KindInvalidObject {
			t.Errorf("%s: kind %v", c.name, KindOf(err))
		}
	}
}

// The object is read from its start, whatever the caller's offset, and
// the caller's offset is not moved.
func TestReadObjectWholeFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "obj.o"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("\x7fELF and the rest"); err != nil {
		t.Fatal(err)
	}
	rd, err := readObject(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	got := rd
	if string(got) != "\x7fELF and the rest" {
		t.Errorf("read %q", got)
	}
	if off, _ := f.Seek(0, io.SeekCurrent); off != int64(len(got)) {
		t.Errorf("caller's offset moved to %d", off)
	}
}

func TestValidateProgram(t *testing.T) {
	for _, p := range []string{"xdp_count", "_x", "a1"} {
		if err := ValidateProgram(p); err != nil {
			t.Errorf("ValidateProgram(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"", "1a", "a-b", "a b", "a/b", "ä", strings.Repeat("a", 256)} {
		if err := ValidateProgram(p); !errors.Is(err, ErrInvalidProgram) || KindOf(err) != KindBadArgs {
			t.Errorf("ValidateProgram(%q) = %v, want ErrInvalidProgram", p, err)
		}
	}
}
