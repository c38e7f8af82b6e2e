// app.js — the "BPF programs" page: BPF units from bpfunitd
// (org.bpfunit.Manager1) and systemd, live, with start/stop/reload/detach/
// replace. Plain ES module, no bundler; Cockpit's CSP allows scripts from
// the package's own files only.
import * as model from "./model.js";

const cockpit = window.cockpit;

// Reads go out as the logged-in user: everyone may read, so an
// unprivileged user sees everything. Changes go through a second client
// with superuser "try": with administrative access Cockpit routes them
// through its root bridge, otherwise they go as the user and bpfunitd
// (polkit) refuses them, which the page shows as "Not permitted".
const readBus = cockpit.dbus(model.BUS_NAME, { bus: "system" });
const writeBus = cockpit.dbus(model.BUS_NAME, { bus: "system", superuser: "try" });
const systemd = cockpit.dbus("org.freedesktop.systemd1", { bus: "system" });

const state = {
    units: new Map(), // name -> {name, state, description, path, props, sd}
    loaded: false,
    loadError: null,
    stats: null, // true/false/null (unknown)
    busy: new Set(), // "name:action" while a change runs
    config: new Map(), // name -> {text} | {error}
    journal: new Map(), // name -> text
};

// --- tiny DOM helper; text always goes in as text, never as HTML ---------

function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (v === undefined || v === null || v === false)
            continue;
        if (k.startsWith("on"))
            el.addEventListener(k.slice(2), v);
        else if (k === "class")
            el.className = v;
        else
            el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat(Infinity)) {
        if (c === undefined || c === null || c === false)
            continue;
        el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
}

// --- alerts ---------------------------------------------------------------

let alertSeq = 0;

function showAlert(kind, title, detail) {
    const box = document.getElementById("alerts");
    const id = "alert-" + (++alertSeq);
    const close = h("button", {
        class: "pf-c-button pf-m-plain", type: "button", "aria-label": "Close",
        onclick: () => document.getElementById(id)?.remove(),
    }, "×");
    const el = h("div", { class: "pf-c-alert pf-m-inline pf-m-" + kind + " bpf-alert", id, role: "alert", "data-kind": kind },
        h("p", { class: "pf-c-alert__title" }, title),
        h("div", { class: "pf-c-alert__action" }, close),
        detail ? h("div", { class: "pf-c-alert__description" }, h("pre", { class: "bpf-pre" }, detail)) : null);
    box.append(el);
    if (kind === "success")
        setTimeout(() => el.remove(), 8000);
}

function showError(what, ex, bus) {
    const e = model.describeError(what, ex, bus);
    showAlert(e.denied ? "warning" : "danger", e.title, e.detail);
}

// --- loading --------------------------------------------------------------

function getAll(path) {
    return readBus.call(path, "org.freedesktop.DBus.Properties", "GetAll", [model.UNIT_IFACE])
            .then(([props]) => model.unwrap(props));
}

