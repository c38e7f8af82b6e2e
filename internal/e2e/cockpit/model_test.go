package cockpit_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestModel runs the page's pure logic tests (cockpit/test/model.test.mjs:
// property parsing, error messages, formatting, routes) under plain node:
// no browser, no root.
func TestModel(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("needs node (apt-get install nodejs)")
	}
	cmd := exec.Command(node, "--test", filepath.Join(root, "cockpit", "test", "model.test.mjs"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test model.test.mjs: %v\n%s", err, out)
	}
}
