// Package drain implements kubectl cordon, uncordon and drain. Drain cordons the node,
// then evicts its pods through the pods/eviction subresource, so their disruption
// budgets are honoured (or, with --disable-eviction, deletes them), and waits for them
// to be gone.
package drain

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"kube5/kubectl/internal/connection"
	"kube5/kubectl/internal/printers"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
	metav1 "kube5/proto/api/meta/v1"
	policyv1 "kube5/proto/api/policy/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/scheme"
)

func nodes() *scheme.Resource { r, _ := scheme.Lookup("nodes"); return r }

// setUnschedulable cordons or uncordons and prints upstream's message.
func setUnschedulable(ctx context.Context, cs *client.Clientset, s connection.Streams, name string, value bool, dryRun bool) error {
	done := "cordoned"
	if !value {
		done = "uncordoned"
	}
	res := nodes()
	obj, err := resource.Get(ctx, cs, res, "", name)
	if err != nil {
		return err
	}
	if u.Bool(obj, "spec", "unschedulable") == value {
		fmt.Fprintf(s.Out, "%s already %s\n", printers.Name(res, name), done)
		return nil
	}
	if !dryRun {
		_, _, err = resource.Modify(ctx, cs, res, "", name, func(n map[string]any) (bool, error) {
			if value {
				u.Set(n, true, "spec", "unschedulable")
			} else {
				u.Remove(n, "spec", "unschedulable")
			}
			return true, nil
		})
		if err != nil {
			return err
		}
	}
	suffix := ""
	if dryRun {
		suffix = " (dry run)"
	}
	fmt.Fprintf(s.Out, "%s %s%s\n", printers.Name(res, name), done, suffix)
	return nil
}

func cordonCommand(f *connection.Flags, s connection.Streams, use string, value bool) *cobra.Command {
	var selector, dryRun string
	cmd := &cobra.Command{
		Use:   use + " NODE",
		Short: "Mark node as " + map[bool]string{true: "unschedulable", false: "schedulable"}[value],
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cs, err := f.Client()
			if err != nil {
				return err
			}
			names := args
			if selector != "" {
				items, _, errs := resource.Fetch(ctx, cs, resource.Ref{Res: nodes()}, resource.Selector{LabelSelector: selector})
				if len(errs) > 0 {
					return errs[0]
				}
				for _, it := range items {
					names = append(names, u.Name(it.Obj))
				}
			}
			if len(names) == 0 {
				return fmt.Errorf("USAGE: %s NODE [flags]", use)
			}
			for _, n := range names {
				if err := setUnschedulable(ctx, cs, s, n, value, dryRun == "client"); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "Selector (label query) to filter on")
	cmd.Flags().StringVar(&dryRun, "dry-run", "none", `Must be "none", "server", or "client".`)
	return cmd
}

// NewCordonCommand returns `kubectl cordon`.
func NewCordonCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	return cordonCommand(f, s, "cordon", true)
}

// NewUncordonCommand returns `kubectl uncordon`.
func NewUncordonCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	return cordonCommand(f, s, "uncordon", false)
}

type drainOptions struct {
	force, ignoreDaemonSets, deleteEmptyDir, disableEviction bool
	grace                                                    int64
	timeout                                                  time.Duration
	podSelector                                              string
}

// NewDrainCommand returns `kubectl drain`.
func NewDrainCommand(f *connection.Flags, s connection.Streams) *cobra.Command {
	o := &drainOptions{}
	cmd := &cobra.Command{
		Use:   "drain NODE",
		Short: "Drain node in preparation for maintenance",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("USAGE: drain NODE [flags]")
			}
			return o.run(cmd.Context(), f, s, args[0])
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.force, "force", false, "Continue even if there are pods that do not declare a controller.")
	fl.BoolVar(&o.ignoreDaemonSets, "ignore-daemonsets", false, "Ignore DaemonSet-managed pods.")
	fl.BoolVar(&o.deleteEmptyDir, "delete-emptydir-data", false, "Continue even if there are pods using emptyDir (local data that will be deleted when the node is drained).")
	fl.BoolVar(&o.disableEviction, "disable-eviction", false, "Force drain to use delete, even if eviction is supported.")
	fl.Int64Var(&o.grace, "grace-period", -1, "Period of time in seconds given to each pod to terminate gracefully. If negative, the default value specified in the pod will be used.")
	fl.DurationVar(&o.timeout, "timeout", 0, "The length of time to wait before giving up, zero means infinite")
	fl.StringVar(&o.podSelector, "pod-selector", "", "Label selector to filter pods on the node")
	return cmd
}

