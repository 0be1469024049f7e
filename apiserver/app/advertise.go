package app

import (
	"bufio"
	"net"
	"net/netip"
	"os"
	"strings"
)

// advertiseAddress is the IP the kubernetes service's endpoints point at, as upstream
// picks it: --advertise-address, else --insecure-bind-address unless that is 0.0.0.0 or
// loopback, else the address of the interface holding the default route, else the first
// non-loopback address. Invalid when the host has none (the service then has no
// endpoints of ours).
func advertiseAddress(flag, bind string) netip.Addr {
	if a, err := netip.ParseAddr(flag); err == nil {
		return a.Unmap()
	}
	if a, err := netip.ParseAddr(bind); err == nil && !a.IsUnspecified() && !a.IsLoopback() {
		return a.Unmap()
	}
	if name := defaultRouteInterface(); name != "" {
		if a := firstAddress(name); a.IsValid() {
			return a
		}
	}
	ifaces, _ := net.Interfaces()
	for _, i := range ifaces {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		if a := firstAddress(i.Name); a.IsValid() {
			return a
		}
	}
	return netip.Addr{}
}

// defaultRouteInterface reads the IPv4 default route's interface from /proc/net/route.
func defaultRouteInterface() string {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// Iface Destination Gateway Flags ...; destination 00000000 is the default route.
		if len(fields) > 2 && fields[1] == "00000000" {
			return fields[0]
		}
	}
	return ""
}

// firstAddress is the first global-unicast IPv4 address of interface name.
func firstAddress(name string) netip.Addr {
	i, err := net.InterfaceByName(name)
	if err != nil {
		return netip.Addr{}
	}
	addrs, _ := i.Addrs()
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		if ip := p.Addr().Unmap(); ip.Is4() && ip.IsGlobalUnicast() {
			return ip
		}
	}
	return netip.Addr{}
}
