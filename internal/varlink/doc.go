// Package varlink is bpfunitd's Varlink side: the wire protocol (server and
// client), org.varlink.service, and the interface io.bpfunit.Manager on
// the socket /run/bpfunit/io.bpfunit.Manager (bpfunitd.socket), for hosts
// and containers without a system bus.
//
// # Why not github.com/varlink/go
//
// The protocol is small: JSON objects, each followed by a NUL, replies in
// call order. Writing it here (a few hundred lines, tested against the
// spec) buys what the library lacks and a root service needs: a bound on
// message size (the library reads up to the NUL without limit, so any
// local user could make a root daemon allocate without end), peer
// credentials (SO_PEERCRED) handed to every call, per-connection
// deadlines, a bound on connections per uid, and parameters checked
// against the interface description before a handler runs. See
// docs/DESIGN.md.
//
// # Invariants
//
//   - A message in either direction is at most Server.MaxMessage bytes; a
//     peer sending more without a NUL is disconnected. A connection holds
//     at most two messages in memory (one being handled, one read ahead).
//   - Every call's parameters match the method's input struct of the
//     interface description (no unknown field, required ones present, of
//     the declared type), or the call fails with
//     org.varlink.service.InvalidParameter naming the parameter.
//   - Peer credentials come from the kernel (SO_PEERCRED), never from the
//     message. io.bpfunit.Manager lets anyone read and only uid 0 change.
//   - Errors of io.bpfunit.Manager are named from the manager's error
//     classes (service.KindOf); their "message" is one line.
//   - A call with "more" (Monitor) runs until the peer hangs up, which the
//     server notices while the call runs and cancels its context.
package varlink
