package create

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
)

// NewRunCommand returns `kubectl run NAME --image=IMAGE`: one pod, labelled run=NAME.
func NewRunCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	c := &common{}
	var image, restart, labels, pullPolicy string
	var env []string
	var port int32
	var useCommand bool
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
			if attach, _ := cmd.Flags().GetBool("stdin"); attach || cmd.Flags().Changed("tty") || cmd.Flags().Changed("rm") {
				return fmt.Errorf("kubectl run -i/-t/--rm needs to attach to the container through the apiserver (pods/attach), which this cluster does not serve yet")
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
			return c.submit(cmd.Context(), f, s, mustLookup("pods"), obj)
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
	fl.BoolP("stdin", "i", false, "Keep stdin open on the container in the pod, even if nothing is attached.")
	fl.BoolP("tty", "t", false, "Allocate a TTY for the container in the pod.")
	fl.Bool("rm", false, "If true, delete the pod after it exits.")
	return cmd
}
