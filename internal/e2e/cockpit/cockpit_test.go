package cockpit_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bpfunit/bpfunit/internal/testenv"
	"github.com/bpfunit/bpfunit/internal/testenv/testbed"
)

func TestMain(m *testing.M) { testbed.Main(m) }

// root is the module's top directory, relative to this package.
const root = "../../.."

const (
	xdpObj = "/usr/lib/bpfunit/objects/xdp_counter.bpf.o"
	badObj = "/usr/lib/bpfunit/objects/bad.bpf.o"
	// user is the unprivileged Cockpit user created inside the testbed.
	user = "bpfviewer"
)

// TestPage: the "BPF programs" page in a real browser, as root and as an
// unprivileged user, against the real bpfunitd, systemd and kernel.
func TestPage(t *testing.T) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	node, chromium := needBrowser(t, absRoot)
	testenv.CheckLeaks(t)
	tb := testbed.BootInstalled(t, root, testbed.Options{})
	shots := os.Getenv("BPFUNIT_FAILURE_SCREENSHOTS") // kept, for a human
	if shots == "" {
		shots = t.TempDir()
	}
	docs := os.Getenv("BPFUNIT_SCREENSHOTS")

	installCockpit(t, tb, absRoot)
	rootPort, userPort := freePort(t), freePort(t)
	serve(t, tb, "bpfunit-cockpit-root", rootPort, "cockpit-bridge")
	d := startDriver(t, absRoot, node, chromium)
	admin := &page{t: t, d: d, name: "admin", shots: shots}

	if _, err := tb.Run("test", "-e", "/usr/share/dbus-1/system-services/org.bpfunit.Manager1.service"); err != nil {
		// Without the helper the page must still load cleanly and say so.
		admin.must("open", "url", pageURL(rootPort))
		admin.wait(`#load-error`, "bpfunitd) is not available")
		if e := admin.errors(); len(e) > 0 {
			t.Fatalf("JavaScript errors on the page:\n%s", strings.Join(e, "\n"))
		}
		t.Skip("bpfunitd is not installed by make install (no D-Bus activation file): checked only that the page loads and says so")
	}
	tb.MustRun(t, "useradd", "--create-home", "--shell", "/bin/sh", user)
	bridge := "/usr/local/libexec/cockpit-bridge-" + user
	// cockpit-ws spawns the bridge with no arguments; the wrapper drops to
	// the user (setpriv), as a login would.
	script := fmt.Sprintf("#!/bin/sh\nexec setpriv --reuid=%[1]s --regid=%[1]s --init-groups env HOME=/home/%[1]s USER=%[1]s LOGNAME=%[1]s /usr/bin/cockpit-bridge \"$@\"\n", user)
	if err := tb.WriteFile(bridge, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	serve(t, tb, "bpfunit-cockpit-user", userPort, bridge)

	// Units: count (XDP on a veth, started), idle (configured, never
	// started) and bad (the verifier rejects it: a failed start).
	nsA, nsB, ifB := vethPair(t, tb)
	writeConfig(t, tb, "count", fmt.Sprintf("[Unit]\nDescription=XDP counter on %s\n[Object]\nPath=%s\nPinMaps=yes\n[Attach]\nProgram=xdp_count\nInterface=%s\nNamespace=%s\n", ifB, xdpObj, ifB, nsB))
	writeConfig(t, tb, "idle", fmt.Sprintf("[Unit]\nDescription=Not started\n[Object]\nPath=%s\n[Attach]\nProgram=xdp_count\nInterface=%s\nNamespace=%s\n", xdpObj, ifB, nsB))
	writeConfig(t, tb, "bad", fmt.Sprintf("[Unit]\nDescription=Rejected by the verifier\n[Object]\nPath=%s\n[Attach]\nProgram=xdp_bad\nInterface=%s\nNamespace=%s\n", badObj, ifB, nsB))
	tb.MustRun(t, "systemctl", "daemon-reload")
	tb.MustRun(t, "systemctl", "start", "bpf@count.service")
	tb.Run("systemctl", "start", "bpf@bad.service") // fails: that is the point
	t.Cleanup(func() { tb.Run("systemctl", "stop", "bpf@count.service", "bpf@bad.service", "bpf@idle.service") })
	if s := tb.UnitState("bpf@bad.service"); s != "failed" {
		t.Fatalf("bpf@bad.service is %q, want failed", s)
	}

	admin.must("open", "url", pageURL(rootPort))

	// The list: every configured unit, with systemd's word; the started
	// one with the program id the kernel runs on its link.
	card := `[data-unit="count"]`
	progSel := card + ` [data-field="prog-id"]`
	admin.wait(card + `[data-active="active"]`)
	admin.wait(`[data-unit="idle"][data-active="inactive"]`)
	admin.wait(`[data-unit="bad"][data-active="failed"]`)
	progID := admin.wait(progSel)
	linkID := admin.wait(card + ` [data-field="link-id"]`)
	if l := kernelLink(t, tb, linkID); l == nil || strconv.Itoa(l.ProgID) != progID {
		t.Fatalf("the page shows link %s running program %s; the kernel has %+v", linkID, progID, l)
	}
	admin.wait(card+` .bpf-maps`, "xdp_stats")

	// Live: a stop from a shell shows on the open page, without a reload
	// (the marker set in the page's window survives).
	admin.eval(`window.bpfunitMarker = 42`)
	tb.MustRun(t, "systemctl", "stop", "bpf@count.service")
	admin.wait(card + `[data-active="inactive"]`)
	admin.gone(card + ` .bpf-links`)
	if m := string(admin.eval(`window.bpfunitMarker`)); m != "42" {
		t.Fatalf("the page reloaded to show the stop (marker %s)", m)
	}
	waitNoLink(t, tb, linkID, "after systemctl stop")

	// Start from the page: the kernel runs the program on a new link.
	admin.click(card + ` [data-action="start"]`)
	admin.wait(card + `[data-active="active"]`)
	progID = admin.waitChange(progSel, progID)
	linkID = admin.wait(card + ` [data-field="link-id"]`)
	if l := kernelLink(t, tb, linkID); l == nil || strconv.Itoa(l.ProgID) != progID {
		t.Fatalf("after Start the page shows link %s running %s; the kernel has %+v", linkID, progID, l)
	}

	// Reload from the page: a new program on the same link.
	admin.click(card + ` [data-action="reload"]`)
	newProg := admin.waitChange(progSel, progID)
	if l := kernelLink(t, tb, linkID); l == nil || strconv.Itoa(l.ProgID) != newProg {
		t.Fatalf("after Reload link %s should run program %s: the kernel has %+v", linkID, newProg, l)
	}
	waitNoProg(t, tb, progID, "after Reload")
	progID = newProg

	// Run counts: the switch turns kernel.bpf_stats_enabled on (restored at
	// the end, it is host-wide), traffic makes the count move on the page.
	statsWas := strings.TrimSpace(tb.MustRun(t, "cat", "/proc/sys/kernel/bpf_stats_enabled"))
	t.Cleanup(func() { tb.Run("sysctl", "-q", "-w", "kernel.bpf_stats_enabled="+statsWas) })
	if statsWas != "1" {
		admin.click(`label.pf-c-switch`)
	}
	admin.wait(`#bpf-stats-switch:checked`)
	if s := strings.TrimSpace(tb.MustRun(t, "cat", "/proc/sys/kernel/bpf_stats_enabled")); s != "1" {
		t.Fatalf("after the switch kernel.bpf_stats_enabled is %s", s)
	}
	tb.Run("ip", "netns", "exec", nsA, "ping", "-q", "-c", "5", "-i", "0.05", "-W", "1", "10.198.0.2")
	admin.waitFor(card+` [data-field="run-count"]`, "a run count above 0", func(s string) bool {
		n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
		return err == nil && n > 0
	})

	// Replace from the page: upload an object; the link stays, the kernel
	// runs the uploaded program.
	admin.click(card + ` tr[data-row="xdp_count"] [data-action="replace"]`)
	admin.must("upload", "selector", "#replace-file", "file", filepath.Join(absRoot, "bpf", "xdp_counter_bpfel.o"))
	admin.click(`#replace-ok`)
	admin.wait(`.bpf-alert[data-kind="success"]`, "replaced xdp_count")
	newProg = admin.waitChange(progSel, progID)
	if l := kernelLink(t, tb, linkID); l == nil || strconv.Itoa(l.ProgID) != newProg {
		t.Fatalf("after Replace link %s should run program %s: the kernel has %+v", linkID, newProg, l)
	}
	waitNoProg(t, tb, progID, "after Replace")
	progID = newProg
	noUpload(t, tb, "after Replace")

	// The unprivileged user reads everything, every change is refused
	// with a message, and nothing changes in the kernel.
	viewer := &page{t: t, d: d, name: "viewer", shots: shots}
	viewer.must("open", "url", pageURL(userPort))
	viewer.wait(progSel, progID)
	viewer.wait(`[data-unit="bad"][data-active="failed"]`)
	for _, c := range []struct{ what, sel string }{
		{"Stop", card + ` [data-action="stop"]`},
		{"Start", `[data-unit="idle"] [data-action="start"]`},
		{"Reload", card + ` [data-action="reload"]`},
		{"Detach", card + ` [data-action="detach"]`},
	} {
		viewer.click(c.sel)
		msg := viewer.wait(`.bpf-alert[data-kind="warning"]`, "Not permitted: "+c.what)
		t.Logf("%s as %s: %q", c.what, user, msg)
	}
	viewer.click(card + ` tr[data-row="xdp_count"] [data-action="replace"]`)
	viewer.must("upload", "selector", "#replace-file", "file", filepath.Join(absRoot, "bpf", "xdp_counter_bpfel.o"))
	viewer.click(`#replace-ok`)
	viewer.wait(`.bpf-alert[data-kind="warning"]`, "Not permitted: Replace")
	noUpload(t, tb, "after the refused Replace")
	viewer.click(`label.pf-c-switch`)
	viewer.wait(`.bpf-alert[data-kind="warning"]`, "Not permitted: Turning off")
	if s := tb.UnitState("bpf@count.service"); s != "active" {
		t.Fatalf("after the refused changes bpf@count.service is %s", s)
	}
	if s := tb.UnitState("bpf@idle.service"); s != "inactive" {
		t.Fatalf("after the refused Start bpf@idle.service is %s", s)
	}
	if l := kernelLink(t, tb, linkID); l == nil || strconv.Itoa(l.ProgID) != progID {
		t.Fatalf("after the refused changes link %s should still run %s: the kernel has %+v", linkID, progID, l)
	}
	if s := strings.TrimSpace(tb.MustRun(t, "cat", "/proc/sys/kernel/bpf_stats_enabled")); s != "1" {
		t.Fatalf("the refused switch changed kernel.bpf_stats_enabled to %s", s)
	}

	// Screenshots, through Cockpit's shell (its menu shows the entry).
	shell := &page{t: t, d: d, name: "shell", shots: shots}
	shell.must("open", "url", fmt.Sprintf("http://127.0.0.1:%d/bpfunit", rootPort), "width", 1280, "height", 1000)
	shell.wait(progSel, progID)
	if docs != "" {
		shell.screenshot(filepath.Join(docs, "cockpit-list.png"))
	}

	// Details of the failed unit: its config and why the start failed
	// (the verifier's words, from the journal).
	shell.must("goto", "hash", "/unit/bad")
	shell.wait(`#config`, "xdp_bad")
	shell.wait(`#journal`, "invalid access to packet")
	if docs != "" {
		shell.screenshot(filepath.Join(docs, "cockpit-details.png"))
	}
	// A failed start from the page says so, with bpfunit's reason.
	shell.click(`[data-unit="bad"] [data-action="start"]`)
	msg := shell.wait(`.bpf-alert[data-kind="danger"]`, "invalid access to packet")
	if !strings.Contains(msg, "Start bpf@bad.service failed") {
		t.Errorf("the failed start's message: %q", msg)
	}
	t.Logf("Start of the rejected unit: %q", msg)
	if s := tb.UnitState("bpf@bad.service"); s != "failed" {
		t.Fatalf("after the page's Start bpf@bad.service is %q, want failed", s)
	}
	shell.must("goto", "hash", "/")
	shell.wait(progSel, progID)

	// Detach from the page: the link leaves the kernel, the unit stays
	// active (partly attached).
	admin.click(card + ` [data-action="detach"]`)
	admin.wait(`.bpf-alert[data-kind="success"]`, "detached")
	waitNoLink(t, tb, linkID, "after Detach")
	admin.wait(card + ` [data-field="link-state"]`)
	if s := tb.UnitState("bpf@count.service"); s != "active" {
		t.Fatalf("after Detach bpf@count.service is %s", s)
	}

	// Phone width: no sideways scrolling, the buttons still there.
	admin.must("viewport", "width", 390, "height", 844)
	admin.wait(card + ` [data-action="stop"]`)
	var over int
	json.Unmarshal(admin.must("overflow"), &over)
	if over > 0 {
		admin.fatal(fmt.Errorf("at 390 px the page is %d px wider than the window", over))
	}
	if docs != "" {
		admin.eval(`document.querySelectorAll(".bpf-alert").forEach(a => a.remove()); document.getElementById("app").scrollTo(0, 0)`)
		admin.screenshot(filepath.Join(docs, "cockpit-phone.png"))
	}

	// Stop from the page: nothing of the unit is left in the kernel.
	admin.click(card + ` [data-action="stop"]`)
	admin.wait(card + `[data-active="inactive"]`)
	waitNoProg(t, tb, progID, "after Stop")

	for _, p := range []*page{admin, viewer} {
		if e := p.errors(); len(e) > 0 {
			t.Errorf("JavaScript errors on the %s page:\n%s", p.name, strings.Join(e, "\n"))
		}
	}
	// Through the shell, only errors of the bpfunit frame count: the
	// shell's own complaints (no PackageKit, no PCP in the testbed) are
	// not the page's.
	for _, e := range shell.errors() {
		if strings.Contains(e, "/bpfunit/") {
			t.Errorf("JavaScript error in the bpfunit frame: %s", e)
		} else {
			t.Logf("Cockpit's shell (not the page): %s", e)
		}
	}
}

