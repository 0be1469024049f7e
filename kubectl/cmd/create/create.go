// Package create implements kubectl create (from files and its generators: deployment,
// namespace, service, job, configmap, secret, serviceaccount, poddisruptionbudget) and
// kubectl run.
package create

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/printers"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/apierrors"
	"kube5/proto/scheme"
)

// LastAppliedAnnotation is where client-side apply keeps the manifest it applied.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// common holds the flags every create form shares.
type common struct {
	printers.Options
	dryRun     string
	saveConfig bool
	validate   string
	// failedTo, when set, prefixes the server's refusal as upstream does for some
	// generators ("failed to create poddisruptionbudgets: ...").
	failedTo string
}

func (c *common) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&c.Output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
	cmd.Flags().StringVar(&c.dryRun, "dry-run", "none", `Must be "none", "server", or "client". If client strategy, only print the object that would be sent, without sending it.`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "unchanged"
	cmd.Flags().BoolVar(&c.saveConfig, "save-config", false, "If true, the configuration of current object will be saved in its annotation.")
	cmd.Flags().StringVar(&c.validate, "validate", "strict", "Must be one of: strict (or true), warn, ignore (or false).")
	cmd.Flags().Lookup("validate").NoOptDefVal = "strict"
}

func (c *common) strict() bool {
	v := strings.ToLower(c.validate)
	return v != "false" && v != "ignore" && v != "warn"
}

func (c *common) clientDryRun() (bool, error) {
	switch c.dryRun {
	case "none", "", "false":
		return false, nil
	case "client", "unchanged", "true":
		return true, nil
	case "server":
		return false, fmt.Errorf("--dry-run=server is not supported by this cluster; use --dry-run=client")
	}
	return false, fmt.Errorf(`Invalid dry-run value (%s). Must be "none", "server", or "client".`, c.dryRun)
}

// submit creates one generated or manifest object (or prints it under --dry-run=client).
func (c *common) submit(ctx context.Context, f *connection.Flags, s connection.Streams, res *scheme.Resource, obj map[string]any) error {
	if err := c.Validate(); err != nil {
		return err
	}
	dry, err := c.clientDryRun()
	if err != nil {
		return err
	}
	if _, err := c.prepare(f, res, obj); err != nil {
		return err
	}
	if dry {
		if _, err := u.ToProto(obj, res); err != nil {
			return err
		}
		return c.PrintResult(s.Out, res, obj, "created", true)
	}
	cs, err := f.Client()
	if err != nil {
		return err
	}
	out, err := resource.Create(ctx, cs, res, obj, c.strict())
	if err != nil && c.failedTo != "" {
		return fmt.Errorf("%s: %v", c.failedTo, err)
	}
	if err != nil {
		return err
	}
	return c.PrintResult(s.Out, res, out, "created", false)
}

// prepare puts obj in its namespace (the flags', unless it names its own, which must
// agree with an explicit -n) and, with --save-config, records it in its last-applied
// annotation. It returns the namespace.
func (c *common) prepare(f *connection.Flags, res *scheme.Resource, obj map[string]any) (string, error) {
	ns, explicit, err := f.DefaultNamespace()
	if err != nil {
		return "", err
	}
	if err := resource.SetNamespace(res, obj, ns, explicit); err != nil {
		return "", err
	}
	if c.saveConfig {
		if err := SetLastApplied(obj); err != nil {
			return "", err
		}
	}
	return ns, nil
}

// SetLastApplied records obj (without the annotation itself) in its last-applied
// annotation, as upstream: compact JSON ending in a newline.
func SetLastApplied(obj map[string]any) error {
	cp := u.DeepCopy(obj).(map[string]any)
	if ann := u.Map(cp, "metadata", "annotations"); ann != nil {
		delete(ann, LastAppliedAnnotation)
		if len(ann) == 0 {
			u.Remove(cp, "metadata", "annotations")
		}
	}
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	ann := u.Map(obj, "metadata", "annotations")
	if ann == nil {
		ann = map[string]any{}
		u.Set(obj, ann, "metadata", "annotations")
	}
	ann[LastAppliedAnnotation] = string(b) + "\n"
	return nil
}

// NewCommand returns `kubectl create`.
func NewCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	c := &common{}
	files := resource.FileOptions{}
	cmd := &cobra.Command{
		Use:   "create -f FILENAME",
		Short: "Create a resource from a file or from stdin",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for \"kubectl create\"", args[0])
			}
			if len(files.Filenames) == 0 {
				return fmt.Errorf("must specify one of -f and -k\n\n%s", cmd.UsageString())
			}
			files.Validate = c.strict()
			return c.fromFiles(cmd.Context(), f, s, files)
		},
	}
	c.addFlags(cmd)
	cmd.Flags().StringSliceVarP(&files.Filenames, "filename", "f", nil, "Filename, directory, or URL to files to use to create the resource")
	cmd.Flags().BoolVarP(&files.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively.")
	cmd.AddCommand(
		deploymentCmd(f, s), namespaceCmd(f, s), serviceCmd(f, s), jobCmd(f, s),
		configMapCmd(f, s), secretCmd(f, s), serviceAccountCmd(f, s), pdbCmd(f, s),
	)
	return cmd
}

// fromFiles creates every document; a document that fails does not stop the others,
// and every failure is reported, so the user sees which documents succeeded.
func (c *common) fromFiles(ctx context.Context, f *connection.Flags, s connection.Streams, files resource.FileOptions) error {
	docs, err := files.Read(s.In)
	if err != nil {
		return err
	}
	failed := false
	for _, d := range docs {
		if d.Err != nil {
			fmt.Fprintln(s.ErrOut, "error: "+d.Err.Error())
			failed = true
			continue
		}
		if err := c.submit(ctx, f, s, d.Res, d.Obj); err != nil {
			fmt.Fprintln(s.ErrOut, whenCreating(err, d))
			failed = true
		}
	}
	if failed {
		return connection.ErrSilent
	}
	return nil
}

// whenCreating is upstream's message for a server error on a manifest:
// `Error from server (AlreadyExists): error when creating "f.yaml": ...`.
func whenCreating(err error, d resource.Doc) string {
	msg := connection.Message(err)
	if i := strings.Index(msg, "): "); strings.HasPrefix(msg, "Error from server") && i > 0 && !apierrors.IsServiceUnavailable(err) {
		return msg[:i+3] + fmt.Sprintf("error when creating %q: ", d.Source) + msg[i+3:]
	}
	return msg
}
