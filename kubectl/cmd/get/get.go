// Package get implements kubectl get: list or fetch objects of one or several kinds and
// print them as upstream does, and with --watch follow their changes, resuming from the
// last resourceVersion seen whenever the stream breaks (an apiserver restart).
package get

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/printers"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/apierrors"
	"kube5/proto/client"
)

type options struct {
	printers.Options
	resource.Selector
	files       resource.FileOptions
	watch       bool
	watchOnly   bool
	ignoreNF    bool
	outputWatch bool
}

// NewCommand returns `kubectl get`.
func NewCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "get [(-o|--output=)json|yaml|name|wide|custom-columns=...|jsonpath=...] (TYPE[.VERSION][.GROUP] [NAME | -l label] | TYPE[.VERSION][.GROUP]/NAME ...) [flags]",
		Short: "Display one or many resources",
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), f, s, args)
		},
	}
	AddOutputFlags(cmd, &o.Options)
	fl := cmd.Flags()
	fl.StringVarP(&o.LabelSelector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2)")
	fl.StringVar(&o.FieldSelector, "field-selector", "", "Selector (field query) to filter on, supports '=', '==', and '!='.(e.g. --field-selector key1=value1,key2=value2).")
	fl.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces.")
	fl.BoolVarP(&o.watch, "watch", "w", false, "After listing/getting the requested object, watch for changes.")
	fl.BoolVar(&o.watchOnly, "watch-only", false, "Watch for changes to the requested object(s), without listing/getting first.")
	fl.BoolVar(&o.ignoreNF, "ignore-not-found", false, "If the requested object does not exist the command will return exit code 0.")
	fl.StringVar(&o.SortBy, "sort-by", "", "If non-empty, sort list types using this field specification (a JSONPath expression, e.g. '{.metadata.name}').")
	fl.StringSliceVarP(&o.LabelColumns, "label-columns", "L", nil, "Accepts a comma separated list of labels that are going to be presented as columns.")
	fl.Bool("show-managed-fields", false, "If true, keep the managedFields when printing objects in JSON or YAML format (kube5 keeps no managed fields).")
	fl.Int64Var(&o.ChunkSize, "chunk-size", 500, "Return large lists in chunks rather than all at once.")
	fl.StringSliceVarP(&o.files.Filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to get from a server.")
	fl.BoolVarP(&o.files.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively.")
	return cmd
}

// AddOutputFlags registers -o, --no-headers and --show-labels.
func AddOutputFlags(cmd *cobra.Command, o *printers.Options) {
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file, custom-columns, custom-columns-file, wide).")
	cmd.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "When using the default or custom-column output format, don't print headers (default print headers).")
	cmd.Flags().BoolVar(&o.ShowLabels, "show-labels", false, "When printing, show all labels as the last column (default hide labels column).")
}

func (o *options) run(ctx context.Context, f *connection.Flags, s connection.Streams, args []string) error {
	if err := o.Validate(); err != nil {
		return err
	}
	cs, err := f.Client()
	if err != nil {
		return err
	}
	ns, _, err := f.DefaultNamespace()
	if err != nil {
		return err
	}
	o.Namespace = ns
	o.WithNamespace = o.AllNamespaces
	var refs []resource.Ref
	multi := false
	if len(o.files.Filenames) > 0 {
		o.files.Validate = false
		docs, err := o.files.Read(s.In)
		if err != nil {
			return err
		}
		for _, d := range docs {
			if d.Err != nil {
				return d.Err
			}
			refs = append(refs, resource.Ref{Res: d.Res, Names: []string{u.Name(d.Obj)}})
			if n := u.Namespace(d.Obj); n != "" {
				o.Namespace = n
			}
		}
		multi = len(refs) > 1
	} else {
		if len(args) == 0 {
			fmt.Fprint(s.ErrOut, "You must specify the type of resource to get. Use \"kubectl api-resources\" for a complete list of supported resources.\n\n")
			return &connection.ExitError{Code: 1, Msg: "error: Required resource not specified.\nUse \"kubectl explain <resource>\" for a detailed description of that resource (e.g. kubectl explain pods).\nSee 'kubectl get -h' for help and examples"}
		}
		refs, multi, err = resource.ParseArgs(args)
		if err != nil {
			return err
		}
	}
	o.WithKind = multi
	for _, ref := range refs {
		if ref.Res.Resource == "componentstatuses" {
			// Upstream's apiserver sends this as a warning header; kubectl prints it.
			fmt.Fprintln(s.ErrOut, "Warning: v1 ComponentStatus is deprecated in v1.19+")
		}
	}
	if o.watch || o.watchOnly {
		if len(refs) != 1 {
			return fmt.Errorf("you may only specify a single resource type")
		}
		return o.runWatch(ctx, cs, s, refs[0])
	}
	var items []printers.Item
	var errs []error
	named := false
	for _, ref := range refs {
		got, _, es := resource.Fetch(ctx, cs, ref, o.Selector)
		if len(ref.Names) > 0 {
			named = true
		}
		items = append(items, got...)
		for _, e := range es {
			if o.ignoreNF && apierrors.IsNotFound(e) {
				continue
			}
			errs = append(errs, e)
		}
	}
	if err := o.Sort(items); err != nil {
		return err
	}
	single := len(refs) == 1 && len(refs[0].Names) == 1 && !multi
	// An empty result prints nothing in a table (the "No resources found" note goes to
	// stderr), but is an empty List in json/yaml/jsonpath, as upstream.
	emptyList := len(items) == 0 && !named && len(errs) == 0
	if len(items) > 0 || emptyList && !o.IsTable() {
		if err := o.Print(s.Out, items, single); err != nil {
			return err
		}
	}
	if len(items) == 0 && len(errs) == 0 && !named && o.IsTable() {
		fmt.Fprintln(s.ErrOut, noResources(refs, o.Selector))
	}
	for _, e := range errs {
		fmt.Fprintln(s.ErrOut, connection.Message(e))
	}
	if len(errs) > 0 {
		return connection.ErrSilent
	}
	return nil
}

