// Package expose implements kubectl expose: a service for a deployment, replica set,
// replication controller, pod or service, with the selector and ports read from it.
package expose

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/printers"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/scheme"
)

type options struct {
	printers.Options
	files      resource.FileOptions
	port       string
	targetPort string
	protocol   string
	typ        string
	name       string
	selector   string
	labels     string
	clusterIP  string
	external   string
	dryRun     string
}

// NewCommand returns `kubectl expose`.
func NewCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "expose (-f FILENAME | TYPE NAME) [--port=port] [--protocol=TCP|UDP|SCTP] [--target-port=number-or-name] [--name=name] [--external-ip=external-ip-of-service] [--type=type]",
		Short: "Take a replication controller, service, deployment or pod and expose it as a new Kubernetes service",
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), f, s, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.port, "port", "", "The port that the service should serve on. Copied from the resource being exposed, if unspecified")
	fl.StringVar(&o.targetPort, "target-port", "", "Name or number for the port on the container that the service should direct traffic to. Optional.")
	fl.StringVar(&o.protocol, "protocol", "", "The network protocol for the service to be created. Default is 'TCP'.")
	fl.StringVar(&o.typ, "type", "", "Type for this service: ClusterIP, NodePort, LoadBalancer, or ExternalName. Default is 'ClusterIP'.")
	fl.StringVar(&o.name, "name", "", "The name for the newly created object.")
	fl.StringVar(&o.selector, "selector", "", "A label selector to use for this service. Only equality-based selector requirements are supported.")
	fl.StringVarP(&o.labels, "labels", "l", "", "Labels to apply to the service created by this call.")
	fl.StringVar(&o.clusterIP, "cluster-ip", "", "ClusterIP to be assigned to the service. Leave empty to auto-allocate, or set to 'None' to create a headless service.")
	fl.StringVar(&o.external, "external-ip", "", "Additional external IP address (not managed by Kubernetes) to accept for the service.")
	fl.StringVar(&o.dryRun, "dry-run", "none", `Must be "none", "server", or "client".`)
	fl.StringVarP(&o.Output, "output", "o", "", "Output format.")
	fl.StringSliceVarP(&o.files.Filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to expose a service")
	return cmd
}

func parseMap(spec string) (map[string]any, error) {
	out := map[string]any{}
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid label spec: %s", kv)
		}
		out[k] = v
	}
	return out, nil
}

func (o *options) run(ctx context.Context, f *connection.Flags, s connection.Streams, args []string) error {
	cs, err := f.Client()
	if err != nil {
		return err
	}
	ns, explicit, err := f.DefaultNamespace()
	if err != nil {
		return err
	}
	var res *scheme.Resource
	var obj map[string]any
	if len(o.files.Filenames) > 0 {
		docs, err := o.files.Read(s.In)
		if err != nil {
			return err
		}
		if len(docs) != 1 || docs[0].Err != nil {
			if len(docs) > 0 && docs[0].Err != nil {
				return docs[0].Err
			}
			return fmt.Errorf("expose takes exactly one object")
		}
		res, obj = docs[0].Res, docs[0].Obj
		if err := resource.SetNamespace(res, obj, ns, explicit); err != nil {
			return err
		}
		ns = u.Namespace(obj)
	} else {
		refs, _, err := resource.ParseArgs(args)
		if err != nil {
			return err
		}
		if len(refs) != 1 || len(refs[0].Names) != 1 {
			return fmt.Errorf("You must provide one resource by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'")
		}
		res = refs[0].Res
		obj, err = resource.Get(ctx, cs, res, ns, refs[0].Names[0])
		if err != nil {
			return err
		}
	}
	svc, err := o.service(res, obj)
	if err != nil {
		return err
	}
	u.Set(svc, ns, "metadata", "namespace")
	svcRes, _ := scheme.Lookup("services")
	if o.dryRun == "client" {
		return o.PrintResult(s.Out, svcRes, svc, "exposed", true)
	}
	out, err := resource.Create(ctx, cs, svcRes, svc, true)
	if err != nil {
		return err
	}
	return o.PrintResult(s.Out, svcRes, out, "exposed", false)
}

