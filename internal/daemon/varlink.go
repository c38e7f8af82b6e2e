package daemon

import (
	"context"
	"log/slog"
	"net"

	"github.com/bpfunit/bpfunit/internal/service"
	"github.com/bpfunit/bpfunit/internal/varlink"
)

// The Varlink side: io.bpfunit.Manager on the socket of bpfunitd.socket.
func init() {
	Varlink = func(ctx context.Context, l net.Listener, svc *service.Service, log *slog.Logger) (VarlinkServer, error) {
		return varlink.Start(ctx, l, svc, log), nil
	}
}
