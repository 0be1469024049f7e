// Package rollout implements kubectl rollout for deployments: status (from the
// deployment's status fields, as upstream's status viewer), history and undo (from the
// ReplicaSets the deployment owns, by their deployment.kubernetes.io/revision
// annotation), pause, resume and restart.
package rollout

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/printers"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/client"
)

const (
	revisionAnnotation    = "deployment.kubernetes.io/revision"
	changeCauseAnnotation = "kubernetes.io/change-cause"
	restartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"
)

// NewCommand returns `kubectl rollout`.
func NewCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	cmd := &cobra.Command{Use: "rollout SUBCOMMAND", Short: "Manage the rollout of a resource"}
	cmd.AddCommand(statusCmd(f, s), historyCmd(f, s), undoCmd(f, s), pauseCmd(f, s, true), pauseCmd(f, s, false), restartCmd(f, s))
	return cmd
}

// targets resolves the deployments a rollout subcommand acts on.
func targets(ctx context.Context, f *connection.Flags, s connection.Streams, t resource.TargetOptions, args []string) (*client.Clientset, []resource.Target, error) {
	cs, err := f.Client()
	if err != nil {
		return nil, nil, err
	}
	ns, explicit, err := f.DefaultNamespace()
	if err != nil {
		return nil, nil, err
	}
	ts, err := t.Targets(ctx, cs, args, s.In, ns, explicit)
	if err != nil {
		return nil, nil, err
	}
	for _, tg := range ts {
		if tg.Res.Kind != "Deployment" {
			return nil, nil, fmt.Errorf("no rollout support for kind %q; kube5 supports rollouts of deployments", tg.Res.Kind)
		}
	}
	return cs, ts, nil
}

func addTargetFlags(cmd *cobra.Command, t *resource.TargetOptions) {
	cmd.Flags().StringSliceVarP(&t.Files.Filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to get from a server.")
	cmd.Flags().StringVarP(&t.LabelSelector, "selector", "l", "", "Selector (label query) to filter on.")
}

// Status returns upstream's status line for a deployment and whether it is done.
func Status(d map[string]any) (string, bool, error) {
	name := u.Name(d)
	if u.Int(d, "metadata", "generation") > u.Int(d, "status", "observedGeneration") {
		return "Waiting for deployment spec update to be observed...\n", false, nil
	}
	for _, c := range u.Maps(d, "status", "conditions") {
		if u.String(c, "type") == "Progressing" && u.String(c, "reason") == "ProgressDeadlineExceeded" {
			return "", false, fmt.Errorf("deployment %q exceeded its progress deadline", name)
		}
	}
	updated := u.Int(d, "status", "updatedReplicas")
	replicas := u.Int(d, "status", "replicas")
	available := u.Int(d, "status", "availableReplicas")
	if v, ok := u.Nested(d, "spec", "replicas"); ok && updated < u.ToInt(v) {
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...\n", name, updated, u.ToInt(v)), false, nil
	}
	if replicas > updated {
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...\n", name, replicas-updated), false, nil
	}
	if available < updated {
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...\n", name, available, updated), false, nil
	}
	return fmt.Sprintf("deployment %q successfully rolled out\n", name), true, nil
}

func statusCmd(f *connection.Flags, s connection.Streams) *cobra.Command {
	t := resource.TargetOptions{}
	watch := true
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status (TYPE NAME | TYPE/NAME) [flags]",
		Short: "Show the status of the rollout",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cs, ts, err := targets(ctx, f, s, t, args)
			if err != nil {
				return err
			}
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			for _, tg := range ts {
				if err := waitRollout(ctx, cs, s, tg, watch); err != nil {
					return err
				}
			}
			return nil
		},
	}
	addTargetFlags(cmd, &t)
	cmd.Flags().BoolVarP(&watch, "watch", "w", true, "Watch the status of the rollout until it's done.")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "The length of time to wait before ending watch, zero means never.")
	cmd.Flags().Int64("revision", 0, "Pin to a specific revision for showing its status. Defaults to 0 (last revision).")
	return cmd
}

