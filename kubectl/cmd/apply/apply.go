// Package apply implements client-side kubectl apply: create what is absent, and update
// what exists with a three-way merge of the last-applied manifest (kept in the
// kubectl.kubernetes.io/last-applied-configuration annotation), the new manifest and the
// live object, so fields removed from the manifest are removed from the object while
// fields others set (defaults, controllers, kubectl scale) are kept.
package apply

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"kube5/kubectl/cmd/create"
	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/printers"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/apierrors"
	"kube5/proto/client"
)

type options struct {
	printers.Options
	files    resource.FileOptions
	validate string
	dryRun   string
}

// NewCommand returns `kubectl apply`.
func NewCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "apply (-f FILENAME | -k DIRECTORY)",
		Short: "Apply a configuration to a resource by file name or stdin",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(o.files.Filenames) == 0 {
				return fmt.Errorf("error: must specify one of -f and -k")
			}
			return o.run(cmd.Context(), f, s)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVarP(&o.files.Filenames, "filename", "f", nil, "The files that contain the configurations to apply.")
	fl.BoolVarP(&o.files.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively.")
	fl.StringVarP(&o.Output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
	fl.StringVar(&o.validate, "validate", "strict", "Must be one of: strict (or true), warn, ignore (or false).")
	fl.Lookup("validate").NoOptDefVal = "strict"
	fl.StringVar(&o.dryRun, "dry-run", "none", `Must be "none", "server", or "client".`)
	return cmd
}

func (o *options) run(ctx context.Context, f *connection.Flags, s connection.Streams) error {
	if err := o.Validate(); err != nil {
		return err
	}
	o.files.Validate = o.validate != "false" && o.validate != "ignore" && o.validate != "warn"
	docs, err := o.files.Read(s.In)
	if err != nil {
		return err
	}
	cs, err := f.Client()
	if err != nil {
		return err
	}
	ns, explicit, err := f.DefaultNamespace()
	if err != nil {
		return err
	}
	dry := o.dryRun == "client"
	failed := false
	for _, d := range docs {
		if d.Err != nil {
			fmt.Fprintln(s.ErrOut, "error: "+d.Err.Error())
			failed = true
			continue
		}
		if err := resource.SetNamespace(d.Res, d.Obj, ns, explicit); err != nil {
			fmt.Fprintln(s.ErrOut, "error: "+err.Error())
			failed = true
			continue
		}
		verb, obj, err := o.applyOne(ctx, cs, d, dry)
		if err != nil {
			fmt.Fprintln(s.ErrOut, whenApplying(err, d, verb))
			failed = true
			continue
		}
		if err := o.PrintResult(s.Out, d.Res, obj, verb, dry); err != nil {
			return err
		}
	}
	if failed {
		return connection.ErrSilent
	}
	return nil
}

func whenApplying(err error, d resource.Doc, verb string) string {
	msg := connection.Message(err)
	action := "applying patch"
	if verb == "created" {
		action = "creating"
	}
	if se, ok := err.(*apierrors.StatusError); ok && !apierrors.IsServiceUnavailable(err) {
		return fmt.Sprintf("Error from server (%s): error when %s %q: %s", se.Status().GetReason(), action, d.Source, se.Status().GetMessage())
	}
	return msg
}

// applyOne creates or patches one object; it retries the read-modify-write on Conflict.
func (o *options) applyOne(ctx context.Context, cs *client.Clientset, d resource.Doc, dry bool) (string, map[string]any, error) {
	modified := u.DeepCopy(d.Obj).(map[string]any)
	if err := create.SetLastApplied(modified); err != nil {
		return "", nil, err
	}
	for attempt := 0; ; attempt++ {
		current, err := resource.Get(ctx, cs, d.Res, u.Namespace(d.Obj), u.Name(d.Obj))
		if apierrors.IsNotFound(err) {
			if u.Name(d.Obj) == "" {
				return "created", nil, fmt.Errorf("resource name may not be empty")
			}
			if dry {
				return "created", modified, nil
			}
			out, err := resource.Create(ctx, cs, d.Res, modified, o.files.Validate)
			if apierrors.IsAlreadyExists(err) && attempt < 5 {
				continue
			}
			return "created", out, err
		}
		if err != nil {
			return "configured", nil, err
		}
		var original map[string]any
		if s := u.String(current, "metadata", "annotations", create.LastAppliedAnnotation); s != "" {
			original, _ = u.FromJSON([]byte(s))
		}
		patch := u.ThreeWayMergePatch(original, modified, current)
		if len(patch) == 0 {
			return "unchanged", current, nil
		}
		merged := u.MergePatch(current, patch).(map[string]any)
		u.Set(merged, u.String(current, "metadata", "resourceVersion"), "metadata", "resourceVersion")
		if dry {
			return "configured", merged, nil
		}
		out, err := resource.Update(ctx, cs, d.Res, merged, o.files.Validate)
		if apierrors.IsConflict(err) && attempt < 5 {
			continue
		}
		return "configured", out, err
	}
}
