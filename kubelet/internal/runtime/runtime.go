// Package runtime is the kubelet's view of a container runtime: pod sandboxes (the pause
// container that owns a pod's namespaces) and the containers joined to them. Two
// implementations: runtime/docker (the real one) and runtime/fake (unit tests and hollow
// nodes, which run nothing).
//
// Every object a runtime reports or touches carries the upstream labels below; the
// kubelet never sees, stops or removes anything without them.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Upstream's labels on every container the kubelet creates.
const (
	LabelPodName       = "io.kubernetes.pod.name"
	LabelPodNamespace  = "io.kubernetes.pod.namespace"
	LabelPodUID        = "io.kubernetes.pod.uid"
	LabelContainerName = "io.kubernetes.container.name"
	// LabelAttempt is the container's restart count when it was created (upstream keeps
	// it in an annotation; Docker has labels only).
	LabelAttempt = "io.kubernetes.container.restartCount"
	// LabelSpecHash is a hash of the container's spec: a changed spec means a new
	// container.
	LabelSpecHash = "io.kubernetes.container.hash"
	// LabelGracePeriod is the pod's grace period when the container was created, so a
	// restarted kubelet can stop a pod it no longer knows with the right patience.
	LabelGracePeriod = "io.kubernetes.pod.terminationGracePeriod"
	// LabelNode names the kubelet (node) that created the container. Only containers of
	// this node are listed, so kubelets sharing one Docker daemon (tests, hollow setups,
	// other engineers' clusters) never adopt or kill each other's.
	LabelNode = "io.kube5.node"
	// SandboxContainerName is the container name label of the pause container.
	SandboxContainerName = "POD"
)

// State is a container's state.
type State string

// The container states.
const (
	StateCreated State = "created"
	StateRunning State = "running"
	StateExited  State = "exited"
	StateUnknown State = "unknown"
)

// Container is one container (a sandbox or an app container) as the runtime reports it.
type Container struct {
	ID           string
	Name         string // the runtime's name: k8s_<container>_<pod>_<ns>_<uid>_<attempt>
	PodName      string
	PodNamespace string
	PodUID       string
	// ContainerName is the spec's container name, SandboxContainerName for the sandbox.
	ContainerName string
	Attempt       int
	SpecHash      string
	GracePeriod   int64 // seconds; -1 when unknown
	Image         string
	ImageID       string
	State         State
	ExitCode      int
	// Reason says why an exited container ended, when the runtime knows (OOMKilled, Error).
	Reason     string
	Message    string
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	// IP is the sandbox's pod IP (sandboxes only).
	IP string
}

// IsSandbox says whether c is a pod's pause container.
func (c *Container) IsSandbox() bool { return c.ContainerName == SandboxContainerName }

// ContainerRuntimeName is the runtime's container name, as upstream's dockershim:
// k8s_<container>_<pod>_<namespace>_<uid>_<attempt>.
func ContainerRuntimeName(container, pod, namespace, uid string, attempt int) string {
	return fmt.Sprintf("k8s_%s_%s_%s_%s_%d", container, pod, namespace, uid, attempt)
}

// Labels are the labels of a new container.
func Labels(pod PodRef, container string, attempt int, hash string, grace int64) map[string]string {
	return map[string]string{
		LabelPodName: pod.Name, LabelPodNamespace: pod.Namespace, LabelPodUID: pod.UID,
		LabelContainerName: container, LabelAttempt: strconv.Itoa(attempt), LabelSpecHash: hash,
		LabelGracePeriod: strconv.FormatInt(grace, 10),
	}
}

// FromLabels fills c's pod fields from labels; ok is false when any of the upstream labels
// is missing (then the container is not ours).
func (c *Container) FromLabels(l map[string]string) (ok bool) {
	c.PodName, c.PodNamespace, c.PodUID, c.ContainerName = l[LabelPodName], l[LabelPodNamespace], l[LabelPodUID], l[LabelContainerName]
	if c.PodName == "" || c.PodNamespace == "" || c.PodUID == "" || c.ContainerName == "" {
		return false
	}
	c.Attempt, _ = strconv.Atoi(l[LabelAttempt])
	c.SpecHash = l[LabelSpecHash]
	c.GracePeriod = -1
	if g, err := strconv.ParseInt(l[LabelGracePeriod], 10, 64); err == nil {
		c.GracePeriod = g
	}
	return true
}

// PodRef names a pod.
type PodRef struct{ Name, Namespace, UID string }

func (p PodRef) String() string { return p.Namespace + "/" + p.Name }

// PortMapping publishes a container port on the host (hostPort).
type PortMapping struct {
	ContainerPort int32
	HostPort      int32
	HostIP        string
	Protocol      string // TCP, UDP (upstream's spelling)
}

// SandboxConfig describes a pod's pause container.
type SandboxConfig struct {
	Pod      PodRef
	Hostname string
	Image    string
	Ports    []PortMapping
	// Network is the Docker network to join ("" = the runtime's default bridge).
	Network     string
	DNSServers  []string
	DNSSearches []string
	DNSOptions  []string
	HostNetwork bool
	GracePeriod int64
}

