// model.test.mjs — the page's pure logic under plain node (no browser, no
// root): node --test cockpit/test/model.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import * as model from "../bpfunit/model.js";

test("records reads structs in signature order", () => {
    const ps = model.programs({ Programs: [["xdp_count", 42, "abcd", true, 7, 1500]] });
    assert.deepEqual(ps, [{ name: "xdp_count", id: 42, tag: "abcd", statsEnabled: true, runCount: 7, runTimeNs: 1500 }]);
    const ls = model.links({ Links: [["xdp_count@veth0", "xdp_count", "xdp", "veth0 (netns a)", 5, 42, "abcd", "attached"]] });
    assert.equal(ls[0].linkId, 5);
    assert.equal(ls[0].state, "attached");
    const ms = model.maps({ Maps: [["xdp_stats", "Array", 3, 4, 8, 2, [10, 20]]] });
    assert.deepEqual(ms[0].values, [10, 20]);
    assert.equal(ms[0].maxEntries, 2);
    assert.equal(model.formatStarted(0), "");
    assert.equal(model.formatStarted(1700000000000000), "2023-11-14 22:13:20 UTC");
});

test("records reads dictionaries with variants, by any alias", () => {
    const ls = model.links({
        Links: { t: "aa{sv}", v: [{ Name: { t: "s", v: "xdp_count@eth0" }, Type: { t: "s", v: "xdp" }, LinkID: { t: "u", v: 9 } }] },
    });
    assert.equal(ls.length, 1);
    assert.equal(ls[0].name, "xdp_count@eth0");
    assert.equal(ls[0].type, "xdp");
    assert.equal(ls[0].linkId, 9);
    assert.equal(ls[0].target, undefined);
});

test("records of a missing or odd property is empty", () => {
    assert.deepEqual(model.maps({}), []);
    assert.deepEqual(model.maps({ Maps: "x" }), []);
    assert.deepEqual(model.maps(undefined), []);
});

test("describeError: denials are 'Not permitted'", () => {
    for (const name of ["org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"]) {
        const e = model.describeError("Stop bpf@x.service", { name, message: "Interactive authentication required." });
        assert.equal(e.denied, true);
        assert.match(e.title, /^Not permitted: Stop bpf@x.service$/);
    }
    // cockpit.spawn of the CLI: exit status and stderr, no D-Bus name
    const e = model.describeError("Replace", { problem: null, exit_status: 1, message: "bpfunit: replace x: org.freedesktop.DBus.Error.AccessDenied: not allowed" });
    assert.equal(e.denied, true);
    assert.equal(model.describeError("x", { problem: "access-denied", message: "" }).denied, true);
    assert.equal(model.describeError("x", { exit_status: 255, message: 'sysctl: permission denied on key "kernel.bpf_stats_enabled"' }).denied, true);
    // the CLI reporting a verifier rejection is a failure, not a denial
    assert.equal(model.describeError("x", { exit_status: 1, message: "bpfunit: load xdp_bad: permission denied: invalid access to packet" }).denied, false);
});

test("describeError: named errors keep the reason, the verifier log goes to detail", () => {
    const e = model.describeError("Start bpf@bad.service", {
        name: "org.bpfunit.Error.VerifierRejected",
        message: "load xdp_bad: permission denied: invalid access to packet\n0: R1=ctx\n1: invalid access to packet",
    });
    assert.equal(e.denied, false);
    assert.equal(e.title, "Start bpf@bad.service failed (VerifierRejected): load xdp_bad: permission denied: invalid access to packet");
    assert.equal(e.detail, "0: R1=ctx\n1: invalid access to packet");
    // "permission denied" inside a named bpfunit error is the kernel's
    // word, not a refusal of the caller
    assert.equal(e.denied, false);
});

test("describeError: missing helper and odd values", () => {
    assert.match(model.describeError("Listing", { name: "org.freedesktop.DBus.Error.ServiceUnknown", message: "x" }).title, /bpfunitd\) is not available/);
    assert.match(model.describeError("Listing", { problem: "not-found", message: "" }, "bpfunitd").title, /bpfunitd\) is not available/);
    assert.equal(model.describeError("x", { problem: "not-found", message: "" }).title, "x: command not found");
    assert.equal(model.describeError("x", null).title, "x failed: unknown error");
    assert.equal(model.describeError("x", "boom").title, "x failed: boom");
});

test("formatting", () => {
    assert.equal(model.formatCount(1234567), "1,234,567");
    assert.equal(model.formatCount("18446744073709551615"), "18,446,744,073,709,551,615");
    assert.equal(model.formatCount(undefined), "");
    assert.equal(model.formatDuration(999), "999 ns");
    assert.equal(model.formatDuration(1500), "1.5 µs");
    assert.equal(model.formatDuration(2500000), "2.50 ms");
    assert.equal(model.formatDuration(3e9), "3.00 s");
    assert.equal(model.statsEnabled("1\n"), true);
    assert.equal(model.statsEnabled("0\n"), false);
});

test("routes", () => {
    assert.deepEqual(model.route([]), { view: "list" });
    assert.deepEqual(model.route(["unit", "count"]), { view: "unit", name: "count" });
    assert.deepEqual(model.route(["unit", ".."]), { view: "list" });
    assert.deepEqual(model.route(["unit", "a/b"]), { view: "list" });
    assert.deepEqual(model.route(["other"]), { view: "list" });
});

test("state classes and job results", () => {
    assert.equal(model.stateClass("active"), "ok");
    assert.equal(model.stateClass("failed"), "bad");
    assert.equal(model.stateClass("inactive"), "off");
    assert.equal(model.stateClass("partly-attached"), "warn");
    assert.equal(model.jobFailed("done"), false);
    assert.equal(model.jobFailed("failed"), true);
    assert.equal(model.systemdUnit("count"), "bpf@count.service");
    assert.match(model.uploadTemplate("a.b", "x/y"), /^bpfunit-upload-a_b-x_y\.X{8}\.o$/);
});

test("oneshotReason takes the last start's error lines", () => {
    const j = [
        "Starting bpf@bad.service - x...",
        "bpfunit-oneshot: start bad: old reason",
        "Failed to start bpf@bad.service - x.",
        "Starting bpf@bad.service - x...",
        "verifier log (full text in the journal field BPFUNIT_VERIFIER_LOG) unit=bad program=xdp_bad",
        "bpfunit-oneshot: start bad: unit bad: load program xdp_bad: verifier rejected it (permission denied): invalid access to packet",
        "bpf@bad.service: Failed with result 'exit-code'.",
    ].join("\n");
    assert.equal(model.oneshotReason(j), "bpfunit-oneshot: start bad: unit bad: load program xdp_bad: verifier rejected it (permission denied): invalid access to packet");
    assert.equal(model.oneshotReason(""), "");
});
