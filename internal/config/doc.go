// Package config finds, reads and validates NAME.bpfunit unit files.
//
// A unit file is systemd INI, parsed with go-systemd's unit package; see
// the design document for the format. [Parse] is pure and turns file
// contents into a [Unit]; [Load] and [Discover] add the filesystem rules
// below; [Reader] is the one reader of unit files; [OpenObject] opens the
// ELF object a unit names and vets it on that descriptor.
//
// # Sections
//
// [Unit] takes Description= and Documentation= (a list of URIs).
// [Object] takes Path= (absolute, required), PinMaps=, KeepMaps= (booleans
// as systemd spells them), and the lists Constant=NAME=VALUE and
// ShareMap=MAP:/bpffs/path. Each [Attach] section is one attachment:
// Program= (required), Type= (one of attach.Names(); empty leaves the type
// to the ELF section name, checked by the loader) and the keys of that type.
// When Type= is set, a key of another type is an error, and the type's
// required keys must be there; which keys a type takes, requires and
// accepts is its descriptor's in package attach. [Install] takes the lists WantedBy=, RequiredBy=, Alias=.
//
// Unknown sections and keys are errors that list what is accepted, except
// sections and keys that start with "X-", which are ignored. '#' and ';'
// start a comment only at the start of a line; a line ending in '\'
// continues on the next. Text before the first section header is an error.
// Every error is an [*Error] naming file, line, section and key, on one line.
//
// # Search path and precedence
//
// Units are looked up in the directories of [SearchPath], first wins:
// /etc/bpfunit overrides /run/bpfunit/units, which overrides
// /usr/local/lib/bpfunit, which overrides /usr/lib/bpfunit. Only the
// winning NAME.bpfunit is read; the others are ignored entirely. A unit
// file may be a symlink; the unit's Path is the link, not its target.
//
// # Who may write the files
//
// Only root may decide what runs in the kernel: configs, drop-ins and
// objects, and every directory above them, must be owned by root and not
// writable by group or other, as sshd's StrictModes requires (trust.go has
// the rules); a refusal wraps [ErrUntrusted] and names the file and what
// is wrong with it. Files are regular files checked on the descriptor
// read, so a fifo or a device can't block the reader.
//
// # Masking
//
// A NAME.bpfunit that is a symlink to /dev/null masks the unit: lower
// directories are not consulted and [Load] fails with [ErrMasked]. Unlike
// systemd, an empty file is not a mask but an invalid unit, so that a
// truncated file is reported instead of silently disabling the programs.
//
// # Drop-ins
//
// NAME.bpfunit.d/*.conf files are collected from every directory of the
// search path, whichever directory the unit itself is in. A drop-in file
// name in an earlier directory hides the same name in later ones; a
// drop-in that is a symlink to /dev/null hides it and applies nothing.
// Drop-ins apply after the main file in the order of their file names.
//
// In a drop-in, a scalar key overrides the earlier value and an empty
// assignment (Key=) puts back the default. A list key (Documentation=,
// Constant=, ShareMap=, WantedBy=, RequiredBy=, Alias=) appends, and an
// empty assignment empties the list. A Constant= or ShareMap= for a NAME
// or MAP already in the list replaces that entry, so a drop-in can change
// one value without restating the list.
//
// An [Attach] section in a drop-in whose Program= equals the Program= of
// exactly one attachment defined so far modifies that attachment: its keys
// override. Otherwise (no Program=, no match, or several attachments of
// that program) it adds a new attachment. Type-dependent checks run after
// all drop-ins, so a drop-in may change Type= together with its keys.
//
// # Digest
//
// [Unit.Digest] hashes the effective configuration, not the files: equal
// units have equal digests wherever their files live and however the keys
// are split between the main file and drop-ins; comments don't count.
package config
