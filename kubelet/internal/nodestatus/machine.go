// Package nodestatus registers the node and keeps it alive: capacity and allocatable
// from the machine, addresses, nodeInfo, conditions; a Lease in kube-node-lease renewed
// every 10s, and the node status sent every --node-status-update-frequency when it
// changed, every minute otherwise (as upstream).
package nodestatus

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
)

// Machine is what the node reports about the host.
type Machine struct {
	CPUs          int
	MemoryBytes   int64
	KernelVersion string
	OSImage       string
	MachineID     string
	BootID        string
}

// ReadMachine reads the host's facts (/proc, /etc/os-release).
func ReadMachine() Machine {
	m := Machine{CPUs: goruntime.NumCPU()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemoryBytes = memTotal(b)
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.KernelVersion = utsString(u.Release[:])
	}
	m.OSImage = "Linux"
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				m.OSImage = strings.Trim(v, `"`)
			}
		}
	}
	if b, err := os.ReadFile("/etc/machine-id"); err == nil {
		m.MachineID = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		m.BootID = strings.TrimSpace(string(b))
	}
	return m
}

func utsString(a []int8) string {
	b := make([]byte, 0, len(a))
	for _, c := range a {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

// memTotal parses MemTotal (kB) from /proc/meminfo.
func memTotal(b []byte) int64 {
	s := bufio.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// NodeIP is --node-ip, or the first non-loopback IPv4 address of an interface that is up.
func NodeIP(flag string) (string, error) {
	if flag != "" {
		if net.ParseIP(flag) == nil {
			return "", fmt.Errorf("--node-ip: %q is not an IP address", flag)
		}
		return flag, nil
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, i := range ifaces {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 || strings.HasPrefix(i.Name, "docker") || strings.HasPrefix(i.Name, "br-") || strings.HasPrefix(i.Name, "veth") {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
				return ipn.IP.String(), nil
			}
		}
	}
	return "127.0.0.1", nil
}
