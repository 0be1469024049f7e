package create

import (
	"encoding/base64"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/proto/scheme"
)

func mustLookup(name string) *scheme.Resource {
	r, _ := scheme.Lookup(name)
	return r
}

func nameArg(args []string, what string) (string, error) {
	if len(args) != 1 {
		if len(args) == 0 {
			return "", fmt.Errorf("NAME is required for %s", what)
		}
		return "", fmt.Errorf("exactly one NAME is required, got %d", len(args))
	}
	return args[0], nil
}

// containerName derives a container name from an image as upstream does:
// "jpetazzo/httpenv:1.0" -> "httpenv".
func containerName(image string) string {
	n := path.Base(image)
	if i := strings.IndexAny(n, ":@"); i >= 0 {
		n = n[:i]
	}
	return n
}

func deploymentCmd(f *connection.Flags, s connection.Streams) *cobra.Command {
	c := &common{}
	var images []string
	var replicas int32
	var port int32
	cmd := &cobra.Command{
		Use:     "deployment NAME --image=image -- [COMMAND] [args...]",
		Aliases: []string{"deploy"},
		Short:   "Create a deployment with the specified name",
		RunE: func(cmd *cobra.Command, args []string) error {
			var command []string
			if i := cmd.ArgsLenAtDash(); i >= 0 {
				command, args = args[i:], args[:i]
			}
			name, err := nameArg(args, "deployment")
			if err != nil {
				return err
			}
			if len(images) == 0 {
				return fmt.Errorf("required flag(s) \"image\" not set")
			}
			labels := map[string]any{"app": name}
			var containers []any
			for _, img := range images {
				ctr := map[string]any{"name": containerName(img), "image": img, "resources": map[string]any{}}
				if len(command) > 0 && len(images) == 1 {
					ctr["command"] = toAny(command)
				}
				if port >= 0 && len(images) == 1 {
					ctr["ports"] = []any{map[string]any{"containerPort": port}}
				}
				containers = append(containers, ctr)
			}
			obj := map[string]any{
				"apiVersion": "apps/v1", "kind": "Deployment",
				"metadata": map[string]any{"name": name, "labels": labels},
				"spec": map[string]any{
					"replicas": replicas,
					"selector": map[string]any{"matchLabels": map[string]any{"app": name}},
					"strategy": map[string]any{},
					"template": map[string]any{
						"metadata": map[string]any{"labels": map[string]any{"app": name}},
						"spec":     map[string]any{"containers": containers},
					},
				},
			}
			return c.submit(cmd.Context(), f, s, mustLookup("deployments.apps"), obj)
		},
	}
	c.addFlags(cmd)
	cmd.Flags().StringSliceVar(&images, "image", nil, "Image names to run. A deployment can have multiple images set for multi-container pod.")
	cmd.Flags().Int32VarP(&replicas, "replicas", "r", 1, "Number of replicas to create. Default is 1.")
	cmd.Flags().Int32Var(&port, "port", -1, "The containerPort that this deployment exposes.")
	return cmd
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func namespaceCmd(f *connection.Flags, s connection.Streams) *cobra.Command {
	c := &common{}
	cmd := &cobra.Command{
		Use:     "namespace NAME",
		Aliases: []string{"ns"},
		Short:   "Create a namespace with the specified name",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := nameArg(args, "namespace")
			if err != nil {
				return err
			}
			obj := map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}
			return c.submit(cmd.Context(), f, s, mustLookup("namespaces"), obj)
		},
	}
	c.addFlags(cmd)
	return cmd
}

func serviceCmd(f *connection.Flags, s connection.Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "service",
		Aliases: []string{"svc"},
		Short:   "Create a service using a specified subcommand",
		RunE: func(cmd *cobra.Command, args []string) error {
			return fmt.Errorf("must specify a service type: clusterip, nodeport, loadbalancer or externalname")
		},
	}
	for _, typ := range []string{"ClusterIP", "NodePort", "LoadBalancer"} {
		cmd.AddCommand(serviceTypeCmd(f, s, typ))
	}
	return cmd
}

func serviceTypeCmd(f *connection.Flags, s connection.Streams, typ string) *cobra.Command {
	c := &common{}
	var tcp []string
	var clusterIP string
	var nodePort int32
	cmd := &cobra.Command{
		Use:   strings.ToLower(typ) + " NAME [--tcp=<port>:<targetPort>]",
		Short: "Create a " + typ + " service",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := nameArg(args, "service")
			if err != nil {
				return err
			}
			if len(tcp) == 0 && clusterIP != "None" {
				return fmt.Errorf("at least one tcp port specifier must be provided")
			}
			var ports []any
			for _, spec := range tcp {
				p, t, hasTarget := strings.Cut(spec, ":")
				port, err := strconv.Atoi(p)
				if err != nil {
					return fmt.Errorf("invalid port %q", spec)
				}
				if !hasTarget {
					t = p
				}
				sp := map[string]any{"name": p + "-" + t, "protocol": "TCP", "port": port}
				if n, err := strconv.Atoi(t); err == nil {
					sp["targetPort"] = n
				} else {
					sp["targetPort"] = t
				}
				if nodePort > 0 {
					sp["nodePort"] = nodePort
				}
				ports = append(ports, sp)
			}
			spec := map[string]any{"type": typ, "selector": map[string]any{"app": name}, "ports": ports}
			if clusterIP != "" {
				spec["clusterIP"] = clusterIP
			}
			obj := map[string]any{
				"apiVersion": "v1", "kind": "Service",
				"metadata": map[string]any{"name": name, "labels": map[string]any{"app": name}},
				"spec":     spec,
			}
			return c.submit(cmd.Context(), f, s, mustLookup("services"), obj)
		},
	}
	c.addFlags(cmd)
	cmd.Flags().StringSliceVar(&tcp, "tcp", nil, "Port pairs can be specified as '<port>:<targetPort>'.")
	if typ == "ClusterIP" {
		cmd.Flags().StringVar(&clusterIP, "clusterip", "", "Assign your own ClusterIP or set to 'None' for a 'headless' service (no loadbalancing).")
	}
	if typ == "NodePort" {
		cmd.Flags().Int32Var(&nodePort, "node-port", 0, "Port used to expose the service on each node in a cluster.")
	}
	return cmd
}