async function systemdProxy(name) {
    const [path] = await systemd.call("/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                      "LoadUnit", [model.systemdUnit(name)]);
    const proxy = systemd.proxy("org.freedesktop.systemd1.Unit", path);
    proxy.addEventListener("changed", render);
    await proxy.wait();
    return proxy;
}

// refreshList re-reads ListUnits: new units get their properties and a
// systemd proxy, vanished ones go.
async function refreshList() {
    let rows;
    try {
        [rows] = await readBus.call(model.MANAGER_PATH, model.MANAGER_IFACE, "ListUnits", []);
        state.loadError = null;
    } catch (ex) {
        state.loadError = model.describeError("Listing BPF units", ex, "bpfunitd");
        state.loaded = true;
        render();
        return;
    }
    const seen = new Set();
    await Promise.all(rows.map(async ([name, st, description, path]) => {
        seen.add(name);
        let u = state.units.get(name);
        if (!u) {
            u = { name, props: {}, sd: null };
            state.units.set(name, u);
        }
        Object.assign(u, { state: st, description, path });
        try {
            u.props = await getAll(path);
            u.propsError = null;
        } catch (ex) {
            u.propsError = model.describeError("Reading unit " + name, ex).title;
        }
        // One proxy per unit, also when signals make refreshList run
        // several times at once.
        if (!u.sdPromise) {
            u.sdPromise = systemdProxy(name).then(
                proxy => { u.sd = proxy },
                ex => { u.sdError = model.describeError("Reading " + model.systemdUnit(name), ex).title });
        }
        await u.sdPromise;
    }));
    for (const name of [...state.units.keys()])
        if (!seen.has(name))
            state.units.delete(name);
    state.loaded = true;
    render();
}

async function refreshUnit(name) {
    const u = state.units.get(name);
    if (!u) {
        await refreshList();
        return;
    }
    try {
        u.props = await getAll(u.path);
        if (u.props.State !== undefined)
            u.state = u.props.State;
    } catch (ex) {
        // The unit may be gone (config removed): the list says.
        await refreshList();
        return;
    }
    state.journal.delete(name);
    render();
}

// Live updates: bpfunitd's UnitChanged for any change of a unit (whoever
// made it) and PropertiesChanged on the unit objects. Subscribe keeps the
// helper from exiting while the page is open.
function follow() {
    readBus.subscribe({ interface: model.MANAGER_IFACE, member: "UnitChanged" },
                      (path, iface, signal, args) => refreshUnit(args[0]));
    readBus.subscribe({ interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged", path_namespace: "/org/bpfunit/unit" },
                      async (path, iface, signal, [ifc, changed, invalidated]) => {
                          if (ifc !== model.UNIT_IFACE)
                              return;
                          const u = [...state.units.values()].find(u => u.path === path);
                          if (!u)
                              return;
                          Object.assign(u.props, model.unwrap(changed));
                          if (u.props.State !== undefined)
                              u.state = u.props.State;
                          // Programs and Maps carry counters: bpfunitd
                          // announces them as invalidated, without the value.
                          for (const name of invalidated || []) {
                              try {
                                  const [v] = await readBus.call(path, "org.freedesktop.DBus.Properties", "Get", [model.UNIT_IFACE, name]);
                                  u.props[name] = model.unwrap(v);
                              } catch (ex) {
                                  // gone meanwhile: UnitChanged re-reads the unit
                              }
                          }
                          render();
                      });
    const subscribe = () => readBus.call(model.MANAGER_PATH, model.MANAGER_IFACE, "Subscribe", [])
            .catch(ex => console.warn("bpfunitd Subscribe:", ex.message));
    // The helper exits when idle and may be restarted: subscribe again and
    // re-read whenever the bus name gets a new owner.
    readBus.addEventListener("owner", (ev, owner) => {
        if (owner) {
            subscribe();
            refreshList();
        }
    });
    systemd.call("/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "Subscribe", [])
            .catch(ex => console.warn("systemd Subscribe:", ex.message));
    return subscribe();
}

// Run counts are not signalled by the kernel: re-read the Programs
// property (and the stats switch) while the page is visible.
const TICK_MS = 2000;
async function tick() {
    if (cockpit.hidden)
        return;
    await readStats();
    const shown = currentRoute();
    for (const u of state.units.values()) {
        if (shown.view === "unit" && shown.name !== u.name)
            continue;
        if (!u.path || model.programs(u.props).length === 0)
            continue;
        try {
            for (const prop of ["Programs", "Maps"]) {
                const [v] = await readBus.call(u.path, "org.freedesktop.DBus.Properties", "Get", [model.UNIT_IFACE, prop]);
                u.props[prop] = model.unwrap(v);
            }
        } catch (ex) {
            // gone meanwhile; the signals bring the new state
        }
    }
    render();
}

async function readStats() {
    try {
        const text = await cockpit.file(model.STATS_SYSCTL).read();
        const on = model.statsEnabled(text);
        if (on !== state.stats) {
            state.stats = on;
            render();
        }
    } catch (ex) {
        state.stats = null;
    }
}

// The sysctl is a /proc file: cockpit.file's replace writes a temporary
// file and renames it, which /proc refuses, so it is written by sysctl(8)
// as the superuser when the user has administrative access.
async function setStats(on) {
    try {
        await cockpit.spawn(["sysctl", "-q", "-w", "kernel.bpf_stats_enabled=" + (on ? "1" : "0")],
                            { superuser: "try", err: "message" });
    } catch (ex) {
        showError((on ? "Turning on" : "Turning off") + " BPF run-time statistics", ex);
    }
    await readStats();
    render();
    if (state.stats)
        tick();
}

// --- changes --------------------------------------------------------------

// act runs one change of unit name; bus is "bpfunitd" when fn calls the
// helper over D-Bus (see model.describeError).
async function act(name, action, label, fn, bus) {
    const key = name + ":" + action;
    if (state.busy.has(key))
        return;
    state.busy.add(key);
    render();
    try {
        const msg = await fn();
        if (msg)
            showAlert("success", msg);
    } catch (ex) {
        showError(label, ex, bus);
        if (["start", "reload"].includes(action))
            loadJournal(name, true);
    } finally {
        state.busy.delete(key);
        await refreshUnit(name);
    }
}

function jobAction(name, method) {
    const verb = method.toLowerCase();
    return act(name, verb, method + " " + model.systemdUnit(name), async () => {
        const [result] = await writeBus.call(model.MANAGER_PATH, model.MANAGER_IFACE, method, [name]);
        if (model.jobFailed(result)) {
            // The job's result word says only that it failed: the reason
            // is bpfunit's StateReason or the oneshot's line in the journal.
            const u = state.units.get(name);
            let reason = u?.props?.StateReason || "";
            if (!reason)
                reason = model.oneshotReason(await journalTail(name).catch(() => ""));
            throw new Error("job " + result + (reason ? "\n" + reason : ""));
        }
        return model.systemdUnit(name) + ": " + verb + " " + result;
    }, "bpfunitd");
}

function detach(name, linkName) {
    return act(name, "detach:" + linkName, "Detach " + linkName + " of " + name, async () => {
        await writeBus.call(model.MANAGER_PATH, model.MANAGER_IFACE, "Detach", [name, linkName]);
        return name + ": detached " + linkName;
    }, "bpfunitd");
}

// replace: bpfunitd's Replace takes the object as a Unix fd, which
// cockpit.dbus cannot pass. The upload goes to a private temporary file
// (mktemp, mode 0600, as the identity that runs the command), `bpfunit
// replace` opens it and passes the fd, and the file is removed again.
function replace(name, program, file) {
    return act(name, "replace:" + program, "Replace " + program + " of " + name, async () => {
        const data = new Uint8Array(await file.arrayBuffer());
        const opts = { superuser: "try", err: "message" };
        const tmp = (await cockpit.spawn(["mktemp", "--tmpdir", model.uploadTemplate(name, program)], opts)).trim();
        try {
            await cockpit.file(tmp, { binary: true, superuser: "try" }).replace(data);
            const out = await cockpit.spawn(["bpfunit", "replace", name, program, tmp], opts);
            return name + ": replaced " + program + (out.trim() ? " — " + out.trim() : "");
        } finally {
            await cockpit.spawn(["rm", "-f", "--", tmp], opts).catch(ex => console.warn("rm " + tmp + ":", ex.message));
        }
    });
}

// --- details data -------------------------------------------------------

async function loadConfig(name) {
    const u = state.units.get(name);
    const path = u?.props?.ConfigPath;
    if (!path || state.config.get(name)?.path === path)
        return;
    state.config.set(name, { path, text: null });
    try {
        const text = await cockpit.file(path).read();
        state.config.set(name, { path, text: text ?? "" });
    } catch (ex) {
        state.config.set(name, { path, error: model.describeError("Reading " + path, ex).title });
    }
    render();
}

function journalTail(name) {
    return cockpit.spawn(["journalctl", "--no-pager", "-u", model.systemdUnit(name), "-n", "20", "-o", "cat"],
                         { err: "message" });
}

async function loadJournal(name, force) {
    if (!force && state.journal.has(name))
        return;
    state.journal.set(name, null);
    let text;
    try {
        text = await journalTail(name);
    } catch (ex) {
        text = model.describeError("Reading the journal", ex).title;
    }
    state.journal.set(name, text);
    render();
}

// --- rendering ----------------------------------------------------------

function currentRoute() {
    return model.route(cockpit.location.path);
}

let renderPending = false;
function render() {
    if (renderPending)
        return;
    renderPending = true;
    setTimeout(() => {
        renderPending = false;
        draw();
    }, 0);
}

function badge(word, label) {
    return h("span", { class: "bpf-badge bpf-" + model.stateClass(word), title: label }, word || "unknown");
}

function button(label, attrs, onclick) {
    const cls = "pf-c-button pf-m-" + (attrs.variant || "secondary") + (attrs.small ? " pf-m-small" : "");
    return h("button", { class: cls, type: "button", "data-action": attrs.action, disabled: attrs.disabled, onclick }, label);
}

function table(caption, cls, columns, rows) {
    return h("table", { class: "pf-c-table pf-m-compact pf-m-grid-md bpf-table " + cls, role: "grid", "aria-label": caption },
             h("caption", { class: "bpf-caption" }, caption),
             h("thead", {}, h("tr", {}, columns.map(c => h("th", { scope: "col" }, c)))),
             h("tbody", {}, rows.map(r => h("tr", { "data-row": r.key },
                                             r.cells.map((c, i) => h("td", { "data-label": columns[i] || "", "data-field": r.fields?.[i] }, c))))));
}

function unitBody(u, details) {
    const active = u.sd?.ActiveState;
    const busy = a => state.busy.has(u.name + ":" + a);
    const ls = model.links(u.props);
    const ps = model.programs(u.props);
    const ms = model.maps(u.props);
    const running = ls.length > 0 || ps.length > 0;
    const reason = u.props.StateReason;

    // Start where systemd has it stopped, Stop and Reload where it runs:
    // the other buttons would be no-ops or errors.
    const up = active === "active" || active === "reloading" || active === "activating";
    const actions = h("div", { class: "bpf-actions" },
                      button(busy("start") ? "Starting…" : "Start", { action: "start", variant: "primary", disabled: busy("start") || up }, () => jobAction(u.name, "Start")),
                      button(busy("stop") ? "Stopping…" : "Stop", { action: "stop", disabled: busy("stop") || (!up && !running) }, () => jobAction(u.name, "Stop")),
                      button(busy("reload") ? "Reloading…" : "Reload", { action: "reload", disabled: busy("reload") || !up }, () => jobAction(u.name, "Reload")),
                      details ? null : h("a", { class: "pf-c-button pf-m-link", href: "#/unit/" + encodeURIComponent(u.name), "data-action": "details" }, "Details"));

    const parts = [
        h("dl", { class: "pf-c-description-list pf-m-horizontal pf-m-compact bpf-facts" },
          fact("systemd", h("span", {}, badge(active, "systemd ActiveState"), " ", model.systemdUnit(u.name)), "systemd"),
          fact("bpfunit", badge(u.state, "bpfunit state"), "state"),
          reason ? fact("Reason", reason, "reason") : null,
          u.description ? fact("Description", u.description, "description") : null,
          model.formatStarted(u.props.Started) ? fact("Started", model.formatStarted(u.props.Started), "started") : null,
          u.sdError ? fact("systemd", u.sdError) : null,
          u.propsError ? fact("Error", u.propsError) : null),
        actions,
    ];
    if (ls.length > 0) {
        parts.push(table("Links", "bpf-links", ["Link", "Type", "Target", "Link ID", "Program", ""], ls.map(l => ({
            key: l.name,
            fields: ["link", "type", "target", "link-id", "program", ""],
            cells: [l.name, l.type, l.target, l.linkId || "",
                l.program || "",
                (l.state && l.state !== "attached")
                    ? h("span", { class: "bpf-muted", "data-field": "link-state" }, l.state)
                    : button(busy("detach:" + l.name) ? "Detaching…" : "Detach", { action: "detach", small: true, disabled: busy("detach:" + l.name) }, () => detach(u.name, l.name))],
        }))));
    }
    if (ps.length > 0) {
        const statsNote = "statistics off";
        parts.push(table("Programs", "bpf-programs", ["Program", "ID", "Tag", "Run count", "Run time", ""], ps.map(p => ({
            key: p.name,
            fields: ["program", "prog-id", "tag", "run-count", "run-time", ""],
            cells: [p.name, p.id, h("code", {}, p.tag || ""),
                (state.stats || p.statsEnabled) ? model.formatCount(p.runCount) : h("span", { class: "bpf-muted" }, statsNote),
                (state.stats || p.statsEnabled) ? model.formatDuration(p.runTimeNs) : h("span", { class: "bpf-muted" }, statsNote),
                button(busy("replace:" + p.name) ? "Replacing…" : "Replace…", { action: "replace", small: true, disabled: busy("replace:" + p.name) }, () => openReplace(u.name, p.name))],
        }))));
    }
    if (ms.length > 0) {
        parts.push(table("Maps", "bpf-maps", ["Map", "ID", "Type", "Entries", "Values"], ms.map(m => ({
            key: m.name,
            fields: ["map", "map-id", "map-type", "entries", "values"],
            cells: [m.name, m.id, m.type, m.maxEntries ?? "",
                Array.isArray(m.values) ? m.values.map(model.formatCount).join(" ") : ""],
        }))));
    }
    if (!running && u.state !== undefined)
        parts.push(h("p", { class: "bpf-muted" }, "Nothing attached."));
    return parts;
}

function fact(term, value, field) {
    return h("div", { class: "pf-c-description-list__group" },
             h("dt", { class: "pf-c-description-list__term" }, h("span", { class: "pf-c-description-list__text" }, term)),
             h("dd", { class: "pf-c-description-list__description" }, h("div", { class: "pf-c-description-list__text", "data-field": field }, value)));
}

function unitCard(u) {
    return h("article", { class: "pf-c-card bpf-unit", "data-unit": u.name, "data-active": u.sd?.ActiveState || "", "data-state": u.state || "" },
             h("div", { class: "pf-c-card__title" },
               h("h2", { class: "bpf-unit-name" }, h("a", { href: "#/unit/" + encodeURIComponent(u.name) }, u.name))),
             h("div", { class: "pf-c-card__body" }, unitBody(u, false)));
}

function statsSwitch() {
    const id = "bpf-stats-switch";
    return h("label", { class: "pf-c-switch", for: id },
             h("input", {
                 class: "pf-c-switch__input", type: "checkbox", id, checked: state.stats === true,
                 "aria-label": "BPF run-time statistics", disabled: state.stats === null,
                 onchange: ev => setStats(ev.target.checked),
             }),
             h("span", { class: "pf-c-switch__toggle" }),
             h("span", { class: "pf-c-switch__label" },
               state.stats === null ? "Run-time statistics unknown" : "Run-time statistics (kernel.bpf_stats_enabled)"));
}

function header(title, crumbs) {
    return h("section", { class: "pf-c-page__main-section pf-m-padding pf-m-light bpf-header" },
             crumbs,
             h("div", { class: "bpf-titlebar" }, h("h1", { class: "pf-c-title pf-m-2xl" }, title), statsSwitch()));
}

function listView() {
    const main = h("section", { class: "pf-c-page__main-section pf-m-padding bpf-list" });
    if (!state.loaded) {
        main.append(h("p", { class: "bpf-muted" }, "Loading…"));
    } else if (state.loadError) {
        main.append(h("div", { class: "pf-c-alert pf-m-inline pf-m-danger", role: "alert", id: "load-error" },
                      h("p", { class: "pf-c-alert__title" }, state.loadError.title),
                      state.loadError.detail ? h("div", { class: "pf-c-alert__description" }, state.loadError.detail) : null));
    } else if (state.units.size === 0) {
        main.append(h("div", { class: "pf-c-empty-state" },
                      h("h2", { class: "pf-c-title pf-m-lg" }, "No BPF units"),
                      h("p", {}, "Write a NAME.bpfunit file into /etc/bpfunit and run systemctl daemon-reload.")));
    } else {
        for (const name of [...state.units.keys()].sort())
            main.append(unitCard(state.units.get(name)));
    }
    return [header("BPF programs"), main];
}

function detailsView(name) {
    const crumbs = h("nav", { class: "pf-c-breadcrumb", "aria-label": "breadcrumb" },
                     h("ol", { class: "pf-c-breadcrumb__list" },
                       h("li", { class: "pf-c-breadcrumb__item" }, h("a", { class: "pf-c-breadcrumb__link", href: "#/" }, "BPF programs")),
                       h("li", { class: "pf-c-breadcrumb__item" }, h("span", { class: "pf-c-breadcrumb__item-divider" }, "›"), h("span", { class: "pf-c-breadcrumb__link pf-m-current" }, name))));
    const main = h("section", { class: "pf-c-page__main-section pf-m-padding bpf-details" });
    const u = state.units.get(name);
    if (!u) {
        main.append(h("p", {}, state.loaded ? "No BPF unit " + name + "." : "Loading…"));
        return [header(name, crumbs), main];
    }
    loadConfig(name);
    const failed = u.sd?.ActiveState === "failed" || model.stateClass(u.state) === "bad" || !!u.props.StateReason;
    if (failed)
        loadJournal(name);
    main.append(h("article", { class: "pf-c-card bpf-unit", "data-unit": u.name, "data-active": u.sd?.ActiveState || "", "data-state": u.state || "" },
                  h("div", { class: "pf-c-card__title" }, h("h2", { class: "bpf-unit-name" }, u.name)),
                  h("div", { class: "pf-c-card__body" }, unitBody(u, true))));
    if (failed || state.journal.get(name)) {
        main.append(h("article", { class: "pf-c-card bpf-failure", id: "failure" },
                      h("div", { class: "pf-c-card__title" }, h("h2", { class: "pf-c-title pf-m-lg" }, "Why it failed")),
                      h("div", { class: "pf-c-card__body" },
                        u.props.StateReason ? h("p", { "data-field": "state-reason" }, u.props.StateReason) : null,
                        h("p", { class: "bpf-muted" }, "journalctl -u " + model.systemdUnit(name) + " (last 20 lines)"),
                        h("pre", { class: "bpf-pre", id: "journal" }, state.journal.get(name) ?? "Loading…"))));
    }
    const cfg = state.config.get(name);
    main.append(h("article", { class: "pf-c-card bpf-config" },
                  h("div", { class: "pf-c-card__title" }, h("h2", { class: "pf-c-title pf-m-lg" }, "Configuration")),
                  h("div", { class: "pf-c-card__body" },
                    h("p", { class: "bpf-muted" }, u.props.ConfigPath || "no config file"),
                    cfg?.error ? h("p", {}, cfg.error) : h("pre", { class: "bpf-pre", id: "config" }, cfg?.text ?? ""))));
    return [header(name, crumbs), main];
}

function draw() {
    const root = document.getElementById("app");
    const r = currentRoute();
    root.replaceChildren(...(r.view === "unit" ? detailsView(r.name) : listView()));
    document.body.dataset.loaded = state.loaded ? "yes" : "no";
}

// --- replace dialog (outside #app, so re-renders keep it) -------------

function openReplace(name, program) {
    const dlg = document.getElementById("replace-dialog");
    dlg.querySelector("#replace-unit").textContent = name;
    dlg.querySelector("#replace-program").textContent = program;
    const input = dlg.querySelector("#replace-file");
    input.value = "";
    dlg.dataset.unit = name;
    dlg.dataset.program = program;
    dlg.hidden = false;
    input.focus();
}

function setupReplaceDialog() {
    const dlg = document.getElementById("replace-dialog");
    const close = () => { dlg.hidden = true };
    dlg.querySelector("#replace-cancel").addEventListener("click", close);
    dlg.querySelector("#replace-close").addEventListener("click", close);
    dlg.querySelector("#replace-ok").addEventListener("click", () => {
        const file = dlg.querySelector("#replace-file").files[0];
        if (!file) {
            showAlert("warning", "Choose an object file (.o) first");
            return;
        }
        close();
        replace(dlg.dataset.unit, dlg.dataset.program, file);
    });
    document.addEventListener("keydown", ev => { if (ev.key === "Escape") close() });
}

// --- start ------------------------------------------------------------

function init() {
    setupReplaceDialog();
    cockpit.addEventListener("locationchanged", render);
    cockpit.addEventListener("visibilitychange", () => { if (!cockpit.hidden) tick() });
    render();
    readStats();
    follow().then(refreshList, refreshList);
    setInterval(tick, TICK_MS);
    cockpit.transport.wait(() => document.body.removeAttribute("hidden"));
}

init();