// Mount binds a host path into a container.
type Mount struct {
	HostPath, ContainerPath string
	ReadOnly                bool
}

// ContainerConfig describes an app container, joined to its pod's sandbox.
type ContainerConfig struct {
	Pod     PodRef
	Name    string
	Attempt int
	Hash    string
	Image   string
	// Entrypoint and Cmd follow upstream's command/args semantics: nil keeps the image's.
	Entrypoint []string
	Cmd        []string
	WorkingDir string
	Env        []string // KEY=VALUE
	Mounts     []Mount
	// CPUShares, CPUQuota (with CPUPeriod) and MemoryLimit come from resources; 0 = unset.
	CPUShares   int64
	CPUQuota    int64
	CPUPeriod   int64
	MemoryLimit int64
	// Stdin, StdinOnce and TTY are the spec's stdin, stdinOnce and tty: the main process
	// gets a stdin that `kubectl attach -i` writes to (closed after the first attach ends
	// with StdinOnce) and a terminal.
	Stdin, StdinOnce, TTY bool
	Privileged            bool
	User                  string
	GracePeriod           int64
}

// LogOptions select what Logs returns.
type LogOptions struct {
	Follow     bool
	TailLines  int64 // <0: all
	Timestamps bool
	Since      time.Time
}

// ExecOptions are an exec's streams. Stdout and Stderr nil means not wanted; with TTY,
// stderr goes to stdout.
type ExecOptions struct {
	Cmd            []string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
	// Resize delivers terminal sizes (TTY only); may be nil.
	Resize <-chan TermSize
}

// AttachOptions are the streams of an attach to a container's main process. Stdin nil
// means the process's stdin is left alone; Stdout and Stderr nil mean not wanted. TTY
// must be the container's own setting (a TTY container has one merged output stream).
type AttachOptions struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
	// Resize delivers terminal sizes (TTY only); may be nil.
	Resize <-chan TermSize
}

// TermSize is a terminal size.
type TermSize struct{ Width, Height uint16 }

// Stats are a container's resource usage.
type Stats struct {
	Time             time.Time
	CPUUsageNanos    uint64 // cumulative
	MemoryUsageBytes uint64
	MemoryWorkingSet uint64
	PIDs             uint64 // processes (and threads) in the container
}

// ImageInfo is an image present on the node.
type ImageInfo struct {
	ID   string
	Tags []string
	Size int64
}

// Runtime runs pods. Methods are safe for concurrent use.
type Runtime interface {
	// Type is "docker" or "fake"; Version the runtime's version ("docker://20.10.24").
	Type() string
	Version(ctx context.Context) (string, error)
	// EnsureNetwork creates (or finds) the bridge network for the node's podCIDR and
	// returns its name.
	EnsureNetwork(ctx context.Context, podCIDR string) (string, error)
	// ListContainers lists our containers (sandboxes included), all states; podUID ""
	// lists every pod's.
	ListContainers(ctx context.Context, podUID string) ([]*Container, error)
	// InspectContainer reports one container.
	InspectContainer(ctx context.Context, id string) (*Container, error)
	// ImageStatus reports an image; ErrImageNotFound when absent.
	ImageStatus(ctx context.Context, image string) (*ImageInfo, error)
	ListImages(ctx context.Context) ([]ImageInfo, error)
	PullImage(ctx context.Context, image string) error
	// RunSandbox creates and starts a pod's pause container and returns it (with its IP).
	RunSandbox(ctx context.Context, cfg SandboxConfig) (*Container, error)
	// CreateContainer creates an app container in the sandbox's namespaces; StartContainer
	// starts it.
	CreateContainer(ctx context.Context, sandbox *Container, cfg ContainerConfig) (string, error)
	StartContainer(ctx context.Context, id string) error
	// StopContainer sends SIGTERM, then SIGKILL after grace.
	StopContainer(ctx context.Context, id string, grace time.Duration) error
	RemoveContainer(ctx context.Context, id string) error
	Exec(ctx context.Context, id string, opts ExecOptions) (exitCode int, err error)
	// Attach connects to a running container's main process stdio until its output ends
	// (the process exited) or ctx is cancelled.
	Attach(ctx context.Context, id string, opts AttachOptions) error
	Logs(ctx context.Context, id string, opts LogOptions, stdout, stderr io.Writer) error
	Stats(ctx context.Context, id string) (*Stats, error)
	// PortForward connects to port on the pod's localhost: 127.0.0.1 inside the network
	// namespace of the sandbox (the host's for a host-network pod), so apps bound to
	// loopback are reached too, as upstream.
	PortForward(ctx context.Context, sandboxID string, port int32) (net.Conn, error)
}

// ErrImageNotFound says an image is not on the node.
var ErrImageNotFound = errors.New("image not found")

// ErrNotFound says a container does not exist (any more).
var ErrNotFound = errors.New("container not found")

// NormalizeImage adds the :latest tag to an untagged, undigested reference, as Docker does.
func NormalizeImage(image string) string {
	if strings.Contains(image, "@") {
		return image
	}
	last := image[strings.LastIndex(image, "/")+1:]
	if !strings.Contains(last, ":") {
		return image + ":latest"
	}
	return image
}
