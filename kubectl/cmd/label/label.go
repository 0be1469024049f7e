// Package label implements the commands that change parts of an object in place:
// label, annotate, patch and set image. Each is a read-modify-write with the object's
// resourceVersion, retried on Conflict (resource.Modify).
package label

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/printers"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
)

type metaOptions struct {
	resource.TargetOptions
	overwrite       bool
	list            bool
	resourceVersion string
	output          string
}

// NewLabelCommand returns `kubectl label`.
func NewLabelCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	return metaCommand(f, s, "labels", "label", "labeled", "Update the labels on a resource")
}

// NewAnnotateCommand returns `kubectl annotate`.
func NewAnnotateCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	return metaCommand(f, s, "annotations", "annotate", "annotated", "Update the annotations on a resource")
}

func metaCommand(f *connection.Flags, s connection.Streams, field, verb, done, short string) *cobra.Command {
	o := &metaOptions{}
	cmd := &cobra.Command{
		Use:   verb + " [--overwrite] (-f FILENAME | TYPE NAME) KEY_1=VAL_1 ... KEY_N=VAL_N [--resource-version=version]",
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), f, s, args, field, verb, done)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.overwrite, "overwrite", false, "If true, allow "+field+" to be overwritten, otherwise reject "+field+" updates that overwrite existing "+field+".")
	fl.BoolVar(&o.list, "list", false, "If true, display the "+field+" for a given resource.")
	fl.StringVar(&o.resourceVersion, "resource-version", "", "If non-empty, the update will only succeed if this is the current resource-version for the object.")
	fl.StringVarP(&o.LabelSelector, "selector", "l", "", "Selector (label query) to filter on.")
	fl.StringVar(&o.FieldSelector, "field-selector", "", "Selector (field query) to filter on.")
	fl.BoolVar(&o.All, "all", false, "Select all resources, in the namespace of the specified resource types")
	fl.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "If true, check the specified action in all namespaces.")
	fl.StringSliceVarP(&o.Files.Filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to update")
	fl.StringVarP(&o.output, "output", "o", "", "Output format. One of: (name).")
	return cmd
}

// splitChanges separates resource arguments from KEY=VAL and KEY- arguments.
func splitChanges(verb string, args []string) (resources []string, set map[string]string, remove []string, err error) {
	set = map[string]string{}
	for _, a := range args {
		switch {
		case strings.Contains(a, "="):
			k, v, _ := strings.Cut(a, "=")
			if k == "" {
				return nil, nil, nil, fmt.Errorf("invalid label spec: %s", a)
			}
			set[k] = v
		case strings.HasSuffix(a, "-") && len(resources) > 0:
			remove = append(remove, strings.TrimSuffix(a, "-"))
		default:
			if len(set) > 0 || len(remove) > 0 {
				return nil, nil, nil, fmt.Errorf("all resources must be specified before %s changes: %s", verb, a)
			}
			resources = append(resources, a)
		}
	}
	return resources, set, remove, nil
}

func (o *metaOptions) run(ctx context.Context, f *connection.Flags, s connection.Streams, args []string, field, verb, done string) error {
	resArgs, set, remove, err := splitChanges(verb, args)
	if err != nil {
		return err
	}
	if len(set) == 0 && len(remove) == 0 && !o.list {
		return fmt.Errorf("at least one %s update is required", strings.TrimSuffix(field, "s"))
	}
	cs, err := f.Client()
	if err != nil {
		return err
	}
	ns, explicit, err := f.DefaultNamespace()
	if err != nil {
		return err
	}
	targets, err := o.Targets(ctx, cs, resArgs, s.In, ns, explicit)
	if err != nil {
		return err
	}
	for _, t := range targets {
		if o.list {
			obj, err := resource.Get(ctx, cs, t.Res, t.Namespace, t.Name)
			if err != nil {
				return err
			}
			m := u.StringMap(obj, "metadata", field)
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(s.Out, "%s=%s\n", k, m[k])
			}
			continue
		}
		_, changed, err := resource.Modify(ctx, cs, t.Res, t.Namespace, t.Name, func(obj map[string]any) (bool, error) {
			if o.resourceVersion != "" {
				u.Set(obj, o.resourceVersion, "metadata", "resourceVersion")
			}
			m := u.Map(obj, "metadata", field)
			if m == nil {
				m = map[string]any{}
			}
			for k, v := range set {
				if old, ok := m[k]; ok && !o.overwrite && u.Scalar(old) != v {
					return false, fmt.Errorf("'%s' already has a value (%s), and --overwrite is false", k, u.Scalar(old))
				}
				m[k] = v
			}
			for _, k := range remove {
				delete(m, k)
			}
			if len(m) == 0 {
				u.Remove(obj, "metadata", field)
			} else {
				u.Set(obj, m, "metadata", field)
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		name := printers.Name(t.Res, t.Name)
		switch {
		case o.output == "name":
			fmt.Fprintln(s.Out, name)
		case !changed:
			fmt.Fprintf(s.Out, "%s not %s\n", name, done)
		case verb == "label" && len(set) == 0:
			fmt.Fprintf(s.Out, "%s unlabeled\n", name)
		default:
			fmt.Fprintf(s.Out, "%s %s\n", name, done)
		}
	}
	return nil
}
