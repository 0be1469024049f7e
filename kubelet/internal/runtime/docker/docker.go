// Package docker is the kubelet's runtime on a Docker daemon (Debian's docker.io 20.10 and
// later, through the Go client with API version negotiation).
package docker

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/go-connections/nat"
	"k8s.io/klog/v2"

	"kube5/kubelet/internal/runtime"
)

// networkLabel marks the bridge networks the kubelet creates for podCIDRs.
const networkLabel = "io.kube5.network"

// Runtime talks to one Docker daemon.
type Runtime struct {
	c    *client.Client
	node string
}

var _ runtime.Runtime = (*Runtime)(nil)

// New connects to the daemon at endpoint ("unix:///var/run/docker.sock") for the kubelet
// of node: it sees only the containers labelled with that node. It does not check that
// the daemon answers: Version does.
func New(endpoint, node string) (*Runtime, error) {
	c, err := client.NewClientWithOpts(client.WithHost(endpoint), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", endpoint, err)
	}
	return &Runtime{c: c, node: node}, nil
}

// Close releases the client.
func (r *Runtime) Close() error { return r.c.Close() }

// Type is "docker".
func (r *Runtime) Type() string { return "docker" }

// Version is "docker://<server version>".
func (r *Runtime) Version(ctx context.Context) (string, error) {
	v, err := r.c.ServerVersion(ctx)
	if err != nil {
		return "", err
	}
	return "docker://" + v.Version, nil
}

// DataRoot is Docker's data directory (its images and writable layers: the kubelet's
// imagefs).
func (r *Runtime) DataRoot(ctx context.Context) (string, error) {
	info, err := r.c.Info(ctx)
	if err != nil {
		return "", err
	}
	return info.DockerRootDir, nil
}

// masqueradeOption is the bridge driver's switch for Docker's own masquerade rule
// (POSTROUTING -s <subnet> ! -o <bridge> -j MASQUERADE). The pod network turns it off:
// that rule would rewrite the source of every packet a pod sends to a pod on another
// node, where upstream (kubenet, flannel host-gw) keeps pod IPs between pods.
// kube-proxy's pod network chain (KUBE-POD-MASQ, --cluster-cidr) masquerades only what
// leaves the cluster CIDR.
const masqueradeOption = "com.docker.network.bridge.enable_ip_masquerade"

// EnsureNetwork finds or creates a bridge network for podCIDR: pods get addresses from it
// and its first address is the gateway (on the host's bridge). Docker does not
// masquerade its traffic (see masqueradeOption); a network an older kubelet created with
// Docker's masquerade on is recreated when no container is attached to it.
func (r *Runtime) EnsureNetwork(ctx context.Context, podCIDR string) (string, error) {
	p, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return "", fmt.Errorf("podCIDR %q: %w", podCIDR, err)
	}
	p = p.Masked()
	name := "kube5-" + strings.NewReplacer("/", "-", ":", "_").Replace(p.String())
	nets, err := r.c.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, n := range nets {
		for _, c := range n.IPAM.Config {
			if c.Subnet != p.String() {
				continue
			}
			if n.Name != name && n.Labels[networkLabel] == "" {
				return "", fmt.Errorf("podCIDR %s is already used by Docker network %q, which kube5 did not create", p, n.Name)
			}
			if !masquerades(n.Options) {
				return n.Name, nil
			}
			recreate, err := r.replaceable(ctx, n.ID, n.Name, p)
			if err != nil || !recreate {
				return n.Name, err
			}
		}
	}
	gw := p.Addr().Next()
	_, err = r.c.NetworkCreate(ctx, name, network.CreateOptions{
		Driver:  "bridge",
		Labels:  map[string]string{networkLabel: "pod"},
		Options: map[string]string{masqueradeOption: "false"},
		IPAM:    &network.IPAM{Config: []network.IPAMConfig{{Subnet: p.String(), Gateway: gw.String()}}},
	})
	if err != nil && !errdefs.IsConflict(err) {
		return "", fmt.Errorf("creating Docker network %s for podCIDR %s: %w", name, p, err)
	}
	klog.InfoS("Pod network ready", "network", name, "podCIDR", p)
	return name, nil
}

