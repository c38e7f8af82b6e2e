package loader

import (
	"encoding/binary"
	"fmt"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// XDPProgramIDs returns the ids of the XDP programs attached to interface
// iface of network namespace netns ("" for ours), as rtnetlink reports
// them (IFLA_XDP): whoever attached them, with a bpf_link or over netlink
// (ip link, xdp-loader). It is how an "interface busy" is explained.
func XDPProgramIDs(netns, iface string) (ids []uint32, err error) {
	err = inNetns(netns, func() error {
		idx, err := ifindex(iface, netns)
		if err != nil {
			return err
		}
		rib, err := syscall.NetlinkRIB(unix.RTM_GETLINK, unix.AF_UNSPEC)
		if err != nil {
			return fmt.Errorf("read interfaces: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(rib)
		if err != nil {
			return fmt.Errorf("parse interfaces: %w", err)
		}
		for _, msg := range msgs {
			if msg.Header.Type != unix.RTM_NEWLINK || len(msg.Data) < unix.SizeofIfInfomsg {
				continue
			}
			if int(int32(binary.NativeEndian.Uint32(msg.Data[4:8]))) != idx {
				continue
			}
			attrs, err := syscall.ParseNetlinkRouteAttr(&msg)
			if err != nil {
				return fmt.Errorf("parse interface %s: %w", iface, err)
			}
			for _, a := range attrs {
				if a.Attr.Type&^unix.NLA_F_NESTED == unix.IFLA_XDP {
					ids = xdpIDs(a.Value)
				}
			}
		}
		return nil
	})
	return ids, err
}

// xdpIDs reads the program ids out of IFLA_XDP's nested attributes.
func xdpIDs(b []byte) []uint32 {
	var ids []uint32
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		typ := binary.NativeEndian.Uint16(b[2:4]) &^ unix.NLA_F_NESTED
		if l < 4 || l > len(b) {
			break
		}
		switch typ {
		case unix.IFLA_XDP_PROG_ID, unix.IFLA_XDP_DRV_PROG_ID, unix.IFLA_XDP_SKB_PROG_ID, unix.IFLA_XDP_HW_PROG_ID:
			if l >= 8 {
				if id := binary.NativeEndian.Uint32(b[4:8]); id != 0 && !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
		}
		b = b[min((l+3)&^3, len(b)):]
	}
	return ids
}
