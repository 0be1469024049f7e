package create

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"kube5/kubectl/cmd/logs"
	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/resource"
	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors"
)

// NewRunCommand returns `kubectl run NAME --image=IMAGE`: one pod, labelled run=NAME.
// With -i (or --attach) it waits for the pod to run and attaches to it, as upstream.
func NewRunCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	c := &common{}
	var image, restart, labels, pullPolicy string
	var env []string
	var port int32
	var useCommand bool
	var stdin, tty, attach, remove, leaveStdinOpen, quiet bool
	var podRunningTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "run NAME --image=image [--env=\"key=value\"] [--port=port] [--dry-run=server|client] [--command] -- [COMMAND] [args...]",
		Short: "Run a particular image on the cluster",
		RunE: func(cmd *cobra.Command, args []string) error {
			var rest []string
			if i := cmd.ArgsLenAtDash(); i >= 0 {
				rest, args = args[i:], args[:i]
			}
			if len(args) == 0 {
				return fmt.Errorf("NAME is required for run")
			}
			name := args[0]
			rest = append(args[1:], rest...)
			if image == "" {
				return fmt.Errorf("--image is required")
			}
			if tty && !stdin {
				return usageError("-i/--stdin is required for containers with -t/--tty=true")
			}
			if !cmd.Flags().Changed("attach") && stdin {
				attach = true
			}
			if remove && !attach {
				return usageError("--rm should only be used for attached containers")
			}
			if attach && c.dryRun != "none" {
				return usageError("--dry-run can't be used with attached containers options (--attach, --stdin, or --tty)")
			}
			if podRunningTimeout <= 0 {
				return usageError("--pod-running-timeout must be higher than zero")
			}
			lbl := map[string]any{"run": name}
			if labels != "" {
				lbl = map[string]any{}
				for _, kv := range strings.Split(labels, ",") {
					k, v, ok := strings.Cut(kv, "=")
					if !ok {
						return fmt.Errorf("invalid label spec: %s", kv)
					}
					lbl[k] = v
				}
			}
			ctr := map[string]any{"name": name, "image": image, "resources": map[string]any{}}
			if len(rest) > 0 {
				if useCommand {
					ctr["command"] = toAny(rest)
				} else {
					ctr["args"] = toAny(rest)
				}
			}
			if port > 0 {
				ctr["ports"] = []any{map[string]any{"containerPort": port}}
			}
			if pullPolicy != "" {
				ctr["imagePullPolicy"] = pullPolicy
			}
			if stdin {
				// As upstream: stdin closes after the first attach ends unless
				// --leave-stdin-open, so the session's end is the process's.
				ctr["stdin"] = true
				ctr["stdinOnce"] = !leaveStdinOpen
				ctr["tty"] = tty
			}
			var envs []any
			for _, e := range env {
				k, v, _ := strings.Cut(e, "=")
				envs = append(envs, map[string]any{"name": k, "value": v})
			}
			if len(envs) > 0 {
				ctr["env"] = envs
			}
			if restart == "" {
				restart = "Always"
			}
			obj := map[string]any{
				"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]any{"name": name, "labels": lbl},
				"spec": map[string]any{
					"containers": []any{ctr}, "restartPolicy": restart, "dnsPolicy": "ClusterFirst",
				},
			}
			if !attach {
				return c.submit(cmd.Context(), f, s, mustLookup("pods"), obj)
			}
			o := attachRun{name: name, restart: restart, leaveStdinOpen: leaveStdinOpen, remove: remove, timeout: podRunningTimeout,
				opts: logs.AttachOptions{Container: name, Stdin: stdin, TTY: tty, Quiet: quiet}}
			return o.run(cmd.Context(), c, f, s, obj)
		},
	}
	c.addFlags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&image, "image", "", "The image for the container to run.")
	fl.StringVar(&restart, "restart", "Always", "The restart policy for this Pod.  Legal values [Always, OnFailure, Never].")
	fl.StringVarP(&labels, "labels", "l", "", "Comma separated labels to apply to the pod. Will override previous values.")
	fl.StringArrayVar(&env, "env", nil, "Environment variables to set in the container.")
	fl.Int32Var(&port, "port", 0, "The port that this container exposes.")
	fl.BoolVar(&useCommand, "command", false, "If true and extra arguments are present, use them as the 'command' field in the container, rather than the 'args' field which is the default.")
	fl.StringVar(&pullPolicy, "image-pull-policy", "", "The image pull policy for the container.")
	fl.BoolVarP(&stdin, "stdin", "i", false, "Keep stdin open on the container in the pod, even if nothing is attached.")
	fl.BoolVarP(&tty, "tty", "t", false, "Allocate a TTY for the container in the pod.")
	fl.BoolVar(&attach, "attach", false, "If true, wait for the Pod to start running, and then attach to the Pod as if 'kubectl attach ...' were called.  Default false, unless '-i/--stdin' is set, in which case the default is true. With '--restart=Never' the exit code of the container process is returned.")
	fl.BoolVar(&remove, "rm", false, "If true, delete the pod after it exits.  Only valid when attaching to the container, e.g. with '--attach' or with '-i/--stdin'.")
	fl.BoolVar(&leaveStdinOpen, "leave-stdin-open", false, "If the pod is started in interactive mode or with stdin, leave stdin open after the first attach completes. By default, stdin will be closed after the first attach completes.")
	fl.BoolVarP(&quiet, "quiet", "q", false, "If true, suppress prompt messages.")
	fl.DurationVar(&podRunningTimeout, "pod-running-timeout", time.Minute, "The length of time (like 5s, 2m, or 3h, higher than zero) to wait until at least one pod is running")
	return cmd
}

