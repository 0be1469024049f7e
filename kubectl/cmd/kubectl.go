// Package cmd assembles kubectl: the root command, its global flags, and the command
// groups (each in its own package under cmd/).
package cmd

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"kube5/kubectl/cmd/apply"
	"kube5/kubectl/cmd/config"
	"kube5/kubectl/cmd/create"
	"kube5/kubectl/cmd/delete"
	"kube5/kubectl/cmd/describe"
	"kube5/kubectl/cmd/drain"
	"kube5/kubectl/cmd/edit"
	"kube5/kubectl/cmd/expose"
	"kube5/kubectl/cmd/get"
	"kube5/kubectl/cmd/info"
	"kube5/kubectl/cmd/label"
	"kube5/kubectl/cmd/logs"
	"kube5/kubectl/cmd/rollout"
	"kube5/kubectl/cmd/scale"
	"kube5/kubectl/cmd/wait"
	"kube5/kubectl/internal/connection"
)

// NewCommand builds the root command.
func NewCommand(s connection.Streams) *cobra.Command {
	f := &connection.Flags{}
	root := &cobra.Command{
		Use:           "kubectl",
		Short:         "kubectl controls the Kubernetes cluster manager.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Run:           func(cmd *cobra.Command, _ []string) { _ = cmd.Help() },
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	f.AddFlags(root.PersistentFlags())
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%v\nSee '%s --help' for usage.", err, c.CommandPath())
	})
	root.AddCommand(
		create.NewCommand(f, s),
		create.NewRunCommand(f, s),
		expose.NewCommand(f, s),
		get.NewCommand(f, s),
		edit.NewCommand(f, s),
		delete.NewCommand(f, s),
		rollout.NewCommand(f, s),
		scale.NewCommand(f, s),
		drain.NewCordonCommand(f, s),
		drain.NewUncordonCommand(f, s),
		drain.NewDrainCommand(f, s),
		describe.NewCommand(f, s),
		logs.NewLogsCommand(f, s),
		logs.NewExecCommand(f, s),
		logs.NewAttachCommand(f, s),
		logs.NewPortForwardCommand(f, s),
		apply.NewCommand(f, s),
		label.NewLabelCommand(f, s),
		label.NewAnnotateCommand(f, s),
		label.NewPatchCommand(f, s),
		label.NewSetCommand(f, s),
		wait.NewCommand(f, s),
		config.NewCommand(f, s),
		info.NewClusterInfoCommand(f, s),
		info.NewVersionCommand(f, s),
		info.NewAPIResourcesCommand(f, s),
		info.NewExplainCommand(f, s),
	)
	root.AddCommand(info.NewCompletionCommand(root, s))
	return root
}

// Run executes kubectl with args and returns the process exit code.
func Run(args []string, in io.Reader, out, errOut io.Writer) int {
	s := connection.Streams{In: in, Out: out, ErrOut: errOut}
	root := NewCommand(s)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return connection.Report(errOut, err)
}