func noResources(refs []resource.Ref, sel resource.Selector) string {
	if sel.AllNamespaces || !refs[0].Res.Namespaced {
		return "No resources found"
	}
	return fmt.Sprintf("No resources found in %s namespace.", sel.Namespace)
}

// runWatch lists (unless --watch-only), prints, then follows changes until interrupted.
// When the stream breaks it re-watches from the last resourceVersion it printed, so a
// restarted apiserver loses and repeats nothing; a compacted revision relists.
func (o *options) runWatch(ctx context.Context, cs *client.Clientset, s connection.Streams, ref resource.Ref) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	sel := o.Selector
	if len(ref.Names) == 1 {
		fs := "metadata.name=" + ref.Names[0]
		if sel.FieldSelector != "" {
			fs += "," + sel.FieldSelector
		}
		sel.FieldSelector = fs
		ref.Names = nil
	} else if len(ref.Names) > 1 {
		return fmt.Errorf("watch is only supported on individual resources and resource collections, but a list of resources is specified")
	}
	header := true
	var rv string
	out := &printers.RowWriter{W: s.Out}
	// seen is the resourceVersion last printed for each object, so a relist after a
	// compacted revision prints what changed in the gap and nothing twice.
	seen := map[string]string{}
	key := func(m map[string]any) string { return u.Namespace(m) + "/" + u.Name(m) }
	list := func(initial bool) error {
		items, listRV, errs := resource.Fetch(ctx, cs, ref, sel)
		if len(errs) > 0 {
			return errs[0]
		}
		rv = listRV
		if err := o.Sort(items); err != nil {
			return err
		}
		for _, it := range items {
			k, itemRV := key(it.Obj), u.String(it.Obj, "metadata", "resourceVersion")
			changed := seen[k] != itemRV
			seen[k] = itemRV
			if initial && o.watchOnly || !initial && !changed {
				continue
			}
			if err := o.WriteRow(out, it, header); err != nil {
				return err
			}
			header = false
		}
		if initial && !o.watchOnly && len(items) == 0 && o.IsTable() {
			fmt.Fprintln(s.ErrOut, noResources([]resource.Ref{ref}, o.Selector))
		}
		return nil
	}
	if err := list(true); err != nil {
		return err
	}
	ns := sel.Namespace
	if sel.AllNamespaces {
		ns = ""
	}
	dyn := cs.Resource(ref.Res, ns)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		w, err := dyn.Watch(ctx, client.ListOptions{
			LabelSelector: sel.LabelSelector, FieldSelector: sel.FieldSelector,
			ResourceVersion: rv, AllowWatchBookmarks: true,
		})
		if err != nil {
			if !sleep(ctx, &backoff) {
				return nil
			}
			continue
		}
		relist := false
		for ev := range w.ResultChan() {
			switch ev.Type {
			case client.Error:
				// 410: our revision was compacted, relist. 429 and 5xx (the apiserver
				// shutting down, overloaded): re-watch. Any other error is the request's
				// own fault (a bad selector) and ends the command.
				st := ev.Status
				switch code := st.GetCode(); {
				case code == 410:
					relist = true
				case code == 429 || code >= 500:
				default:
					w.Stop()
					return apierrors.FromStatus(st)
				}
			case client.Bookmark:
				rv = ev.Object.GetMetadata().GetResourceVersion()
			default:
				rv = ev.Object.GetMetadata().GetResourceVersion()
				m, err := u.FromProto(ev.Object)
				if err != nil {
					return err
				}
				if ev.Type == client.Deleted {
					delete(seen, key(m))
				} else {
					seen[key(m)] = rv
				}
				if err := o.WriteRow(out, printers.Item{Res: ref.Res, Obj: m}, header); err != nil {
					return err
				}
				header = false
				backoff = 100 * time.Millisecond
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			return nil
		}
		if relist {
			// The revision we had is compacted: relist, print what changed meanwhile,
			// and go on from the list's revision.
			for list(false) != nil {
				if !sleep(ctx, &backoff) {
					return nil
				}
			}
			continue
		}
		// The stream broke (apiserver restart) or ended: re-watch from rv after a pause
		// that grows while the server stays away.
		if !sleep(ctx, &backoff) {
			return nil
		}
	}
	return nil
}

// sleep waits out the backoff (doubling it up to 2s); false when ctx ended first.
func sleep(ctx context.Context, backoff *time.Duration) bool {
	t := time.NewTimer(*backoff)
	defer t.Stop()
	if *backoff < 2*time.Second {
		*backoff *= 2
	}
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
