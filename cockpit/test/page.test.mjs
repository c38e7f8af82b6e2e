// page.test.mjs — drives headless Chromium (Debian's, through
// playwright-core) for internal/e2e/cockpit. The Go test owns the
// scenario and checks the kernel with bpftool between steps; this script
// does what a user does in the browser and reports what the page shows.
//
// Protocol: one JSON command per line on stdin, one JSON reply per line on
// stdout ({"id", "ok", "result"} or {"id", "ok": false, "error"}).
// Everything else goes to stderr. Every page records its JavaScript
// errors (pageerror, console errors, failed requests of its own files),
// which the "errors" command returns.
//
//   node cockpit/test/page.test.mjs [--chromium /usr/bin/chromium]
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const args = process.argv.slice(2);
const chromiumArg = args.indexOf("--chromium");
const executablePath = chromiumArg >= 0 ? args[chromiumArg + 1] : "/usr/bin/chromium";

// Flags for a closed network (no Google services) and running as root.
// Playwright starts every launch with a fresh, empty profile directory of
// its own (it refuses --user-data-dir).
const flags = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

const pages = new Map(); // name -> {page, context, errors}
let browser = null;

function log(...a) {
    process.stderr.write(a.join(" ") + "\n");
}

async function launch() {
    if (!browser) {
        browser = await chromium.launch({ executablePath, headless: true, args: flags });
    }
    return browser;
}

// frame is where the bpfunit page runs: the iframe when opened through
// Cockpit's shell, the page itself when opened alone.
// Through the shell, wait for the iframe to exist.
async function frameOf(p, timeout = 15000) {
    if (p.page.url().includes("/bpfunit/"))
        return p.page.mainFrame();
    const deadline = Date.now() + timeout;
    for (;;) {
        const f = p.page.frames().find(f => f.url().includes("/bpfunit/"));
        if (f)
            return f;
        if (Date.now() > deadline)
            throw new Error("no bpfunit frame in " + p.page.url());
        await new Promise(resolve => setTimeout(resolve, 100));
    }
}

function get(name) {
    const p = pages.get(name || "main");
    if (!p)
        throw new Error("no page " + name);
    return p;
}

const ops = {
    async open({ name = "main", url, width = 1280, height = 900 }) {
        const b = await launch();
        const old = pages.get(name);
        if (old)
            await old.context.close();
        const context = await b.newContext({ viewport: { width, height } });
        const page = await context.newPage();
        const p = { page, context, errors: [] };
        page.on("pageerror", e => p.errors.push("pageerror: " + (e.stack || e.message)));
        page.on("console", m => {
            if (m.type() === "error")
                p.errors.push("console error: " + m.text() + " (" + (m.location()?.url || "") + ")");
        });
        page.on("requestfailed", r => {
            if (r.url().includes("/bpfunit/"))
                p.errors.push("request failed: " + r.url() + " " + (r.failure()?.errorText || ""));
        });
        page.on("response", r => {
            if (r.url().includes("/bpfunit/") && r.status() >= 400)
                p.errors.push("HTTP " + r.status() + ": " + r.url());
        });
        pages.set(name, p);
        await page.goto(url, { waitUntil: "load" });
        return page.url();
    },

    // wait waits for selector (in the bpfunit frame) to exist and, when
    // text is given, to contain it.
    async wait({ name, selector, text, timeout = 15000 }) {
        const f = await frameOf(get(name));
        const loc = text === undefined ? f.locator(selector).first() : f.locator(selector, { hasText: text }).first();
        await loc.waitFor({ state: "attached", timeout });
        return (await loc.innerText()).trim();
    },

    // gone waits for selector to match nothing.
    async gone({ name, selector, timeout = 15000 }) {
        const f = await frameOf(get(name));
        await f.locator(selector).first().waitFor({ state: "detached", timeout });
        return true;
    },

    async text({ name, selector }) {
        const f = await frameOf(get(name));
        const loc = f.locator(selector);
        const n = await loc.count();
        const out = [];
        for (let i = 0; i < n; i++)
            out.push((await loc.nth(i).innerText()).trim());
        return out;
    },

    async click({ name, selector }) {
        const f = await frameOf(get(name));
        await f.locator(selector).first().click({ timeout: 10000 });
        return true;
    },

    async upload({ name, selector, file }) {
        const f = await frameOf(get(name));
        await f.locator(selector).first().setInputFiles(file);
        return true;
    },

    async goto({ name, hash }) {
        const f = await frameOf(get(name));
        await f.evaluate(h => { window.location.hash = h }, hash);
        return true;
    },

    // eval evaluates an expression in the bpfunit frame (the test's own
    // probes: a marker that proves no reload happened, layout widths).
    async eval({ name, expr }) {
        const f = await frameOf(get(name));
        return f.evaluate(expr);
    },

    async viewport({ name, width, height }) {
        await get(name).page.setViewportSize({ width, height });
        return true;
    },

    // overflow is how many pixels the page is wider than the window (0 at
    // a phone's width means no sideways scrolling).
    async overflow({ name }) {
        const f = await frameOf(get(name));
        return f.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    },

    async screenshot({ name, path, fullPage = true }) {
        await get(name).page.screenshot({ path, fullPage });
        return path;
    },

    async errors({ name }) {
        return get(name).errors;
    },

    async close() {
        if (browser)
            await browser.close();
        browser = null;
        return true;
    },
};

function reply(o) {
    process.stdout.write(JSON.stringify(o) + "\n");
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
    if (!line.trim())
        continue;
    let cmd;
    try {
        cmd = JSON.parse(line);
    } catch (e) {
        reply({ id: null, ok: false, error: "bad command: " + e.message });
        continue;
    }
    const op = ops[cmd.op];
    if (!op) {
        reply({ id: cmd.id, ok: false, error: "unknown op " + cmd.op });
        continue;
    }
    try {
        reply({ id: cmd.id, ok: true, result: await op(cmd) });
    } catch (e) {
        // Playwright's messages carry a call log; its first lines say it.
        reply({ id: cmd.id, ok: false, error: String(e.message || e).split("\n").slice(0, 8).join("\n") });
    }
}
await ops.close();
