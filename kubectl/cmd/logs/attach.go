package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"kube5/kubectl/internal/connection"
	u "kube5/kubectl/internal/unstructured"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/client"
	"kube5/proto/remotecommand"
)

// AttachOptions are what kubectl attach (and kubectl run -i/-t) asks of an attach.
type AttachOptions struct {
	Container  string
	Stdin, TTY bool
	Quiet      bool
}

// NewAttachCommand returns `kubectl attach`.
func NewAttachCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	var o AttachOptions
	var podRunningTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "attach (POD | TYPE/NAME) -c CONTAINER",
		Short: "Attach to a running container",
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return fmt.Errorf("at least 1 argument is required for attach")
			case len(args) > 2:
				return fmt.Errorf("expected POD, TYPE/NAME, or TYPE NAME, (at most 2 arguments) saw %d: %v", len(args), args)
			case len(args) == 2:
				args = []string{args[0] + "/" + args[1]}
			}
			if podRunningTimeout <= 0 {
				return fmt.Errorf("--pod-running-timeout must be higher than zero")
			}
			pods, _, err := resolve(cmd.Context(), f, s.ErrOut, args, "", o.Container)
			if err != nil {
				return err
			}
			return Attach(cmd.Context(), f, s, pods[0], o)
		},
	}
	cmd.Flags().StringVarP(&o.Container, "container", "c", "", "Container name. If omitted, use the kubectl.kubernetes.io/default-container annotation for selecting the container to be attached or the first container in the pod will be chosen")
	cmd.Flags().BoolVarP(&o.Stdin, "stdin", "i", false, "Pass stdin to the container")
	cmd.Flags().BoolVarP(&o.TTY, "tty", "t", false, "Stdin is a TTY")
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "Only print output from the remote session")
	cmd.Flags().DurationVar(&podRunningTimeout, "pod-running-timeout", time.Minute, "The length of time (like 5s, 2m, or 3h, higher than zero) to wait until at least one pod is running")
	return cmd
}

// Attach streams the main process of a container of pod through pods/attach until it
// ends, as upstream's AttachOptions.Run: the tty follows the container's (it cannot
// change once the process runs), a raw local terminal only with -i -t on a terminal.
func Attach(ctx context.Context, f *connection.Flags, s connection.Streams, pod map[string]any, o AttachOptions) error {
	if ph := u.String(pod, "status", "phase"); ph == "Succeeded" || ph == "Failed" {
		return fmt.Errorf("cannot attach a container in a completed pod; current phase is %s", ph)
	}
	container := o.Container
	if container == "" {
		container = defaultContainer(pod, s.ErrOut)
	}
	var spec map[string]any
	for _, c := range append(u.Maps(pod, "spec", "containers"), u.Maps(pod, "spec", "initContainers")...) {
		if u.String(c, "name") == container {
			spec = c
		}
	}
	if spec == nil {
		return fmt.Errorf("cannot attach to the container: container %s not found in pod %s", container, u.Name(pod))
	}
	specTTY, _ := spec["tty"].(bool)
	tty := o.TTY
	if tty && !specTTY {
		tty = false
		if !o.Quiet {
			fmt.Fprintf(s.ErrOut, "error: Unable to use a TTY - container %s did not allocate one\n", container)
		}
	} else if !tty && specTTY {
		// The process writes to a terminal: its output is one stream either way.
		tty = true
	}
	// As upstream's SetupTTY: no stdin, no tty; a raw local terminal only when stdin is one.
	var in io.Reader
	var inFile *os.File
	if o.Stdin {
		in = s.In
		inFile, _ = s.In.(*os.File)
	} else {
		tty = false
	}
	raw := tty && inFile != nil && term.IsTerminal(int(inFile.Fd()))
	if tty && !raw && !o.Quiet {
		fmt.Fprintln(s.ErrOut, "Unable to use a TTY - input is not a terminal or the right kind of file")
	}
	base, err := f.ServerURL()
	if err != nil {
		return err
	}
	ns := u.String(pod, "metadata", "namespace")
	if ns == "" {
		if ns, _, err = f.DefaultNamespace(); err != nil {
			return err
		}
	}
	req := remotecommand.Request{Stdin: o.Stdin, Stdout: true, Stderr: !tty, TTY: tty}
	q := req.Query(url.Values{"container": {container}})
	attachURL := fmt.Sprintf("%s/api/v1/namespaces/%s/pods/%s/attach?%s", base, url.PathEscape(ns), url.PathEscape(u.Name(pod)), q.Encode())
	opts := remotecommand.StreamOptions{Stdin: in, Stdout: s.Out, Stderr: s.ErrOut}
	if !o.Quiet {
		fmt.Fprintln(s.ErrOut, "If you don't see a command prompt, try pressing enter.")
	}
	_, err = streamTerminal(ctx, attachURL, opts, raw, inFile, s.Out)
	var ue *remotecommand.UpgradeError
	switch {
	case errors.As(err, &ue):
		return statusError(ue.StatusCode, ue.ContentType, bytesReader(ue.Body))
	case err != nil:
		return requestError(err)
	}
	if !o.Quiet && o.Stdin && raw && u.String(pod, "spec", "restartPolicy") == "Always" {
		fmt.Fprintf(s.Out, "Session ended, resume using 'kubectl attach %s -c %s -i -t' command when the pod is running\n", u.Name(pod), container)
	}
	return nil
}

