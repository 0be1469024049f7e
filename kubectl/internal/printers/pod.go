package printers

import (
	"fmt"
	"time"

	u "kube5/kubectl/internal/unstructured"
)

// PodStatus computes the STATUS column the way upstream's printPod does: the phase,
// overridden by the pod's reason, by the first unfinished init container (Init:N/M,
// Init:Reason), by a container's waiting or terminated reason (ContainerCreating,
// CrashLoopBackOff, ErrImagePull, Completed, Error, ExitCode:N), and by Terminating
// once a deletion timestamp is set.
func PodStatus(pod map[string]any) (reason string, ready, total, restarts int, lastRestart time.Time) {
	total = len(u.Slice(pod, "spec", "containers"))
	reason = u.String(pod, "status", "phase")
	if r := u.String(pod, "status", "reason"); r != "" {
		reason = r
	}
	initContainers := len(u.Slice(pod, "spec", "initContainers"))
	initializing := false
	for i, c := range u.Maps(pod, "status", "initContainerStatuses") {
		restarts += int(u.Int(c, "restartCount"))
		noteRestart(c, &lastRestart)
		term := u.Map(c, "state", "terminated")
		waiting := u.Map(c, "state", "waiting")
		switch {
		case term != nil && u.Int(term, "exitCode") == 0:
			continue
		case term != nil:
			switch {
			case u.String(term, "reason") != "":
				reason = "Init:" + u.String(term, "reason")
			case u.Int(term, "signal") != 0:
				reason = fmt.Sprintf("Init:Signal:%d", u.Int(term, "signal"))
			default:
				reason = fmt.Sprintf("Init:ExitCode:%d", u.Int(term, "exitCode"))
			}
			initializing = true
		case waiting != nil && u.String(waiting, "reason") != "" && u.String(waiting, "reason") != "PodInitializing":
			reason = "Init:" + u.String(waiting, "reason")
			initializing = true
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, initContainers)
			initializing = true
		}
		break
	}
	if !initializing || conditionTrue(pod, "Initialized") {
		restarts = 0
		hasRunning := false
		statuses := u.Maps(pod, "status", "containerStatuses")
		for i := len(statuses) - 1; i >= 0; i-- {
			c := statuses[i]
			restarts += int(u.Int(c, "restartCount"))
			noteRestart(c, &lastRestart)
			term := u.Map(c, "state", "terminated")
			waiting := u.Map(c, "state", "waiting")
			switch {
			case waiting != nil && u.String(waiting, "reason") != "":
				reason = u.String(waiting, "reason")
			case term != nil && u.String(term, "reason") != "":
				reason = u.String(term, "reason")
			case term != nil:
				if sig := u.Int(term, "signal"); sig != 0 {
					reason = fmt.Sprintf("Signal:%d", sig)
				} else {
					reason = fmt.Sprintf("ExitCode:%d", u.Int(term, "exitCode"))
				}
			case u.Bool(c, "ready") && u.Map(c, "state", "running") != nil:
				hasRunning = true
				ready++
			}
		}
		// A pod whose last container completed while another still runs is Running
		// (or NotReady), not Completed.
		if reason == "Completed" && hasRunning {
			if conditionTrue(pod, "Ready") {
				reason = "Running"
			} else {
				reason = "NotReady"
			}
		}
	}
	if u.String(pod, "metadata", "deletionTimestamp") != "" {
		if u.String(pod, "status", "reason") == "NodeLost" {
			reason = "Unknown"
		} else {
			reason = "Terminating"
		}
	}
	return reason, ready, total, restarts, lastRestart
}

func noteRestart(c map[string]any, last *time.Time) {
	if t := u.Time(c, "lastState", "terminated", "finishedAt"); !t.IsZero() && t.After(*last) {
		*last = t
	}
}

func conditionTrue(obj map[string]any, typ string) bool {
	for _, c := range u.Maps(obj, "status", "conditions") {
		if u.String(c, "type") == typ {
			return u.String(c, "status") == "True"
		}
	}
	return false
}

func podRow(pod map[string]any, wide bool) []string {
	reason, ready, total, restarts, last := PodStatus(pod)
	restartStr := fmt.Sprint(restarts)
	if restarts > 0 && !last.IsZero() {
		restartStr = fmt.Sprintf("%d (%s ago)", restarts, Age(last))
	}
	row := []string{fmt.Sprintf("%d/%d", ready, total), reason, restartStr, age(pod)}
	if wide {
		gates := "<none>"
		if g := u.Maps(pod, "spec", "readinessGates"); len(g) > 0 {
			gates = fmt.Sprintf("%d/%d", 0, len(g))
		}
		row = append(row, none(u.String(pod, "status", "podIP")), none(u.String(pod, "spec", "nodeName")),
			none(u.String(pod, "status", "nominatedNodeName")), gates)
	}
	return row
}