func (o *drainOptions) run(ctx context.Context, f *connection.Flags, s connection.Streams, node string) error {
	cs, err := f.Client()
	if err != nil {
		return err
	}
	if err := setUnschedulable(ctx, cs, s, node, true, false); err != nil {
		return err
	}
	pods, err := cs.Pods("").List(ctx, client.ListOptions{FieldSelector: "spec.nodeName=" + node, LabelSelector: o.podSelector})
	if err != nil {
		return err
	}
	var victims []map[string]any
	var unmanaged, emptyDir, daemon []string
	for _, p := range pods.Items {
		m, err := u.FromProto(p)
		if err != nil {
			return err
		}
		id := u.Namespace(m) + "/" + u.Name(m)
		if _, mirror := u.StringMap(m, "metadata", "annotations")["kubernetes.io/config.mirror"]; mirror {
			continue
		}
		phase := u.String(m, "status", "phase")
		finished := phase == "Succeeded" || phase == "Failed"
		ctrl := ""
		for _, r := range u.Maps(m, "metadata", "ownerReferences") {
			if u.Bool(r, "controller") {
				ctrl = u.String(r, "kind")
			}
		}
		if ctrl == "DaemonSet" {
			daemon = append(daemon, id)
			continue
		}
		if ctrl == "" && !finished {
			unmanaged = append(unmanaged, id)
		}
		for _, v := range u.Maps(m, "spec", "volumes") {
			if _, ok := v["emptyDir"]; ok && !finished {
				emptyDir = append(emptyDir, id)
				break
			}
		}
		victims = append(victims, m)
	}
	var problems []string
	if len(unmanaged) > 0 && !o.force {
		problems = append(problems, "cannot delete Pods that declare no controller (use --force to override): "+strings.Join(unmanaged, ", "))
	}
	if len(emptyDir) > 0 && !o.deleteEmptyDir {
		problems = append(problems, "cannot delete Pods with local storage (use --delete-emptydir-data to override): "+strings.Join(emptyDir, ", "))
	}
	if len(daemon) > 0 && !o.ignoreDaemonSets {
		problems = append(problems, "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): "+strings.Join(daemon, ", "))
	}
	if len(problems) > 0 {
		return &connection.ExitError{Code: 1, Msg: "error: unable to drain node \"" + node + "\" due to error: " + strings.Join(problems, ", ") + ", continuing command...\nThere are pending nodes to be drained:\n " + node + "\nerror: " + strings.Join(problems, "\nerror: ")}
	}
	if len(unmanaged) > 0 {
		fmt.Fprintf(s.ErrOut, "Warning: deleting Pods that declare no controller: %s\n", strings.Join(unmanaged, ", "))
	}
	if len(daemon) > 0 {
		fmt.Fprintf(s.ErrOut, "Warning: ignoring DaemonSet-managed Pods: %s\n", strings.Join(daemon, ", "))
	}
	opts := &metav1.DeleteOptions{}
	if o.grace >= 0 {
		g := o.grace
		opts.GracePeriodSeconds = &g
	}
	if o.disableEviction {
		return o.deletePods(ctx, cs, s, node, victims, opts)
	}
	return o.evictPods(ctx, cs, s, node, victims, opts)
}

// deletePods is drain with --disable-eviction: every pod deleted at once (no budget
// consulted), then waited for, as upstream's deletePods ("pod/NAME deleted").
func (o *drainOptions) deletePods(ctx context.Context, cs *client.Clientset, s connection.Streams, node string, victims []map[string]any, opts *metav1.DeleteOptions) error {
	for _, p := range victims {
		err := cs.Pods(u.Namespace(p)).Delete(ctx, u.Name(p), opts)
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	deadline := time.Time{}
	if o.timeout > 0 {
		deadline = time.Now().Add(o.timeout)
	}
	for _, p := range victims {
		if err := waitPodGone(ctx, cs, p, deadline); err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "pod/%s deleted\n", u.Name(p))
	}
	fmt.Fprintf(s.Out, "node/%s drained\n", node)
	return nil
}

// EvictionRetryInterval is how long drain waits before asking again to evict a pod its
// disruption budget protects (upstream: 5s). The environment variable
// KUBE5_DRAIN_EVICTION_RETRY (a Go duration) overrides it, so tests need not wait 5s.
var EvictionRetryInterval = 5 * time.Second

func evictionRetryInterval() time.Duration {
	if v := os.Getenv("KUBE5_DRAIN_EVICTION_RETRY"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d
		}
	}
	return EvictionRetryInterval
}