// masquerades tells whether a bridge network has Docker's masquerade on (its default).
func masquerades(opts map[string]string) bool {
	on, err := strconv.ParseBool(opts[masqueradeOption])
	return err != nil || on
}

// replaceable removes our pod network id, which Docker masquerades (an older kubelet
// made it), when no container is attached, and says so; with containers attached it keeps
// it, since removing it would cut their pods off, and logs what to do.
func (r *Runtime) replaceable(ctx context.Context, id, name string, p netip.Prefix) (bool, error) {
	n, err := r.c.NetworkInspect(ctx, id, network.InspectOptions{})
	if err != nil {
		return false, fmt.Errorf("inspecting Docker network %s: %w", name, err)
	}
	if len(n.Containers) > 0 {
		klog.Warningf("Docker network %s (podCIDR %s) was created by an older kubelet with Docker's masquerade on: "+
			"pods on other nodes see this node's IP instead of the pod IPs of this node's pods. "+
			"It has %d containers attached, so the kubelet keeps it; to fix it, drain the node, stop the kubelet, "+
			"remove the pods' containers and `docker network rm %s`, then start the kubelet", name, p, len(n.Containers), name)
		return false, nil
	}
	if err := r.c.NetworkRemove(ctx, id); err != nil {
		return false, fmt.Errorf("removing Docker network %s, which masquerades pod traffic, to recreate it: %w", name, err)
	}
	klog.InfoS("Removed the pod network an older kubelet created with Docker's masquerade on; recreating it without", "network", name, "podCIDR", p)
	return true, nil
}

func (r *Runtime) ourFilter(podUID string) filters.Args {
	f := filters.NewArgs(filters.Arg("label", runtime.LabelPodUID), filters.Arg("label", runtime.LabelContainerName),
		filters.Arg("label", runtime.LabelNode+"="+r.node))
	if podUID != "" {
		f.Add("label", runtime.LabelPodUID+"="+podUID)
	}
	return f
}

// ListContainers lists the containers carrying our labels.
func (r *Runtime) ListContainers(ctx context.Context, podUID string) ([]*runtime.Container, error) {
	list, err := r.c.ContainerList(ctx, container.ListOptions{All: true, Filters: r.ourFilter(podUID)})
	if err != nil {
		return nil, err
	}
	out := make([]*runtime.Container, 0, len(list))
	for _, s := range list {
		c := &runtime.Container{ID: s.ID, Image: s.Image, ImageID: s.ImageID, CreatedAt: time.Unix(s.Created, 0)}
		if !c.FromLabels(s.Labels) {
			continue
		}
		if len(s.Names) > 0 {
			c.Name = strings.TrimPrefix(s.Names[0], "/")
		}
		switch s.State {
		case "running", "paused", "restarting":
			c.State = runtime.StateRunning
		case "created":
			c.State = runtime.StateCreated
		case "exited", "dead":
			c.State = runtime.StateExited
		default:
			c.State = runtime.StateUnknown
		}
		out = append(out, c)
	}
	return out, nil
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1971 {
		return time.Time{}
	}
	return t
}

// InspectContainer reports one of our containers; ErrNotFound when it is gone or not ours.
func (r *Runtime) InspectContainer(ctx context.Context, id string) (*runtime.Container, error) {
	j, err := r.c.ContainerInspect(ctx, id)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil, runtime.ErrNotFound
		}
		return nil, err
	}
	c := &runtime.Container{ID: j.ID, Name: strings.TrimPrefix(j.Name, "/"), ImageID: j.Image, CreatedAt: parseTime(j.Created)}
	if j.Config == nil || !c.FromLabels(j.Config.Labels) || j.Config.Labels[runtime.LabelNode] != r.node {
		return nil, runtime.ErrNotFound
	}
	c.Image = j.Config.Image
	if st := j.State; st != nil {
		switch {
		case st.Running || st.Restarting || st.Paused:
			c.State = runtime.StateRunning
		case st.Status == "created":
			c.State = runtime.StateCreated
		default:
			c.State = runtime.StateExited
		}
		c.ExitCode = st.ExitCode
		c.StartedAt = parseTime(st.StartedAt)
		c.FinishedAt = parseTime(st.FinishedAt)
		switch {
		case st.OOMKilled:
			c.Reason = "OOMKilled"
		case c.State == runtime.StateExited && st.ExitCode == 0:
			c.Reason = "Completed"
		case c.State == runtime.StateExited && st.Error != "":
			c.Reason, c.Message = "ContainerCannotRun", st.Error
		case c.State == runtime.StateExited:
			c.Reason = "Error"
		}
	}
	if ns := j.NetworkSettings; ns != nil && c.IsSandbox() {
		c.IP = ns.IPAddress
		for _, n := range ns.Networks {
			if n != nil && n.IPAddress != "" {
				c.IP = n.IPAddress
				break
			}
		}
	}
	return c, nil
}

