// Package printers writes objects the ways kubectl's -o flag offers: upstream's tables
// (default and wide, with --show-labels, -L, --no-headers, a NAMESPACE column for -A and
// kind/name when several kinds print together), yaml, json, name, jsonpath and
// custom-columns. Objects arrive in their JSON-map form (internal/unstructured).
package printers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"kube5/kubectl/internal/jsonpath"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/codec"
	"kube5/proto/scheme"
)

// Item is one object to print and its resource.
type Item struct {
	Res *scheme.Resource
	Obj map[string]any
}

// Options are the output flags of get (and of create/apply/... -o).
type Options struct {
	Output        string
	NoHeaders     bool
	ShowLabels    bool
	LabelColumns  []string
	WithNamespace bool
	// WithKind prefixes names with kind/ (several kinds in one get, `get all`).
	WithKind bool
	SortBy   string
}

// Validate rejects an unknown -o value with upstream's message.
func (o *Options) Validate() error {
	switch f := o.format(); f {
	case "", "wide", "yaml", "json", "name":
		return nil
	case "jsonpath", "custom-columns", "jsonpath-as-json":
		if o.arg() == "" {
			return fmt.Errorf("%s format specified but no template given", f)
		}
		if f == "custom-columns" {
			_, err := parseColumns(o.arg())
			return err
		}
		_, err := jsonpath.Parse(o.arg())
		return err
	}
	return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: custom-columns,go-template,json,jsonpath,name,wide,yaml", o.Output)
}

func (o *Options) format() string {
	f, _, _ := strings.Cut(o.Output, "=")
	return f
}

func (o *Options) arg() string {
	_, a, _ := strings.Cut(o.Output, "=")
	return a
}

// IsTable says whether output is a human-readable table (the default or wide).
func (o *Options) IsTable() bool { f := o.format(); return f == "" || f == "wide" }

// Sort orders items by the --sort-by path: numbers numerically, the rest as strings.
func (o *Options) Sort(items []Item) error {
	if o.SortBy == "" {
		return nil
	}
	t, err := jsonpath.Parse(o.SortBy)
	if err != nil {
		return err
	}
	key := func(it Item) (float64, string, bool) {
		vals := t.Values(it.Obj)
		if len(vals) == 0 {
			return 0, "", false
		}
		s := u.Scalar(vals[0])
		f, err := strconv.ParseFloat(s, 64)
		return f, s, err == nil
	}
	sort.SliceStable(items, func(i, j int) bool {
		fi, si, ni := key(items[i])
		fj, sj, nj := key(items[j])
		if ni && nj {
			return fi < fj
		}
		return si < sj
	})
	return nil
}

// Print writes items. single says the user asked for one object by name, which -o
// yaml/json print bare instead of inside a List.
func (o *Options) Print(w io.Writer, items []Item, single bool) error {
	switch o.format() {
	case "yaml", "json":
		return o.printDocument(w, items, single)
	case "name":
		for _, it := range items {
			fmt.Fprintln(w, Name(it.Res, u.Name(it.Obj)))
		}
		return nil
	case "jsonpath":
		t, err := jsonpath.Parse(o.arg())
		if err != nil {
			return err
		}
		var data any
		if single && len(items) == 1 {
			data = items[0].Obj
		} else {
			data = listOf(items)
		}
		s, err := t.Execute(data)
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, s)
		return err
	case "custom-columns":
		return o.printColumns(w, items)
	}
	return o.printTables(w, items)
}

func listOf(items []Item) map[string]any {
	list := make([]any, 0, len(items))
	for _, it := range items {
		list = append(list, it.Obj)
	}
	return map[string]any{"apiVersion": "v1", "kind": "List", "items": list, "metadata": map[string]any{"resourceVersion": ""}}
}

func (o *Options) printDocument(w io.Writer, items []Item, single bool) error {
	var doc any
	if single && len(items) == 1 {
		doc = items[0].Obj
	} else {
		doc = listOf(items)
	}
	b, err := json.MarshalIndent(doc, "", "    ")
	if err != nil {
		return err
	}
	if o.format() == "json" {
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	y, err := codec.ToYAML(b)
	if err != nil {
		return err
	}
	_, err = w.Write(y)
	return err
}

// PrintYAML writes one object as YAML (the edit buffer).
func PrintYAML(w io.Writer, obj map[string]any) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	y, err := codec.ToYAML(b)
	if err != nil {
		return err
	}
	_, err = w.Write(y)
	return err
}

// Name is kind[.group]/name, upstream's -o name and the subject of its messages
// ("deployment.apps/web created").
func Name(r *scheme.Resource, name string) string {
	k := strings.ToLower(r.Kind)
	if r.Group != "" {
		k += "." + r.Group
	}
	return k + "/" + name
}

// NewTabWriter has upstream's table settings (cli-runtime's printers.GetNewTabWriter):
// columns at least 6 wide and 3 spaces apart.
func NewTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 6, 4, 3, ' ', 0)
}

// RowWriter writes table rows one at a time, each padded to the widest cell seen so far
// in its column — what upstream's forked tabwriter does with RememberWidths, so the rows
// of a watch, flushed one by one, stay aligned with the header.
type RowWriter struct {
	W      io.Writer
	widths []int
}

