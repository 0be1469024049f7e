package status

import (
	"testing"
	"time"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"

	"kube5/kubelet/internal/runtime"
)

func TestPhaseAndConditions(t *testing.T) {
	now := time.Now()
	running := func(attempt int) *runtime.Container {
		return &runtime.Container{ID: "r", State: runtime.StateRunning, Attempt: attempt, StartedAt: now, ImageID: "sha256:x"}
	}
	exited := func(code int) *runtime.Container {
		return &runtime.Container{ID: "e", State: runtime.StateExited, ExitCode: code, StartedAt: now, FinishedAt: now, Reason: "Error"}
	}
	sandbox := &runtime.Container{ID: "s", State: runtime.StateRunning, IP: "10.244.1.5"}
	for _, tc := range []struct {
		name      string
		policy    string
		instances map[string][]*runtime.Container
		waiting   map[string]Waiting
		ready     bool
		phase     string
		podReady  string
	}{
		{"creating", "Always", nil, nil, true, "Pending", "False"},
		{"running", "Always", map[string][]*runtime.Container{"a": {running(0)}, "b": {running(1), exited(1)}}, nil, true, "Running", "True"},
		{"running not ready", "Always", map[string][]*runtime.Container{"a": {running(0)}, "b": {running(0)}}, nil, false, "Running", "False"},
		{"crashloop", "Always", map[string][]*runtime.Container{"a": {running(0)}, "b": {exited(1)}}, map[string]Waiting{"b": {Reason: "CrashLoopBackOff"}}, true, "Running", "False"},
		{"one waits for its image", "Always", map[string][]*runtime.Container{"a": {running(0)}}, map[string]Waiting{"b": {Reason: "ErrImagePull"}}, true, "Pending", "False"},
		{"never failed", "Never", map[string][]*runtime.Container{"a": {exited(0)}, "b": {exited(2)}}, nil, true, "Failed", "False"},
		{"never succeeded", "Never", map[string][]*runtime.Container{"a": {exited(0)}, "b": {exited(0)}}, nil, true, "Succeeded", "False"},
		{"onfailure restarting", "OnFailure", map[string][]*runtime.Container{"a": {exited(0)}, "b": {exited(1)}}, nil, true, "Running", "False"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p"}, Spec: &corev1.PodSpec{RestartPolicy: tc.policy,
				Containers: []*corev1.Container{{Name: "a", Image: "i:1"}, {Name: "b", Image: "i:1"}}}}
			st := Compute(Input{Pod: pod, Sandbox: sandbox, Instances: tc.instances, Waiting: tc.waiting, HostIP: "192.0.2.1", Now: now,
				Ready: func(string) bool { return tc.ready }})
			if st.GetPhase() != tc.phase {
				t.Errorf("phase %s, want %s", st.GetPhase(), tc.phase)
			}
			for _, c := range st.GetConditions() {
				if c.GetType() == "Ready" && c.GetStatus() != tc.podReady {
					t.Errorf("Ready %s, want %s (%s)", c.GetStatus(), tc.podReady, c.GetMessage())
				}
			}
			if st.GetPodIp() != "10.244.1.5" || st.GetHostIp() != "192.0.2.1" || len(st.GetContainerStatuses()) != 2 {
				t.Errorf("status %v", st)
			}
			// Computing again from the result keeps every time: an equal status.
			pod.Status = st
			again := Compute(Input{Pod: pod, Sandbox: sandbox, Instances: tc.instances, Waiting: tc.waiting, HostIP: "192.0.2.1", Now: now.Add(time.Minute),
				Ready: func(string) bool { return tc.ready }})
			if !Equal(st, again) {
				t.Errorf("recomputed status differs:\n%v\n%v", st, again)
			}
		})
	}
	// A crash-looping container: waiting, lastState terminated, restartCount from the attempt.
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p"}, Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "a", Image: "i:1"}}}}
	c := exited(3)
	c.Attempt = 4
	st := Compute(Input{Pod: pod, Sandbox: sandbox, Instances: map[string][]*runtime.Container{"a": {c}}, Waiting: map[string]Waiting{"a": {Reason: "CrashLoopBackOff"}}, Now: now})
	cs := st.GetContainerStatuses()[0]
	if cs.GetState().GetWaiting().GetReason() != "CrashLoopBackOff" || cs.GetLastState().GetTerminated().GetExitCode() != 3 || cs.GetRestartCount() != 4 || cs.GetContainerId() != "docker://e" {
		t.Fatalf("%v", cs)
	}
}

// TestHostNetworkPodIP: a host-network pod's IP is the node's (its sandbox, on the host's
// network, has no address of its own), as upstream reports it.
func TestHostNetworkPodIP(t *testing.T) {
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "h"}, Spec: &corev1.PodSpec{HostNetwork: true,
		Containers: []*corev1.Container{{Name: "a", Image: "i:1"}}}}
	sandbox := &runtime.Container{ID: "s", State: runtime.StateRunning} // no IP: host network
	st := Compute(Input{Pod: pod, Sandbox: sandbox, HostIP: "192.0.2.1", Now: time.Now()})
	if st.GetPodIp() != "192.0.2.1" || len(st.GetPodIps()) != 1 || st.GetPodIps()[0].GetIp() != "192.0.2.1" {
		t.Fatalf("host-network pod: podIP %q podIPs %v, want the node's 192.0.2.1", st.GetPodIp(), st.GetPodIps())
	}
	if st := Compute(Input{Pod: pod, HostIP: "192.0.2.1", Now: time.Now()}); st.GetPodIp() != "" {
		t.Fatalf("host-network pod without a sandbox yet: podIP %q, want none", st.GetPodIp())
	}
}