func usageError(msg string) error {
	return &connection.ExitError{Code: 1, Msg: "error: " + msg + "\nSee 'kubectl run -h' for help and examples"}
}

// attachRun is kubectl run with --attach or -i: create the pod, attach once it runs,
// and with --restart=Never wait for it to end and exit with its container's code.
type attachRun struct {
	name, restart          string
	leaveStdinOpen, remove bool
	timeout                time.Duration
	opts                   logs.AttachOptions
}

func (a attachRun) run(ctx context.Context, c *common, f *connection.Flags, s connection.Streams, obj map[string]any) (err error) {
	if err := c.Validate(); err != nil {
		return err
	}
	res := mustLookup("pods")
	ns, err := c.prepare(f, res, obj)
	if err != nil {
		return err
	}
	cs, err := f.Client()
	if err != nil {
		return err
	}
	if _, err := resource.Create(ctx, cs, res, obj, c.strict()); err != nil {
		return err
	}
	if a.remove {
		// As upstream, after the session and whatever it returns.
		defer func() {
			derr := cs.Pods(ns).Delete(context.WithoutCancel(ctx), a.name, nil)
			switch {
			case derr == nil:
				fmt.Fprintf(s.Out, "pod %q deleted\n", a.name)
			case !apierrors.IsNotFound(derr) && err == nil:
				err = derr
			}
		}()
	}
	if err := logs.RunAttach(ctx, f, s, ns, a.name, a.opts, a.timeout); err != nil {
		return err
	}
	if a.restart != "Never" || a.leaveStdinOpen {
		return nil
	}
	pod, err := logs.WaitForPod(ctx, cs, ns, a.name, 0, func(p *corev1.Pod) (bool, error) {
		ph := p.GetStatus().GetPhase()
		return ph == "Succeeded" || ph == "Failed", nil
	})
	if err != nil {
		return err
	}
	switch ph := pod.GetStatus().GetPhase(); ph {
	case "Succeeded":
		return nil
	case "Failed":
		unknown := fmt.Errorf("pod %s/%s failed with unknown exit code", ns, a.name)
		st := pod.GetStatus().GetContainerStatuses()
		if len(st) == 0 || st[0].GetState().GetTerminated() == nil {
			return unknown
		}
		t := st[0].GetState().GetTerminated()
		if t.GetExitCode() == 0 {
			return unknown
		}
		return &connection.ExitError{Code: int(t.GetExitCode()), Msg: fmt.Sprintf("pod %s/%s terminated (%s)\n%s", ns, a.name, t.GetReason(), t.GetMessage())}
	default:
		return fmt.Errorf("pod %s/%s left in phase %s", ns, a.name, ph)
	}
}