// evictPods is upstream's evictPods: each pod is evicted in its own goroutine through
// pods/eviction (deleteOptions carry --grace-period), an eviction the disruption budget
// refuses (429) is retried every EvictionRetryInterval until it is admitted or --timeout
// runs out, and each evicted pod is waited for until it is gone ("pod/NAME evicted").
func (o *drainOptions) evictPods(ctx context.Context, cs *client.Clientset, s connection.Streams, node string, victims []map[string]any, opts *metav1.DeleteOptions) error {
	locked := s.Locked() // the evictions print concurrently
	out, errOut := locked.Out, locked.ErrOut
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	// stopped is why the drain's context ended: upstream's words for --timeout.
	stopped := func(err error) error {
		if o.timeout > 0 && ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("global timeout reached: %v", o.timeout)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	retry := evictionRetryInterval()
	results := make(chan error, len(victims))
	for _, p := range victims {
		go func(p map[string]any) {
			ns, name := u.Namespace(p), u.Name(p)
			for {
				fmt.Fprintf(out, "evicting pod %s/%s\n", ns, name)
				if ctx.Err() != nil {
					results <- fmt.Errorf("error when evicting pods/%q -n %q: %v", name, ns, stopped(nil))
					return
				}
				ev := &policyv1.Eviction{Metadata: &metav1.ObjectMeta{Name: name, Namespace: ns}, DeleteOptions: opts}
				err := cs.Pods(ns).CreateSubresource(ctx, name, "eviction", ev, nil)
				if err == nil {
					break
				}
				if apierrors.IsNotFound(err) {
					results <- nil
					return
				}
				if !apierrors.IsTooManyRequests(err) {
					results <- fmt.Errorf("error when evicting pods/%q -n %q: %v", name, ns, stopped(err))
					return
				}
				fmt.Fprintf(errOut, "error when evicting pods/%q -n %q (will retry after %v): %v\n", name, ns, retry, err)
				select {
				case <-ctx.Done():
				case <-time.After(retry):
				}
			}
			if err := waitPodGone(ctx, cs, p, time.Time{}); err != nil {
				results <- fmt.Errorf("error when waiting for pod %q in namespace %q to terminate: %v", name, ns, stopped(err))
				return
			}
			fmt.Fprintf(out, "pod/%s evicted\n", name)
			results <- nil
		}(p)
	}
	var errs []string
	for range victims {
		if err := <-results; err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) == 0 {
		fmt.Fprintf(s.Out, "node/%s drained\n", node)
		return nil
	}
	sort.Strings(errs)
	msg := errs[0]
	if len(errs) > 1 {
		msg = "[" + strings.Join(errs, ", ") + "]"
	}
	// As upstream: the pods still on the node, then the node that is not drained.
	var b strings.Builder
	if pending := o.pendingPods(cs, node); len(pending) > 0 {
		fmt.Fprintf(&b, "There are pending pods in node %q when an error occurred: %s\n", node, msg)
		for _, name := range pending {
			fmt.Fprintf(&b, "pod/%s\n", name)
		}
	}
	fmt.Fprintf(&b, "error: unable to drain node %q due to error: %s, continuing command...\n", node, msg)
	fmt.Fprintf(&b, "There are pending nodes to be drained:\n %s\n", node)
	b.WriteString("error: " + msg)
	return &connection.ExitError{Code: 1, Msg: b.String()}
}

// pendingPods names the pods drain would still remove from node (a fresh context: the
// drain's own may have timed out).
func (o *drainOptions) pendingPods(cs *client.Clientset, node string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pods, err := cs.Pods("").List(ctx, client.ListOptions{FieldSelector: "spec.nodeName=" + node, LabelSelector: o.podSelector})
	if err != nil {
		return nil
	}
	var names []string
	for _, p := range pods.Items {
		if _, mirror := p.GetMetadata().GetAnnotations()["kubernetes.io/config.mirror"]; mirror {
			continue
		}
		daemon := false
		for _, r := range p.GetMetadata().GetOwnerReferences() {
			if r.GetController() && r.GetKind() == "DaemonSet" {
				daemon = true
			}
		}
		if !daemon {
			names = append(names, p.GetMetadata().GetName())
		}
	}
	return names
}

func waitPodGone(ctx context.Context, cs *client.Clientset, p map[string]any, deadline time.Time) error {
	delay := 20 * time.Millisecond
	for {
		got, err := cs.Pods(u.Namespace(p)).Get(ctx, u.Name(p))
		if apierrors.IsNotFound(err) || err == nil && got.GetMetadata().GetUid() != u.String(p, "metadata", "uid") {
			return nil
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return fmt.Errorf("drain did not complete within the timeout: pod %s/%s is still there", u.Namespace(p), u.Name(p))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		if delay < time.Second {
			delay *= 2
		}
	}
}
