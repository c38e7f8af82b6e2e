// Package manager implements the operations on units: Start, Stop, Status,
// List and Verify (and, later, Reload and Replace). It is what the oneshot,
// the CLI and the D-Bus helper call.
//
// # Start is all-or-nothing
//
// Start loads the object, attaches every [Attach] section, pins the links
// into ROOT/NAME/staging, writes the state file and renames staging to
// ROOT/NAME/links. The rename is the commit point. Any error before it runs
// the undo steps recorded so far in reverse: links detached and unpinned,
// map pins this start created removed, state removed. A SIGKILL before the
// rename leaves a staging directory, which the next Start or Stop removes
// (detaching what is in it) before doing anything else.
//
// # Adopt, don't attach twice
//
// A Start that finds ROOT/NAME/links complete and recorded with the same
// config and object digests does nothing: systemctl restart, a second
// start, a start after a crash never attach a second copy. With a different
// config it fails and points to reload. An incomplete links directory (a
// stop killed halfway) is torn down and started afresh.
//
// # Locking
//
// Every mutating operation runs under the unit's flock in RUNDIR/lock, so
// one unit is changed by one process at a time while different units start
// in parallel. ShareMap= maps are created under a lock of their own.
package manager