// ImageStatus reports a local image.
func (r *Runtime) ImageStatus(ctx context.Context, ref string) (*runtime.ImageInfo, error) {
	img, err := r.c.ImageInspect(ctx, ref)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil, runtime.ErrImageNotFound
		}
		return nil, err
	}
	return &runtime.ImageInfo{ID: img.ID, Tags: img.RepoTags, Size: img.Size}, nil
}

// ListImages lists the local images.
func (r *Runtime) ListImages(ctx context.Context) ([]runtime.ImageInfo, error) {
	list, err := r.c.ImageList(ctx, image.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]runtime.ImageInfo, 0, len(list))
	for _, i := range list {
		out = append(out, runtime.ImageInfo{ID: i.ID, Tags: i.RepoTags, Size: i.Size})
	}
	return out, nil
}

// PullImage pulls ref (and fails on our registry-less machines, as it should).
func (r *Runtime) PullImage(ctx context.Context, ref string) error {
	rc, err := r.c.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	// The progress stream carries errors too; Docker reports them in JSON we only need to
	// drain here: the image's presence afterwards is the real answer.
	_, _ = io.Copy(io.Discard, rc)
	if _, err := r.ImageStatus(ctx, ref); err != nil {
		return fmt.Errorf("pulling %s: image not present after the pull: %w", ref, err)
	}
	return nil
}

// RunSandbox creates and starts the pause container.
func (r *Runtime) RunSandbox(ctx context.Context, cfg runtime.SandboxConfig) (*runtime.Container, error) {
	cc := &container.Config{
		Hostname: cfg.Hostname,
		Image:    cfg.Image,
		Labels:   runtime.Labels(cfg.Pod, runtime.SandboxContainerName, 0, "", cfg.GracePeriod),
	}
	cc.Labels[runtime.LabelNode] = r.node
	hc := &container.HostConfig{IpcMode: "shareable", DNS: cfg.DNSServers, DNSSearch: cfg.DNSSearches, DNSOptions: cfg.DNSOptions}
	if cfg.HostNetwork {
		hc.NetworkMode = "host"
		cc.Hostname = ""
	} else if cfg.Network != "" {
		hc.NetworkMode = container.NetworkMode(cfg.Network)
	}
	if len(cfg.Ports) > 0 && !cfg.HostNetwork {
		cc.ExposedPorts = nat.PortSet{}
		hc.PortBindings = nat.PortMap{}
		for _, p := range cfg.Ports {
			proto := strings.ToLower(p.Protocol)
			if proto == "" {
				proto = "tcp"
			}
			port := nat.Port(fmt.Sprintf("%d/%s", p.ContainerPort, proto))
			cc.ExposedPorts[port] = struct{}{}
			hc.PortBindings[port] = append(hc.PortBindings[port], nat.PortBinding{HostIP: p.HostIP, HostPort: fmt.Sprint(p.HostPort)})
		}
	}
	name := runtime.ContainerRuntimeName(runtime.SandboxContainerName, cfg.Pod.Name, cfg.Pod.Namespace, cfg.Pod.UID, 0)
	resp, err := r.c.ContainerCreate(ctx, cc, hc, nil, nil, name)
	if err != nil {
		if errdefs.IsConflict(err) {
			// A sandbox of this name exists but is not running (a crash between create and
			// start, or an exited pause): replace it.
			_ = r.c.ContainerRemove(ctx, name, container.RemoveOptions{Force: true})
			resp, err = r.c.ContainerCreate(ctx, cc, hc, nil, nil, name)
		}
		if err != nil {
			return nil, wrapImageErr(err, cfg.Image)
		}
	}
	if err := r.c.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		_ = r.c.ContainerRemove(ctx, resp.ID, container.RemoveOptions{Force: true})
		return nil, fmt.Errorf("starting the pause container: %w", err)
	}
	return r.InspectContainer(ctx, resp.ID)
}

