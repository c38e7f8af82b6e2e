// model.js — the page's pure logic: turning org.bpfunit.Unit1 property
// values into rows, error messages, formatting, routes. No DOM and no
// cockpit object here, so cockpit/test/model.test.mjs runs it under plain
// node without a browser.

export const BUS_NAME = "org.bpfunit.Manager1";
export const MANAGER_PATH = "/org/bpfunit/Manager1";
export const MANAGER_IFACE = "org.bpfunit.Manager1";
export const UNIT_IFACE = "org.bpfunit.Unit1";
export const STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled";

// systemdUnit is the service systemd runs for a bpfunit unit.
export function systemdUnit(name) {
    return "bpf@" + name + ".service";
}

// unwrap strips cockpit.dbus's variant wrapper {t: "s", v: ...}, also
// inside arrays and dictionaries (a{sv} values arrive wrapped).
export function unwrap(v) {
    if (v !== null && typeof v === "object" && !Array.isArray(v) &&
        typeof v.t === "string" && "v" in v && Object.keys(v).length === 2)
        return unwrap(v.v);
    if (Array.isArray(v))
        return v.map(unwrap);
    if (v !== null && typeof v === "object") {
        const o = {};
        for (const k of Object.keys(v))
            o[k] = unwrap(v[k]);
        return o;
    }
    return v;
}

// Field lists of the structs in the Links, Programs and Maps properties, in
// the order of their D-Bus signatures (bpfunitd's introspection data:
// Links a(ssssuuss), Programs a(susbtt), Maps a(ssuuuuat)). Each entry is
// [field, ...aliases]: a dictionary form (aa{sv}) is read by any alias.
export const LINK_FIELDS = [
    ["name", "Name", "pin"],
    ["program", "Program"],
    ["type", "Type"],
    ["target", "Target"],
    ["linkId", "LinkID", "link_id"],
    ["progId", "ProgID", "prog_id"],
    ["progTag", "ProgTag", "prog_tag"],
    ["state", "State"], // attached, detached (on purpose), dead (kernel link gone)
];

export const PROGRAM_FIELDS = [
    ["name", "Name"],
    ["id", "ID"],
    ["tag", "Tag"],
    ["statsEnabled", "StatsEnabled"],
    ["runCount", "RunCount", "run_cnt"],
    ["runTimeNs", "RunTimeNs", "run_time_ns"],
];

export const MAP_FIELDS = [
    ["name", "Name"],
    ["type", "Type"],
    ["id", "ID"],
    ["keySize", "KeySize"],
    ["valueSize", "ValueSize"],
    ["maxEntries", "MaxEntries"],
    ["values", "Values"],
];

// records turns a property value (array of structs, or array of
// dictionaries) into plain objects keyed by the first name of each field.
export function records(value, fields) {
    value = unwrap(value);
    if (!Array.isArray(value))
        return [];
    return value.map(item => {
        const r = {};
        if (Array.isArray(item)) {
            fields.forEach((f, i) => { r[f[0]] = item[i] });
        } else if (item !== null && typeof item === "object") {
            for (const f of fields) {
                const k = f.find(alias => alias in item);
                r[f[0]] = k === undefined ? undefined : item[k];
            }
        }
        return r;
    });
}

// links, programs, maps read a unit's properties (as from GetAll).
export function links(props) { return records(props && props.Links, LINK_FIELDS) }
export function programs(props) { return records(props && props.Programs, PROGRAM_FIELDS) }
export function maps(props) { return records(props && props.Maps, MAP_FIELDS) }

// stateClass maps systemd's ActiveState and bpfunit's State to a colour.
export function stateClass(word) {
    switch (word) {
    case "active":
    case "attached":
        return "ok";
    case "failed":
    case "broken":
        return "bad";
    case "activating":
    case "deactivating":
    case "reloading":
    case "partly-attached":
    case "reload-pending":
        return "warn";
    default:
        return "off";
    }
}

// formatCount prints an integer with thousands separators (u64 values
// arrive as numbers or, beyond 2^53, as strings).
export function formatCount(n) {
    if (n === undefined || n === null || n === "")
        return "";
    const s = String(n);
    return /^\d+$/.test(s) ? s.replace(/\B(?=(\d{3})+(?!\d))/g, ",") : s;
}

// formatDuration prints nanoseconds for a human: 1.23 ms, 4.5 s.
export function formatDuration(ns) {
    if (ns === undefined || ns === null || ns === "")
        return "";
    const n = Number(ns);
    if (!Number.isFinite(n))
        return String(ns);
    if (n < 1e3)
        return n + " ns";
    if (n < 1e6)
        return (n / 1e3).toFixed(1) + " µs";
    if (n < 1e9)
        return (n / 1e6).toFixed(2) + " ms";
    return (n / 1e9).toFixed(2) + " s";
}

