// Package edit implements kubectl edit: the object as YAML in $KUBE_EDITOR or $EDITOR
// (else vi), saved back with its resourceVersion. Invalid input reopens the editor with
// the error as a comment at the top; a concurrent change is merged (three-way, as apply)
// onto the newest object instead of failing.
package edit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/printers"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/apierrors"
	"kube5/proto/client"
)

const header = `# Please edit the object below. Lines beginning with a '#' will be ignored,
# and an empty file will abort the edit. If an error occurs while saving this file will be
# reopened with the relevant failures.
#
`

// NewCommand returns `kubectl edit`.
func NewCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	t := resource.TargetOptions{}
	var output string
	cmd := &cobra.Command{
		Use:   "edit (RESOURCE/NAME | -f FILENAME)",
		Short: "Edit a resource on the server",
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
			targets, err := t.Targets(ctx, cs, args, s.In, ns, explicit)
			if err != nil {
				return err
			}
			for _, tg := range targets {
				if err := editOne(ctx, cs, s, tg, output); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVarP(&t.Files.Filenames, "filename", "f", nil, "Filename, directory, or URL to files to use to edit the resource")
	cmd.Flags().StringVarP(&output, "output", "o", "yaml", "Output format. One of: (yaml, json).")
	cmd.Flags().Bool("windows-line-endings", false, "Defaults to the line ending native to your platform.")
	return cmd
}

func editor() []string {
	for _, env := range []string{"KUBE_EDITOR", "EDITOR"} {
		if e := strings.TrimSpace(os.Getenv(env)); e != "" {
			return []string{"/bin/sh", "-c", e + ` "$0"`}
		}
	}
	return []string{"vi"}
}

func stripComments(b []byte) []byte {
	var out bytes.Buffer
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		out.WriteString(l)
	}
	return out.Bytes()
}

func editOne(ctx context.Context, cs *client.Clientset, s connection.Streams, tg resource.Target, output string) error {
	original, err := resource.Get(ctx, cs, tg.Res, tg.Namespace, tg.Name)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	if output == "json" {
		if err := (&printers.Options{Output: "json"}).Print(&body, []printers.Item{{Res: tg.Res, Obj: original}}, true); err != nil {
			return err
		}
	} else if err := printers.PrintYAML(&body, original); err != nil {
		return err
	}
	file, err := os.CreateTemp("", "kubectl-edit-*.yaml")
	if err != nil {
		return err
	}
	path := file.Name()
	file.Close()
	keep := false
	defer func() {
		if !keep {
			os.Remove(path)
		}
	}()
	content := body.Bytes()
	var errComment string
	var lastTried []byte
	for {
		if err := os.WriteFile(path, append([]byte(header+errComment), content...), 0o600); err != nil {
			return err
		}
		ed := editor()
		c := exec.Command(ed[0], append(ed[1:], path)...)
		c.Stdin, c.Stdout, c.Stderr = os.Stdin, s.Out, s.ErrOut
		if err := c.Run(); err != nil {
			return fmt.Errorf("there was a problem with the editor %q: %v", strings.Join(ed, " "), err)
		}
		edited, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		stripped := stripComments(edited)
		if len(bytes.TrimSpace(stripped)) == 0 {
			fmt.Fprintln(s.ErrOut, "Edit cancelled, saved file was empty.")
			return nil
		}
		if bytes.Equal(bytes.TrimSpace(stripped), bytes.TrimSpace(body.Bytes())) {
			fmt.Fprintln(s.ErrOut, "Edit cancelled, no changes made.")
			return nil
		}
		if lastTried != nil && bytes.Equal(stripped, lastTried) {
			keep = true
			return &connection.ExitError{Code: 1, Msg: fmt.Sprintf("error: Edit cancelled, no valid changes were saved.\nA copy of your changes has been stored to %q", path)}
		}
		lastTried = stripped
		err = save(ctx, cs, tg, original, stripped)
		if err == nil {
			fmt.Fprintf(s.Out, "%s edited\n", printers.Name(tg.Res, tg.Name))
			return nil
		}
		var se *apierrors.StatusError
		if errors.As(err, &se) && !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
			keep = true
			fmt.Fprintf(s.ErrOut, "A copy of your changes has been stored to %q\n", path)
			return err
		}
		// Reopen with the user's text and the error on top, as upstream.
		content = stripped
		errComment = fmt.Sprintf("# %s %q was not valid:\n", strings.ToLower(tg.Res.Kind)+"s", tg.Name)
		for _, l := range strings.Split(connection.Message(err), "\n") {
			errComment += "# * " + l + "\n"
		}
		errComment += "#\n"
	}
}

// save decodes the edited text and writes it. On Conflict the user's changes (edited
// against original) are merged onto the newest object and written again.
func save(ctx context.Context, cs *client.Clientset, tg resource.Target, original map[string]any, text []byte) error {
	j, err := yaml.YAMLToJSON(text)
	if err != nil {
		return fmt.Errorf("error parsing edited object: %v", err)
	}
	edited, err := u.FromJSON(j)
	if err != nil {
		return fmt.Errorf("error parsing edited object: %v", err)
	}
	if u.Name(edited) != tg.Name || u.Kind(edited) != tg.Res.Kind {
		return fmt.Errorf("the name or kind of the object was changed: at least one of apiVersion, kind and name was changed")
	}
	if _, err := u.ToProto(edited, tg.Res); err != nil {
		return err
	}
	obj := edited
	for attempt := 0; ; attempt++ {
		_, err := resource.Update(ctx, cs, tg.Res, obj, true)
		if !apierrors.IsConflict(err) || attempt >= 5 {
			return err
		}
		current, gerr := resource.Get(ctx, cs, tg.Res, tg.Namespace, tg.Name)
		if gerr != nil {
			return gerr
		}
		patch := u.ThreeWayMergePatch(original, edited, current)
		u.Remove(patch, "metadata", "resourceVersion")
		obj = u.MergePatch(current, patch).(map[string]any)
	}
}
