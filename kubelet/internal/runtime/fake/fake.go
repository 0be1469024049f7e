// Package fake is an in-memory runtime.Runtime that runs nothing: containers go running
// on start and stay so until stopped, sandboxes get IPs from the podCIDR. Unit tests drive
// it (Exit, SetExecResult, SetExitOnStart) and hollow nodes (--container-runtime=fake)
// run on it. It is small on purpose: a thousand of them share one process.
package fake

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"kube5/kubelet/internal/runtime"
)

// Runtime is the fake runtime.
type Runtime struct {
	mu         sync.Mutex
	now        func() time.Time
	nextID     int
	containers map[string]*runtime.Container
	images     map[string]bool
	prefix     netip.Prefix
	nextIP     netip.Addr
	// exitOnStart: image -> exit code of containers that exit right after starting.
	exitOnStart map[string]int
	// ignoreTerm: images whose containers ignore SIGTERM (StopContainer waits the grace).
	ignoreTerm map[string]bool
	execResult func(c *runtime.Container, cmd []string) int
	dialPort   func(sandbox *runtime.Container, port int32) (net.Conn, error)
	pullErr    error
	// calls records the mutating calls in order ("start web", "stop POD", ...) for tests.
	calls []string
}

var _ runtime.Runtime = (*Runtime)(nil)

// New returns a fake runtime holding the given images (the pause image included when
// wanted; nil means "every image is present").
func New(images ...string) *Runtime {
	r := &Runtime{now: time.Now, containers: map[string]*runtime.Container{}, exitOnStart: map[string]int{}, ignoreTerm: map[string]bool{}}
	if images != nil {
		r.images = map[string]bool{}
		for _, i := range images {
			r.images[runtime.NormalizeImage(i)] = true
		}
	}
	return r
}

// SetExitOnStart makes containers of image exit with code right after they start.
func (r *Runtime) SetExitOnStart(image string, code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exitOnStart[image] = code
}

// SetIgnoreTerm makes containers of image ignore SIGTERM.
func (r *Runtime) SetIgnoreTerm(image string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ignoreTerm[image] = true
}

// SetExecResult decides the exit codes of Exec (exec probes); default 0.
func (r *Runtime) SetExecResult(f func(c *runtime.Container, cmd []string) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.execResult = f
}

// SetPortForward decides what PortForward connects to (default: nothing listens).
func (r *Runtime) SetPortForward(f func(sandbox *runtime.Container, port int32) (net.Conn, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dialPort = f
}

// SetPullError makes PullImage fail with err (nil: pulls add the image).
func (r *Runtime) SetPullError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pullErr = err
}

// Exit ends a running container with code, as if its process exited.
func (r *Runtime) Exit(id string, code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.containers[id]; ok && c.State == runtime.StateRunning {
		r.exit(c, code)
	}
}

func (r *Runtime) exit(c *runtime.Container, code int) {
	c.State, c.ExitCode, c.FinishedAt = runtime.StateExited, code, r.now()
	c.Reason = "Error"
	if code == 0 {
		c.Reason = "Completed"
	}
}

// Calls returns the mutating calls so far.
func (r *Runtime) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// Running returns the running containers, by pod and container name ("ns/pod/name").
func (r *Runtime) Running() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.containers {
		if c.State == runtime.StateRunning {
			out = append(out, c.PodNamespace+"/"+c.PodName+"/"+c.ContainerName)
		}
	}
	sort.Strings(out)
	return out
}

// Type is "fake".
func (r *Runtime) Type() string { return "fake" }

// Version is "fake://1.0".
func (r *Runtime) Version(context.Context) (string, error) { return "fake://1.0", nil }

// EnsureNetwork remembers the podCIDR to hand out sandbox IPs from.
func (r *Runtime) EnsureNetwork(_ context.Context, podCIDR string) (string, error) {
	p, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.prefix != p.Masked() {
		r.prefix = p.Masked()
		r.nextIP = r.prefix.Addr().Next().Next() // .1 is the gateway
	}
	return "fake-" + p.String(), nil
}

func (r *Runtime) copyOf(c *runtime.Container) *runtime.Container { cp := *c; return &cp }

