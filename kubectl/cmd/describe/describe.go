// Package describe implements kubectl describe: a readable, multi-section account of an
// object, in upstream's layout, with the events about it at the bottom (found with the
// field selector involvedObject.name/namespace/uid, as upstream).
package describe

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/printers"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/scheme"
)

// NewCommand returns `kubectl describe`.
func NewCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	t := resource.TargetOptions{}
	showEvents := true
	cmd := &cobra.Command{
		Use:   "describe (-f FILENAME | TYPE [NAME_PREFIX | -l label] | TYPE/NAME)",
		Short: "Show details of a specific resource or group of resources",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cs, err := f.Client()
			if err != nil {
				return err
			}
			ns, explicit, err := f.DefaultNamespace()
			if err != nil {
				return err
			}
			objs, err := find(ctx, cs, s, t, args, ns, explicit)
			if err != nil {
				return err
			}
			if len(objs) == 0 {
				if t.AllNamespaces || len(args) == 0 {
					fmt.Fprintln(s.ErrOut, "No resources found")
				} else {
					fmt.Fprintf(s.ErrOut, "No resources found in %s namespace.\n", ns)
				}
				return nil
			}
			for i, it := range objs {
				if i > 0 {
					fmt.Fprint(s.Out, "\n\n")
				}
				if err := Describe(ctx, cs, s.Out, it.Res, it.Obj, showEvents); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVarP(&t.Files.Filenames, "filename", "f", nil, "Filename, directory, or URL to files containing the resource to describe")
	cmd.Flags().StringVarP(&t.LabelSelector, "selector", "l", "", "Selector (label query) to filter on.")
	cmd.Flags().BoolVarP(&t.AllNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces.")
	cmd.Flags().BoolVar(&showEvents, "show-events", true, "If true, display events related to the described object.")
	return cmd
}

// find resolves describe's arguments: -f, TYPE/NAME, -l, "TYPE" (all of them) and
// "TYPE NAME" — where NAME that is not an object's exact name selects every object
// whose name starts with it, as upstream.
func find(ctx context.Context, cs *client.Clientset, s connection.Streams, t resource.TargetOptions, args []string, ns string, explicit bool) ([]printers.Item, error) {
	if len(args) == 0 && len(t.Files.Filenames) == 0 {
		return nil, fmt.Errorf("You must specify the type of resource to describe. Use \"kubectl api-resources\" for a complete list of supported resources.")
	}
	sel := resource.Selector{Namespace: ns, AllNamespaces: t.AllNamespaces, LabelSelector: t.LabelSelector}
	var out []printers.Item
	if len(t.Files.Filenames) == 0 && !strings.Contains(args[0], "/") {
		res, err := resource.Lookup(args[0])
		if err != nil {
			return nil, err
		}
		if len(args) == 1 {
			items, _, errs := resource.Fetch(ctx, cs, resource.Ref{Res: res}, sel)
			if len(errs) > 0 {
				return nil, errs[0]
			}
			return items, nil
		}
		var all []printers.Item
		listed := false
		for _, name := range args[1:] {
			obj, err := resource.Get(ctx, cs, res, ns, name)
			if err == nil {
				out = append(out, printers.Item{Res: res, Obj: obj})
				continue
			}
			if !apierrors.IsNotFound(err) {
				return nil, err
			}
			if !listed {
				items, _, errs := resource.Fetch(ctx, cs, resource.Ref{Res: res}, sel)
				if len(errs) > 0 {
					return nil, errs[0]
				}
				all, listed = items, true
			}
			found := false
			for _, it := range all {
				if strings.HasPrefix(u.Name(it.Obj), name) {
					out = append(out, it)
					found = true
				}
			}
			if !found {
				return nil, err
			}
		}
		return out, nil
	}
	targets, err := t.Targets(ctx, cs, args, s.In, ns, explicit)
	if err != nil {
		return nil, err
	}
	for _, tg := range targets {
		obj, err := resource.Get(ctx, cs, tg.Res, tg.Namespace, tg.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, printers.Item{Res: tg.Res, Obj: obj})
	}
	return out, nil
}

// writer is upstream's describe writer: indented lines into one tabwriter.
type writer struct{ tw *tabwriter.Writer }

func (w writer) line(level int, format string, args ...any) {
	fmt.Fprintf(w.tw, strings.Repeat("  ", level)+format+"\n", args...)
}

// Describe writes the description of obj.
func Describe(ctx context.Context, cs *client.Clientset, out io.Writer, res *scheme.Resource, obj map[string]any, events bool) error {
	w := writer{tw: tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)}
	switch res.Kind {
	case "Pod":
		describePod(w, obj)
	case "Node":
		describeNode(ctx, cs, w, obj)
	case "Service":
		describeService(ctx, cs, w, obj)
	case "Deployment":
		describeDeployment(ctx, cs, w, obj)
	case "ReplicaSet", "ReplicationController":
		describeReplicas(ctx, cs, w, res, obj)
	case "Namespace":
		describeNamespace(w, obj)
	case "Job":
		describeJob(ctx, cs, w, obj)
	case "ConfigMap":
		describeConfigMap(w, obj)
	case "Secret":
		describeSecret(w, obj)
	case "ServiceAccount":
		describeServiceAccount(w, obj)
	case "Endpoints":
		describeEndpoints(w, obj)
	case "PodDisruptionBudget":
		describePodDisruptionBudget(w, obj)
	default:
		describeGeneric(w, obj)
	}
	if events {
		describeEvents(ctx, cs, w, res, obj)
	}
	return w.tw.Flush()
}

func timestamp(t time.Time) string {
	if t.IsZero() {
		return "<unset>"
	}
	return t.Format(time.RFC1123Z)
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// stringMap writes labels/annotations/selectors one per line, the first beside the title.
func (w writer) stringMap(level int, title string, m map[string]string) {
	if len(m) == 0 {
		w.line(level, "%s:\t<none>", title)
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 {
			w.line(level, "%s:\t%s=%s", title, k, m[k])
		} else {
			w.line(level, "\t%s=%s", k, m[k])
		}
	}
}

func (w writer) meta(obj map[string]any, withNamespace bool) {
	w.line(0, "Name:\t%s", u.Name(obj))
	if withNamespace {
		w.line(0, "Namespace:\t%s", u.Namespace(obj))
	}
}

func (w writer) labelsAnnotations(obj map[string]any) {
	w.stringMap(0, "Labels", u.StringMap(obj, "metadata", "labels"))
	ann := u.StringMap(obj, "metadata", "annotations")
	delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
	w.stringMap(0, "Annotations", ann)
}

func controlledBy(obj map[string]any) string {
	for _, r := range u.Maps(obj, "metadata", "ownerReferences") {
		if u.Bool(r, "controller") {
			return u.String(r, "kind") + "/" + u.String(r, "name")
		}
	}
	return ""
}

func describeGeneric(w writer, obj map[string]any) {
	w.meta(obj, u.Namespace(obj) != "")
	w.labelsAnnotations(obj)
	for _, k := range sortedKeys(obj) {
		switch k {
		case "apiVersion", "kind", "metadata":
			continue
		}
		w.value(0, k, obj[k])
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// value writes any JSON value as upstream's generic describer does: nested titles,
// "Key:  value" for scalars.
func (w writer) value(level int, key string, v any) {
	title := strings.ToUpper(key[:1]) + key[1:]
	switch x := v.(type) {
	case map[string]any:
		w.line(level, "%s:", title)
		for _, k := range sortedKeys(x) {
			w.value(level+1, k, x[k])
		}
	case []any:
		w.line(level, "%s:", title)
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				for _, k := range sortedKeys(m) {
					w.value(level+1, k, m[k])
				}
			} else {
				w.line(level+1, "%s", u.Scalar(e))
			}
		}
	default:
		w.line(level, "%s:\t%s", title, u.Scalar(x))
	}
}

func describeNamespace(w writer, obj map[string]any) {
	w.meta(obj, false)
	w.labelsAnnotations(obj)
	w.line(0, "Status:\t%s", u.String(obj, "status", "phase"))
	w.line(0, "")
	w.line(0, "No resource quota.")
	w.line(0, "")
	w.line(0, "No LimitRange resource.")
}

// describeEvents writes the Events section.
func describeEvents(ctx context.Context, cs *client.Clientset, w writer, res *scheme.Resource, obj map[string]any) {
	sel := "involvedObject.name=" + u.Name(obj)
	ns := u.Namespace(obj)
	if res.Namespaced {
		sel += ",involvedObject.namespace=" + ns
	} else {
		ns = ""
	}
	if uid := u.String(obj, "metadata", "uid"); uid != "" {
		sel += ",involvedObject.uid=" + uid
	}
	list, err := cs.Events(ns).List(ctx, client.ListOptions{FieldSelector: sel})
	if err != nil || len(list.Items) == 0 {
		w.line(0, "Events:\t<none>")
		return
	}
	var evs []map[string]any
	for _, e := range list.Items {
		m, err := u.FromProto(e)
		if err == nil {
			evs = append(evs, m)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return printers.EventLastSeen(evs[i]).Before(printers.EventLastSeen(evs[j])) })
	w.line(0, "Events:")
	w.line(1, "Type\tReason\tAge\tFrom\tMessage")
	w.line(1, "----\t------\t----\t----\t-------")
	for _, e := range evs {
		age := printers.Age(printers.EventLastSeen(e))
		if c := u.Int(e, "count"); c > 1 {
			first := u.Time(e, "firstTimestamp")
			age = fmt.Sprintf("%s (x%d over %s)", age, c, printers.Age(first))
		}
		from := u.String(e, "source", "component")
		if h := u.String(e, "source", "host"); h != "" {
			from += ", " + h
		}
		if from == "" {
			from = u.String(e, "reportingComponent")
		}
		w.line(1, "%s\t%s\t%s\t%s\t%s", u.String(e, "type"), u.String(e, "reason"), age, from, strings.TrimSpace(u.String(e, "message")))
	}
}
