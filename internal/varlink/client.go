package varlink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Client is one connection to a Varlink service. Calls on it are
// serialized: Varlink answers calls on a connection in order.
type Client struct {
	mu  sync.Mutex
	nc  net.Conn
	r   *reader
	max int
}

// Dial connects to the Unix socket at path.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("connect to varlink service: %w", err)
	}
	return NewClient(nc), nil
}

// NewClient speaks Varlink over nc.
func NewClient(nc net.Conn) *Client {
	return &Client{nc: nc, r: newReader(nc, DefaultMaxMessage), max: DefaultMaxMessage}
}

// Close closes the connection.
func (c *Client) Close() error { return c.nc.Close() }

// Call calls method with params (nil for none) and decodes the reply's
// parameters into out (nil to drop them). A Varlink error reply is
// returned as an *Error.
func (c *Client) Call(ctx context.Context, method string, params, out any) error {
	return c.call(ctx, method, params, false, func(raw json.RawMessage) error {
		if out == nil || isNull(raw) {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decode reply of %s: %w", method, err)
		}
		return nil
	})
}

// CallFDs is Call passing fds with the call (SCM_RIGHTS); parameters
// refer to them by index. The connection must be a Unix socket.
func (c *Client) CallFDs(ctx context.Context, method string, params any, fds []*os.File, out any) error {
	return c.callFDs(ctx, method, params, false, fds, func(raw json.RawMessage) error {
		if out == nil || isNull(raw) {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decode reply of %s: %w", method, err)
		}
		return nil
	})
}

// CallMore calls method with "more" and passes every reply's parameters to
// fn, until the service sends its last reply, fn fails, or ctx is done.
func (c *Client) CallMore(ctx context.Context, method string, params any, fn func(json.RawMessage) error) error {
	return c.call(ctx, method, params, true, fn)
}

func (c *Client) call(ctx context.Context, method string, params any, more bool, fn func(json.RawMessage) error) error {
	return c.callFDs(ctx, method, params, more, nil, fn)
}

func (c *Client) callFDs(ctx context.Context, method string, params any, more bool, fds []*os.File, fn func(json.RawMessage) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	req := struct {
		Method     string `json:"method"`
		Parameters any    `json:"parameters,omitempty"`
		More       bool   `json:"more,omitempty"`
	}{method, params, more}
	b, err := encode(req, c.max)
	if err != nil {
		return err
	}
	// The context's deadline and cancellation end blocked I/O.
	deadline, _ := ctx.Deadline()
	if err := c.nc.SetDeadline(deadline); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	wrap := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("call %s: %w", method, ctx.Err())
		}
		return fmt.Errorf("call %s: %w", method, err)
	}
	if len(fds) > 0 {
		uc, ok := c.nc.(*net.UnixConn)
		if !ok {
			return wrap(errors.New("passing file descriptors needs a Unix socket"))
		}
		raw := make([]int, len(fds))
		for i, f := range fds {
			raw[i] = int(f.Fd())
		}
		// The descriptors go with the message's first bytes.
		if _, _, err := uc.WriteMsgUnix(b, unix.UnixRights(raw...), nil); err != nil {
			return wrap(err)
		}
	} else if _, err := c.nc.Write(b); err != nil {
		return wrap(err)
	}
	for {
		msg, err := c.r.next(nil)
		if err != nil {
			return wrap(err)
		}
		var r Reply
		if err := json.Unmarshal(msg, &r); err != nil {
			return wrap(fmt.Errorf("decode reply: %w", err))
		}
		if r.Error != "" {
			return errorFromReply(&r)
		}
		if err := fn(r.Parameters); err != nil {
			return err
		}
		if !r.Continues {
			return nil
		}
		if !more {
			return wrap(errors.New("service sent continues to a call without more"))
		}
	}
}
