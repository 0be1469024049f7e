// Package config implements kubectl config: reading and writing the kubeconfig file
// (--kubeconfig, else $KUBECONFIG, else ~/.kube/config) through kube5/proto/kubeconfig,
// which writes what upstream writes, so the kubelet's --kubeconfig reads the same file.
package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/printers"
	"kube5/proto/kubeconfig"
)

// NewCommand returns `kubectl config` and its subcommands.
func NewCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config SUBCOMMAND",
		Short: "Modify kubeconfig files",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for \"kubectl config\"", args[0])
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		setCluster(f, s), setContext(f, s), setCredentials(f, s), useContext(f, s), currentContext(f, s),
		view(f, s), getContexts(f, s), getClusters(f, s), deleteContext(f, s), deleteCluster(f, s), renameContext(f, s),
	)
	return cmd
}

// edit loads the config, applies fn, and saves it when fn succeeds.
func edit(f *connection.Flags, fn func(c *kubeconfig.Config, path string) error) error {
	c, path, err := f.LoadConfig()
	if err != nil {
		return err
	}
	if err := fn(c, path); err != nil {
		return err
	}
	return c.Save(path)
}

func oneArg(cmd *cobra.Command, args []string) (string, error) {
	if len(args) != 1 {
		return "", fmt.Errorf("unexpected args: %v", args)
	}
	return args[0], nil
}

