// Package logs implements kubectl logs and exec. Both need the kubelet's streaming
// endpoints reached through the apiserver (pods/log, pods/exec), which this cluster does
// not serve yet: the commands resolve their pod and container as upstream does, with
// every flag wired, and then fail with a clear message. Adding the transport is the only
// change left for them.
package logs

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/client"
)

// LogOptions are the flags of kubectl logs, kept in the form pods/log takes them.
type LogOptions struct {
	Container     string
	Follow        bool
	Previous      bool
	Tail          int64
	Timestamps    bool
	SinceSeconds  string
	Selector      string
	AllContainers bool
	Prefix        bool
}

// errNoStreaming is what logs and exec answer until the kubelet serves them.
func errNoStreaming(what, sub string) error {
	return fmt.Errorf("kubectl %s needs the kubelet's streaming endpoint through the apiserver (pods/%s), which this cluster does not serve yet", what, sub)
}

// NewLogsCommand returns `kubectl logs`.
func NewLogsCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	o := &LogOptions{}
	cmd := &cobra.Command{
		Use:   "logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]",
		Short: "Print the logs for a container in a pod",
		RunE: func(cmd *cobra.Command, args []string) error {
			// Resolve the pods and container first, so a wrong name is reported as
			// such; streaming them is what the kubelet issue adds.
			if _, _, err := resolve(cmd.Context(), f, args, o.Selector, o.Container); err != nil {
				return err
			}
			return errNoStreaming("logs", "log")
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.Container, "container", "c", "", "Print the logs of this container")
	fl.BoolVarP(&o.Follow, "follow", "f", false, "Specify if the logs should be streamed.")
	fl.BoolVarP(&o.Previous, "previous", "p", false, "If true, print the logs for the previous instance of the container in a pod if it exists.")
	fl.Int64Var(&o.Tail, "tail", -1, "Lines of recent log file to display. Defaults to -1 with no selector, showing all log lines otherwise 10, if a selector is provided.")
	fl.BoolVar(&o.Timestamps, "timestamps", false, "Include timestamps on each line in the log output")
	fl.StringVar(&o.SinceSeconds, "since", "", "Only return logs newer than a relative duration like 5s, 2m, or 3h.")
	fl.StringVarP(&o.Selector, "selector", "l", "", "Selector (label query) to filter on.")
	fl.BoolVar(&o.AllContainers, "all-containers", false, "Get all containers' logs in the pod(s).")
	fl.BoolVar(&o.Prefix, "prefix", false, "Prefix each log line with the log source (pod name and container name)")
	return cmd
}

// NewExecCommand returns `kubectl exec`.
func NewExecCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	var container string
	var stdin, tty bool
	cmd := &cobra.Command{
		Use:   "exec (POD | TYPE/NAME) [-c CONTAINER] [flags] -- COMMAND [args...]",
		Short: "Execute a command in a container",
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			var command []string
			if dash >= 0 {
				command, args = args[dash:], args[:dash]
			}
			if len(args) == 0 {
				return fmt.Errorf("pod, type/name or --filename must be specified")
			}
			if len(command) == 0 {
				if len(args) < 2 {
					return fmt.Errorf("you must specify at least one command for the container")
				}
				command, args = args[1:], args[:1]
			}
			if _, _, err := resolve(cmd.Context(), f, args[:1], "", container); err != nil {
				return err
			}
			return errNoStreaming("exec", "exec")
		},
	}
	cmd.Flags().StringVarP(&container, "container", "c", "", "Container name. If omitted, use the kubectl.kubernetes.io/default-container annotation for selecting the container to be attached or the first container in the pod will be chosen")
	cmd.Flags().BoolVarP(&stdin, "stdin", "i", false, "Pass stdin to the container")
	cmd.Flags().BoolVarP(&tty, "tty", "t", false, "Stdin is a TTY")
	return cmd
}

// resolve finds the pods (POD, TYPE/NAME of a pod owner, or -l) and checks the
// container exists, so errors about names come before the streaming one.
func resolve(ctx context.Context, f *connection.Flags, args []string, selector, container string) ([]map[string]any, string, error) {
	cs, err := f.Client()
	if err != nil {
		return nil, "", err
	}
	ns, _, err := f.DefaultNamespace()
	if err != nil {
		return nil, "", err
	}
	var pods []map[string]any
	switch {
	case selector != "":
		list, err := cs.Pods(ns).List(ctx, client.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, "", err
		}
		for _, p := range list.Items {
			m, err := u.FromProto(p)
			if err != nil {
				return nil, "", err
			}
			pods = append(pods, m)
		}
		if len(pods) == 0 {
			return nil, "", fmt.Errorf("No resources found in %s namespace.", ns)
		}
	case len(args) == 0:
		return nil, "", fmt.Errorf("expected POD or TYPE/NAME is a required argument for the logs command")
	default:
		name := args[0]
		if t, n, ok := strings.Cut(name, "/"); ok {
			res, err := resource.Lookup(t)
			if err != nil {
				return nil, "", err
			}
			obj, err := resource.Get(ctx, cs, res, ns, n)
			if err != nil {
				return nil, "", err
			}
			if res.Kind != "Pod" {
				// The first pod the object selects, as upstream's attachable pod lookup.
				sel := u.StringMap(obj, "spec", "selector", "matchLabels")
				if res.Kind == "ReplicationController" || res.Kind == "Service" {
					sel = u.StringMap(obj, "spec", "selector")
				}
				var parts []string
				for k, v := range sel {
					parts = append(parts, k+"="+v)
				}
				list, err := cs.Pods(ns).List(ctx, client.ListOptions{LabelSelector: strings.Join(parts, ",")})
				if err != nil {
					return nil, "", err
				}
				if len(list.Items) == 0 {
					return nil, "", fmt.Errorf("no pods found for %s", args[0])
				}
				p, err := u.FromProto(list.Items[0])
				if err != nil {
					return nil, "", err
				}
				obj = p
			}
			pods = append(pods, obj)
		} else {
			res, _ := resource.Lookup("pods")
			obj, err := resource.Get(ctx, cs, res, ns, name)
			if err != nil {
				return nil, "", err
			}
			pods = append(pods, obj)
		}
	}
	for _, p := range pods {
		ctrs := append(u.Maps(p, "spec", "initContainers"), u.Maps(p, "spec", "containers")...)
		if container == "" {
			continue
		}
		found := false
		var names []string
		for _, c := range ctrs {
			names = append(names, u.String(c, "name"))
			if u.String(c, "name") == container {
				found = true
			}
		}
		if !found {
			return nil, "", fmt.Errorf("container %s is not valid for pod %s", container, u.Name(p))
		}
	}
	return pods, container, nil
}
