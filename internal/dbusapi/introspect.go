package dbusapi

import (
	"fmt"
	"sort"
	"strings"
)

// The interfaces every object has, as dbus-daemon and sd-bus describe them.
const standardIfaces = `  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId">
      <arg type="s" name="machine_uuid" direction="out"/>
    </method>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect">
      <arg name="xml_data" type="s" direction="out"/>
    </method>
  </interface>
`

const propertiesIface = `  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get">
      <arg name="interface_name" direction="in" type="s"/>
      <arg name="property_name" direction="in" type="s"/>
      <arg name="value" direction="out" type="v"/>
    </method>
    <method name="GetAll">
      <arg name="interface_name" direction="in" type="s"/>
      <arg name="props" direction="out" type="a{sv}"/>
    </method>
    <method name="Set">
      <arg name="interface_name" direction="in" type="s"/>
      <arg name="property_name" direction="in" type="s"/>
      <arg name="value" direction="in" type="v"/>
    </method>
    <signal name="PropertiesChanged">
      <arg type="s" name="interface_name"/>
      <arg type="a{sv}" name="changed_properties"/>
      <arg type="as" name="invalidated_properties"/>
    </signal>
  </interface>
`

// managerIfaceXML describes org.bpfunit.Manager1; docs/dbus.md documents
// the same, method by method.
const managerIfaceXML = `  <interface name="org.bpfunit.Manager1">
    <method name="ListUnits">
      <arg type="a(ssso)" name="units" direction="out"/>
    </method>
    <method name="GetUnit">
      <arg type="s" name="name" direction="in"/>
      <arg type="o" name="unit" direction="out"/>
    </method>
    <method name="Start">
      <arg type="s" name="name" direction="in"/>
      <arg type="s" name="result" direction="out"/>
    </method>
    <method name="Stop">
      <arg type="s" name="name" direction="in"/>
      <arg type="s" name="result" direction="out"/>
    </method>
    <method name="Reload">
      <arg type="s" name="name" direction="in"/>
      <arg type="s" name="result" direction="out"/>
    </method>
    <method name="Detach">
      <arg type="s" name="name" direction="in"/>
      <arg type="s" name="link" direction="in"/>
    </method>
    <method name="Replace">
      <arg type="s" name="name" direction="in"/>
      <arg type="s" name="program" direction="in"/>
      <arg type="h" name="object" direction="in"/>
      <arg type="u" name="program_id" direction="out"/>
    </method>
    <method name="Subscribe"/>
    <method name="Unsubscribe"/>
    <signal name="UnitChanged">
      <arg type="s" name="name"/>
      <arg type="s" name="state"/>
      <arg type="o" name="unit"/>
    </signal>
    <property name="Version" type="s" access="read">
      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="const"/>
    </property>
    <property name="PinRoot" type="s" access="read">
      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="const"/>
    </property>
  </interface>
`

// unitIfaceXML describes org.bpfunit.Unit1. Programs and Maps carry
// counters that change on every run: their change is announced as
// invalidated, not sent.
const unitIfaceXML = `  <interface name="org.bpfunit.Unit1">
    <property name="Name" type="s" access="read">
      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="const"/>
    </property>
    <property name="State" type="s" access="read"/>
    <property name="StateReason" type="s" access="read"/>
    <property name="Description" type="s" access="read"/>
    <property name="ConfigPath" type="s" access="read"/>
    <property name="ObjectPath" type="s" access="read"/>
    <property name="Started" type="t" access="read"/>
    <property name="Links" type="a(ssssuuss)" access="read"/>
    <property name="Programs" type="a(susbtt)" access="read">
      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="invalidates"/>
    </property>
    <property name="Maps" type="a(ssuuuuat)" access="read">
      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="invalidates"/>
    </property>
  </interface>
`

const doctype = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
`

// nodeXML is the introspection of one object: its interfaces (with the
// standard ones) and its children.
func nodeXML(ifaces string, children []string) string {
	var b strings.Builder
	b.WriteString(doctype)
	b.WriteString("<node>\n")
	b.WriteString(standardIfaces)
	if ifaces != "" {
		b.WriteString(propertiesIface)
		b.WriteString(ifaces)
	}
	sort.Strings(children)
	for _, c := range children {
		fmt.Fprintf(&b, "  <node name=%q/>\n", c)
	}
	b.WriteString("</node>\n")
	return b.String()
}
