package label

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/printers"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
)

// NewPatchCommand returns `kubectl patch`. The patch is applied here and the result
// written with the object's resourceVersion: merge (RFC 7386) and json (RFC 6902)
// patches as upstream; "strategic" is accepted and applied as a merge patch, which
// differs from upstream only for lists, which it replaces instead of merging by key.
func NewPatchCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	var patch, patchFile, typ string
	var opts printers.Options
	t := resource.TargetOptions{}
	cmd := &cobra.Command{
		Use:   "patch (-f FILENAME | TYPE NAME) [-p PATCH|--patch-file FILE]",
		Short: "Update fields of a resource",
		RunE: func(cmd *cobra.Command, args []string) error {
			if patchFile != "" {
				b, err := os.ReadFile(patchFile)
				if err != nil {
					return err
				}
				patch = string(b)
			}
			if patch == "" {
				return fmt.Errorf("must specify -p to patch")
			}
			j, err := yaml.YAMLToJSON([]byte(patch))
			if err != nil {
				return fmt.Errorf("unable to parse %q: %v", patch, err)
			}
			var p any
			if err := json.Unmarshal(j, &p); err != nil {
				return fmt.Errorf("unable to parse %q: %v", patch, err)
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
			for _, tg := range targets {
				out, changed, err := resource.Modify(ctx, cs, tg.Res, tg.Namespace, tg.Name, func(obj map[string]any) (bool, error) {
					return applyPatch(obj, p, typ)
				})
				if err != nil {
					return err
				}
				if opts.Output != "" {
					if err := opts.Print(s.Out, []printers.Item{{Res: tg.Res, Obj: out}}, true); err != nil {
						return err
					}
					continue
				}
				suffix := ""
				if !changed {
					suffix = " (no change)"
				}
				fmt.Fprintf(s.Out, "%s patched%s\n", printers.Name(tg.Res, tg.Name), suffix)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&patch, "patch", "p", "", "The patch to be applied to the resource JSON file.")
	fl.StringVar(&patchFile, "patch-file", "", "A file containing a patch to be applied to the resource.")
	fl.StringVar(&typ, "type", "strategic", "The type of patch being provided; one of [json merge strategic]")
	fl.StringSliceVarP(&t.Files.Filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to update")
	fl.StringVarP(&opts.Output, "output", "o", "", "Output format.")
	fl.String("subresource", "", "If specified, patch will operate on the subresource of the requested object.")
	return cmd
}

// applyPatch changes obj in place.
func applyPatch(obj map[string]any, p any, typ string) (bool, error) {
	switch typ {
	case "merge", "strategic":
		if _, ok := p.(map[string]any); !ok {
			return false, fmt.Errorf("unable to parse patch: a %s patch must be a JSON object", typ)
		}
		merged := u.MergePatch(obj, p).(map[string]any)
		for k := range obj {
			delete(obj, k)
		}
		for k, v := range merged {
			obj[k] = v
		}
		return true, nil
	case "json":
		ops, ok := p.([]any)
		if !ok {
			return false, fmt.Errorf("unable to parse patch: a json patch must be a list of operations")
		}
		for _, op := range ops {
			if err := jsonPatchOp(obj, op); err != nil {
				return false, err
			}
		}
		return true, nil
	}
	return false, fmt.Errorf("--type must be one of [json merge strategic], not %q", typ)
}

// jsonPatchOp applies one RFC 6902 operation (add, remove, replace, test).
func jsonPatchOp(obj map[string]any, raw any) error {
	op, _ := raw.(map[string]any)
	kind, _ := op["op"].(string)
	path, _ := op["path"].(string)
	value := op["value"]
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	var parent any = obj
	for _, s := range segs[:len(segs)-1] {
		switch p := parent.(type) {
		case map[string]any:
			parent = p[s]
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(p) {
				return fmt.Errorf("jsonpatch: path %s not found", path)
			}
			parent = p[i]
		default:
			return fmt.Errorf("jsonpatch: path %s not found", path)
		}
	}
	last := segs[len(segs)-1]
	switch p := parent.(type) {
	case map[string]any:
		switch kind {
		case "add", "replace":
			if _, ok := p[last]; kind == "replace" && !ok {
				return fmt.Errorf("jsonpatch replace operation does not apply: doc is missing key: %s", path)
			}
			p[last] = value
		case "remove":
			if _, ok := p[last]; !ok {
				return fmt.Errorf("jsonpatch remove operation does not apply: doc is missing key: %s", path)
			}
			delete(p, last)
		case "test":
			a, _ := json.Marshal(p[last])
			b, _ := json.Marshal(value)
			if string(a) != string(b) {
				return fmt.Errorf("testing value %s failed", path)
			}
		default:
			return fmt.Errorf("jsonpatch: unsupported operation %q", kind)
		}
		return nil
	case []any:
		// Lists are replaced in their parent, which we reach again to store the result.
		i := len(p)
		if last != "-" {
			n, err := strconv.Atoi(last)
			if err != nil {
				return fmt.Errorf("jsonpatch: invalid index %q", last)
			}
			i = n
		}
		var nl []any
		switch kind {
		case "add":
			if i > len(p) {
				return fmt.Errorf("jsonpatch: index %d out of range", i)
			}
			nl = append(append(append([]any{}, p[:i]...), value), p[i:]...)
		case "replace":
			if i >= len(p) {
				return fmt.Errorf("jsonpatch: index %d out of range", i)
			}
			p[i] = value
			return nil
		case "remove":
			if i >= len(p) {
				return fmt.Errorf("jsonpatch: index %d out of range", i)
			}
			nl = append(append([]any{}, p[:i]...), p[i+1:]...)
		default:
			return fmt.Errorf("jsonpatch: unsupported operation %q on a list", kind)
		}
		parentPath := "/" + strings.Join(segs[:len(segs)-1], "/")
		return jsonPatchOp(obj, map[string]any{"op": "replace", "path": parentPath, "value": nl})
	}
	return fmt.Errorf("jsonpatch: path %s not found", path)
}
