// Package scale implements kubectl scale through the scale subresource
// (autoscaling/v1 Scale) of deployments, replica sets and replication controllers.
package scale

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/printers"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
	autoscalingv1 "kube5/proto/api/autoscaling/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/scheme"
)

type options struct {
	resource.Selector
	files           resource.FileOptions
	replicas        int32
	currentReplicas int32
	resourceVersion string
	all             bool
	output          string
}

// NewCommand returns `kubectl scale`.
func NewCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "scale [--resource-version=version] [--current-replicas=count] --replicas=COUNT (-f FILENAME | TYPE NAME)",
		Short: "Set a new size for a deployment, replica set, or replication controller",
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("replicas") {
				return fmt.Errorf("required flag(s) \"replicas\" not set")
			}
			return o.run(cmd.Context(), f, s, args)
		},
	}
	fl := cmd.Flags()
	fl.Int32Var(&o.replicas, "replicas", 0, "The new desired number of replicas. Required.")
	fl.Int32Var(&o.currentReplicas, "current-replicas", -1, "Precondition for current size. Requires that the current size of the resource match this value in order to scale. -1 (default) for no condition.")
	fl.StringVar(&o.resourceVersion, "resource-version", "", "Precondition for resource version. Requires that the current resource version match this value in order to scale.")
	fl.StringSliceVarP(&o.files.Filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to set a new size")
	fl.StringVarP(&o.LabelSelector, "selector", "l", "", "Selector (label query) to filter on.")
	fl.BoolVar(&o.all, "all", false, "Select all resources in the namespace of the specified resource types")
	fl.StringVarP(&o.output, "output", "o", "", "Output format. One of: (name).")
	return cmd
}

func (o *options) run(ctx context.Context, f *connection.Flags, s connection.Streams, args []string) error {
	if o.replicas < 0 {
		return fmt.Errorf("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
	}
	cs, err := f.Client()
	if err != nil {
		return err
	}
	ns, explicit, err := f.DefaultNamespace()
	if err != nil {
		return err
	}
	o.Namespace = ns
	type target struct {
		res      *scheme.Resource
		ns, name string
	}
	var targets []target
	if len(o.files.Filenames) > 0 {
		docs, err := o.files.Read(s.In)
		if err != nil {
			return err
		}
		for _, d := range docs {
			if d.Err != nil {
				return d.Err
			}
			if err := resource.SetNamespace(d.Res, d.Obj, ns, explicit); err != nil {
				return err
			}
			targets = append(targets, target{d.Res, u.Namespace(d.Obj), u.Name(d.Obj)})
		}
	} else {
		refs, _, err := resource.ParseArgs(args)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			if len(ref.Names) == 0 {
				if !o.all && o.LabelSelector == "" {
					return fmt.Errorf("resource(s) were provided, but no name was specified")
				}
				items, _, errs := resource.Fetch(ctx, cs, ref, o.Selector)
				if len(errs) > 0 {
					return errs[0]
				}
				for _, it := range items {
					targets = append(targets, target{ref.Res, u.Namespace(it.Obj), u.Name(it.Obj)})
				}
			}
			for _, n := range ref.Names {
				targets = append(targets, target{ref.Res, ns, n})
			}
		}
	}
	for _, t := range targets {
		switch t.res.Kind {
		case "Deployment", "ReplicaSet", "ReplicationController":
		default:
			return fmt.Errorf("cannot scale %s: no scale subresource", t.res.GroupResource())
		}
		if err := o.scaleOne(ctx, cs, t.res, t.ns, t.name); err != nil {
			return err
		}
		if o.output == "name" {
			fmt.Fprintln(s.Out, printers.Name(t.res, t.name))
		} else {
			fmt.Fprintf(s.Out, "%s scaled\n", printers.Name(t.res, t.name))
		}
	}
	return nil
}

// scaleOne reads the scale, checks the preconditions and writes it back with the
// resourceVersion it read, retrying on Conflict unless a precondition pinned it.
func (o *options) scaleOne(ctx context.Context, cs *client.Clientset, res *scheme.Resource, ns, name string) error {
	dyn := cs.Resource(res, ns)
	for attempt := 0; ; attempt++ {
		sc := &autoscalingv1.Scale{}
		if err := dyn.GetSubresource(ctx, name, "scale", sc); err != nil {
			return err
		}
		if o.currentReplicas >= 0 && sc.GetSpec().GetReplicas() != o.currentReplicas {
			return fmt.Errorf("Expected replicas to be %d, was %d", o.currentReplicas, sc.GetSpec().GetReplicas())
		}
		if o.resourceVersion != "" && sc.GetMetadata().GetResourceVersion() != o.resourceVersion {
			return fmt.Errorf("Expected resource version to be %s, was %s", o.resourceVersion, sc.GetMetadata().GetResourceVersion())
		}
		if sc.Spec == nil {
			sc.Spec = &autoscalingv1.ScaleSpec{}
		}
		sc.Spec.Replicas = o.replicas
		if sc.Metadata != nil && sc.Metadata.Namespace == "" {
			sc.Metadata.Namespace = ns
		}
		err := dyn.UpdateSubresource(ctx, name, "scale", sc, nil)
		if apierrors.IsConflict(err) && attempt < 5 && o.resourceVersion == "" {
			continue
		}
		return err
	}
}