// waitRollout prints the status each time it changes until the rollout is done. It
// polls with a growing interval rather than watching, so an apiserver restart is just
// a few failed reads.
func waitRollout(ctx context.Context, cs *client.Clientset, s connection.Streams, tg resource.Target, watch bool) error {
	last := ""
	delay := 50 * time.Millisecond
	for {
		d, err := resource.Get(ctx, cs, tg.Res, tg.Namespace, tg.Name)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("timed out waiting for the condition")
			}
			return err
		}
		msg, done, err := Status(d)
		if err != nil {
			return err
		}
		if msg != last {
			fmt.Fprint(s.Out, msg)
			last = msg
		}
		if done || !watch {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for the condition")
		case <-time.After(delay):
		}
		if delay < time.Second {
			delay *= 2
		}
	}
}

// history returns the deployment's replica sets by revision.
func history(ctx context.Context, cs *client.Clientset, d map[string]any) (map[int64]map[string]any, error) {
	rss, err := cs.ReplicaSets(u.Namespace(d)).List(ctx, client.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[int64]map[string]any{}
	uid := u.String(d, "metadata", "uid")
	for _, rs := range rss.Items {
		owned := false
		for _, r := range rs.GetMetadata().GetOwnerReferences() {
			if r.GetUid() == uid {
				owned = true
			}
		}
		if !owned {
			continue
		}
		rev, err := strconv.ParseInt(rs.GetMetadata().GetAnnotations()[revisionAnnotation], 10, 64)
		if err != nil {
			continue
		}
		m, err := u.FromProto(rs)
		if err != nil {
			return nil, err
		}
		out[rev] = m
	}
	return out, nil
}

func sortedRevisions(h map[int64]map[string]any) []int64 {
	var revs []int64
	for r := range h {
		revs = append(revs, r)
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i] < revs[j] })
	return revs
}

func historyCmd(f *connection.Flags, s connection.Streams) *cobra.Command {
	t := resource.TargetOptions{}
	var revision int64
	cmd := &cobra.Command{
		Use:   "history (TYPE NAME | TYPE/NAME) [flags]",
		Short: "View rollout history",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cs, ts, err := targets(ctx, f, s, t, args)
			if err != nil {
				return err
			}
			for _, tg := range ts {
				d, err := resource.Get(ctx, cs, tg.Res, tg.Namespace, tg.Name)
				if err != nil {
					return err
				}
				h, err := history(ctx, cs, d)
				if err != nil {
					return err
				}
				if revision > 0 {
					rs, ok := h[revision]
					if !ok {
						return fmt.Errorf("unable to find the specified revision")
					}
					fmt.Fprintf(s.Out, "%s with revision #%d\n", printers.Name(tg.Res, tg.Name), revision)
					tmpl := u.DeepCopy(u.Map(rs, "spec", "template")).(map[string]any)
					printTemplate(s, tmpl)
					continue
				}
				fmt.Fprintf(s.Out, "%s \n", printers.Name(tg.Res, tg.Name))
				tw := printers.NewTabWriter(s.Out)
				fmt.Fprintln(tw, "REVISION\tCHANGE-CAUSE")
				for _, r := range sortedRevisions(h) {
					cause := u.String(h[r], "metadata", "annotations", changeCauseAnnotation)
					if cause == "" {
						cause = "<none>"
					}
					fmt.Fprintf(tw, "%d\t%s\n", r, cause)
				}
				tw.Flush()
				fmt.Fprintln(s.Out)
			}
			return nil
		},
	}
	addTargetFlags(cmd, &t)
	cmd.Flags().Int64Var(&revision, "revision", 0, "See the details, including podTemplate of the revision specified")
	return cmd
}

// printTemplate prints a pod template as YAML under "Pod Template:", indented.
func printTemplate(s connection.Streams, tmpl map[string]any) {
	fmt.Fprintln(s.Out, "Pod Template:")
	labels := u.StringMap(tmpl, "metadata", "labels")
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := printers.NewTabWriter(s.Out)
	for i, k := range keys {
		title := "  Labels:"
		if i > 0 {
			title = ""
		}
		fmt.Fprintf(tw, "%s\t%s=%s\n", title, k, labels[k])
	}
	fmt.Fprintln(tw, "  Containers:")
	for _, c := range u.Maps(tmpl, "spec", "containers") {
		fmt.Fprintf(tw, "   %s:\n", u.String(c, "name"))
		fmt.Fprintf(tw, "    Image:\t%s\n", u.String(c, "image"))
	}
	tw.Flush()
	fmt.Fprintln(s.Out)
}

