// Package service is what bpfunitd does, independent of the transport: the
// D-Bus side (internal/dbusapi) and the Varlink side (internal/varlink)
// both call it, after they have authorized the caller.
//
// # Systemd owns unit state
//
// Start, Stop and Reload do not call the manager: they ask systemd, over
// its own D-Bus API, to start, stop or reload bpf@NAME.service, and return
// when the job is finished with systemd's job result. So `systemctl status`
// is never wrong about a unit the helper started, and ExecStopPost= still
// cleans up whatever the helper changed.
//
// # Detach and Replace change a running unit
//
// They call the manager directly, under the unit's lock (the same flock
// the oneshot takes). Replace reads the object from an open file that must
// be a regular file of at most MaxObjectSize bytes, read within
// ReadTimeout: the helper never opens a path a caller named.
//
// # Every change is journaled
//
// One record per change with the caller (uid, pid, bus name), the unit and
// the program ids and tags before and after.
package service
