// Package disruption is the disruption controller: it keeps the status of every
// policy/v1 PodDisruptionBudget current, as upstream's: the pods its selector picks,
// how many of them are healthy (Ready, not being deleted, not just evicted), how many
// must stay healthy, and so how many disruptions the pods/eviction subresource may still
// allow. It also forgets evictions (status.disruptedPods) whose pod is gone, or which the
// pod outlived by DeletionTimeout.
//
// Unlike upstream: the controllers whose scale a percentage budget (or maxUnavailable)
// counts are ReplicaSets, Deployments and ReplicationControllers only (kube5 serves no
// StatefulSet and no scale subresource of custom resources); a pod change requeues every
// budget selecting the pod (upstream picks one, warning MultiplePodDisruptionBudgets);
// a failed sync is retried with backoff after the fail-safe status write; the stale
// DisruptionTarget pod condition is not cleared (kube5 pods do not carry it).
package disruption

import (
	"context"
	"maps"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/klog/v2"

	appsv1 "kube5/proto/api/apps/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	policyv1 "kube5/proto/api/policy/v1"
	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/events"
	"kube5/proto/informer"
	"kube5/proto/labels"
	"kube5/proto/workqueue"

	"kube5/controller-manager/internal/controller"
)

// Name is the controller's name in events.
const Name = "disruption-controller"

// DeletionTimeout is how long an eviction recorded in status.disruptedPods keeps its pod
// out of the healthy count while the pod is not yet seen deleted, as upstream's.
const DeletionTimeout = 2 * time.Minute

// Controller keeps PodDisruptionBudget status current.
type Controller struct {
	client   *client.Clientset
	pdbs     *informer.Informer[*policyv1.PodDisruptionBudget]
	pods     *informer.Informer[*corev1.Pod]
	rss      *informer.Informer[*appsv1.ReplicaSet]
	deploys  *informer.Informer[*appsv1.Deployment]
	rcs      *informer.Informer[*corev1.ReplicationController]
	recorder *events.Recorder
	queue    *workqueue.Queue[string]
	now      func() time.Time
}

// New registers the controller's handlers.
func New(ctx *controller.Context) (controller.Controller, error) {
	c := &Controller{
		client:  ctx.Client,
		pdbs:    informer.ForType[*policyv1.PodDisruptionBudget](ctx.Informers),
		pods:    informer.ForType[*corev1.Pod](ctx.Informers),
		rss:     informer.ForType[*appsv1.ReplicaSet](ctx.Informers),
		deploys: informer.ForType[*appsv1.Deployment](ctx.Informers),
		rcs:     informer.ForType[*corev1.ReplicationController](ctx.Informers),
		queue:   workqueue.New[string]("disruption"),
		now:     time.Now,
	}
	if ctx.Events != nil {
		c.recorder = ctx.Events(Name)
	}
	c.pdbs.AddEventHandler(informer.Handler[*policyv1.PodDisruptionBudget]{
		OnAdd:    func(p *policyv1.PodDisruptionBudget) { c.queue.Add(informer.Key(p)) },
		OnUpdate: func(_, p *policyv1.PodDisruptionBudget) { c.queue.Add(informer.Key(p)) },
		OnDelete: func(p *policyv1.PodDisruptionBudget) { c.queue.Add(informer.Key(p)) },
	})
	c.pods.AddEventHandler(informer.Handler[*corev1.Pod]{
		OnAdd: c.enqueueBudgetsOf,
		OnUpdate: func(old, p *corev1.Pod) {
			c.enqueueBudgetsOf(p)
			if !maps.Equal(old.GetMetadata().GetLabels(), p.GetMetadata().GetLabels()) {
				c.enqueueBudgetsOf(old) // the budgets that no longer select it
			}
		},
		OnDelete: c.enqueueBudgetsOf,
	})
	// The pods' controllers are read from their listers only, as upstream: a change of
	// scale changes pods, which requeues the budgets.
	return c, nil
}

// enqueueBudgetsOf queues the budgets whose selector selects p.
func (c *Controller) enqueueBudgetsOf(p *corev1.Pod) {
	for _, pdb := range c.budgetsOf(p) {
		c.queue.Add(informer.Key(pdb))
	}
}

// budgetsOf returns the budgets of p's namespace whose selector selects p (a budget
// without a selector selects nothing).
func (c *Controller) budgetsOf(p *corev1.Pod) []*policyv1.PodDisruptionBudget {
	set := labels.Set(p.GetMetadata().GetLabels())
	var out []*policyv1.PodDisruptionBudget
	for _, pdb := range c.pdbs.Lister().ByNamespace(p.GetMetadata().GetNamespace(), labels.Everything()) {
		sel, err := labels.SelectorFromLabelSelector(pdb.GetSpec().GetSelector())
		if err != nil || !sel.Matches(set) {
			continue
		}
		out = append(out, pdb)
	}
	return out
}

// Run syncs budgets with workers goroutines until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer c.queue.ShutDown()
	if !informer.WaitForCacheSync(ctx, c.pdbs.HasSynced, c.pods.HasSynced, c.rss.HasSynced, c.deploys.HasSynced, c.rcs.HasSynced) {
		return
	}
	klog.V(1).InfoS("Starting controller", "controller", Name, "workers", workers)
	syncCtx, stop := controller.SyncContext(ctx)
	defer stop()
	for i := 0; i < workers; i++ {
		go controller.Work(syncCtx, c.queue, c.sync, "PodDisruptionBudget sync failed; retrying", "podDisruptionBudget")
	}
	<-ctx.Done()
}

