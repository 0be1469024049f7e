package nodeports_test

import (
	"testing"

	corev1 "kube5/proto/api/core/v1"
	"kube5/scheduler/internal/framework"
	"kube5/scheduler/internal/framework/fake"
	"kube5/scheduler/internal/framework/plugins/nodeports"
)

func hostPort(port int32, proto, ip string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		c := p.Spec.Containers[0]
		c.Ports = append(c.Ports, &corev1.ContainerPort{ContainerPort: 80, HostPort: port, Protocol: proto, HostIp: ip})
	}
}

func TestNodePorts(t *testing.T) {
	p, _ := nodeports.New(framework.Handle{})
	node := func(pods ...*corev1.Pod) *framework.NodeInfo {
		return fake.NodeInfo(fake.Node("n", "1", "1Gi"), pods...)
	}
	busy := node(fake.Pod("e", "", "", hostPort(8080, "TCP", "")))
	busyIP := node(fake.Pod("e", "", "", hostPort(8080, "TCP", "10.0.0.1")))
	fake.RunFilterTable(t, p, []fake.FilterCase{
		{Name: "no host ports", Pod: fake.Pod("p", "", ""), Node: busy, WantReason: ""},
		{Name: "free port", Pod: fake.Pod("p", "", "", hostPort(8081, "TCP", "")), Node: busy, WantReason: ""},
		{Name: "same port", Pod: fake.Pod("p", "", "", hostPort(8080, "TCP", "")), Node: busy, WantReason: nodeports.ErrReason},
		{Name: "same port, default protocol", Pod: fake.Pod("p", "", "", hostPort(8080, "", "")), Node: busy, WantReason: nodeports.ErrReason},
		{Name: "same port, other protocol", Pod: fake.Pod("p", "", "", hostPort(8080, "UDP", "")), Node: busy, WantReason: ""},
		{Name: "same port, other IP", Pod: fake.Pod("p", "", "", hostPort(8080, "TCP", "10.0.0.2")), Node: busyIP, WantReason: ""},
		{Name: "same port, same IP", Pod: fake.Pod("p", "", "", hostPort(8080, "TCP", "10.0.0.1")), Node: busyIP, WantReason: nodeports.ErrReason},
		{Name: "wildcard against an IP", Pod: fake.Pod("p", "", "", hostPort(8080, "TCP", "0.0.0.0")), Node: busyIP, WantReason: nodeports.ErrReason},
		{Name: "port freed", Pod: fake.Pod("p", "", "", hostPort(8080, "TCP", "")), Node: func() *framework.NodeInfo {
			n := busy.Clone()
			n.RemovePod("default/e")
			return n
		}(), WantReason: ""},
	})
}
