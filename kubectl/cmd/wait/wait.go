// Package wait implements kubectl wait: --for=condition=NAME[=VALUE], --for=delete and
// --for=jsonpath='{...}'=VALUE, polling the objects until each matches or the timeout.
package wait

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/jsonpath"
	"kube5/kubectl/internal/printers"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/apierrors"
)

// NewCommand returns `kubectl wait`.
func NewCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	t := resource.TargetOptions{}
	var forSpec string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait ([-f FILENAME] | resource.group/resource.name | resource.group [(-l label | --all)]) [--for=delete|--for condition=available|--for=jsonpath='{}'[=value]]",
		Short: "Experimental: Wait for a specific condition on one or many resources",
		RunE: func(cmd *cobra.Command, args []string) error {
			check, err := parseFor(forSpec)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cs, err := f.Client()
			if err != nil {
				return err
			}
			ns, explicit, err := f.DefaultNamespace()
			if err != nil {
				return err
			}
			targets, err := t.Targets(ctx, cs, args, s.In, ns, explicit)
			if err != nil {
				return err
			}
			if len(targets) == 0 {
				return fmt.Errorf("no matching resources found")
			}
			deadline := time.Now().Add(timeout)
			for _, tg := range targets {
				if err := waitOne(ctx, f, tg, check, deadline, forSpec == "delete"); err != nil {
					return err
				}
				fmt.Fprintf(s.Out, "%s condition met\n", printers.Name(tg.Res, tg.Name))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&forSpec, "for", "", "The condition to wait on: [create|delete|condition=condition-name[=condition-value]|jsonpath='{JSONPath expression}'=[JSONPath value]].")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "The length of time to wait before giving up.  Zero means check once and don't wait, negative means wait for a week.")
	cmd.Flags().StringSliceVarP(&t.Files.Filenames, "filename", "f", nil, "identifying the resource.")
	cmd.Flags().StringVarP(&t.LabelSelector, "selector", "l", "", "Selector (label query) to filter on.")
	cmd.Flags().StringVar(&t.FieldSelector, "field-selector", "", "Selector (field query) to filter on.")
	cmd.Flags().BoolVar(&t.All, "all", false, "Select all resources in the namespace of the specified resource types")
	cmd.Flags().BoolVarP(&t.AllNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces.")
	return cmd
}

// parseFor returns the test an object must pass (nil object: it is gone).
func parseFor(spec string) (func(obj map[string]any) bool, error) {
	switch {
	case spec == "":
		return nil, fmt.Errorf("--for must be specified")
	case spec == "delete":
		return func(obj map[string]any) bool { return obj == nil }, nil
	case spec == "create":
		return func(obj map[string]any) bool { return obj != nil }, nil
	case strings.HasPrefix(spec, "condition="):
		c := strings.TrimPrefix(spec, "condition=")
		name, value, ok := strings.Cut(c, "=")
		if !ok {
			value = "true"
		}
		return func(obj map[string]any) bool {
			if obj == nil {
				return false
			}
			for _, cond := range u.Maps(obj, "status", "conditions") {
				if strings.EqualFold(u.String(cond, "type"), name) && strings.EqualFold(u.String(cond, "status"), value) {
					return true
				}
			}
			return false
		}, nil
	case strings.HasPrefix(spec, "jsonpath="):
		expr := strings.TrimPrefix(spec, "jsonpath=")
		path, value := expr, ""
		hasValue := false
		if i := strings.LastIndex(expr, "}="); i >= 0 {
			path, value, hasValue = expr[:i+1], expr[i+2:], true
		} else if i := strings.LastIndex(expr, "="); i >= 0 && !strings.Contains(expr[i:], "}") {
			path, value, hasValue = expr[:i], expr[i+1:], true
		}
		t, err := jsonpath.Parse(path)
		if err != nil {
			return nil, err
		}
		return func(obj map[string]any) bool {
			if obj == nil {
				return false
			}
			vals := t.Values(obj)
			if len(vals) == 0 {
				return false
			}
			return !hasValue || u.Scalar(vals[0]) == value
		}, nil
	}
	return nil, fmt.Errorf("unrecognized condition: %q", spec)
}

func waitOne(ctx context.Context, f *connection.Flags, tg resource.Target, check func(map[string]any) bool, deadline time.Time, forDelete bool) error {
	cs, err := f.Client()
	if err != nil {
		return err
	}
	delay := 20 * time.Millisecond
	for {
		obj, err := resource.Get(ctx, cs, tg.Res, tg.Namespace, tg.Name)
		switch {
		case apierrors.IsNotFound(err):
			if forDelete {
				return nil
			}
			obj = nil
		case err != nil:
			return err
		}
		if obj != nil && check(obj) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for the condition on %s/%s", tg.Res.Resource, tg.Name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		if delay < 500*time.Millisecond {
			delay *= 2
		}
	}
}
