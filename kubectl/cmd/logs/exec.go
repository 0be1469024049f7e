package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"kube5/kubectl/internal/connection"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/remotecommand"
)

// NewExecCommand returns `kubectl exec`.
func NewExecCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	var container string
	var stdin, tty, quiet bool
	cmd := &cobra.Command{
		Use:   "exec (POD | TYPE/NAME) [-c CONTAINER] [flags] -- COMMAND [args...]",
		Short: "Execute a command in a container",
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			var command []string
			if dash >= 0 {
				command, args = args[dash:], args[:dash]
			}
			if len(args) == 0 {
				return fmt.Errorf("pod, type/name or --filename must be specified")
			}
			if len(command) == 0 {
				if len(args) < 2 {
					return fmt.Errorf("you must specify at least one command for the container")
				}
				fmt.Fprintln(s.ErrOut, "kubectl exec [POD] [COMMAND] is DEPRECATED and will be removed in a future version. Use kubectl exec [POD] -- [COMMAND] instead.")
				command, args = args[1:], args[:1]
			}
			if len(args) > 1 {
				return fmt.Errorf("exactly one pod, type/name must be specified")
			}
			pods, _, err := resolve(cmd.Context(), f, s.ErrOut, args[:1], "", container)
			if err != nil {
				return err
			}
			pod := pods[0]
			if ph := u.String(pod, "status", "phase"); ph == "Succeeded" || ph == "Failed" {
				return fmt.Errorf("cannot exec into a container in a completed pod; current phase is %s", ph)
			}
			if container == "" {
				container = defaultContainer(pod, s.ErrOut)
			}
			base, err := f.ServerURL()
			if err != nil {
				return err
			}
			ns, _, err := f.DefaultNamespace()
			if err != nil {
				return err
			}
			// As upstream's SetupTTY: -t without -i is ignored; -t with an input that is
			// not a terminal warns and runs without one.
			var in io.Reader
			var inFile *os.File
			if stdin {
				in = s.In
				inFile, _ = s.In.(*os.File)
			} else {
				tty = false
			}
			if tty && (inFile == nil || !term.IsTerminal(int(inFile.Fd()))) {
				tty = false
				if !quiet {
					fmt.Fprintln(s.ErrOut, "Unable to use a TTY - input is not a terminal or the right kind of file")
				}
			}
			req := remotecommand.Request{Command: command, Stdin: stdin, Stdout: true, Stderr: !tty, TTY: tty}
			q := req.Query(url.Values{"container": {container}})
			execURL := fmt.Sprintf("%s/api/v1/namespaces/%s/pods/%s/exec?%s", base, url.PathEscape(ns), url.PathEscape(u.Name(pod)), q.Encode())
			opts := remotecommand.StreamOptions{Stdin: in, Stdout: s.Out, Stderr: s.ErrOut}
			code, err := streamTerminal(cmd.Context(), execURL, opts, tty, inFile, s.Out)
			var ue *remotecommand.UpgradeError
			switch {
			case errors.As(err, &ue):
				return statusError(ue.StatusCode, ue.ContentType, bytesReader(ue.Body))
			case err != nil && code <= 0:
				return requestError(err)
			case err != nil:
				fmt.Fprintln(s.ErrOut, err)
			}
			if code != 0 {
				return &connection.ExitError{Code: code, Msg: fmt.Sprintf("command terminated with exit code %d", code)}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&container, "container", "c", "", "Container name. If omitted, use the kubectl.kubernetes.io/default-container annotation for selecting the container to be attached or the first container in the pod will be chosen")
	cmd.Flags().BoolVarP(&stdin, "stdin", "i", false, "Pass stdin to the container")
	cmd.Flags().BoolVarP(&tty, "tty", "t", false, "Stdin is a TTY")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only print output from the remote session")
	return cmd
}

// outFd is the terminal whose size the remote tty follows: stdout when it is one (as
// upstream), else stdin.
// streamTerminal runs an exec or attach stream; with raw, the local terminal (inFile)
// is put in raw mode for the session, so keys (Ctrl-C included) go to the remote
// terminal as typed, and its size changes follow.
func streamTerminal(ctx context.Context, streamURL string, opts remotecommand.StreamOptions, raw bool, inFile *os.File, out io.Writer) (int, error) {
	if raw {
		fd := int(inFile.Fd())
		old, err := term.MakeRaw(fd)
		if err != nil {
			return -1, err
		}
		defer func() { _ = term.Restore(fd, old) }()
		resize, stop := watchResize(outFd(out, fd))
		defer stop()
		opts.Resize = resize
	}
	return remotecommand.Exec(ctx, streamURL, opts)
}

func outFd(out io.Writer, inFd int) int {
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return int(f.Fd())
	}
	return inFd
}
