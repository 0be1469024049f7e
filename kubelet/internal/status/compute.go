// Package status computes a pod's status from what the runtime reports and what the pod
// worker knows (waiting reasons, probe results), as upstream's kubelet does, and sends it
// to the apiserver's status subresource only when it changed.
package status

import (
	"sort"
	"time"

	"google.golang.org/protobuf/proto"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"

	"kube5/kubelet/internal/runtime"
)

// Waiting is why a container is not running (CrashLoopBackOff, ErrImagePull, ...).
type Waiting struct{ Reason, Message string }

// Input is everything the status is computed from.
type Input struct {
	Pod *corev1.Pod
	// Sandbox is the pod's running pause container (nil when none runs).
	Sandbox *runtime.Container
	// Instances maps a container name to its runtime containers, newest first.
	Instances map[string][]*runtime.Container
	// Waiting maps a container name to why it waits, when the worker knows.
	Waiting map[string]Waiting
	// Ready and Started report probe results by container ID (nil: no probes).
	Ready, Started func(id string) bool
	HostIP         string
	RuntimeType    string // "docker": IDs are docker://<id>
	Now            time.Time
	// Terminated: the pod is done (deleted, or finished and will not restart).
	Terminated bool
	// Failure: the kubelet failed the pod itself (evicted, past its activeDeadlineSeconds,
	// rejected at admission): phase Failed with this reason and message.
	Failure *Failure
}

// Failure is why the kubelet failed a pod, as upstream reports it: Reason "Evicted" or
// "DeadlineExceeded"; Disruption adds the DisruptionTarget condition (reason
// TerminationByKubelet) that upstream sets on pods the kubelet evicts.
type Failure struct {
	Reason, Message string
	Disruption      bool
}