// Write writes one tab-separated line.
func (r *RowWriter) Write(p []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(p), "\n") {
		if line == "" {
			continue
		}
		cells := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		var b strings.Builder
		for i, c := range cells {
			if i == len(cells)-1 {
				b.WriteString(c)
				break
			}
			for len(r.widths) <= i {
				r.widths = append(r.widths, 6)
			}
			if len(c)+3 > r.widths[i] {
				r.widths[i] = len(c) + 3
			}
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", r.widths[i]-len(c)))
		}
		b.WriteString("\n")
		if _, err := io.WriteString(r.W, b.String()); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (o *Options) printTables(w io.Writer, items []Item) error {
	// One table per kind, in the order kinds first appear, separated by a blank line.
	var order []string
	groups := map[string][]Item{}
	for _, it := range items {
		k := it.Res.GroupResource()
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], it)
	}
	tw := NewTabWriter(w)
	for i, k := range order {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		g := groups[k]
		o.writeTable(tw, g[0].Res, g, !o.NoHeaders)
		// Each kind's table aligns on its own, as upstream.
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return tw.Flush()
}

// Headers returns the header row of res's table under these options.
func (o *Options) Headers(res *scheme.Resource) []string {
	t := tableFor(res.Kind)
	h := []string{}
	if o.WithNamespace && res.Namespaced {
		h = append(h, "NAMESPACE")
	}
	if !t.noName {
		h = append(h, "NAME")
	}
	h = append(h, t.columns...)
	if o.format() == "wide" {
		h = append(h, t.wide...)
	}
	for _, l := range o.LabelColumns {
		h = append(h, strings.ToUpper(labelColumnName(l)))
	}
	if o.ShowLabels {
		h = append(h, "LABELS")
	}
	return h
}

func labelColumnName(l string) string {
	if i := strings.LastIndex(l, "/"); i >= 0 {
		return l[i+1:]
	}
	return l
}

// Row returns the table row of one object under these options.
func (o *Options) Row(it Item) []string {
	t := tableFor(it.Res.Kind)
	var row []string
	if o.WithNamespace && it.Res.Namespaced {
		row = append(row, u.Namespace(it.Obj))
	}
	name := u.Name(it.Obj)
	if o.WithKind {
		name = Name(it.Res, name)
	}
	if !t.noName {
		row = append(row, name)
	}
	row = append(row, t.row(it.Obj, o.format() == "wide")...)
	labels := u.StringMap(it.Obj, "metadata", "labels")
	for _, l := range o.LabelColumns {
		row = append(row, labels[l])
	}
	if o.ShowLabels {
		row = append(row, mapSelector(labels))
	}
	return row
}

func (o *Options) writeTable(w io.Writer, res *scheme.Resource, items []Item, headers bool) {
	if headers {
		fmt.Fprintln(w, strings.Join(o.Headers(res), "\t"))
	}
	for _, it := range items {
		fmt.Fprintln(w, strings.Join(o.Row(it), "\t"))
	}
}

// WriteRow writes one row (and the header first when header is true) and flushes:
// the form of get --watch, which prints each change as it comes. w should be one
// NewTabWriter kept for the whole watch, so columns keep their widths.
func (o *Options) WriteRow(w io.Writer, it Item, header bool) error {
	if !o.IsTable() {
		if o.format() == "yaml" {
			var b bytes.Buffer
			if err := o.Print(&b, []Item{it}, true); err != nil {
				return err
			}
			_, err := fmt.Fprintf(w, "---\n%s", b.Bytes())
			return err
		}
		return o.Print(w, []Item{it}, true)
	}
	o.writeTable(w, it.Res, []Item{it}, header && !o.NoHeaders)
	if f, ok := w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

type column struct {
	header string
	path   *jsonpath.Template
}

func parseColumns(spec string) ([]column, error) {
	var cols []column
	for _, part := range strings.Split(spec, ",") {
		h, p, ok := strings.Cut(part, ":")
		if !ok || h == "" || p == "" {
			return nil, fmt.Errorf("unexpected custom-columns spec: %s, expected <header>:<json-path-expr>", part)
		}
		t, err := jsonpath.Parse(p)
		if err != nil {
			return nil, err
		}
		cols = append(cols, column{header: h, path: t})
	}
	return cols, nil
}

func (o *Options) printColumns(w io.Writer, items []Item) error {
	cols, err := parseColumns(o.arg())
	if err != nil {
		return err
	}
	tw := NewTabWriter(w)
	if !o.NoHeaders {
		var h []string
		for _, c := range cols {
			h = append(h, c.header)
		}
		fmt.Fprintln(tw, strings.Join(h, "\t"))
	}
	for _, it := range items {
		var row []string
		for _, c := range cols {
			vals := c.path.Values(it.Obj)
			if len(vals) == 0 {
				row = append(row, "<none>")
				continue
			}
			var s []string
			for _, v := range vals {
				s = append(s, u.Scalar(v))
			}
			row = append(row, strings.Join(s, ","))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// PrintRaw converts YAML or JSON bytes to the output's format (yaml or json).
func (o *Options) PrintRaw(w io.Writer, data []byte) error {
	j, err := yamlToJSON(data)
	if err != nil {
		return err
	}
	m, err := u.FromJSON(j)
	if err != nil {
		return err
	}
	return o.printDocument(w, []Item{{Obj: m}}, true)
}

// PrintResult reports a change the way mutating commands do: "deployment.apps/web
// created" by default, the object itself with -o.
func (o *Options) PrintResult(w io.Writer, res *scheme.Resource, obj map[string]any, verb string, dryRun bool) error {
	if o.Output == "" {
		suffix := ""
		if dryRun {
			suffix = " (dry run)"
		}
		_, err := fmt.Fprintf(w, "%s %s%s\n", Name(res, u.Name(obj)), verb, suffix)
		return err
	}
	return o.Print(w, []Item{{Res: res, Obj: obj}}, true)
}

// EqualJSON says whether two JSON values encode the same.
func EqualJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