func jobCmd(f *connection.Flags, s connection.Streams) *cobra.Command {
	c := &common{}
	var image string
	cmd := &cobra.Command{
		Use:   "job NAME --image=image [-- [COMMAND] [args...]]",
		Short: "Create a job with the specified name",
		RunE: func(cmd *cobra.Command, args []string) error {
			var command []string
			if i := cmd.ArgsLenAtDash(); i >= 0 {
				command, args = args[i:], args[:i]
			}
			name, err := nameArg(args, "job")
			if err != nil {
				return err
			}
			if image == "" {
				return fmt.Errorf("--image must be specified")
			}
			ctr := map[string]any{"name": name, "image": image, "resources": map[string]any{}}
			if len(command) > 0 {
				ctr["command"] = toAny(command)
			}
			obj := map[string]any{
				"apiVersion": "batch/v1", "kind": "Job",
				"metadata": map[string]any{"name": name},
				"spec": map[string]any{"template": map[string]any{
					"metadata": map[string]any{},
					"spec":     map[string]any{"containers": []any{ctr}, "restartPolicy": "Never"},
				}},
			}
			return c.submit(cmd.Context(), f, s, mustLookup("jobs.batch"), obj)
		},
	}
	c.addFlags(cmd)
	cmd.Flags().StringVar(&image, "image", "", "Image name to run.")
	return cmd
}

// literals parses --from-literal=k=v and --from-file=[k=]path into data.
func literals(lits, files []string, encode bool) (map[string]any, error) {
	data := map[string]any{}
	for _, l := range lits {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid literal source %s, expected key=value", l)
		}
		data[k] = v
	}
	for _, fl := range files {
		k, p, ok := strings.Cut(fl, "=")
		if !ok {
			k, p = path.Base(fl), fl
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		data[k] = string(b)
	}
	if encode {
		for k, v := range data {
			data[k] = base64.StdEncoding.EncodeToString([]byte(v.(string)))
		}
	}
	return data, nil
}

func configMapCmd(f *connection.Flags, s connection.Streams) *cobra.Command {
	c := &common{}
	var lits, files []string
	cmd := &cobra.Command{
		Use:     "configmap NAME [--from-file=[key=]source] [--from-literal=key1=value1]",
		Aliases: []string{"cm"},
		Short:   "Create a config map from a local file, directory or literal value",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := nameArg(args, "configmap")
			if err != nil {
				return err
			}
			data, err := literals(lits, files, false)
			if err != nil {
				return err
			}
			obj := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name}}
			if len(data) > 0 {
				obj["data"] = data
			}
			return c.submit(cmd.Context(), f, s, mustLookup("configmaps"), obj)
		},
	}
	c.addFlags(cmd)
	cmd.Flags().StringArrayVar(&lits, "from-literal", nil, "Specify a key and literal value to insert in configmap (i.e. mykey=somevalue)")
	cmd.Flags().StringSliceVar(&files, "from-file", nil, "Key file can be specified using its file path.")
	return cmd
}

func secretCmd(f *connection.Flags, s connection.Streams) *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Short: "Create a secret using a specified subcommand"}
	c := &common{}
	var lits, files []string
	var typ string
	generic := &cobra.Command{
		Use:   "generic NAME [--type=string] [--from-file=[key=]source] [--from-literal=key1=value1]",
		Short: "Create a secret from a local file, directory, or literal value",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := nameArg(args, "secret")
			if err != nil {
				return err
			}
			data, err := literals(lits, files, true)
			if err != nil {
				return err
			}
			obj := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": name}}
			if len(data) > 0 {
				obj["data"] = data
			}
			if typ != "" {
				obj["type"] = typ
			}
			return c.submit(cmd.Context(), f, s, mustLookup("secrets"), obj)
		},
	}
	c.addFlags(generic)
	generic.Flags().StringArrayVar(&lits, "from-literal", nil, "Specify a key and literal value to insert in secret (i.e. mykey=somevalue)")
	generic.Flags().StringSliceVar(&files, "from-file", nil, "Key files can be specified using their file path.")
	generic.Flags().StringVar(&typ, "type", "", "The type of secret to create")
	cmd.AddCommand(generic)
	return cmd
}

func serviceAccountCmd(f *connection.Flags, s connection.Streams) *cobra.Command {
	c := &common{}
	cmd := &cobra.Command{
		Use:     "serviceaccount NAME",
		Aliases: []string{"sa"},
		Short:   "Create a service account with the specified name",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := nameArg(args, "serviceaccount")
			if err != nil {
				return err
			}
			obj := map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": name}}
			return c.submit(cmd.Context(), f, s, mustLookup("serviceaccounts"), obj)
		},
	}
	c.addFlags(cmd)
	return cmd
}