func setCluster(f *connection.Flags, s connection.Streams) *cobra.Command {
	var server string
	cmd := &cobra.Command{
		Use:   "set-cluster NAME [--server=server]",
		Short: "Set a cluster entry in kubeconfig",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := oneArg(cmd, args)
			if err != nil {
				return err
			}
			// The global --server flag doubles as set-cluster's own, as upstream.
			if server == "" {
				server = f.Server
			}
			return edit(f, func(c *kubeconfig.Config, _ string) error {
				c.SetCluster(name, server)
				fmt.Fprintf(s.Out, "Cluster %q set.\n", name)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "server for the cluster entry in kubeconfig")
	cmd.Flags().Bool("insecure-skip-tls-verify", false, "insecure-skip-tls-verify for the cluster entry in kubeconfig")
	return cmd
}

func setContext(f *connection.Flags, s connection.Streams) *cobra.Command {
	var cluster, user, namespace string
	var current bool
	cmd := &cobra.Command{
		Use:   "set-context [NAME | --current] [--cluster=cluster_nickname] [--user=user_nickname] [--namespace=namespace]",
		Short: "Set a context entry in kubeconfig",
		RunE: func(cmd *cobra.Command, args []string) error {
			ns := namespace
			if ns == "" {
				ns = f.Namespace
			}
			return edit(f, func(c *kubeconfig.Config, _ string) error {
				var name string
				if current {
					if len(args) > 0 {
						return errors.New("you cannot specify a context name and --current Flag at the same time")
					}
					name = c.CurrentContext()
					if name == "" {
						return errors.New("no current context is set")
					}
				} else {
					var err error
					if name, err = oneArg(cmd, args); err != nil {
						return err
					}
				}
				_, existed := c.Context(name)
				c.SetContext(name, cluster, ns, user)
				if existed {
					fmt.Fprintf(s.Out, "Context %q modified.\n", name)
				} else {
					fmt.Fprintf(s.Out, "Context %q created.\n", name)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&cluster, "cluster", "", "cluster for the context entry in kubeconfig")
	cmd.Flags().StringVar(&user, "user", "", "user for the context entry in kubeconfig")
	cmd.Flags().StringVar(&namespace, "namespace", "", "namespace for the context entry in kubeconfig")
	cmd.Flags().BoolVar(&current, "current", false, "Modify the current context")
	return cmd
}

func setCredentials(f *connection.Flags, s connection.Streams) *cobra.Command {
	var token string
	cmd := &cobra.Command{
		Use:   "set-credentials NAME [--token=bearer_token]",
		Short: "Set a user entry in kubeconfig",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := oneArg(cmd, args)
			if err != nil {
				return err
			}
			return edit(f, func(c *kubeconfig.Config, _ string) error {
				c.SetCredentials(name, token)
				fmt.Fprintf(s.Out, "User %q set.\n", name)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&token, "token", "", "token for the user entry in kubeconfig")
	return cmd
}

func useContext(f *connection.Flags, s connection.Streams) *cobra.Command {
	return &cobra.Command{
		Use:     "use-context CONTEXT_NAME",
		Aliases: []string{"use"},
		Short:   "Set the current-context in a kubeconfig file",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := oneArg(cmd, args)
			if err != nil {
				return err
			}
			return edit(f, func(c *kubeconfig.Config, _ string) error {
				if err := c.UseContext(name); err != nil {
					return err
				}
				fmt.Fprintf(s.Out, "Switched to context %q.\n", name)
				return nil
			})
		},
	}
}

func currentContext(f *connection.Flags, s connection.Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "current-context",
		Short: "Display the current-context",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := f.LoadConfig()
			if err != nil {
				return err
			}
			if c.CurrentContext() == "" {
				return errors.New("current-context is not set")
			}
			fmt.Fprintln(s.Out, c.CurrentContext())
			return nil
		},
	}
}

func view(f *connection.Flags, s connection.Streams) *cobra.Command {
	var minify, raw bool
	var output string
	cmd := &cobra.Command{
		Use:   "view",
		Short: "Display merged kubeconfig settings or a specified kubeconfig file",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := f.LoadConfig()
			if err != nil {
				return err
			}
			if minify {
				c, err = minified(c, f.Context)
				if err != nil {
					return err
				}
			}
			if !raw {
				redact(c)
			}
			b, err := c.Marshal()
			if err != nil {
				return err
			}
			if output == "json" {
				return (&printers.Options{Output: "json"}).PrintRaw(s.Out, b)
			}
			_, err = s.Out.Write(b)
			return err
		},
	}
	cmd.Flags().BoolVar(&minify, "minify", false, "Remove all information not used by current-context from the output")
	cmd.Flags().BoolVar(&raw, "raw", false, "Display raw byte data and sensitive data")
	cmd.Flags().Bool("flatten", false, "Flatten the resulting kubeconfig file into self-contained output")
	cmd.Flags().StringVarP(&output, "output", "o", "yaml", "Output format. One of: (json, yaml).")
	return cmd
}

// redact hides credentials as upstream's view does without --raw.
func redact(c *kubeconfig.Config) {
	for i := range c.Users {
		a := &c.Users[i].AuthInfo
		if a.Token != "" {
			a.Token = "REDACTED"
		}
		if len(a.ClientKeyData) > 0 {
			a.ClientKeyData = []byte("DATA+OMITTED")
		}
		if len(a.ClientCertificateData) > 0 {
			a.ClientCertificateData = []byte("DATA+OMITTED")
		}
		if a.Password != "" {
			a.Password = "REDACTED"
		}
	}
	for i := range c.Clusters {
		if len(c.Clusters[i].Cluster.CertificateAuthorityData) > 0 {
			c.Clusters[i].Cluster.CertificateAuthorityData = []byte("DATA+OMITTED")
		}
	}
}

func minified(c *kubeconfig.Config, override string) (*kubeconfig.Config, error) {
	name := override
	if name == "" {
		name = c.CurrentContext()
	}
	if name == "" {
		return nil, errors.New("current-context must exist in order to minify")
	}
	ctx, ok := c.Context(name)
	if !ok {
		return nil, fmt.Errorf("cannot locate context %s", name)
	}
	out := &kubeconfig.Config{CurrentContextName: name, Preferences: c.Preferences}
	out.Contexts = []kubeconfig.NamedContext{{Name: name, Context: *ctx}}
	if cl, ok := c.Cluster(ctx.Cluster); ok {
		out.Clusters = []kubeconfig.NamedCluster{{Name: ctx.Cluster, Cluster: *cl}}
	}
	if u, ok := c.User(ctx.AuthInfo); ok {
		out.Users = []kubeconfig.NamedAuthInfo{{Name: ctx.AuthInfo, AuthInfo: *u}}
	}
	return out, nil
}

func getContexts(f *connection.Flags, s connection.Streams) *cobra.Command {
	var noHeaders bool
	var output string
	cmd := &cobra.Command{
		Use:   "get-contexts [(-o|--output=)name)]",
		Short: "Describe one or many contexts",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := f.LoadConfig()
			if err != nil {
				return err
			}
			names := args
			if len(names) == 0 {
				for _, nc := range c.Contexts {
					names = append(names, nc.Name)
				}
			}
			if output == "name" {
				for _, n := range names {
					fmt.Fprintln(s.Out, n)
				}
				return nil
			}
			tw := printers.NewTabWriter(s.Out)
			if !noHeaders {
				fmt.Fprintln(tw, "CURRENT\tNAME\tCLUSTER\tAUTHINFO\tNAMESPACE")
			}
			var missing []string
			for _, n := range names {
				ctx, ok := c.Context(n)
				if !ok {
					missing = append(missing, n)
					continue
				}
				cur := ""
				if n == c.CurrentContext() {
					cur = "*"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cur, n, ctx.Cluster, ctx.AuthInfo, ctx.Namespace)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(missing) > 0 {
				return fmt.Errorf("context %s not found", strings.Join(missing, ", "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noHeaders, "no-headers", false, "When using the default or custom-column output format, don't print headers (default print headers).")
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format. One of: (name).")
	return cmd
}

func getClusters(f *connection.Flags, s connection.Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "get-clusters",
		Short: "Display clusters defined in the kubeconfig",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := f.LoadConfig()
			if err != nil {
				return err
			}
			fmt.Fprintln(s.Out, "NAME")
			for _, cl := range c.Clusters {
				fmt.Fprintln(s.Out, cl.Name)
			}
			return nil
		},
	}
}

func deleteContext(f *connection.Flags, s connection.Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "delete-context NAME",
		Short: "Delete the specified context from the kubeconfig",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := oneArg(cmd, args)
			if err != nil {
				return err
			}
			return edit(f, func(c *kubeconfig.Config, path string) error {
				if !c.DeleteContext(name) {
					return fmt.Errorf("cannot delete context %s, not in %s", name, path)
				}
				if c.CurrentContext() == name {
					fmt.Fprintln(s.ErrOut, "warning: this removed your active context, use \"kubectl config use-context\" to select a different one")
				}
				fmt.Fprintf(s.Out, "deleted context %s from %s\n", name, path)
				return nil
			})
		},
	}
}

func deleteCluster(f *connection.Flags, s connection.Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "delete-cluster NAME",
		Short: "Delete the specified cluster from the kubeconfig",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := oneArg(cmd, args)
			if err != nil {
				return err
			}
			return edit(f, func(c *kubeconfig.Config, path string) error {
				if !c.DeleteCluster(name) {
					return fmt.Errorf("cannot delete cluster %s, not in %s", name, path)
				}
				fmt.Fprintf(s.Out, "deleted cluster %s from %s\n", name, path)
				return nil
			})
		},
	}
}

func renameContext(f *connection.Flags, s connection.Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "rename-context CONTEXT_NAME NEW_NAME",
		Short: "Rename a context from the kubeconfig file",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return errors.New("expected two arguments: CONTEXT_NAME NEW_NAME")
			}
			return edit(f, func(c *kubeconfig.Config, path string) error {
				ctx, ok := c.Context(args[0])
				if !ok {
					return fmt.Errorf("cannot rename the context %q, it's not in %s", args[0], path)
				}
				if _, ok := c.Context(args[1]); ok {
					return fmt.Errorf("cannot rename the context %q, the context %q already exists in %s", args[0], args[1], path)
				}
				saved := *ctx
				c.DeleteContext(args[0])
				c.Contexts = append(c.Contexts, kubeconfig.NamedContext{Name: args[1], Context: saved})
				if c.CurrentContextName == args[0] {
					c.CurrentContextName = args[1]
				}
				fmt.Fprintf(s.Out, "Context %q renamed to %q.\n", args[0], args[1])
				return nil
			})
		},
	}
}