// errPodCompleted says a pod ended while kubectl waited for it to run.
var errPodCompleted = errors.New("pod ran to completion")

// RunAttach is kubectl run's attach (upstream's handleAttachPod): it waits up to timeout
// for the pod to run and be ready, attaches, and prints the container's log instead when
// the pod has completed already or the attach fails.
func RunAttach(ctx context.Context, f *connection.Flags, s connection.Streams, ns, name string, o AttachOptions, timeout time.Duration) error {
	cs, err := f.Client()
	if err != nil {
		return err
	}
	p, err := WaitForPod(ctx, cs, ns, name, timeout, func(p *corev1.Pod) (bool, error) {
		switch p.GetStatus().GetPhase() {
		case "Succeeded", "Failed":
			return true, errPodCompleted
		case "Running":
			for _, c := range p.GetStatus().GetConditions() {
				if c.GetType() == "Ready" {
					return c.GetStatus() == "True", nil
				}
			}
		}
		return false, nil
	})
	if err != nil && !errors.Is(err, errPodCompleted) {
		return err
	}
	pod, err := u.FromProto(p)
	if err != nil {
		return err
	}
	if ph := p.GetStatus().GetPhase(); ph == "Succeeded" || ph == "Failed" {
		return podLog(ctx, f, s.Out, ns, name, o.Container)
	}
	if err := Attach(ctx, f, s, pod, o); err != nil {
		fmt.Fprintf(s.ErrOut, "warning: couldn't attach to pod/%s, falling back to streaming logs: %v\n", name, err)
		return podLog(ctx, f, s.Out, ns, name, o.Container)
	}
	return nil
}

// WaitForPod polls pod ns/name until done says so (or fails), for at most timeout
// (0: no limit). It returns the pod last seen.
func WaitForPod(ctx context.Context, cs *client.Clientset, ns, name string, timeout time.Duration, done func(*corev1.Pod) (bool, error)) (*corev1.Pod, error) {
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		p, err := cs.Pods(ns).Get(ctx, name)
		if err != nil {
			return nil, err
		}
		if ok, err := done(p); ok || err != nil {
			return p, err
		}
		select {
		case <-ctx.Done():
			return p, ctx.Err()
		case <-deadline:
			return p, fmt.Errorf("timed out waiting for the condition")
		case <-tick.C:
		}
	}
}

// podLog prints a container's log (the first container's when none is named).
func podLog(ctx context.Context, f *connection.Flags, out io.Writer, ns, name, container string) error {
	base, err := f.ServerURL()
	if err != nil {
		return err
	}
	q := url.Values{}
	if container != "" {
		q.Set("container", container)
	}
	logURL := fmt.Sprintf("%s/api/v1/namespaces/%s/pods/%s/log?%s", base, url.PathEscape(ns), url.PathEscape(name), q.Encode())
	return streamLog(ctx, logURL, newLineWriter(out, nil, ""))
}
