package varlink

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// MaxFDs bounds the file descriptors a peer may pass with one call
// (SCM_RIGHTS, as sd-varlink passes them). More closes the connection.
const MaxFDs = 4

// errTooManyFDs: a peer passed more descriptors than MaxFDs.
var errTooManyFDs = errors.New("varlink peer passed too many file descriptors")

// fdReader reads a Unix socket with recvmsg and keeps the descriptors
// that come with the bytes, for the call they belong to.
type fdReader struct {
	uc *net.UnixConn

	mu      sync.Mutex
	pending []*os.File
}

func (r *fdReader) Read(p []byte) (int, error) {
	oob := make([]byte, unix.CmsgSpace(MaxFDs*4))
	n, oobn, flags, _, err := r.uc.ReadMsgUnix(p, oob)
	n, oobn = max(n, 0), max(oobn, 0) // -1 with some errors
	if oobn > 0 {
		if ferr := r.collect(oob[:oobn]); ferr != nil && err == nil {
			err = ferr
		}
	}
	if err == nil && flags&unix.MSG_CTRUNC != 0 {
		// The kernel dropped descriptors that did not fit.
		err = errTooManyFDs
	}
	if errors.Is(err, errTooManyFDs) {
		// Drop the bytes too: the call they carry must not run.
		return 0, err
	}
	return n, err
}

func (r *fdReader) collect(oob []byte) error {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return fmt.Errorf("parse control message: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue // not SCM_RIGHTS (credentials are not asked for)
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
			r.pending = append(r.pending, os.NewFile(uintptr(fd), "passed"))
		}
	}
	if len(r.pending) > MaxFDs {
		return errTooManyFDs
	}
	return nil
}

// take returns the descriptors received so far. A client passes them with
// the call they belong to and waits for its reply before the next such
// call, so they are the current call's.
func (r *fdReader) take() []*os.File {
	r.mu.Lock()
	defer r.mu.Unlock()
	fds := r.pending
	r.pending = nil
	return fds
}

func closeAll(fds []*os.File) {
	for _, f := range fds {
		f.Close()
	}
}
