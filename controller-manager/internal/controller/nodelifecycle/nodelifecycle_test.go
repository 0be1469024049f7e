package nodelifecycle

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	coordinationv1 "kube5/proto/api/coordination/v1"
	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
	"kube5/proto/events"
	"kube5/proto/informer"

	"kube5/controller-manager/internal/controller"
)

func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s: %s", what, last)
}

func readyNode(name string) *corev1.Node {
	return &corev1.Node{
		Metadata: &metav1.ObjectMeta{Name: name},
		Status: &corev1.NodeStatus{Conditions: []*corev1.NodeCondition{
			{Type: "Ready", Status: "True", Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()},
		}},
	}
}

func taintSummary(n *corev1.Node) string {
	var s []string
	for _, t := range n.GetSpec().GetTaints() {
		s = append(s, t.GetKey()+":"+t.GetEffect())
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

func seconds(n int64) *int64 { return &n }

func mkPod(t *testing.T, cs *client.Clientset, name, node string, tols ...*corev1.Toleration) {
	t.Helper()
	ctx := context.Background()
	p, err := cs.Pods("default").Create(ctx, &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: &corev1.PodSpec{NodeName: node, Tolerations: tols,
			Containers: []*corev1.Container{{Name: "c", Image: "kube5/pause:3.10"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Status = &corev1.PodStatus{Phase: "Running", Conditions: []*corev1.PodCondition{{Type: "Ready", Status: "True"}}}
	if _, err := cs.Pods("default").UpdateStatus(ctx, p); err != nil {
		t.Fatal(err)
	}
}

func TestNodeGoesSilentTaintedAndPodsEvicted(t *testing.T) {
	s := apiservertest.Start(t)
	cs := s.Client
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	for _, n := range []string{"alive", "silent", "sick"} {
		if _, err := cs.Nodes().Create(ctx, readyNode(n)); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Leases(LeaseNamespace).Create(ctx, &coordinationv1.Lease{
			Metadata: &metav1.ObjectMeta{Name: n, Namespace: LeaseNamespace},
			Spec:     &coordinationv1.LeaseSpec{RenewTime: metav1.NowMicro()},
		}); err != nil {
			t.Fatal(err)
		}
	}
	// The kubelet of "sick" reports NotReady, and keeps renewing its lease.
	sick, _ := cs.Nodes().Get(ctx, "sick")
	sick.Status.Conditions[0].Status, sick.Status.Conditions[0].Reason = "False", "KubeletNotReady"
	if _, err := cs.Nodes().UpdateStatus(ctx, sick); err != nil {
		t.Fatal(err)
	}
	// Kubelets of alive and sick heartbeat through their leases; silent's says nothing.
	hbCtx, stopHB := context.WithCancel(ctx)
	defer stopHB()
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, n := range []string{"alive", "sick"} {
				if l, err := cs.Leases(LeaseNamespace).Get(hbCtx, n); err == nil {
					l.Spec.RenewTime = metav1.NowMicro()
					cs.Leases(LeaseNamespace).Update(hbCtx, l)
				}
			}
			select {
			case <-hbCtx.Done():
				return
			case <-tick.C:
			}
		}
	}()

	unreachable := func(secs *int64) *corev1.Toleration {
		return &corev1.Toleration{Key: TaintUnreachable, Operator: "Exists", Effect: NoExecute, TolerationSeconds: secs}
	}
	// A node whose kubelet never posts a status: Unknown after the startup grace period.
	if _, err := cs.Nodes().Create(ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "mute"}}); err != nil {
		t.Fatal(err)
	}
	mkPod(t, cs, "short", "silent", unreachable(seconds(2)))
	mkPod(t, cs, "forever", "silent", unreachable(nil))
	mkPod(t, cs, "default-tolerations", "silent")
	mkPod(t, cs, "on-alive", "alive")

	f := informer.NewFactory(cs, 0)
	c, err := New(&controller.Context{Client: cs, Informers: f,
		Events: func(name string) *events.Recorder {
			r := events.NewRecorder(cs, name, "")
			go r.Run(ctx)
			return r
		},
		Config: controller.Config{NodeMonitorGracePeriod: 2 * time.Second, NodeMonitorPeriod: 100 * time.Millisecond, NodeStartupGracePeriod: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx)
	go c.Run(ctx, 2)

	// silent: Ready=Unknown and the unreachable taints; its pods are not ready.
	var taintedAt time.Time
	eventually(t, 10*time.Second, "silent node Unknown and tainted", func() (bool, string) {
		n, err := cs.Nodes().Get(ctx, "silent")
		if err != nil {
			return false, err.Error()
		}
		rc := readyCondition(n)
		got := rc.GetStatus() + "/" + rc.GetReason() + "/" + taintSummary(n)
		if got == "Unknown/NodeStatusUnknown/"+TaintUnreachable+":NoExecute,"+TaintUnreachable+":NoSchedule" {
			taintedAt = time.Now()
			if rc.GetMessage() != "Kubelet stopped posting node status." {
				return false, "message " + rc.GetMessage()
			}
			return true, ""
		}
		return false, got
	})
	eventually(t, 5*time.Second, "pods on silent not ready", func() (bool, string) {
		p, err := cs.Pods("default").Get(ctx, "forever")
		if err != nil {
			return false, err.Error()
		}
		st := p.GetStatus().GetConditions()[0].GetStatus()
		return st == "False", st
	})
	if p, _ := cs.Pods("default").Get(ctx, "on-alive"); p.GetStatus().GetConditions()[0].GetStatus() != "True" {
		t.Error("pod on a healthy node marked not ready")
	}
	// sick: the not-ready taints; alive: none.
	eventually(t, 5*time.Second, "sick node tainted not-ready", func() (bool, string) {
		n, _ := cs.Nodes().Get(ctx, "sick")
		got := taintSummary(n)
		return got == TaintNotReady+":NoExecute,"+TaintNotReady+":NoSchedule", got
	})
	eventually(t, 5*time.Second, "mute node Unknown", func() (bool, string) {
		n, _ := cs.Nodes().Get(ctx, "mute")
		rc := readyCondition(n)
		got := rc.GetStatus() + "/" + rc.GetReason() + "/" + taintSummary(n)
		return got == "Unknown/NodeStatusNeverUpdated/"+TaintUnreachable+":NoExecute,"+TaintUnreachable+":NoSchedule", got
	})
	if n, _ := cs.Nodes().Get(ctx, "alive"); taintSummary(n) != "" || readyCondition(n).GetStatus() != "True" {
		t.Errorf("alive: %s %s", readyCondition(n).GetStatus(), taintSummary(n))
	}
	eventually(t, 5*time.Second, "NodeNotReady event", func() (bool, string) {
		l, err := cs.Events("default").List(ctx, client.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, e := range l.Items {
			if e.GetReason() == "NodeNotReady" && e.GetInvolvedObject().GetName() == "silent" && e.GetInvolvedObject().GetKind() == "Node" {
				return true, ""
			}
		}
		return false, "none"
	})

	// "short" tolerates the taint for 2s: evicted after that, not before.
	eventually(t, 6*time.Second, "short evicted", func() (bool, string) {
		p, err := cs.Pods("default").Get(ctx, "short")
		if err != nil {
			return true, "" // gone is evicted too
		}
		return p.GetMetadata().GetDeletionTimestamp() != nil, "not yet"
	})
	if d := time.Since(taintedAt); d < 1500*time.Millisecond {
		t.Errorf("evicted %v after the taint, before its 2s toleration", d)
	}
	for _, name := range []string{"forever", "default-tolerations", "on-alive"} {
		if p, err := cs.Pods("default").Get(ctx, name); err != nil || p.GetMetadata().GetDeletionTimestamp() != nil {
			t.Errorf("%s evicted", name)
		}
	}

	// A NoExecute taint a pod does not tolerate evicts it at once.
	mkPod(t, cs, "tolerant", "alive", &corev1.Toleration{Key: "dedicated", Operator: "Exists", Effect: NoExecute})
	alive, _ := cs.Nodes().Get(ctx, "alive")
	alive.Spec = &corev1.NodeSpec{Taints: []*corev1.Taint{{Key: "dedicated", Value: "x", Effect: NoExecute}}}
	if _, err := cs.Nodes().Update(ctx, alive); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "on-alive evicted", func() (bool, string) {
		p, err := cs.Pods("default").Get(ctx, "on-alive")
		return err != nil || p.GetMetadata().GetDeletionTimestamp() != nil, "not yet"
	})
	if p, _ := cs.Pods("default").Get(ctx, "tolerant"); p.GetMetadata().GetDeletionTimestamp() != nil {
		t.Error("tolerant pod evicted")
	}

	// silent's kubelet comes back: Ready=True, and the controller removes its taints.
	silent, _ := cs.Nodes().Get(ctx, "silent")
	silent = proto.Clone(silent).(*corev1.Node)
	rc := readyCondition(silent)
	rc.Status, rc.Reason, rc.Message, rc.LastHeartbeatTime = "True", "KubeletReady", "", metav1.Now()
	if _, err := cs.Nodes().UpdateStatus(ctx, silent); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "silent untainted", func() (bool, string) {
		n, _ := cs.Nodes().Get(ctx, "silent")
		got := taintSummary(n)
		return got == "", got
	})
}

func TestEvictionDelay(t *testing.T) {
	unreach := &corev1.Taint{Key: TaintUnreachable, Effect: NoExecute}
	other := &corev1.Taint{Key: "k", Value: "v", Effect: NoExecute}
	tol := func(key, op, value, effect string, secs *int64) *corev1.Toleration {
		return &corev1.Toleration{Key: key, Operator: op, Value: value, Effect: effect, TolerationSeconds: secs}
	}
	cases := []struct {
		name    string
		tols    []*corev1.Toleration
		taints  []*corev1.Taint
		delay   time.Duration
		forever bool
	}{
		{"no taints", nil, nil, 0, true},
		{"untolerated", nil, []*corev1.Taint{unreach}, 0, false},
		{"tolerated 300s", []*corev1.Toleration{tol(TaintUnreachable, "Exists", "", NoExecute, seconds(300))}, []*corev1.Taint{unreach}, 300 * time.Second, false},
		{"tolerated forever", []*corev1.Toleration{tol(TaintUnreachable, "Exists", "", "", nil)}, []*corev1.Taint{unreach}, 0, true},
		{"one of two untolerated", []*corev1.Toleration{tol(TaintUnreachable, "Exists", "", NoExecute, nil)}, []*corev1.Taint{unreach, other}, 0, false},
		{"min of two", []*corev1.Toleration{tol(TaintUnreachable, "Exists", "", NoExecute, seconds(30)), tol("k", "Equal", "v", NoExecute, seconds(10))},
			[]*corev1.Taint{unreach, other}, 10 * time.Second, false},
		{"wrong value", []*corev1.Toleration{tol("k", "Equal", "w", NoExecute, nil)}, []*corev1.Taint{other}, 0, false},
		{"wildcard", []*corev1.Toleration{tol("", "Exists", "", "", nil)}, []*corev1.Taint{unreach, other}, 0, true},
		{"other effect", []*corev1.Toleration{tol("k", "Exists", "", NoSchedule, nil)}, []*corev1.Taint{other}, 0, false},
	}
	for _, tc := range cases {
		d, forever := EvictionDelay(tc.tols, tc.taints)
		if d != tc.delay || forever != tc.forever {
			t.Errorf("%s: got %v %v, want %v %v", tc.name, d, forever, tc.delay, tc.forever)
		}
	}
}

func TestAddedAt(t *testing.T) {
	stamp := time.Unix(100, 0)
	for seen, want := range map[time.Time]time.Time{
		stamp.Add(300 * time.Millisecond): stamp.Add(300 * time.Millisecond), // seen within the second: exact
		stamp.Add(5 * time.Second):        stamp.Add(time.Second),            // seen late (restart): end of the second
		stamp.Add(-time.Second):           stamp,                             // clock behind: the stamp
	} {
		if got := addedAt(stamp, seen); !got.Equal(want) {
			t.Errorf("addedAt(%v) = %v, want %v", seen, got, want)
		}
	}
}

// taintedNode is a node with these taints, spec.unschedulable and conditions, given as
// type=status pairs ("Ready=True").
func taintedNode(taints []*corev1.Taint, unschedulable bool, conds ...string) *corev1.Node {
	n := &corev1.Node{
		Metadata: &metav1.ObjectMeta{Name: "n"},
		Spec:     &corev1.NodeSpec{Taints: taints, Unschedulable: unschedulable},
		Status:   &corev1.NodeStatus{},
	}
	for _, c := range conds {
		typ, status, _ := strings.Cut(c, "=")
		n.Status.Conditions = append(n.Status.Conditions, &corev1.NodeCondition{Type: typ, Status: status})
	}
	return n
}

func TestDesiredTaints(t *testing.T) {
	now := time.Now()
	user := &corev1.Taint{Key: "dedicated", Effect: NoSchedule}
	got, changed := DesiredTaints(taintedNode([]*corev1.Taint{user}, false, "Ready=Unknown"), now)
	if !changed || len(got) != 3 || got[0] != user {
		t.Fatalf("Unknown: %v %v", got, changed)
	}
	again, changed := DesiredTaints(taintedNode(got, false, "Ready=Unknown"), now.Add(time.Minute))
	if changed || len(again) != 3 || !again[2].GetTimeAdded().AsTime().Equal(got[2].GetTimeAdded().AsTime()) {
		t.Fatalf("unchanged Unknown rewrote taints: %v", again)
	}
	notReady, changed := DesiredTaints(taintedNode(got, false, "Ready=False"), now)
	if !changed || len(notReady) != 3 || notReady[1].GetKey() != TaintNotReady {
		t.Fatalf("False: %v", notReady)
	}
	ready, changed := DesiredTaints(taintedNode(notReady, false, "Ready=True"), now)
	if !changed || len(ready) != 1 || ready[0] != user {
		t.Fatalf("True: %v", ready)
	}
	if _, changed := DesiredTaints(taintedNode(ready, false, "Ready=True"), now); changed {
		t.Fatal("True twice changed")
	}
}

// TestConditionTaints covers TaintNodesByCondition: the NoSchedule taints for pressure
// conditions, NetworkUnavailable and spec.unschedulable.
func TestConditionTaints(t *testing.T) {
	now := time.Now()
	earlier := metav1.NewTime(now.Add(-time.Hour))
	taint := func(key, effect string) *corev1.Taint {
		return &corev1.Taint{Key: key, Effect: effect, TimeAdded: earlier}
	}
	user := &corev1.Taint{Key: "dedicated", Value: "gpu", Effect: NoSchedule}
	userMem := &corev1.Taint{Key: TaintMemoryPressure, Effect: NoExecute} // not ours: other effect
	ms := func(key string) string { return key + ":" + NoSchedule }
	cases := []struct {
		name          string
		taints        []*corev1.Taint
		unschedulable bool
		conds         []string
		want          []string // key:effect, in order
		changed       bool
	}{
		{name: "healthy", conds: []string{"Ready=True", "MemoryPressure=False", "DiskPressure=False", "PIDPressure=False", "NetworkUnavailable=False"}},
		{name: "no conditions"},
		{name: "memory pressure", conds: []string{"Ready=True", "MemoryPressure=True"}, want: []string{ms(TaintMemoryPressure)}, changed: true},
		{name: "disk pressure", conds: []string{"Ready=True", "DiskPressure=True"}, want: []string{ms(TaintDiskPressure)}, changed: true},
		{name: "pid pressure", conds: []string{"Ready=True", "PIDPressure=True"}, want: []string{ms(TaintPIDPressure)}, changed: true},
		{name: "network unavailable", conds: []string{"Ready=True", "NetworkUnavailable=True"}, want: []string{ms(TaintNetworkUnavailable)}, changed: true},
		{name: "cordoned", unschedulable: true, conds: []string{"Ready=True"}, want: []string{ms(TaintUnschedulable)}, changed: true},
		{name: "all at once", unschedulable: true,
			conds: []string{"Ready=False", "NetworkUnavailable=True", "PIDPressure=True", "DiskPressure=True", "MemoryPressure=True"},
			want: []string{TaintNotReady + ":" + NoSchedule, TaintNotReady + ":" + NoExecute, ms(TaintMemoryPressure), ms(TaintDiskPressure),
				ms(TaintPIDPressure), ms(TaintNetworkUnavailable), ms(TaintUnschedulable)}, changed: true},
		{name: "pressure Unknown", conds: []string{"Ready=True", "MemoryPressure=Unknown", "DiskPressure=Unknown", "PIDPressure=Unknown", "NetworkUnavailable=Unknown"}},
		{name: "pressure Unknown removes taints", taints: []*corev1.Taint{taint(TaintMemoryPressure, NoSchedule), taint(TaintDiskPressure, NoSchedule)},
			conds: []string{"Ready=True", "MemoryPressure=Unknown", "DiskPressure=Unknown"}, changed: true},
		{name: "silent node: unreachable, pressure gone", taints: []*corev1.Taint{taint(TaintMemoryPressure, NoSchedule)},
			conds: []string{"Ready=Unknown", "MemoryPressure=Unknown"}, want: []string{TaintUnreachable + ":" + NoSchedule, TaintUnreachable + ":" + NoExecute}, changed: true},
		{name: "memory pressure clears", taints: []*corev1.Taint{taint(TaintMemoryPressure, NoSchedule)},
			conds: []string{"Ready=True", "MemoryPressure=False"}, changed: true},
		{name: "condition gone", taints: []*corev1.Taint{taint(TaintPIDPressure, NoSchedule), taint(TaintNetworkUnavailable, NoSchedule)},
			conds: []string{"Ready=True"}, changed: true},
		{name: "uncordoned", taints: []*corev1.Taint{taint(TaintUnschedulable, NoSchedule)}, conds: []string{"Ready=True"}, changed: true},
		{name: "unchanged keeps taints", taints: []*corev1.Taint{taint(TaintDiskPressure, NoSchedule), taint(TaintUnschedulable, NoSchedule)},
			unschedulable: true, conds: []string{"Ready=True", "DiskPressure=True"}, want: []string{ms(TaintDiskPressure), ms(TaintUnschedulable)}},
		{name: "user taints kept", taints: []*corev1.Taint{user, taint(TaintMemoryPressure, NoSchedule), userMem},
			conds: []string{"Ready=True", "MemoryPressure=False", "DiskPressure=True"},
			want:  []string{"dedicated:" + NoSchedule, TaintMemoryPressure + ":" + NoExecute, ms(TaintDiskPressure)}, changed: true},
		{name: "one more condition keeps the first", taints: []*corev1.Taint{taint(TaintMemoryPressure, NoSchedule)},
			conds: []string{"Ready=True", "MemoryPressure=True", "PIDPressure=True"}, want: []string{ms(TaintMemoryPressure), ms(TaintPIDPressure)}, changed: true},
		{name: "duplicate dropped", taints: []*corev1.Taint{taint(TaintMemoryPressure, NoSchedule), taint(TaintMemoryPressure, NoSchedule)},
			conds: []string{"Ready=True", "MemoryPressure=True"}, want: []string{ms(TaintMemoryPressure)}, changed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := taintedNode(tc.taints, tc.unschedulable, tc.conds...)
			before := proto.Clone(n)
			got, changed := DesiredTaints(n, now)
			if !proto.Equal(before, n) {
				t.Error("DesiredTaints modified the node")
			}
			var keys []string
			for _, tt := range got {
				keys = append(keys, tt.GetKey()+":"+tt.GetEffect())
			}
			if strings.Join(keys, ",") != strings.Join(tc.want, ",") || changed != tc.changed {
				t.Fatalf("got %v changed=%v, want %v changed=%v", keys, changed, tc.want, tc.changed)
			}
			// A taint that was there keeps its object and timeAdded; a new one is added now.
			old := map[string]*corev1.Taint{}
			for _, tt := range tc.taints {
				if k := tt.GetKey() + ":" + tt.GetEffect(); old[k] == nil {
					old[k] = tt
				}
			}
			for _, tt := range got {
				if o := old[tt.GetKey()+":"+tt.GetEffect()]; o != nil {
					if tt != o {
						t.Errorf("%s:%s replaced", tt.GetKey(), tt.GetEffect())
					}
				} else if !tt.GetTimeAdded().AsTime().Equal(metav1.NewTime(now).AsTime()) {
					t.Errorf("new %s:%s timeAdded %v, want now", tt.GetKey(), tt.GetEffect(), tt.GetTimeAdded())
				}
			}
			// Applying the result is stable.
			n.Spec.Taints = got
			if again, changed := DesiredTaints(n, now.Add(time.Minute)); changed || len(again) != len(got) {
				t.Errorf("second pass changed: %v", again)
			}
		})
	}
}

// TestConditionTaintsFollowNodeUpdates runs the controller against an apiserver: a Ready
// node whose kubelet reports MemoryPressure=True gains the memory-pressure taint and
// loses it when the condition goes back to False; a cordon adds the unschedulable taint.
// The monitor period is an hour, so the node updates themselves must start the passes.
func TestConditionTaintsFollowNodeUpdates(t *testing.T) {
	s := apiservertest.Start(t)
	cs := s.Client
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	node := readyNode("pressured")
	node.Spec = &corev1.NodeSpec{Taints: []*corev1.Taint{{Key: "dedicated", Value: "x", Effect: NoSchedule}}}
	node.Status.Conditions = append(node.Status.Conditions,
		&corev1.NodeCondition{Type: "MemoryPressure", Status: "False", Reason: "KubeletHasSufficientMemory"})
	if _, err := cs.Nodes().Create(ctx, node); err != nil {
		t.Fatal(err)
	}
	f := informer.NewFactory(cs, 0)
	c, err := New(&controller.Context{Client: cs, Informers: f,
		Config: controller.Config{NodeMonitorGracePeriod: time.Hour, NodeMonitorPeriod: time.Hour, NodeStartupGracePeriod: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx)
	go c.Run(ctx, 1)

	// change applies mutate to the node (status or spec), retrying on conflicts with
	// the controller's writes.
	change := func(status bool, mutate func(*corev1.Node)) {
		t.Helper()
		eventually(t, 5*time.Second, "node update", func() (bool, string) {
			n, err := cs.Nodes().Get(ctx, "pressured")
			if err != nil {
				return false, err.Error()
			}
			mutate(n)
			if status {
				_, err = cs.Nodes().UpdateStatus(ctx, n)
			} else {
				_, err = cs.Nodes().Update(ctx, n)
			}
			if err != nil {
				return false, err.Error()
			}
			return true, ""
		})
	}
	setMemoryPressure := func(status string) {
		change(true, func(n *corev1.Node) {
			for _, cond := range n.Status.Conditions {
				if cond.GetType() == "MemoryPressure" {
					cond.Status, cond.LastTransitionTime = status, metav1.Now()
				}
			}
			readyCondition(n).LastHeartbeatTime = metav1.Now()
		})
	}
	waitTaints := func(what, want string) {
		t.Helper()
		eventually(t, 5*time.Second, what, func() (bool, string) {
			n, err := cs.Nodes().Get(ctx, "pressured")
			if err != nil {
				return false, err.Error()
			}
			got := taintSummary(n)
			if readyCondition(n).GetStatus() != "True" {
				return false, "Ready " + readyCondition(n).GetStatus()
			}
			return got == want, got
		})
	}

	setMemoryPressure("True")
	waitTaints("memory-pressure taint", "dedicated:NoSchedule,"+TaintMemoryPressure+":NoSchedule")
	setMemoryPressure("False")
	waitTaints("memory-pressure taint removed", "dedicated:NoSchedule")

	change(false, func(n *corev1.Node) { n.Spec.Unschedulable = true })
	waitTaints("unschedulable taint", "dedicated:NoSchedule,"+TaintUnschedulable+":NoSchedule")
	change(false, func(n *corev1.Node) { n.Spec.Unschedulable = false })
	waitTaints("unschedulable taint removed", "dedicated:NoSchedule")
}
