package testenv

import "os"

// uniq keeps names of concurrently running test binaries apart.
func uniq() int { return os.Getpid() }
