package manager_test

import (
	"testing"

	"github.com/bpfunit/bpfunit/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
