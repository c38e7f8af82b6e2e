// Package cockpit tests the Cockpit page (cockpit/bpfunit) in a real
// browser: Debian's headless Chromium, driven by playwright-core from
// cockpit/test/page.test.mjs, against cockpit-ws --local-session in a
// systemd testbed with Debian's Cockpit 287 installed inside it (its
// overlay: nothing lands on the host) and bpfunitd activated on the
// testbed's system bus. The Go test owns the scenario: it changes things
// from a shell (systemctl) and checks what the kernel runs with bpftool,
// the Node driver clicks and reads the page.
//
// Run as root under the machine-wide lock, after `npm ci --prefix
// cockpit/test` (make test's deps step does it):
//
//	flock /run/bpfunit-tests.lock go test -count=1 ./internal/e2e/cockpit/
//
// BPFUNIT_SCREENSHOTS=docs writes the screenshots docs/cockpit.md shows.
package cockpit