// ListContainers lists containers (all states).
func (r *Runtime) ListContainers(_ context.Context, podUID string) ([]*runtime.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*runtime.Container, 0, len(r.containers))
	for _, c := range r.containers {
		if podUID == "" || c.PodUID == podUID {
			out = append(out, r.copyOf(c))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// InspectContainer reports a container.
func (r *Runtime) InspectContainer(_ context.Context, id string) (*runtime.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return nil, runtime.ErrNotFound
	}
	return r.copyOf(c), nil
}

func (r *Runtime) hasImage(image string) bool {
	return r.images == nil || r.images[runtime.NormalizeImage(image)]
}

// ImageStatus reports an image.
func (r *Runtime) ImageStatus(_ context.Context, image string) (*runtime.ImageInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.hasImage(image) {
		return nil, runtime.ErrImageNotFound
	}
	return &runtime.ImageInfo{ID: "sha256:fake-" + image, Tags: []string{image}}, nil
}

// ListImages lists the images.
func (r *Runtime) ListImages(context.Context) ([]runtime.ImageInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runtime.ImageInfo
	for i := range r.images {
		out = append(out, runtime.ImageInfo{ID: "sha256:fake-" + i, Tags: []string{i}})
	}
	return out, nil
}

// PullImage adds the image, or fails as SetPullError says.
func (r *Runtime) PullImage(_ context.Context, image string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "pull "+image)
	if r.pullErr != nil {
		return r.pullErr
	}
	if r.images != nil {
		r.images[runtime.NormalizeImage(image)] = true
	}
	return nil
}

func (r *Runtime) add(c *runtime.Container) *runtime.Container {
	r.nextID++
	c.ID = fmt.Sprintf("fake%08d", r.nextID)
	c.CreatedAt = r.now()
	c.State = runtime.StateCreated
	r.containers[c.ID] = c
	return c
}

// RunSandbox starts a pause container with the next IP of the podCIDR.
func (r *Runtime) RunSandbox(_ context.Context, cfg runtime.SandboxConfig) (*runtime.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.hasImage(cfg.Image) {
		return nil, fmt.Errorf("%w: %s", runtime.ErrImageNotFound, cfg.Image)
	}
	c := r.add(&runtime.Container{PodName: cfg.Pod.Name, PodNamespace: cfg.Pod.Namespace, PodUID: cfg.Pod.UID,
		ContainerName: runtime.SandboxContainerName, Image: cfg.Image, GracePeriod: cfg.GracePeriod,
		Name: runtime.ContainerRuntimeName(runtime.SandboxContainerName, cfg.Pod.Name, cfg.Pod.Namespace, cfg.Pod.UID, 0)})
	c.State, c.StartedAt = runtime.StateRunning, r.now()
	if r.nextIP.IsValid() && r.prefix.Contains(r.nextIP) {
		c.IP = r.nextIP.String()
		r.nextIP = r.nextIP.Next()
	} else {
		c.IP = "10.255.255.1"
	}
	r.calls = append(r.calls, "run POD")
	return r.copyOf(c), nil
}

// CreateContainer creates an app container.
func (r *Runtime) CreateContainer(_ context.Context, sandbox *runtime.Container, cfg runtime.ContainerConfig) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.hasImage(cfg.Image) {
		return "", fmt.Errorf("%w: %s", runtime.ErrImageNotFound, cfg.Image)
	}
	c := r.add(&runtime.Container{PodName: cfg.Pod.Name, PodNamespace: cfg.Pod.Namespace, PodUID: cfg.Pod.UID,
		ContainerName: cfg.Name, Attempt: cfg.Attempt, SpecHash: cfg.Hash, Image: cfg.Image, ImageID: "sha256:fake-" + cfg.Image,
		GracePeriod: cfg.GracePeriod, Name: runtime.ContainerRuntimeName(cfg.Name, cfg.Pod.Name, cfg.Pod.Namespace, cfg.Pod.UID, cfg.Attempt)})
	r.calls = append(r.calls, "create "+cfg.Name)
	return c.ID, nil
}

// StartContainer starts a created container.
func (r *Runtime) StartContainer(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return runtime.ErrNotFound
	}
	c.State, c.StartedAt = runtime.StateRunning, r.now()
	r.calls = append(r.calls, "start "+c.ContainerName)
	if code, ok := r.exitOnStart[c.Image]; ok {
		r.exit(c, code)
	}
	return nil
}

