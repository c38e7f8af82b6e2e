package varlink

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReaderFraming(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
		end  error
	}{
		{"one", "{\"a\":1}\x00", []string{`{"a":1}`}, io.EOF},
		{"two in one write", "{}\x00{\"b\":2}\x00", []string{`{}`, `{"b":2}`}, io.EOF},
		{"empty message", "\x00{}\x00", []string{``, `{}`}, io.EOF},
		{"nothing", "", nil, io.EOF},
		{"cut in the middle", "{}\x00{\"b\"", []string{`{}`}, io.ErrUnexpectedEOF},
		{"at the cap", strings.Repeat("x", 64) + "\x00", []string{strings.Repeat("x", 64)}, io.EOF},
		{"over the cap", strings.Repeat("x", 65) + "\x00", nil, ErrMessageTooLarge},
		{"over the cap without NUL", strings.Repeat("x", 1000), nil, ErrMessageTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One byte per read: messages split across reads however
			// the kernel delivers them.
			for _, src := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				r := newReader(src, 64)
				var got []string
				var err error
				for {
					var msg []byte
					if msg, err = r.next(nil); err != nil {
						break
					}
					got = append(got, string(msg))
				}
				if !errors.Is(err, tc.end) {
					t.Fatalf("end: %v, want %v", err, tc.end)
				}
				if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
					t.Fatalf("messages %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestReaderLargeMessageAcrossBuffer(t *testing.T) {
	// Larger than bufio's buffer (64 KiB) but below the cap.
	big := bytes.Repeat([]byte("y"), 200<<10)
	in := append(append(append([]byte{}, big...), 0), []byte("{}\x00")...)
	r := newReader(bytes.NewReader(in), DefaultMaxMessage)
	msg, err := r.next(nil)
	if err != nil || !bytes.Equal(msg, big) {
		t.Fatalf("big message: %d bytes, %v", len(msg), err)
	}
	if msg, err := r.next(nil); err != nil || string(msg) != "{}" {
		t.Fatalf("next message %q, %v", msg, err)
	}
}

func TestEncode(t *testing.T) {
	b, err := encode(map[string]string{"s": "a\x00b"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	// The NUL inside a string is escaped: exactly one NUL, at the end.
	if bytes.IndexByte(b, 0) != len(b)-1 {
		t.Fatalf("encoded %q has a NUL before the end", b)
	}
	if _, err := encode(strings.Repeat("z", 200), 100); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversized reply: %v, want ErrMessageTooLarge", err)
	}
}
