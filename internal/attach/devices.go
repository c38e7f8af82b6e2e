package attach

import "github.com/coreos/go-systemd/v22/unit"

// deviceDeps binds an interface attachment to the interface's .device
// unit, where udev makes one: devices of other network namespaces have
// none.
func deviceDeps(iface, netns string, env DepEnv) Deps {
	if !env.Udev || iface == "" || netns != "" {
		return Deps{}
	}
	dev := unit.UnitNamePathEscape("/sys/subsystem/net/devices/"+iface) + ".device"
	return Deps{BindsTo: []string{dev}, After: []string{dev}}
}
