// Package generator is bpfunit's systemd generator (systemd.generator(7)):
// at boot and at every `systemctl daemon-reload`, before any unit starts,
// it turns the NAME.bpfunit configs into systemd wiring. It makes no D-Bus
// or BPF calls, and never fails the boot: problems are logged (to /dev/kmsg,
// else stderr) and the command exits 0.
//
// # What it writes (all in the normal output directory)
//
//   - bpf@NAME.service.d/50-bpfunit.conf for every config: Description= and
//     Documentation= from the config; SourcePath= (so systemctl reports the
//     config changing on disk); ConditionPathExists= on the object (a missing
//     object skips the unit, visibly, rather than failing the boot);
//     RequiresMountsFor= the object, /sys/kernel/tracing for tracepoint and
//     uprobe attachments, the uprobe binary, and a non-default pin root;
//     Wants=, After= and, for a .service or .scope, PartOf= the unit whose
//     cgroup a cgroup attachment names (its cgroup exists once it runs, and
//     a restart of it makes a new cgroup, so bpf@NAME restarts with it);
//     BindsTo= and After= sys-subsystem-net-devices-IFACE.device for xdp and
//     tcx attachments in the host network namespace, only when udev runs.
//   - TARGET.wants/bpf@NAME.service for each [Install] WantedBy=TARGET and
//     TARGET.requires/ for RequiredBy=, pointing at the installed
//     bpf@.service. Alias= is ignored, with a warning.
//   - For a masked config (NAME.bpfunit -> /dev/null): bpf@NAME.service ->
//     /dev/null, as `systemctl mask` would, and no wiring.
//   - The bpffs mount: for a pin root under /sys/fs/bpf (the default,
//     /sys/fs/bpf/bpfunit), sysinit.target.wants/bpfunit-bpffs.service; for
//     a pin root elsewhere ($BPFUNIT_PIN_ROOT in the manager's environment),
//     a .mount unit for it, named with unit.UnitNamePathEscape, plus
//     Environment=BPFUNIT_PIN_ROOT= and ReadWritePaths= in every drop-in.
//     systemd refuses a .mount unit for the API path /sys/fs/bpf.
//
// # Invalid configs
//
// A config that does not load still gets wired (its [Install] is read
// leniently), and its drop-in replaces ExecStart= with commands that print
// the error and fail: `systemctl start` fails and `systemctl status` shows
// "bpfunit: invalid configuration: FILE:LINE: [Section] Key=: message".
// Configs are read with config.Reader, the oneshot's reader: a fifo, a
// device, a file over 1 MiB or a file others than root could write (the
// file or a directory above it, see config's "Who may write the files")
// makes that unit fail with the reason, and every other unit is still
// generated. A unit file that can't be read at all is wired into
// bpf.target, since its [Install] is unknown or untrusted.
// ExecStopPost= and ExecReload= are left to the oneshot, so programs attached
// before the config broke can still be detached. The oneshot re-parses the
// config itself, so a config broken after the last daemon-reload fails with
// the same message; a config fixed since needs a daemon-reload, as any unit
// file change does (SourcePath= makes systemctl say so).
//
// # udev
//
// Device units for network interfaces come from udev. The generator
// assumes udev when /run/udev/control exists, or else when it is not in a
// container ($SYSTEMD_VIRTUALIZATION=container:*, $container,
// /run/systemd/container) and /sys is writable: the condition of
// systemd-udevd.service. BPFUNIT_UDEV=0 or 1 overrides. Without udev, a
// BindsTo= on a device would wait for a device that never appears.
package generator
