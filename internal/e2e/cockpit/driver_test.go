package cockpit_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// driver is the Node process that drives Chromium (cockpit/test/page.test.mjs):
// one JSON command per line in, one reply per line out.
type driver struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	seq    int
	mu     sync.Mutex
	stderr bytes.Buffer
}

// needBrowser skips when the browser toolchain is missing: node, Debian's
// chromium and the npm packages of cockpit/test (make test's deps step
// installs all three).
func needBrowser(t *testing.T, root string) (node, chromium string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("needs node (apt-get install nodejs)")
	}
	chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
	}
	if _, err := os.Stat(filepath.Join(root, "cockpit", "test", "node_modules", "playwright-core")); err != nil {
		t.Skip("needs playwright-core: npm ci --prefix cockpit/test")
	}
	return node, chromium
}

func startDriver(t *testing.T, root, node, chromium string) *driver {
	t.Helper()
	d := &driver{}
	d.cmd = exec.Command(node, filepath.Join(root, "cockpit", "test", "page.test.mjs"), "--chromium", chromium)
	d.cmd.Stderr = &d.stderr
	var err error
	if d.in, err = d.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.out = bufio.NewScanner(stdout)
	d.out.Buffer(make([]byte, 1<<20), 16<<20)
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", d.cmd, err)
	}
	t.Cleanup(func() {
		d.in.Close() // the driver closes the browser at EOF and exits
		done := make(chan error, 1)
		go func() { done <- d.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("page.test.mjs: %v\n%s", err, d.stderr.String())
			}
		case <-time.After(20 * time.Second):
			d.cmd.Process.Kill()
			<-done
			t.Errorf("page.test.mjs did not exit\n%s", d.stderr.String())
		}
	})
	return d
}

// call sends one command and returns its result, or an error carrying the
// driver's message (Playwright's reason, e.g. a timeout waiting for a
// selector).
func (d *driver) call(op string, args map[string]any) (json.RawMessage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seq++
	msg := map[string]any{"id": d.seq, "op": op}
	for k, v := range args {
		msg[k] = v
	}
	b, _ := json.Marshal(msg)
	if _, err := d.in.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("send %s: %w\n%s", op, err, d.stderr.String())
	}
	if !d.out.Scan() {
		return nil, fmt.Errorf("%s: driver exited: %v\n%s", op, d.out.Err(), d.stderr.String())
	}
	var r struct {
		ID     int             `json:"id"`
		OK     bool            `json:"ok"`
		Result json.RawMessage `json:"result"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(d.out.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("%s: bad reply %q: %w", op, d.out.Text(), err)
	}
	if r.ID != d.seq {
		return nil, fmt.Errorf("%s: reply %d to command %d", op, r.ID, d.seq)
	}
	if !r.OK {
		return nil, fmt.Errorf("%s %s: %s", op, summary(args), r.Error)
	}
	return r.Result, nil
}

func summary(args map[string]any) string {
	var parts []string
	for _, k := range []string{"name", "selector", "text", "url", "hash"} {
		if v, ok := args[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	return strings.Join(parts, " ")
}

// page is one browser page (its own context: cookies, storage) of the driver.
type page struct {
	t    *testing.T
	d    *driver
	name string
	// shots is where failure screenshots go.
	shots string
}

func (p *page) args(kv ...any) map[string]any {
	m := map[string]any{"name": p.name}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// fatal fails the test with a screenshot of the page for the log.
func (p *page) fatal(err error) {
	p.t.Helper()
	shot := filepath.Join(p.shots, fmt.Sprintf("failure-%s-%d.png", p.name, time.Now().UnixNano()))
	if _, e := p.d.call("screenshot", p.args("path", shot)); e == nil {
		p.t.Logf("screenshot of the page: %s", shot)
	}
	if texts, e := p.text("body"); e == nil && len(texts) > 0 {
		p.t.Logf("the page shows:\n%s", texts[0])
	}
	if r, e := p.d.call("errors", p.args()); e == nil {
		p.t.Logf("JavaScript errors: %s", r)
	}
	p.t.Fatal(err)
}

func (p *page) must(op string, kv ...any) json.RawMessage {
	p.t.Helper()
	r, err := p.d.call(op, p.args(kv...))
	if err != nil {
		p.fatal(err)
	}
	return r
}

// wait waits for selector, containing text if given, and returns its text.
func (p *page) wait(selector string, text ...string) string {
	p.t.Helper()
	kv := []any{"selector", selector}
	if len(text) > 0 {
		kv = append(kv, "text", text[0])
	}
	var s string
	json.Unmarshal(p.must("wait", kv...), &s)
	return s
}

func (p *page) gone(selector string) {
	p.t.Helper()
	p.must("gone", "selector", selector)
}

func (p *page) click(selector string) {
	p.t.Helper()
	p.must("click", "selector", selector)
}

func (p *page) text(selector string) ([]string, error) {
	r, err := p.d.call("text", p.args("selector", selector))
	if err != nil {
		return nil, err
	}
	var s []string
	err = json.Unmarshal(r, &s)
	return s, err
}

// eval evaluates a JavaScript expression in the bpfunit frame.
func (p *page) eval(expr string) json.RawMessage {
	p.t.Helper()
	return p.must("eval", "expr", expr)
}

// waitChange waits until the text of selector is neither empty nor old.
func (p *page) waitChange(selector, old string) string {
	p.t.Helper()
	return p.waitFor(selector, "a value other than "+strconv.Quote(old), func(s string) bool { return s != "" && s != old })
}

// waitFor waits until the text of the first match of selector satisfies ok.
func (p *page) waitFor(selector, what string, ok func(string) bool) string {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s, err := p.text(selector)
		if err == nil && len(s) > 0 && ok(s[0]) {
			return s[0]
		}
		if time.Now().After(deadline) {
			p.fatal(fmt.Errorf("%s shows %q (%v), want %s", selector, s, err, what))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// errors are the JavaScript errors the page recorded.
func (p *page) errors() []string {
	p.t.Helper()
	var e []string
	json.Unmarshal(p.must("errors"), &e)
	return e
}

func (p *page) screenshot(path string) {
	p.t.Helper()
	p.must("screenshot", "path", path)
	p.t.Logf("screenshot %s", path)
}
