package node

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	dockerclient "github.com/docker/docker/client"

	dockerrt "kube5/kubelet/internal/runtime/docker"
)

// networkPodCIDR is TestPodNetworkNotMasqueradedByDocker's podCIDR (TestNode has
// 10.244.250.0/24, TestLifecycleHooks 10.244.251.0/24).
const networkPodCIDR = "10.244.252.0/24"

// TestPodNetworkNotMasqueradedByDocker: the pods' bridge network carries no masquerade
// rule of Docker's, which would rewrite the source of pod-to-pod traffic across nodes
// (kube-proxy's pod network chain masquerades only what leaves the cluster CIDR). A
// network an older kubelet made with Docker's masquerade on is kept while containers are
// attached to it, and recreated without once none is.
func TestPodNetworkNotMasqueradedByDocker(t *testing.T) {
	requireDocker(t)
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("needs iptables to read Docker's nat rules")
	}
	cleanupNetwork(t, networkPodCIDR)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rt, err := dockerrt.New(docker.DaemonHost(), "kubelet-network-test")
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()

	// An older kubelet's network: Docker's defaults, masquerade on.
	const name = "kube5-10.244.252.0-24"
	old, err := docker.NetworkCreate(ctx, name, network.CreateOptions{
		Driver: "bridge",
		Labels: map[string]string{"io.kube5.network": "pod"},
		IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: networkPodCIDR, Gateway: "10.244.252.1"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	masqRule := func() string {
		out, err := exec.Command("iptables", "-w", "-t", "nat", "-S", "POSTROUTING").CombinedOutput()
		if err != nil {
			t.Fatalf("iptables -t nat -S POSTROUTING: %v: %s", err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "-s "+networkPodCIDR+" ") && strings.Contains(l, "MASQUERADE") {
				return l
			}
		}
		return ""
	}
	if masqRule() == "" {
		t.Skip("dockerd adds no masquerade rule for a bridge network here (--iptables=false?): nothing to tell apart")
	}

	// A pod's sandbox on it: the kubelet must not pull the network from under it.
	c, err := docker.ContainerCreate(ctx, &container.Config{Image: "kube5/pause:3.10"},
		&container.HostConfig{NetworkMode: container.NetworkMode(name)}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := docker.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true}); err != nil && !dockerclient.IsErrNotFound(err) {
			t.Errorf("cleanup: removing the sandbox: %v", err)
		}
	})
	if err := docker.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := rt.EnsureNetwork(ctx, networkPodCIDR)
	if err != nil || got != name {
		t.Fatalf("EnsureNetwork with a sandbox attached = %q, %v; want %q", got, err, name)
	}
	if n, err := docker.NetworkInspect(ctx, name, network.InspectOptions{}); err != nil || n.ID != old.ID {
		t.Fatalf("the network in use was replaced (or is gone: %v)", err)
	}

	// Its pods gone, the network is recreated without Docker's masquerade.
	if err := docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if got, err := rt.EnsureNetwork(ctx, networkPodCIDR); err != nil || got != name {
		t.Fatalf("EnsureNetwork = %q, %v; want %q", got, err, name)
	}
	n, err := docker.NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.ID == old.ID {
		t.Fatal("the masquerading network was kept with no container attached")
	}
	if l := masqRule(); l != "" {
		t.Fatalf("Docker still masquerades the pod network: %s", l)
	}
	if len(n.IPAM.Config) != 1 || n.IPAM.Config[0].Subnet != networkPodCIDR || n.IPAM.Config[0].Gateway != "10.244.252.1" {
		t.Fatalf("recreated network's IPAM: %+v", n.IPAM.Config)
	}

	// And it stays: a kubelet restart finds it as it is.
	if got, err := rt.EnsureNetwork(ctx, networkPodCIDR); err != nil || got != name {
		t.Fatalf("EnsureNetwork again = %q, %v", got, err)
	}
	if again, err := docker.NetworkInspect(ctx, name, network.InspectOptions{}); err != nil || again.ID != n.ID {
		t.Fatalf("the network was recreated again (%v)", err)
	}
}
