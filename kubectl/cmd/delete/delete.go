// Package delete implements kubectl delete: by name, by -f manifests, by -l selector or
// --all, with graceful deletion (--grace-period, --now, --force), the propagation policy
// (--cascade) and, by default, waiting until the objects are really gone.
package delete

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/printers"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/scheme"
)

type options struct {
	resource.Selector
	files    resource.FileOptions
	all      bool
	grace    int64
	force    bool
	now      bool
	wait     bool
	timeout  time.Duration
	cascade  string
	ignoreNF bool
	output   string
}

// NewCommand returns `kubectl delete`.
func NewCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "delete ([-f FILENAME] | TYPE [(NAME | -l label | --all)])",
		Short: "Delete resources by file names, stdin, resources and names, or by resources and label selector",
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), f, s, args)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVarP(&o.files.Filenames, "filename", "f", nil, "containing the resource to delete.")
	fl.BoolVarP(&o.files.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively.")
	fl.StringVarP(&o.LabelSelector, "selector", "l", "", "Selector (label query) to filter on.")
	fl.StringVar(&o.FieldSelector, "field-selector", "", "Selector (field query) to filter on.")
	fl.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces.")
	fl.BoolVar(&o.all, "all", false, "Delete all resources, in the namespace of the specified resource types.")
	fl.Int64Var(&o.grace, "grace-period", -1, "Period of time in seconds given to the resource to terminate gracefully. Ignored if negative. Set to 1 for immediate shutdown. Can only be set to 0 when --force is true (force deletion).")
	fl.BoolVar(&o.force, "force", false, "If true, immediately remove resources from API and bypass graceful deletion.")
	fl.BoolVar(&o.now, "now", false, "If true, resources are signaled for immediate shutdown (same as --grace-period=1).")
	fl.BoolVar(&o.wait, "wait", true, "If true, wait for resources to be gone before returning. This waits for finalizers.")
	fl.DurationVar(&o.timeout, "timeout", 0, "The length of time to wait before giving up on a delete, zero means determine a timeout from the size of the object")
	fl.StringVar(&o.cascade, "cascade", "background", `Must be "background", "orphan", or "foreground".`)
	fl.Lookup("cascade").NoOptDefVal = "background"
	fl.BoolVar(&o.ignoreNF, "ignore-not-found", false, "Treat \"resource not found\" as a successful delete.")
	fl.StringVarP(&o.output, "output", "o", "", "Output mode. Use \"-o name\" for shorter output (resource/name).")
	return cmd
}

type target struct {
	res       *scheme.Resource
	namespace string
	name      string
}

func (o *options) deleteOptions() (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	grace := o.grace
	if o.now {
		if grace >= 0 {
			return nil, fmt.Errorf("--now and --grace-period cannot be specified together")
		}
		grace = 1
	}
	if o.force && grace < 0 {
		grace = 0
	}
	if grace == 0 && !o.force {
		// Upstream turns --grace-period=0 without --force into 1: a graceful deletion.
		grace = 1
	}
	if grace >= 0 {
		opts.GracePeriodSeconds = &grace
	}
	var policy string
	switch strings.ToLower(o.cascade) {
	case "background", "true":
		policy = "Background"
	case "foreground":
		policy = "Foreground"
	case "orphan", "false":
		policy = "Orphan"
	default:
		return nil, fmt.Errorf(`invalid cascade value (%v). Must be "background", "foreground", or "orphan"`, o.cascade)
	}
	opts.PropagationPolicy = &policy
	return opts, nil
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
	o.Namespace = ns
	dopts, err := o.deleteOptions()
	if err != nil {
		return err
	}
	var targets []target
	var errs []error
	switch {
	case len(o.files.Filenames) > 0:
		o.files.Validate = false
		docs, err := o.files.Read(s.In)
		if err != nil {
			return err
		}
		for _, d := range docs {
			if d.Err != nil {
				errs = append(errs, d.Err)
				continue
			}
			if err := resource.SetNamespace(d.Res, d.Obj, ns, explicit); err != nil {
				return err
			}
			targets = append(targets, target{d.Res, u.Namespace(d.Obj), u.Name(d.Obj)})
		}
	case len(args) == 0:
		return fmt.Errorf("You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'")
	default:
		refs, _, err := resource.ParseArgs(args)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			if len(ref.Names) > 0 {
				if o.all || o.LabelSelector != "" {
					return fmt.Errorf("name cannot be provided when a selector is specified")
				}
				for _, n := range ref.Names {
					targets = append(targets, target{ref.Res, ns, n})
				}
				continue
			}
			if !o.all && o.LabelSelector == "" && o.FieldSelector == "" {
				return fmt.Errorf("resource(s) were provided, but no name was specified")
			}
			items, _, es := resource.Fetch(ctx, cs, ref, o.Selector)
			errs = append(errs, es...)
			for _, it := range items {
				targets = append(targets, target{ref.Res, u.Namespace(it.Obj), u.Name(it.Obj)})
			}
		}
		if len(targets) == 0 && len(errs) == 0 {
			fmt.Fprintln(s.Out, "No resources found")
			return nil
		}
	}
	if o.force && dopts.GetGracePeriodSeconds() == 0 {
		fmt.Fprintln(s.ErrOut, "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.")
	}
	var deleted []target
	var uids []string
	for _, t := range targets {
		uid := ""
		if o.wait {
			if obj, err := cs.Resource(t.res, t.namespace).Get(ctx, t.name); err == nil {
				uid = obj.GetMetadata().GetUid()
			}
		}
		err := cs.Resource(t.res, t.namespace).Delete(ctx, t.name, dopts)
		if err != nil {
			if o.ignoreNF && apierrors.IsNotFound(err) {
				continue
			}
			errs = append(errs, err)
			continue
		}
		if o.output == "name" {
			fmt.Fprintln(s.Out, printers.Name(t.res, t.name))
		} else {
			fmt.Fprintf(s.Out, "%s %q deleted\n", kindGroup(t.res), t.name)
		}
		deleted = append(deleted, t)
		uids = append(uids, uid)
	}
	if o.wait {
		timeout := o.timeout
		if timeout == 0 {
			timeout = 7 * 24 * time.Hour
		}
		for i, t := range deleted {
			if err := waitGone(ctx, cs, t, uids[i], timeout); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, e := range errs {
		fmt.Fprintln(s.ErrOut, connection.Message(e))
	}
	if len(errs) > 0 {
		return connection.ErrSilent
	}
	return nil
}

// kindGroup is "deployment.apps" / "pod", the subject of upstream's delete message.
func kindGroup(r *scheme.Resource) string {
	k := strings.ToLower(r.Kind)
	if r.Group != "" {
		k += "." + r.Group
	}
	return k
}

// waitGone polls until the object is gone (or replaced by one with another uid).
func waitGone(ctx context.Context, cs *client.Clientset, t target, uid string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	delay := 20 * time.Millisecond
	for {
		obj, err := cs.Resource(t.res, t.namespace).Get(ctx, t.name)
		if apierrors.IsNotFound(err) || err == nil && uid != "" && obj.GetMetadata().GetUid() != uid {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for the condition on %s/%s", t.res.Resource, t.name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		if delay < time.Second {
			delay *= 2
		}
	}
}
