package varlink

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"
)

// FuzzParseInterface: any text either parses or fails with an error; a
// parsed interface's text is accepted by the server.
func FuzzParseInterface(f *testing.F) {
	f.Add(serviceIDL)
	f.Add(ManagerDescription)
	f.Add("interface a.b\ntype T (x: ?[string][]?(y: int))\nmethod M(t: T) -> ()")
	f.Fuzz(func(t *testing.T, text string) {
		iface, err := ParseInterface(text)
		if err != nil {
			return
		}
		if err := NewServer(Info{}).Register(text, nil); err != nil && iface.Name != "org.varlink.service" {
			t.Fatalf("parsed but not registered: %v", err)
		}
	})
}

// FuzzMessage: any message to io.bpfunit.Manager gets a reply or an error
// that ends the connection, never a panic.
func FuzzMessage(f *testing.F) {
	for _, s := range []string{
		`{"method":"io.bpfunit.Manager.GetUnit","parameters":{"name":"demo"}}`,
		`{"method":"io.bpfunit.Manager.Replace","parameters":{"name":"demo","program":"p","fd":3}}`,
		`{"method":"org.varlink.service.GetInterfaceDescription","parameters":{"interface":"io.bpfunit.Manager"}}`,
		`{"method":"io.bpfunit.Manager.Detach","parameters":{"name":"d","link":"x@y"},"oneway":true}`,
		`{"method":"io.bpfunit.Manager.Monitor","more":false}`,
	} {
		f.Add([]byte(s))
	}
	s := NewManagerServer(newRecorder(), nil)
	s.defaults()
	f.Fuzz(func(t *testing.T, msg []byte) {
		var req Request
		if json.Unmarshal(msg, &req) == nil && req.More {
			return // Monitor streams until the peer leaves
		}
		c := &conn{s: s, nc: discardConn{}}
		s.handle(context.Background(), c, Peer{UID: 1000, Known: true}, msg, nil)
	})
}

// discardConn is a net.Conn that swallows replies.
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error)      { return len(b), nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }
