// Package manager implements the operations on units: Start, Stop, Reload,
// Replace, Detach, Status, List, Verify and Watch. It is what the oneshot,
// the CLI and the D-Bus helper (bpfunitd, a process that lives for hours
// and serves many callers) call. Every operation takes a context first; a
// Manager reads no process-global state (the fault hook is the Fault
// field, paths are fields) and is safe for concurrent use.
//
// # Decide, then do
//
// Start and Reload (and Replace, a reload of one program) first gather
// facts: the state file (or why it is unreadable), the pins of
// ROOT/NAME/links and what the kernel says of each (attached, or detached
// behind bpfunit's back), the plan from the config. A pure function
// (decide.go: decideStart, decideReload; unitState for Status) turns them
// into a list of steps, and only then does an executor run the steps in
// one transaction (tx.go), the manager's only undo mechanism. The decision
// functions touch nothing and are table-tested without root
// (decide_test.go, go test -run TestDecide). This is bpfman's Go port
// (manager/action, manager/operation) made small: pure-data steps, one
// executor, undo in reverse, rollback errors logged and the original error
// returned.
//
// Start decides: adopt (attached as configured), refuse (attached with a
// different config: ErrAlreadyStarted, use reload), or attach, after
// repairing what an interrupted operation left: a stale staging directory
// (detached and removed), a half started or half stopped unit, pins
// without a state file, an unreadable state file (named in the log and in
// status), an interrupted reload, a link detached behind bpfunit's back
// (torn down, the unit's maps kept as KeepMaps= says, then started afresh).
//
// Reload decides per link: update in place (BPF_LINK_UPDATE, atomic),
// make-before-break (the new link attached in staging, renamed over the old
// pin at commit, the old link detached), add (new in the config, detached
// before with Detach, or unpinned behind bpfunit's back), drop (gone from
// the config, detached at commit), keep (Replace: another program's link),
// forget (detached with Detach and gone from the config).
//
// # Start is all-or-nothing
//
// Start loads the object, attaches every [Attach] section, pins the links
// into ROOT/NAME/staging, writes the state file and renames staging to
// ROOT/NAME/links. The rename is the commit point. Any error before it
// rolls the transaction back: links detached and unpinned, map pins this
// start created removed, state removed. A SIGKILL before the rename leaves
// a staging directory, which the next Start or Stop removes (detaching what
// is in it) before doing anything else.
//
// # Detach
//
// Detach(ctx, unit, link) detaches and unpins one link (its pin name, as
// status shows it) and records it in the state file as detached: Status
// shows the unit partly-attached with the link marked detached, a Start
// of the started unit adopts it as it is, and Reload or a restart (stop,
// start) brings back what the config says. Stop removes everything as
// always.
//
// # State, errors, changes
//
// Status reports a State (attached, partly-attached, reload-pending,
// broken, not-started) with a Reason, and Err when the config or the state
// file could not be read. List never drops a unit: one it cannot read is
// listed with Err. KindOf maps every error to one Kind, the only such
// mapping: the oneshot's exit codes and bpfunitd's named errors both come
// from it. OnChange is called after each change this Manager commits;
// Watch reports the changes of every process (inotify on RUNDIR/state).
//
// # Locking
//
// Every mutating operation runs under the unit's flock in RUNDIR/lock, so
// one unit is changed by one process (or goroutine) at a time while
// different units start in parallel. ShareMap= maps are opened under a lock
// of their own, and a unit records its use of one (RUNDIR/share) before it
// releases that lock, so that a concurrent stop of the map's last other
// user keeps it pinned.
package manager