func pageURL(port int) string {
	return fmt.Sprintf("http://127.0.0.1:%d/cockpit/@localhost/bpfunit/index.html", port)
}

// installCockpit installs Debian's Cockpit into the testbed's overlay and
// the page, unless make install already put it there.
func installCockpit(t *testing.T, tb *testbed.Testbed, absRoot string) {
	t.Helper()
	// No service of a package may start at install time: cockpit.socket
	// would listen on the host's port 9090 (the testbed shares its
	// network namespace).
	if err := tb.WriteFile("/usr/sbin/policy-rc.d", []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	waitHostDpkg(t)
	start := time.Now()
	if out, err := tb.Run("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q",
		"--no-install-recommends", "cockpit-ws", "cockpit-bridge", "cockpit-system"); err != nil {
		t.Fatalf("install Cockpit inside the testbed (apt-get): %v\n%s", err, tail(out, 15))
	}
	t.Logf("apt-get install cockpit: %v", time.Since(start).Round(time.Millisecond))
	if _, err := tb.Run("test", "-e", "/usr/share/cockpit/bpfunit/manifest.json"); err != nil {
		// make install of this tree has no rule for the page yet: copy it
		// as the rule would.
		t.Log("make install did not install /usr/share/cockpit/bpfunit: copying cockpit/bpfunit/")
		files, _ := filepath.Glob(filepath.Join(absRoot, "cockpit", "bpfunit", "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := tb.WriteFile("/usr/share/cockpit/bpfunit/"+filepath.Base(f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	tb.MustRun(t, "systemctl", "start", "dbus.socket")
}

// waitHostDpkg waits until no dpkg runs on the host. The testbed's /var
// is an overlay over the host's live one: an install going on there shows
// inside as "dpkg was interrupted". The lock is only probed, not held, so
// that other apt-get runs on the host are not refused.
func waitHostDpkg(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		busy, err := hostDpkgBusy()
		if err != nil {
			t.Logf("cannot tell whether dpkg runs on the host: %v", err)
			return
		}
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("dpkg has been running on the host for 10 minutes")
		}
		time.Sleep(time.Second)
	}
}

func hostDpkgBusy() (bool, error) {
	if ents, err := os.ReadDir("/var/lib/dpkg/updates"); err == nil && len(ents) > 0 {
		return true, nil
	}
	f, err := os.OpenFile("/var/lib/dpkg/lock-frontend", os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return false, fmt.Errorf("F_GETLK /var/lib/dpkg/lock-frontend: %w", err)
	}
	return lk.Type != syscall.F_UNLCK, nil
}

// serve runs cockpit-ws with a local session (no login) on port as a
// transient unit of the testbed and waits until it answers.
func serve(t *testing.T, tb *testbed.Testbed, unit string, port int, bridge string) {
	t.Helper()
	tb.MustRun(t, "systemd-run", "--unit="+unit, "--", "/usr/lib/cockpit/cockpit-ws", "--no-tls",
		"--address=127.0.0.1", "--port", strconv.Itoa(port), "--local-session="+bridge)
	t.Cleanup(func() { tb.Run("systemctl", "stop", unit) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/cockpit/@localhost/bpfunit/manifest.json", port))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("HTTP %s", resp.Status)
		}
		if time.Now().After(deadline) {
			out, _ := tb.Systemctl("status", unit)
			t.Fatalf("cockpit-ws on port %d: %v\n%s\n%s", port, err, out, tb.Journal(unit))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort is a TCP port on loopback nobody listens on now (the testbed
// shares the host's network namespace, and other tests run servers too).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// vethPair makes two network namespaces inside the testbed joined by a
// veth pair, removed at cleanup before the testbed powers off.
func vethPair(t *testing.T, tb *testbed.Testbed) (nsA, nsB, ifB string) {
	t.Helper()
	p := tb.NetnsPair(t, "ck", "ck", "10.198.0")
	return p.NsA, p.NsB, p.IfB
}

func writeConfig(t *testing.T, tb *testbed.Testbed, name, text string) {
	t.Helper()
	if err := tb.WriteFile("/etc/bpfunit/"+name+".bpfunit", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// bpftoolLink is what `bpftool -j link show` says of one link.
type bpftoolLink struct {
	ID     int    `json:"id"`
	Type   string `json:"type"`
	ProgID int    `json:"prog_id"`
}

// kernelLink asks bpftool inside the testbed for link id (nil: none).
func kernelLink(t *testing.T, tb *testbed.Testbed, id string) *bpftoolLink {
	t.Helper()
	out, err := tb.Run("bpftool", "-j", "link", "show", "id", id)
	if err != nil {
		return nil
	}
	var l bpftoolLink
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("bpftool link show id %s: %v\n%s", id, err, out)
	}
	return &l
}

// waitNoLink waits until the kernel has no link id (links go
// asynchronously after their last reference).
func waitNoLink(t *testing.T, tb *testbed.Testbed, id, what string) {
	t.Helper()
	testenv.WaitGone(t, what+": link "+id, 5*time.Second, func() bool { return kernelLink(t, tb, id) != nil })
}

// waitNoProg waits until the kernel has no program id.
func waitNoProg(t *testing.T, tb *testbed.Testbed, id, what string) {
	t.Helper()
	testenv.WaitGone(t, what+": program "+id, 5*time.Second, func() bool {
		_, err := tb.Run("bpftool", "prog", "show", "id", id)
		return err == nil
	})
}

// noUpload fails t if an uploaded object's temporary file is left (the
// page removes it after bpfunit replace, asynchronously: wait a little).
func noUpload(t *testing.T, tb *testbed.Testbed, what string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		out, _ := tb.Run("sh", "-c", "ls /tmp/bpfunit-upload-* 2>/dev/null")
		if strings.TrimSpace(out) == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: the upload's temporary file is left: %s", what, out)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
