package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bpfunit/bpfunit/internal/config"
)

func ExampleLoad() {
	// Two directories of the search path: the admin's and the vendor's.
	etc, _ := os.MkdirTemp("", "etc")
	lib, _ := os.MkdirTemp("", "lib")
	defer os.RemoveAll(etc)
	defer os.RemoveAll(lib)

	os.WriteFile(filepath.Join(lib, "xdp-counter.bpfunit"), []byte(`[Unit]
Description=Count packets on eth0

[Object]
Path=/usr/lib/bpfunit/objects/xdp_counter.bpf.o
PinMaps=yes

[Attach]
Program=xdp_count
Type=xdp
Interface=eth0
`), 0o644)
	// The admin moves it to eth1 with a drop-in, without editing the vendor file.
	os.Mkdir(filepath.Join(etc, "xdp-counter.bpfunit.d"), 0o755)
	os.WriteFile(filepath.Join(etc, "xdp-counter.bpfunit.d", "iface.conf"), []byte(`[Attach]
Program=xdp_count
Interface=eth1
`), 0o644)

	dirs := []string{etc, lib} // config.SearchPath() in real use
	u, err := config.Load(dirs, "xdp-counter")
	if err != nil {
		fmt.Println(err)
		return
	}
	a := u.Attach[0]
	fmt.Printf("%s: %s %s on %s, %d drop-in\n", u.Name, a.Type, a.Program, a.Interface, len(u.DropIns))

	_, err = config.Load(dirs, "other")
	fmt.Println(errors.Is(err, config.ErrNotFound))
	// Output:
	// xdp-counter: xdp xdp_count on eth1, 1 drop-in
	// true
}
