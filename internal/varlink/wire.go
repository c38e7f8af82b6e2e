package varlink

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Request is a method call as it is on the wire (varlink.org "Method
// Call"): one JSON object followed by a NUL byte.
type Request struct {
	Method     string          `json:"method"`
	Parameters json.RawMessage `json:"parameters,omitempty"`
	Oneway     bool            `json:"oneway,omitempty"`
	More       bool            `json:"more,omitempty"`
	Upgrade    bool            `json:"upgrade,omitempty"`
}

// Reply is a reply, or an error when Error is set.
type Reply struct {
	Parameters json.RawMessage `json:"parameters,omitempty"`
	Continues  bool            `json:"continues,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// DefaultMaxMessage bounds one message in either direction. The calls of
// io.bpfunit.Manager carry a few names; a reply with 100 units' status is
// well below it.
const DefaultMaxMessage = 1 << 20

// ErrMessageTooLarge: a peer sent more than the cap without a NUL.
var ErrMessageTooLarge = errors.New("varlink message larger than the cap")

// reader reads NUL-terminated messages of at most max bytes.
type reader struct {
	br  *bufio.Reader
	max int
}

func newReader(r io.Reader, max int) *reader {
	size := 64 << 10
	if max < size {
		size = max + 1
	}
	return &reader{br: bufio.NewReaderSize(r, size), max: max}
}

// next returns the next message without its NUL. A connection closed
// between messages is io.EOF; closed inside one, io.ErrUnexpectedEOF. An
// error before any byte of the message for which retry (may be nil)
// returns true is ignored: the server's idle deadline while a call runs.
func (r *reader) next(retry func(error) bool) ([]byte, error) {
	var msg []byte
	for {
		chunk, err := r.br.ReadSlice(0)
		if err != nil && len(msg)+len(chunk) == 0 && retry != nil && !errors.Is(err, io.EOF) && retry(err) {
			continue
		}
		if len(msg)+len(chunk) > r.max+1 {
			return nil, fmt.Errorf("%w (%d bytes)", ErrMessageTooLarge, r.max)
		}
		switch {
		case err == nil:
			if msg == nil {
				// ReadSlice's buffer is reused by the next read.
				return bytes.Clone(chunk[:len(chunk)-1]), nil
			}
			msg = append(msg, chunk[:len(chunk)-1]...)
			return msg, nil
		case errors.Is(err, bufio.ErrBufferFull):
			msg = append(msg, chunk...)
		case errors.Is(err, io.EOF):
			if len(msg)+len(chunk) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, io.EOF
		default:
			return nil, err
		}
	}
}

// encode renders v as one message: JSON and a NUL. JSON never contains a
// raw NUL (encoding/json escapes control characters), so the framing is
// unambiguous.
func encode(v any, max int) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode varlink message: %w", err)
	}
	if len(b) > max {
		return nil, fmt.Errorf("encode varlink message: %w (%d > %d bytes)", ErrMessageTooLarge, len(b), max)
	}
	return append(b, 0), nil
}

// isNull reports whether raw is absent, null or {}: the encodings of "no
// parameters" receivers must accept (sd-varlink(3)).
func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}
