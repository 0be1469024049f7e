package label

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/printers"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
)

// PodSpecPath is where an object of kind keeps its pod spec.
func PodSpecPath(kind string) []string {
	if kind == "Pod" {
		return []string{"spec"}
	}
	return []string{"spec", "template", "spec"}
}

// NewSetCommand returns `kubectl set` with its image subcommand.
func NewSetCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	cmd := &cobra.Command{Use: "set SUBCOMMAND", Short: "Set specific features on objects"}
	t := resource.TargetOptions{}
	image := &cobra.Command{
		Use:   "image (-f FILENAME | TYPE NAME) CONTAINER_NAME_1=CONTAINER_IMAGE_1 ... CONTAINER_NAME_N=CONTAINER_IMAGE_N",
		Short: "Update the image of a pod template",
		RunE: func(cmd *cobra.Command, args []string) error {
			var resArgs []string
			images := map[string]string{}
			for _, a := range args {
				if k, v, ok := strings.Cut(a, "="); ok {
					images[k] = v
				} else {
					resArgs = append(resArgs, a)
				}
			}
			if len(images) == 0 {
				return fmt.Errorf("at least one image update is required")
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
			targets, err := t.Targets(ctx, cs, resArgs, s.In, ns, explicit)
			if err != nil {
				return err
			}
			for _, tg := range targets {
				_, _, err := resource.Modify(ctx, cs, tg.Res, tg.Namespace, tg.Name, func(obj map[string]any) (bool, error) {
					spec := PodSpecPath(tg.Res.Kind)
					found := map[string]bool{}
					for _, field := range []string{"initContainers", "containers"} {
						for _, c := range u.Maps(obj, append(spec, field)...) {
							name := u.String(c, "name")
							if img, ok := images[name]; ok {
								c["image"] = img
								found[name] = true
							} else if img, ok := images["*"]; ok {
								c["image"] = img
								found["*"] = true
							}
						}
					}
					for name := range images {
						if !found[name] {
							return false, fmt.Errorf("unable to find container named %q", name)
						}
					}
					return true, nil
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(s.Out, "%s image updated\n", printers.Name(tg.Res, tg.Name))
			}
			return nil
		},
	}
	image.Flags().StringSliceVarP(&t.Files.Filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to get from a server.")
	image.Flags().StringVarP(&t.LabelSelector, "selector", "l", "", "Selector (label query) to filter on.")
	image.Flags().BoolVar(&t.All, "all", false, "Select all resources, in the namespace of the specified resource types")
	cmd.AddCommand(image)
	return cmd
}