func wrapImageErr(err error, img string) error {
	if errdefs.IsNotFound(err) {
		return fmt.Errorf("%w: %s: %v", runtime.ErrImageNotFound, img, err)
	}
	return err
}

// CreateContainer creates an app container joined to the sandbox's network and IPC
// namespaces.
func (r *Runtime) CreateContainer(ctx context.Context, sandbox *runtime.Container, cfg runtime.ContainerConfig) (string, error) {
	cc := &container.Config{
		Image:      cfg.Image,
		Env:        cfg.Env,
		WorkingDir: cfg.WorkingDir,
		Labels:     runtime.Labels(cfg.Pod, cfg.Name, cfg.Attempt, cfg.Hash, cfg.GracePeriod),
		OpenStdin:  cfg.Stdin,
		StdinOnce:  cfg.StdinOnce,
		Tty:        cfg.TTY,
		User:       cfg.User,
	}
	cc.Labels[runtime.LabelNode] = r.node
	if cfg.Entrypoint != nil {
		cc.Entrypoint = cfg.Entrypoint
	}
	if cfg.Cmd != nil {
		cc.Cmd = cfg.Cmd
	}
	ns := "container:" + sandbox.ID
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode(ns),
		IpcMode:     container.IpcMode(ns),
		Privileged:  cfg.Privileged,
		Resources: container.Resources{
			CPUShares: cfg.CPUShares, CPUQuota: cfg.CPUQuota, CPUPeriod: cfg.CPUPeriod, Memory: cfg.MemoryLimit,
		},
	}
	for _, m := range cfg.Mounts {
		b := m.HostPath + ":" + m.ContainerPath
		if m.ReadOnly {
			b += ":ro"
		}
		hc.Binds = append(hc.Binds, b)
	}
	name := runtime.ContainerRuntimeName(cfg.Name, cfg.Pod.Name, cfg.Pod.Namespace, cfg.Pod.UID, cfg.Attempt)
	resp, err := r.c.ContainerCreate(ctx, cc, hc, nil, nil, name)
	if err != nil && errdefs.IsConflict(err) {
		// Left over from an interrupted attempt (created, never started): replace it.
		_ = r.c.ContainerRemove(ctx, name, container.RemoveOptions{Force: true})
		resp, err = r.c.ContainerCreate(ctx, cc, hc, nil, nil, name)
	}
	if err != nil {
		return "", wrapImageErr(err, cfg.Image)
	}
	return resp.ID, nil
}

// StartContainer starts a created container.
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	return r.c.ContainerStart(ctx, id, container.StartOptions{})
}

// StopContainer sends SIGTERM and SIGKILL after grace (Docker's stop timeout is in whole
// seconds, so grace is rounded up).
func (r *Runtime) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	secs := int(math.Ceil(grace.Seconds()))
	err := r.c.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs})
	if err != nil && errdefs.IsNotFound(err) {
		return nil
	}
	return err
}

// RemoveContainer removes a container (forcefully: killing it if it still runs).
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	err := r.c.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && errdefs.IsNotFound(err) {
		return nil
	}
	return err
}

// Stats reads one sample of a container's usage.
func (r *Runtime) Stats(ctx context.Context, id string) (*runtime.Stats, error) {
	resp, err := r.c.ContainerStatsOneShot(ctx, id)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var s container.StatsResponse
	if err := decodeJSON(resp.Body, &s); err != nil {
		return nil, err
	}
	ws := s.MemoryStats.Usage
	// Working set as the kubelet's cAdvisor computes it: usage minus inactive file pages.
	for _, k := range []string{"inactive_file", "total_inactive_file"} {
		if v, ok := s.MemoryStats.Stats[k]; ok && v < ws {
			ws -= v
			break
		}
	}
	return &runtime.Stats{Time: s.Read, CPUUsageNanos: s.CPUStats.CPUUsage.TotalUsage, MemoryUsageBytes: s.MemoryStats.Usage, MemoryWorkingSet: ws, PIDs: s.PidsStats.Current}, nil
}