// service builds the Service for obj.
func (o *options) service(res *scheme.Resource, obj map[string]any) (map[string]any, error) {
	var selector map[string]any
	var ports []map[string]any // from the object: containerPort/protocol or service ports
	switch res.Kind {
	case "Deployment", "ReplicaSet":
		if len(u.Maps(obj, "spec", "selector", "matchExpressions")) > 0 {
			return nil, fmt.Errorf("couldn't convert expressions - \"%s\" to map-based selector format", res.Kind)
		}
		selector = u.Map(obj, "spec", "selector", "matchLabels")
		ports = containerPorts(obj, "spec", "template", "spec", "containers")
	case "ReplicationController":
		selector = u.Map(obj, "spec", "selector")
		if selector == nil {
			selector = u.Map(obj, "spec", "template", "metadata", "labels")
		}
		ports = containerPorts(obj, "spec", "template", "spec", "containers")
	case "Pod":
		selector = u.Map(obj, "metadata", "labels")
		ports = containerPorts(obj, "spec", "containers")
	case "Service":
		selector = u.Map(obj, "spec", "selector")
		for _, p := range u.Maps(obj, "spec", "ports") {
			ports = append(ports, map[string]any{"port": p["port"], "protocol": p["protocol"], "name": p["name"]})
		}
	default:
		return nil, fmt.Errorf("cannot expose a %s", res.Kind)
	}
	if o.selector != "" {
		sel, err := parseMap(o.selector)
		if err != nil {
			return nil, err
		}
		selector = sel
	}
	if len(selector) == 0 {
		return nil, fmt.Errorf("couldn't retrieve selectors via --selector flag or introspection: the %s has no labels to select on", strings.ToLower(res.Kind))
	}
	name := o.name
	if name == "" {
		name = u.Name(obj)
	}
	var svcPorts []any
	if o.port != "" {
		for i, p := range strings.Split(o.port, ",") {
			n, err := strconv.Atoi(p)
			if err != nil {
				return nil, fmt.Errorf("invalid port %q", p)
			}
			sp := map[string]any{"port": n, "protocol": proto(o.protocol, "")}
			if strings.Contains(o.port, ",") {
				sp["name"] = fmt.Sprintf("port-%d", i+1)
			}
			svcPorts = append(svcPorts, sp)
		}
	} else {
		if len(ports) == 0 {
			return nil, fmt.Errorf("couldn't find port via --port flag or introspection")
		}
		for i, p := range ports {
			sp := map[string]any{"port": p["port"], "protocol": proto(o.protocol, u.Scalar(p["protocol"]))}
			if len(ports) > 1 {
				if n := u.Scalar(p["name"]); n != "" {
					sp["name"] = n
				} else {
					sp["name"] = fmt.Sprintf("port-%d", i+1)
				}
			}
			svcPorts = append(svcPorts, sp)
		}
	}
	for _, sp := range svcPorts {
		m := sp.(map[string]any)
		switch {
		case o.targetPort != "":
			if n, err := strconv.Atoi(o.targetPort); err == nil {
				m["targetPort"] = n
			} else {
				m["targetPort"] = o.targetPort
			}
		default:
			m["targetPort"] = m["port"]
		}
	}
	labels := u.Map(obj, "metadata", "labels")
	if o.labels != "" {
		l, err := parseMap(o.labels)
		if err != nil {
			return nil, err
		}
		labels = l
	}
	spec := map[string]any{"selector": selector, "ports": svcPorts}
	if o.typ != "" {
		spec["type"] = o.typ
	}
	if o.clusterIP != "" {
		spec["clusterIP"] = o.clusterIP
	}
	if o.external != "" {
		spec["externalIPs"] = []any{o.external}
	}
	meta := map[string]any{"name": name}
	if len(labels) > 0 {
		meta["labels"] = labels
	}
	return map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}, nil
}

func proto(flag, own string) string {
	if flag != "" {
		return flag
	}
	if own != "" {
		return own
	}
	return "TCP"
}

// containerPorts lists the containers' ports in container order.
func containerPorts(obj map[string]any, path ...string) []map[string]any {
	var out []map[string]any
	for _, c := range u.Maps(obj, path...) {
		for _, p := range u.Maps(c, "ports") {
			out = append(out, map[string]any{"port": p["containerPort"], "protocol": p["protocol"], "name": p["name"]})
		}
	}
	return out
}