// sync brings one budget's status up to date. A failure other than a conflict first
// sets disruptionsAllowed to 0 (upstream's failSafe): the eviction handler must not
// spend a budget whose status could not be computed.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := informer.SplitKey(key)
	if err != nil {
		return nil
	}
	pdb, ok := c.pdbs.Lister().Get(ns, name)
	if !ok {
		return nil
	}
	err = c.trySync(ctx, pdb)
	if err == nil || apierrors.IsConflict(err) {
		return err
	}
	klog.V(2).InfoS("Failed to sync PodDisruptionBudget", "podDisruptionBudget", key, "err", err)
	if ferr := c.failSafe(ctx, pdb, err); ferr != nil {
		return ferr
	}
	// Upstream stops here until the budget or its pods change; kube5 retries with
	// backoff, so a controller its lister had not seen yet is found later.
	return err
}

func (c *Controller) trySync(ctx context.Context, pdb *policyv1.PodDisruptionBudget) error {
	pods, err := c.podsOf(pdb)
	if err != nil {
		c.event(pdb, events.Warning, "NoPods", "Failed to get pods: %v", err)
		return err
	}
	if len(pods) == 0 {
		c.event(pdb, events.Normal, "NoPods", "No matching pods found")
	}
	expected, desired, unmanaged, err := c.expectedPodCount(pdb, pods)
	if err != nil {
		c.event(pdb, events.Warning, "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: %v", err)
		return err
	}
	if len(unmanaged) > 0 {
		klog.V(4).InfoS("Found unmanaged pods associated with this PDB", "podDisruptionBudget", informer.Key(pdb), "pods", unmanaged)
		c.event(pdb, events.Warning, "UnmanagedPods", "Pods selected by this PodDisruptionBudget (selector: %v) were found "+
			"to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. "+
			"To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value.", selectorString(pdb))
	}
	now := c.now()
	disrupted, recheck := c.disruptedPodMap(pods, pdb, now)
	healthy := countHealthy(pods, disrupted, now)
	if err := c.updateStatus(ctx, pdb, healthy, desired, expected, disrupted, now); err != nil {
		return err
	}
	if recheck != nil {
		c.queue.AddAfter(informer.Key(pdb), recheck.Sub(now))
	}
	return nil
}

// podsOf returns the pods of the budget's namespace its selector selects, including
// those being deleted (upstream counts them in expectedPods).
func (c *Controller) podsOf(pdb *policyv1.PodDisruptionBudget) ([]*corev1.Pod, error) {
	sel, err := labels.SelectorFromLabelSelector(pdb.GetSpec().GetSelector())
	if err != nil {
		return nil, err
	}
	return c.pods.Lister().ByNamespace(pdb.GetMetadata().GetNamespace(), sel), nil
}

// failSafe writes disruptionsAllowed 0 and a False DisruptionAllowed condition with
// reason SyncFailed, keeping the rest of the status (observedGeneration included).
func (c *Controller) failSafe(ctx context.Context, pdb *policyv1.PodDisruptionBudget, cause error) error {
	out := proto.Clone(pdb).(*policyv1.PodDisruptionBudget)
	if out.Status == nil {
		out.Status = &policyv1.PodDisruptionBudgetStatus{}
	}
	out.Status.DisruptionsAllowed = 0
	setCondition(out.Status, &policyv1.Condition{
		Type: ConditionDisruptionAllowed, Status: "False", Reason: ReasonSyncFailed,
		Message: cause.Error(), ObservedGeneration: out.Status.ObservedGeneration,
	}, c.now())
	if proto.Equal(out.Status, pdb.GetStatus()) {
		return nil
	}
	_, err := c.client.PodDisruptionBudgets(out.GetMetadata().GetNamespace()).UpdateStatus(ctx, out)
	return err
}

// updateStatus writes the computed status when it differs from the stored one.
func (c *Controller) updateStatus(ctx context.Context, pdb *policyv1.PodDisruptionBudget, healthy, desired, expected int32,
	disrupted map[string]*metav1.Time, now time.Time) error {
	// expectedPods must be > 0, so a budget that selected no pods yet is safe when its
	// first pods appear before this controller updated it (upstream's reasoning).
	allowed := healthy - desired
	if expected <= 0 || allowed <= 0 {
		allowed = 0
	}
	st := &policyv1.PodDisruptionBudgetStatus{
		ObservedGeneration: pdb.GetMetadata().GetGeneration(),
		DisruptedPods:      disrupted,
		DisruptionsAllowed: allowed,
		CurrentHealthy:     healthy,
		DesiredHealthy:     desired,
		ExpectedPods:       expected,
	}
	for _, cond := range pdb.GetStatus().GetConditions() {
		st.Conditions = append(st.Conditions, proto.Clone(cond).(*policyv1.Condition))
	}
	updateDisruptionAllowedCondition(st, now)
	if proto.Equal(st, pdb.GetStatus()) {
		return nil
	}
	out := proto.Clone(pdb).(*policyv1.PodDisruptionBudget)
	out.Status = st
	_, err := c.client.PodDisruptionBudgets(out.GetMetadata().GetNamespace()).UpdateStatus(ctx, out)
	return err
}

func (c *Controller) event(obj *policyv1.PodDisruptionBudget, typ, reason, format string, args ...any) {
	if c.recorder != nil {
		c.recorder.Eventf(obj, typ, reason, format, args...)
	}
}

// selectorString is the budget's selector as a label query ("app=web").
func selectorString(pdb *policyv1.PodDisruptionBudget) string {
	sel, err := labels.SelectorFromLabelSelector(pdb.GetSpec().GetSelector())
	if err != nil {
		return "<invalid>"
	}
	return sel.String()
}
