package resource

import (
	"context"
	"fmt"
	"io"

	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/client"
	"kube5/proto/scheme"
)

// Target is one object a command acts on.
type Target struct {
	Res       *scheme.Resource
	Namespace string
	Name      string
}

// TargetOptions are the ways a command names its objects: arguments, -f, -l, --all.
type TargetOptions struct {
	Files FileOptions
	Selector
	All bool
}

// Targets resolves args (TYPE NAME..., TYPE/NAME...) or -f, expanding -l/--all by
// listing. ns is the default namespace, explicit whether -n was given.
func (o TargetOptions) Targets(ctx context.Context, cs *client.Clientset, args []string, stdin io.Reader, ns string, explicit bool) ([]Target, error) {
	o.Namespace = ns
	var out []Target
	if len(o.Files.Filenames) > 0 {
		docs, err := o.Files.Read(stdin)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			if d.Err != nil {
				return nil, d.Err
			}
			if err := SetNamespace(d.Res, d.Obj, ns, explicit); err != nil {
				return nil, err
			}
			out = append(out, Target{d.Res, u.Namespace(d.Obj), u.Name(d.Obj)})
		}
		return out, nil
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'")
	}
	refs, _, err := ParseArgs(args)
	if err != nil {
		return nil, err
	}
	for _, ref := range refs {
		if len(ref.Names) == 0 {
			if !o.All && o.LabelSelector == "" && o.FieldSelector == "" {
				return nil, fmt.Errorf("resource(s) were provided, but no name was specified")
			}
			items, _, errs := Fetch(ctx, cs, ref, o.Selector)
			if len(errs) > 0 {
				return nil, errs[0]
			}
			for _, it := range items {
				out = append(out, Target{ref.Res, u.Namespace(it.Obj), u.Name(it.Obj)})
			}
			continue
		}
		for _, n := range ref.Names {
			out = append(out, Target{ref.Res, ns, n})
		}
	}
	return out, nil
}
