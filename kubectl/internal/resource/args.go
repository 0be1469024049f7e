// Package resource turns what the user names on the command line — "pods", "deploy,svc",
// "pod/web", "all", -f files, directories and stdin — into resources and objects, the
// way upstream's resource.Builder does, and fetches them from the apiserver.
package resource

import (
	"context"
	"fmt"
	"strings"

	"kube5/kubectl/internal/printers"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/client"
	"kube5/proto/scheme"
)

// allResources is what "all" expands to: upstream's "all" category, for the kinds we
// serve, in upstream's order.
var allResources = []string{"pods", "replicationcontrollers", "services", "deployments.apps", "replicasets.apps", "jobs.batch"}

// Ref names objects of one resource: Names empty means all of them.
type Ref struct {
	Res   *scheme.Resource
	Names []string
}

// Lookup resolves one resource name with upstream's error.
func Lookup(name string) (*scheme.Resource, error) {
	r, ok := scheme.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("the server doesn't have a resource type %q", name)
	}
	return r, nil
}

// ParseArgs reads "TYPE[,TYPE...] [NAME...]" or "TYPE/NAME ..." (not mixed). multi says
// output should name kinds (several types, or "all", or TYPE/NAME forms with >1 type).
func ParseArgs(args []string) (refs []Ref, multi bool, err error) {
	if len(args) == 0 {
		return nil, false, fmt.Errorf("you must specify the type of resource to get")
	}
	if strings.Contains(args[0], "/") {
		byRes := map[*scheme.Resource]int{}
		for _, a := range args {
			t, n, ok := strings.Cut(a, "/")
			if !ok || n == "" {
				return nil, false, fmt.Errorf("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'")
			}
			r, err := Lookup(t)
			if err != nil {
				return nil, false, err
			}
			i, ok := byRes[r]
			if !ok {
				i = len(refs)
				byRes[r] = i
				refs = append(refs, Ref{Res: r})
			}
			refs[i].Names = append(refs[i].Names, n)
		}
		return refs, len(refs) > 1, nil
	}
	types := strings.Split(args[0], ",")
	names := args[1:]
	for _, n := range names {
		if strings.Contains(n, "/") {
			return nil, false, fmt.Errorf("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' instead of 'kubectl get resource resource/<resource_name>'")
		}
	}
	for _, t := range types {
		if t == "" {
			continue
		}
		if strings.ToLower(t) == "all" {
			multi = true
			for _, a := range allResources {
				r, _ := scheme.Lookup(a)
				refs = append(refs, Ref{Res: r, Names: names})
			}
			continue
		}
		r, err := Lookup(t)
		if err != nil {
			return nil, false, err
		}
		refs = append(refs, Ref{Res: r, Names: names})
	}
	return refs, multi || len(refs) > 1, nil
}

// Selector is the -l/--field-selector/-A part of a request.
type Selector struct {
	Namespace     string // "" with AllNamespaces
	AllNamespaces bool
	LabelSelector string
	FieldSelector string
	// ChunkSize pages lists (--chunk-size; 0: one request).
	ChunkSize int64
}

// Fetch gets the named objects of ref, or lists them when ref has no names. Errors on
// individual names are collected and returned after the objects that were found, as
// upstream prints what it found and the NotFound errors after it.
func Fetch(ctx context.Context, cs *client.Clientset, ref Ref, sel Selector) ([]printers.Item, string, []error) {
	ns := sel.Namespace
	if sel.AllNamespaces {
		ns = ""
	}
	dyn := cs.Resource(ref.Res, ns)
	var items []printers.Item
	var errs []error
	if len(ref.Names) > 0 {
		for _, n := range ref.Names {
			obj, err := dyn.Get(ctx, n)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			m, err := u.FromProto(obj)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			items = append(items, printers.Item{Res: ref.Res, Obj: m})
		}
		return items, "", errs
	}
	opts := client.ListOptions{LabelSelector: sel.LabelSelector, FieldSelector: sel.FieldSelector, Limit: sel.ChunkSize}
	rv := ""
	for {
		list, err := dyn.List(ctx, opts)
		if err != nil {
			return nil, "", []error{err}
		}
		for _, obj := range list.Items {
			m, err := u.FromProto(obj)
			if err != nil {
				return nil, "", []error{err}
			}
			items = append(items, printers.Item{Res: ref.Res, Obj: m})
		}
		if rv == "" {
			rv = list.ResourceVersion
		}
		if list.Continue == "" {
			return items, rv, nil
		}
		opts.Continue = list.Continue
	}
}
