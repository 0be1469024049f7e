// Package info implements the commands about the cluster and the API rather than about
// objects: cluster-info, version, api-resources, explain and completion.
package info

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/printers"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/scheme"
	"kube5/proto/version"
)

// serverVersion reads the apiserver's /version over its REST port.
func serverVersion(f *connection.Flags) (*version.Info, error) {
	base, err := f.ServerURL()
	if err != nil {
		return nil, err
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(base + "/version")
	if err != nil {
		host := strings.TrimPrefix(base, "http://")
		return nil, fmt.Errorf("The connection to the server %s was refused - did you specify the right host or port?", host)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the server could not report its version: %s", resp.Status)
	}
	v := &version.Info{}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("the server's /version is not a version: %v", err)
	}
	return v, nil
}

// NewClusterInfoCommand returns `kubectl cluster-info`.
func NewClusterInfoCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "cluster-info",
		Short: "Display cluster information",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && args[0] == "dump" {
				return fmt.Errorf("cluster-info dump is not supported by kube5 yet; use kubectl get -A -o yaml")
			}
			if _, err := serverVersion(f); err != nil {
				fmt.Fprintln(s.Out)
				fmt.Fprintln(s.Out, "To further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.")
				return err
			}
			base, _ := f.ServerURL()
			fmt.Fprintf(s.Out, "Kubernetes control plane is running at %s\n", base)
			fmt.Fprintln(s.Out)
			fmt.Fprintln(s.Out, "To further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.")
			return nil
		},
	}
}

// NewVersionCommand returns `kubectl version`.
func NewVersionCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	var clientOnly bool
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the client and server version information",
		RunE: func(cmd *cobra.Command, args []string) error {
			cv := version.Get()
			var sv *version.Info
			var serr error
			if !clientOnly {
				sv, serr = serverVersion(f)
			}
			switch output {
			case "json", "yaml":
				doc := map[string]any{"clientVersion": cv}
				if sv != nil {
					doc["serverVersion"] = sv
				}
				b, _ := json.Marshal(doc)
				m, _ := u.FromJSON(b)
				if output == "json" {
					out, _ := json.MarshalIndent(m, "", "  ")
					fmt.Fprintf(s.Out, "%s\n", out)
				} else if err := printers.PrintYAML(s.Out, m); err != nil {
					return err
				}
			case "":
				fmt.Fprintf(s.Out, "Client Version: %s\n", cv.GitVersion)
				if sv != nil {
					fmt.Fprintf(s.Out, "Server Version: %s\n", sv.GitVersion)
				}
			default:
				return fmt.Errorf("--output must be 'yaml' or 'json'")
			}
			return serr
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "If true, shows client version only (no server required).")
	cmd.Flags().StringVarP(&output, "output", "o", "", "One of 'yaml' or 'json'.")
	return cmd
}

// NewAPIResourcesCommand returns `kubectl api-resources`, from the shared scheme (the
// same table the apiserver serves discovery from).
func NewAPIResourcesCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	var output, group string
	var namespaced, noHeaders bool
	cmd := &cobra.Command{
		Use:   "api-resources",
		Short: "Print the supported API resources on the server",
		RunE: func(cmd *cobra.Command, args []string) error {
			tw := printers.NewTabWriter(s.Out)
			if output != "name" && !noHeaders {
				h := "NAME\tSHORTNAMES\tAPIVERSION\tNAMESPACED\tKIND"
				if output == "wide" {
					h += "\tVERBS"
				}
				fmt.Fprintln(tw, h)
			}
			for _, r := range scheme.All() {
				if cmd.Flags().Changed("namespaced") && r.Namespaced != namespaced {
					continue
				}
				if cmd.Flags().Changed("api-group") && r.Group != group {
					continue
				}
				if output == "name" {
					name := r.Resource
					if r.Group != "" {
						name += "." + r.Group
					}
					fmt.Fprintln(tw, name)
					continue
				}
				line := fmt.Sprintf("%s\t%s\t%s\t%t\t%s", r.Resource, strings.Join(r.ShortNames, ","), r.GroupVersion(), r.Namespaced, r.Kind)
				if output == "wide" {
					line += "\t" + verbs(r)
				}
				fmt.Fprintln(tw, line)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format. One of: (wide, name).")
	cmd.Flags().StringVar(&group, "api-group", "", "Limit to resources in the specified API group.")
	cmd.Flags().BoolVar(&namespaced, "namespaced", true, "If false, non-namespaced resources will be returned, otherwise returning namespaced resources by default.")
	cmd.Flags().BoolVar(&noHeaders, "no-headers", false, "When using the default or custom-column output format, don't print headers (default print headers).")
	return cmd
}

func verbs(r *scheme.Resource) string {
	switch r.Resource {
	case "bindings":
		return "[create]"
	case "componentstatuses":
		return "[get list]"
	}
	return "[create delete deletecollection get list patch update watch]"
}

// NewCompletionCommand returns `kubectl completion bash|zsh|fish`.
func NewCompletionCommand(root *cobra.Command, s connection.Streams) *cobra.Command {
	return &cobra.Command{
		Use:       "completion SHELL",
		Short:     "Output shell completion code for the specified shell (bash, zsh, fish, or powershell)",
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("Shell not specified.")
			}
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(s.Out, true)
			case "zsh":
				return root.GenZshCompletion(s.Out)
			case "fish":
				return root.GenFishCompletion(s.Out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(s.Out)
			}
			return fmt.Errorf("Unsupported shell type %q.", args[0])
		},
	}
}