// Compute returns the pod's new status. It keeps the old status's transition times and
// startTime where nothing changed, so an unchanged pod computes an equal status.
func Compute(in Input) *corev1.PodStatus {
	pod := in.Pod
	old := pod.GetStatus()
	st := &corev1.PodStatus{
		HostIp:            in.HostIP,
		StartTime:         old.GetStartTime(),
		QosClass:          old.GetQosClass(),
		NominatedNodeName: old.GetNominatedNodeName(),
	}
	if in.HostIP != "" {
		st.HostIps = []*corev1.HostIP{{Ip: in.HostIP}}
	}
	if st.StartTime == nil {
		st.StartTime = metav1.NewTime(in.Now)
	}
	if in.Sandbox != nil && (in.Sandbox.IP != "" || pod.GetSpec().GetHostNetwork()) {
		// A stopped sandbox is passed with the IP it had, for a pod that just finished.
		// A host-network sandbox has no address of its own (Docker reports none): the
		// pod's IP is the node's, as upstream reports it.
		ip := in.Sandbox.IP
		if pod.GetSpec().GetHostNetwork() {
			ip = in.HostIP
		}
		if ip != "" {
			st.PodIp, st.PodIps = ip, []*corev1.PodIP{{Ip: ip}}
		}
	} else if old.GetPodIp() != "" {
		// A stopped pod keeps the IP it had, as upstream reports it until deletion.
		st.PodIp, st.PodIps = old.GetPodIp(), old.GetPodIps()
	}
	initialized, initFailed := true, false
	for _, c := range pod.GetSpec().GetInitContainers() {
		cs := containerStatus(in, c)
		term := cs.GetState().GetTerminated()
		cs.Ready = term != nil && term.GetExitCode() == 0
		if !cs.Ready {
			initialized = false
		}
		if term != nil && term.GetExitCode() != 0 && pod.GetSpec().GetRestartPolicy() == "Never" {
			initFailed = true
		}
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
	}
	allReady := true
	for _, c := range pod.GetSpec().GetContainers() {
		cs := containerStatus(in, c)
		if !cs.GetReady() {
			allReady = false
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	st.Phase = phase(pod, st.ContainerStatuses)
	for _, cs := range st.ContainerStatuses {
		if cs.GetState().GetWaiting() == nil || cs.GetLastState().GetTerminated() != nil {
			initialized = true // app containers ran: past initialization
		}
	}
	if initFailed {
		st.Phase = "Failed"
	}
	if in.Failure != nil {
		st.Phase = "Failed"
	}
	if p := old.GetPhase(); p == "Succeeded" || p == "Failed" {
		st.Phase = p // terminal phases never change
	}
	if st.Phase == "Succeeded" || st.Phase == "Failed" || in.Terminated {
		allReady = false
		for _, cs := range st.ContainerStatuses {
			cs.Ready = false
		}
	}
	boolStr := func(b bool) string {
		if b {
			return "True"
		}
		return "False"
	}
	conds := []*corev1.PodCondition{
		{Type: "Initialized", Status: boolStr(initialized)},
		{Type: "Ready", Status: boolStr(allReady)},
		{Type: "ContainersReady", Status: boolStr(allReady)},
		{Type: "PodScheduled", Status: "True"},
	}
	for _, c := range conds {
		if c.Type == "Initialized" && !initialized {
			c.Reason = "ContainersNotInitialized"
			var names []string
			for _, cs := range st.InitContainerStatuses {
				if !cs.GetReady() {
					names = append(names, cs.GetName())
				}
			}
			c.Message = "containers with incomplete status: " + bracket(names)
		}
		if !allReady && (c.Type == "Ready" || c.Type == "ContainersReady") {
			c.Reason = "ContainersNotReady"
			var names []string
			for _, cs := range st.ContainerStatuses {
				if !cs.GetReady() {
					names = append(names, cs.GetName())
				}
			}
			sort.Strings(names)
			c.Message = "containers with unready status: " + bracket(names)
			if st.Phase == "Succeeded" || st.Phase == "Failed" {
				c.Reason, c.Message = "PodCompleted", ""
			}
		}
		c.LastTransitionTime = metav1.NewTime(in.Now)
		for _, o := range old.GetConditions() {
			if o.GetType() == c.Type && o.GetStatus() == c.Status {
				c.LastTransitionTime = o.GetLastTransitionTime()
				if o.GetType() == "PodScheduled" {
					c.Reason, c.Message = o.GetReason(), o.GetMessage()
				}
			}
		}
	}
	st.Message, st.Reason = old.GetMessage(), old.GetReason()
	disruption := false // kept once set: the pod's final status says why it ended
	for _, o := range old.GetConditions() {
		if o.GetType() == "DisruptionTarget" {
			conds, disruption = append(conds, o), true
		}
	}
	if f := in.Failure; f != nil && old.GetPhase() != "Succeeded" && old.GetPhase() != "Failed" {
		st.Reason, st.Message = f.Reason, f.Message
		if f.Disruption && !disruption {
			conds = append(conds, &corev1.PodCondition{Type: "DisruptionTarget", Status: "True", Reason: "TerminationByKubelet",
				Message: f.Message, LastTransitionTime: metav1.NewTime(in.Now)})
		}
	}
	st.Conditions = conds
	return st
}

func bracket(names []string) string {
	s := "["
	for i, n := range names {
		if i > 0 {
			s += " "
		}
		s += n
	}
	return s + "]"
}

func (in Input) id(c *runtime.Container) string {
	t := in.RuntimeType
	if t == "" {
		t = "docker"
	}
	return t + "://" + c.ID
}

func (in Input) terminated(c *runtime.Container) *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{
		ExitCode: int32(c.ExitCode), Reason: c.Reason, Message: c.Message,
		StartedAt: timeOrNil(c.StartedAt), FinishedAt: timeOrNil(c.FinishedAt), ContainerId: in.id(c),
	}
}

func timeOrNil(t time.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	return metav1.NewTime(t)
}

func containerStatus(in Input, c *corev1.Container) *corev1.ContainerStatus {
	cs := &corev1.ContainerStatus{Name: c.GetName(), Image: c.GetImage(), State: &corev1.ContainerState{}}
	insts := in.Instances[c.GetName()]
	var cur, prev *runtime.Container
	if len(insts) > 0 {
		cur = insts[0]
	}
	if len(insts) > 1 {
		prev = insts[1]
	}
	started := false
	cs.Started = &started
	w, waiting := in.Waiting[c.GetName()]
	switch {
	case cur == nil:
		if !waiting {
			w = Waiting{Reason: "ContainerCreating"}
		}
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}
		// The old status's restart count survives containers the kubelet lost (GC).
		for _, o := range in.Pod.GetStatus().GetContainerStatuses() {
			if o.GetName() == c.GetName() {
				cs.RestartCount, cs.LastState = o.GetRestartCount(), o.GetLastState()
			}
		}
		return cs
	case cur.State == runtime.StateRunning:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: timeOrNil(cur.StartedAt)}
		started = in.Started == nil || in.Started(cur.ID)
		cs.Ready = started && (in.Ready == nil || in.Ready(cur.ID))
		if prev != nil && prev.State == runtime.StateExited {
			cs.LastState = &corev1.ContainerState{Terminated: in.terminated(prev)}
		}
	case cur.State == runtime.StateExited:
		if waiting {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}
			cs.LastState = &corev1.ContainerState{Terminated: in.terminated(cur)}
		} else {
			cs.State.Terminated = in.terminated(cur)
			if prev != nil && prev.State == runtime.StateExited {
				cs.LastState = &corev1.ContainerState{Terminated: in.terminated(prev)}
			}
		}
	default: // created, not started yet
		if !waiting {
			w = Waiting{Reason: "ContainerCreating"}
		}
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}
	}
	cs.ContainerId = in.id(cur)
	cs.RestartCount = int32(cur.Attempt)
	if cur.ImageID != "" {
		cs.ImageId = in.RuntimeTypeOr() + "://" + cur.ImageID
	}
	if cs.LastState == nil {
		cs.LastState = &corev1.ContainerState{}
	}
	return cs
}

// RuntimeTypeOr is the runtime type, docker by default.
func (in Input) RuntimeTypeOr() string {
	if in.RuntimeType == "" {
		return "docker"
	}
	return in.RuntimeType
}

// phase is upstream's getPhase: Pending while a container has never started, Running
// while one runs or will restart, then Succeeded or Failed.
func phase(pod *corev1.Pod, statuses []*corev1.ContainerStatus) string {
	var waiting, running, stopped, succeeded int
	for _, cs := range statuses {
		switch {
		case cs.GetState().GetRunning() != nil:
			running++
		case cs.GetState().GetTerminated() != nil:
			stopped++
			if cs.GetState().GetTerminated().GetExitCode() == 0 {
				succeeded++
			}
		case cs.GetLastState().GetTerminated() != nil:
			stopped++
			if cs.GetLastState().GetTerminated().GetExitCode() == 0 {
				succeeded++
			}
		default:
			waiting++
		}
	}
	policy := pod.GetSpec().GetRestartPolicy()
	switch {
	case waiting > 0:
		return "Pending"
	case running > 0:
		return "Running"
	case stopped > 0:
		if policy == "Always" || policy == "" {
			return "Running"
		}
		if stopped == succeeded {
			return "Succeeded"
		}
		if policy == "Never" {
			return "Failed"
		}
		return "Running"
	}
	return "Pending"
}

// Equal says whether two statuses are the same (what decides whether to send one).
func Equal(a, b *corev1.PodStatus) bool { return proto.Equal(a, b) }