// StopContainer stops a container; one of an image that ignores SIGTERM takes its grace.
func (r *Runtime) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	r.mu.Lock()
	c, ok := r.containers[id]
	if !ok || c.State != runtime.StateRunning {
		r.mu.Unlock()
		return nil
	}
	wait := r.ignoreTerm[c.Image]
	r.calls = append(r.calls, "stop "+c.ContainerName)
	r.mu.Unlock()
	code := 143 // 128 + SIGTERM
	if wait {
		select {
		case <-time.After(grace):
		case <-ctx.Done():
			return ctx.Err()
		}
		code = 137 // 128 + SIGKILL
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.State == runtime.StateRunning {
		r.exit(c, code)
	}
	return nil
}

// RemoveContainer removes a container.
func (r *Runtime) RemoveContainer(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.containers[id]; ok {
		r.calls = append(r.calls, "remove "+c.ContainerName)
		delete(r.containers, id)
	}
	return nil
}

// Exec answers with SetExecResult's code, writing the command line to stdout. As
// Docker's, it returns when ctx ends even if the command (SetExecResult's function) goes
// on: tests block in it to play a hook or probe that hangs.
func (r *Runtime) Exec(ctx context.Context, id string, opts runtime.ExecOptions) (int, error) {
	r.mu.Lock()
	c, ok := r.containers[id]
	f := r.execResult
	var cp *runtime.Container
	if ok {
		cp = r.copyOf(c)
	}
	r.mu.Unlock()
	if !ok || cp.State != runtime.StateRunning {
		return -1, fmt.Errorf("container %s is not running", id)
	}
	if opts.Stdout != nil {
		_, _ = io.WriteString(opts.Stdout, strings.Join(opts.Cmd, " ")+"\n")
	}
	if f == nil {
		return 0, nil
	}
	res := make(chan int, 1)
	go func() { res <- f(cp, opts.Cmd) }()
	select {
	case code := <-res:
		return code, nil
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// Attach plays a main process that copies its stdin to stdout: it writes a line naming
// the container (and "tty" with one), then echoes stdin until it ends or ctx does.
func (r *Runtime) Attach(ctx context.Context, id string, opts runtime.AttachOptions) error {
	r.mu.Lock()
	c, ok := r.containers[id]
	var name string
	var running bool
	if ok {
		name, running = c.ContainerName, c.State == runtime.StateRunning
	}
	r.mu.Unlock()
	if !running {
		return fmt.Errorf("container %s is not running", id)
	}
	out := opts.Stdout
	if out == nil {
		out = io.Discard
	}
	line := "attached to " + name
	if opts.TTY {
		line += " (tty)"
	}
	_, _ = io.WriteString(out, line+"\n")
	if opts.Stdin == nil {
		return nil
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(out, opts.Stdin)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Logs writes one line naming the container.
func (r *Runtime) Logs(_ context.Context, id string, _ runtime.LogOptions, stdout, _ io.Writer) error {
	r.mu.Lock()
	c, ok := r.containers[id]
	r.mu.Unlock()
	if !ok {
		return runtime.ErrNotFound
	}
	_, err := fmt.Fprintf(stdout, "fake log of %s\n", c.Name)
	return err
}

// Stats reports zero usage.
func (r *Runtime) Stats(context.Context, string) (*runtime.Stats, error) {
	return &runtime.Stats{Time: r.now()}, nil
}

// PortForward calls SetPortForward's function for a running sandbox; without one,
// nothing listens in a fake pod.
func (r *Runtime) PortForward(_ context.Context, sandboxID string, port int32) (net.Conn, error) {
	r.mu.Lock()
	c, ok := r.containers[sandboxID]
	f := r.dialPort
	var cp *runtime.Container
	if ok {
		cp = r.copyOf(c)
	}
	r.mu.Unlock()
	switch {
	case !ok:
		return nil, runtime.ErrNotFound
	case cp.State != runtime.StateRunning:
		return nil, fmt.Errorf("the pod's sandbox is not running")
	case f == nil:
		return nil, fmt.Errorf("dial tcp4 127.0.0.1:%d: connect: connection refused (the fake runtime runs nothing)", port)
	}
	return f(cp, port)
}