// statsEnabled reads the content of /proc/sys/kernel/bpf_stats_enabled.
export function statsEnabled(text) {
    return typeof text === "string" && text.trim() === "1";
}

// route reads cockpit.location.path: [] is the list, ["unit", NAME] a
// unit's details.
export function route(path) {
    if (Array.isArray(path) && path.length === 2 && path[0] === "unit" && validName(path[1]))
        return { view: "unit", name: path[1] };
    return { view: "list" };
}

// validName mirrors config.ValidateName loosely: what may go into a
// systemd instance name and a path. The daemon validates for real; this
// only keeps nonsense out of the URL and the spawned command lines.
export function validName(name) {
    return typeof name === "string" && /^[A-Za-z0-9_.:-]{1,200}$/.test(name) &&
        name !== "." && name !== "..";
}

const DENIED = [
    "org.freedesktop.DBus.Error.AccessDenied",
    "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
    "org.freedesktop.PolicyKit1.Error.NotAuthorized",
];

// deniedText tells whether a command's error output is a refusal.
function deniedText(s) {
    // Not a bare "permission denied": that is also how the kernel's
    // verifier rejects a program (EACCES), which is no refusal of the caller.
    return /AccessDenied|InteractiveAuthorizationRequired|not permitted|not authorized|access denied|permission denied on key|interactive authentication required/i.test(s || "");
}

// describeError turns whatever a cockpit call rejected with into
// {title, detail, denied}: one line that says what failed and why, and
// the verifier log or stderr, if any, for a <pre>. Never a stack trace.
//
// bus says where ex came from: "bpfunitd" for calls on org.bpfunit.Manager1
// (where Cockpit's "not-found" means the name has no owner and cannot be
// activated), anything else for commands and files.
export function describeError(what, ex, bus) {
    let name = "";
    let message = "";
    let problem = "";
    if (ex === null || ex === undefined) {
        message = "unknown error";
    } else if (typeof ex === "string") {
        message = ex;
    } else {
        name = ex.name && ex.name !== "Error" && ex.name !== "BasicError" ? String(ex.name) : "";
        problem = ex.problem ? String(ex.problem) : "";
        message = ex.message !== undefined ? String(ex.message) : String(ex);
    }
    message = message.trim();
    const denied = DENIED.includes(name) || problem === "access-denied" ||
        problem === "not-authorized" || (!name && deniedText(message));
    if (denied)
        return { title: "Not permitted: " + what, detail: message, denied: true };
    if (name === "org.freedesktop.DBus.Error.ServiceUnknown" || name === "org.freedesktop.DBus.Error.NameHasNoOwner" ||
        (bus === "bpfunitd" && problem === "not-found"))
        return { title: what + ": the bpfunit helper (bpfunitd) is not available", detail: message, denied: false };
    if (problem === "not-found")
        return { title: what + ": command not found", detail: message, denied: false };
    const short = name.startsWith("org.bpfunit.Error.") ? name.slice("org.bpfunit.Error.".length) : "";
    // A verifier log is many lines: the first is the reason, the rest goes
    // into the detail block.
    const lines = message.split("\n");
    let title = what + " failed";
    if (short)
        title += " (" + short + ")";
    if (lines[0])
        title += ": " + lines[0];
    return { title, detail: lines.slice(1).join("\n").trim(), denied: false };
}

// formatStarted prints the Started property (µs since the epoch, 0 when
// not started).
export function formatStarted(us) {
    const n = Number(us);
    if (!n)
        return "";
    return new Date(n / 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

// tail keeps the last n lines of a text.
export function tail(text, n) {
    const lines = String(text || "").replace(/\n+$/, "").split("\n");
    return lines.slice(-n).join("\n");
}

// uploadName is the temporary file an uploaded object is written to.
export function uploadTemplate(unit, program) {
    return "bpfunit-upload-" + unit.replace(/[^A-Za-z0-9_-]/g, "_") + "-" +
        program.replace(/[^A-Za-z0-9_-]/g, "_") + ".XXXXXXXX.o";
}

// oneshotReason picks the oneshot's own error lines out of a journal tail
// (the last start's), "" if there is none.
export function oneshotReason(journal) {
    const lines = String(journal || "").split("\n");
    let start = 0;
    lines.forEach((l, i) => { if (/^Starting bpf@/.test(l)) start = i });
    return lines.slice(start).filter(l => /^bpfunit-oneshot: /.test(l)).join("\n");
}

// jobFailed reads the result word of Start/Stop/Reload.
export function jobFailed(result) {
    return typeof result === "string" && result !== "done" && result !== "";
}