func undoCmd(f *connection.Flags, s connection.Streams) *cobra.Command {
	t := resource.TargetOptions{}
	var toRevision int64
	cmd := &cobra.Command{
		Use:   "undo (TYPE NAME | TYPE/NAME) [flags]",
		Short: "Undo a previous rollout",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cs, ts, err := targets(ctx, f, s, t, args)
			if err != nil {
				return err
			}
			for _, tg := range ts {
				skipped := ""
				_, _, err := resource.Modify(ctx, cs, tg.Res, tg.Namespace, tg.Name, func(d map[string]any) (bool, error) {
					if u.Bool(d, "spec", "paused") {
						return false, fmt.Errorf("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again")
					}
					h, err := history(ctx, cs, d)
					if err != nil {
						return false, err
					}
					revs := sortedRevisions(h)
					var target int64
					switch {
					case toRevision > 0:
						if _, ok := h[toRevision]; !ok {
							return false, fmt.Errorf("unable to find specified revision %d in history", toRevision)
						}
						target = toRevision
					case len(revs) < 2:
						return false, fmt.Errorf("no rollout history found for deployment %q", tg.Name)
					default:
						target = revs[len(revs)-2]
					}
					tmpl := u.DeepCopy(u.Map(h[target], "spec", "template")).(map[string]any)
					if l := u.Map(tmpl, "metadata", "labels"); l != nil {
						delete(l, "pod-template-hash")
					}
					if printers.EqualJSON(tmpl, u.Map(d, "spec", "template")) {
						skipped = fmt.Sprintf("%s skipped rollback (current template already matches revision %d)\n", printers.Name(tg.Res, tg.Name), target)
						return false, nil
					}
					u.Set(d, tmpl, "spec", "template")
					return true, nil
				})
				if err != nil {
					return err
				}
				if skipped != "" {
					fmt.Fprint(s.Out, skipped)
				} else {
					fmt.Fprintf(s.Out, "%s rolled back\n", printers.Name(tg.Res, tg.Name))
				}
			}
			return nil
		},
	}
	addTargetFlags(cmd, &t)
	cmd.Flags().Int64Var(&toRevision, "to-revision", 0, "The revision to rollback to. Default to 0 (last revision).")
	return cmd
}

func pauseCmd(f *connection.Flags, s connection.Streams, pause bool) *cobra.Command {
	t := resource.TargetOptions{}
	verb, done, already := "pause", "paused", "is already paused"
	if !pause {
		verb, done, already = "resume", "resumed", "is not paused"
	}
	cmd := &cobra.Command{
		Use:   verb + " RESOURCE",
		Short: "Mark the provided resource as " + done,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cs, ts, err := targets(ctx, f, s, t, args)
			if err != nil {
				return err
			}
			for _, tg := range ts {
				_, changed, err := resource.Modify(ctx, cs, tg.Res, tg.Namespace, tg.Name, func(d map[string]any) (bool, error) {
					if u.Bool(d, "spec", "paused") == pause {
						return false, nil
					}
					if pause {
						u.Set(d, true, "spec", "paused")
					} else {
						u.Remove(d, "spec", "paused")
					}
					return true, nil
				})
				if err != nil {
					return err
				}
				if !changed {
					return fmt.Errorf("%s %q %s", tg.Res.GroupResource(), tg.Name, already)
				}
				fmt.Fprintf(s.Out, "%s %s\n", printers.Name(tg.Res, tg.Name), done)
			}
			return nil
		},
	}
	addTargetFlags(cmd, &t)
	return cmd
}

func restartCmd(f *connection.Flags, s connection.Streams) *cobra.Command {
	t := resource.TargetOptions{}
	cmd := &cobra.Command{
		Use:   "restart RESOURCE",
		Short: "Restart a resource",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cs, ts, err := targets(ctx, f, s, t, args)
			if err != nil {
				return err
			}
			for _, tg := range ts {
				_, _, err := resource.Modify(ctx, cs, tg.Res, tg.Namespace, tg.Name, func(d map[string]any) (bool, error) {
					if u.Bool(d, "spec", "paused") {
						return false, fmt.Errorf("can't restart paused deployment (run rollout resume first)")
					}
					ann := u.Map(d, "spec", "template", "metadata", "annotations")
					if ann == nil {
						ann = map[string]any{}
						u.Set(d, ann, "spec", "template", "metadata", "annotations")
					}
					ann[restartedAtAnnotation] = printers.Now().Format(time.RFC3339)
					return true, nil
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(s.Out, "%s restarted\n", printers.Name(tg.Res, tg.Name))
			}
			return nil
		},
	}
	addTargetFlags(cmd, &t)
	return cmd
}
