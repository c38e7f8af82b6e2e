package daemon

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestIdleFromEnv(t *testing.T) {
	for _, c := range []struct {
		env  string
		want time.Duration
		warn bool
	}{
		{"", DefaultIdleTimeout, false},
		{"2s", 2 * time.Second, false},
		{"0", 0, false},
		{"-1s", DefaultIdleTimeout, true},
		{"soon", DefaultIdleTimeout, true},
	} {
		t.Setenv(EnvIdleTimeout, c.env)
		var stderr bytes.Buffer
		if got := idleFromEnv(&stderr); got != c.want || (stderr.Len() > 0) != c.warn {
			t.Errorf("%s=%q: %v, warning %q; want %v, warning %v", EnvIdleTimeout, c.env, got, stderr.String(), c.want, c.warn)
		}
	}
}

func TestMainUsage(t *testing.T) {
	for _, args := range [][]string{{"extra"}, {"--idle-timeout=x"}, {"--nope"}} {
		var stderr bytes.Buffer
		if code := Main(context.Background(), args, &stderr); code != 2 || !strings.Contains(stderr.String(), "idle-timeout") {
			t.Errorf("Main(%q) = %d, stderr %q; want 2 and the usage", args, code, stderr.String())
		}
	}
}
