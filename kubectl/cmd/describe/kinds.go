package describe

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"kube5/kubectl/internal/printers"
	"kube5/kubectl/internal/resource"
	u "kube5/kubectl/internal/unstructured"
	"kube5/proto/client"
	"kube5/proto/scheme"
)

func describePod(w writer, pod map[string]any) {
	w.meta(pod, true)
	prio := "0"
	if v, ok := u.Nested(pod, "spec", "priority"); ok {
		prio = u.Scalar(v)
	}
	w.line(0, "Priority:\t%s", prio)
	if pc := u.String(pod, "spec", "priorityClassName"); pc != "" {
		w.line(0, "Priority Class Name:\t%s", pc)
	}
	w.line(0, "Service Account:\t%s", u.String(pod, "spec", "serviceAccountName"))
	node := u.String(pod, "spec", "nodeName")
	if node == "" {
		w.line(0, "Node:\t<none>")
	} else {
		w.line(0, "Node:\t%s/%s", node, u.String(pod, "status", "hostIP"))
	}
	if st := u.Time(pod, "status", "startTime"); !st.IsZero() {
		w.line(0, "Start Time:\t%s", timestamp(st))
	}
	w.labelsAnnotations(pod)
	if dt := u.Time(pod, "metadata", "deletionTimestamp"); !dt.IsZero() {
		w.line(0, "Status:\tTerminating (lasts %s)", printers.Age(dt))
		w.line(0, "Termination Grace Period:\t%ds", u.Int(pod, "metadata", "deletionGracePeriodSeconds"))
	} else {
		w.line(0, "Status:\t%s", u.String(pod, "status", "phase"))
	}
	if r := u.String(pod, "status", "reason"); r != "" {
		w.line(0, "Reason:\t%s", r)
	}
	if m := u.String(pod, "status", "message"); m != "" {
		w.line(0, "Message:\t%s", m)
	}
	w.line(0, "IP:\t%s", u.String(pod, "status", "podIP"))
	if ips := u.Maps(pod, "status", "podIPs"); len(ips) > 0 {
		w.line(0, "IPs:")
		for _, ip := range ips {
			w.line(1, "IP:\t%s", u.String(ip, "ip"))
		}
	} else {
		w.line(0, "IPs:\t<none>")
	}
	if c := controlledBy(pod); c != "" {
		w.line(0, "Controlled By:\t%s", c)
	}
	statuses := map[string]map[string]any{}
	for _, cs := range append(u.Maps(pod, "status", "initContainerStatuses"), u.Maps(pod, "status", "containerStatuses")...) {
		statuses[u.String(cs, "name")] = cs
	}
	if ic := u.Maps(pod, "spec", "initContainers"); len(ic) > 0 {
		w.line(0, "Init Containers:")
		w.containers(1, ic, statuses)
	}
	w.line(0, "Containers:")
	w.containers(1, u.Maps(pod, "spec", "containers"), statuses)
	if conds := u.Maps(pod, "status", "conditions"); len(conds) > 0 {
		w.line(0, "Conditions:")
		w.line(1, "Type\tStatus")
		for _, c := range conds {
			w.line(1, "%s \t%s ", u.String(c, "type"), u.String(c, "status"))
		}
	}
	w.volumes(u.Maps(pod, "spec", "volumes"))
	qos := u.String(pod, "status", "qosClass")
	w.line(0, "QoS Class:\t%s", orNone(qos))
	w.stringMap(0, "Node-Selectors", u.StringMap(pod, "spec", "nodeSelector"))
	var tols []string
	for _, t := range u.Maps(pod, "spec", "tolerations") {
		s := u.String(t, "key")
		if v := u.String(t, "value"); v != "" {
			s += "=" + v
		} else if u.String(t, "operator") == "Exists" && s != "" {
			s += ""
		}
		if e := u.String(t, "effect"); e != "" {
			s += ":" + e
		}
		if u.String(t, "operator") == "Exists" && u.String(t, "key") == "" {
			s = "op=Exists"
		} else if u.String(t, "operator") == "Exists" {
			s += " op=Exists"
		}
		if secs, ok := u.Nested(t, "tolerationSeconds"); ok {
			s += fmt.Sprintf(" for %ss", u.Scalar(secs))
		}
		tols = append(tols, s)
	}
	if len(tols) == 0 {
		w.line(0, "Tolerations:\t<none>")
	} else {
		for i, t := range tols {
			if i == 0 {
				w.line(0, "Tolerations:\t%s", t)
			} else {
				w.line(0, "\t%s", t)
			}
		}
	}
}

func (w writer) volumes(vols []map[string]any) {
	if len(vols) == 0 {
		w.line(0, "Volumes:\t<none>")
		return
	}
	w.line(0, "Volumes:")
	for _, v := range vols {
		w.line(1, "%s:", u.String(v, "name"))
		for _, k := range sortedKeys(v) {
			if k == "name" {
				continue
			}
			src := u.Map(v, k)
			w.line(2, "Type:\t%s", k)
			for _, sk := range sortedKeys(src) {
				w.line(2, "%s:\t%s", strings.ToUpper(sk[:1])+sk[1:], u.Scalar(src[sk]))
			}
		}
	}
}

// containers writes the containers of a pod (with their statuses) or a template.
func (w writer) containers(base int, ctrs []map[string]any, statuses map[string]map[string]any) {
	for _, c := range ctrs {
		name := u.String(c, "name")
		w.line(base, "%s:", name)
		st := statuses[name]
		if st != nil {
			w.line(base+1, "Container ID:\t%s", u.String(st, "containerID"))
		}
		w.line(base+1, "Image:\t%s", u.String(c, "image"))
		if st != nil {
			w.line(base+1, "Image ID:\t%s", u.String(st, "imageID"))
		}
		ports := u.Maps(c, "ports")
		if len(ports) == 0 {
			w.line(base+1, "Port:\t<none>")
			w.line(base+1, "Host Port:\t<none>")
		} else {
			var ps, hs []string
			for _, p := range ports {
				proto := u.String(p, "protocol")
				if proto == "" {
					proto = "TCP"
				}
				ps = append(ps, fmt.Sprintf("%d/%s", u.Int(p, "containerPort"), proto))
				hs = append(hs, fmt.Sprintf("%d/%s", u.Int(p, "hostPort"), proto))
			}
			w.line(base+1, "Port:\t%s", strings.Join(ps, ", "))
			w.line(base+1, "Host Port:\t%s", strings.Join(hs, ", "))
		}
		if cmd := u.Slice(c, "command"); len(cmd) > 0 {
			w.line(base+1, "Command:")
			for _, a := range cmd {
				w.line(base+2, "%s", u.Scalar(a))
			}
		}
		if args := u.Slice(c, "args"); len(args) > 0 {
			w.line(base+1, "Args:")
			for _, a := range args {
				w.line(base+2, "%s", u.Scalar(a))
			}
		}
		if st != nil {
			w.state(base+1, "State", u.Map(st, "state"))
			if ls := u.Map(st, "lastState"); len(ls) > 0 {
				w.state(base+1, "Last State", ls)
			}
			w.line(base+1, "Ready:\t%s", boolTitle(u.Bool(st, "ready")))
			w.line(base+1, "Restart Count:\t%d", u.Int(st, "restartCount"))
		}
		for _, kind := range []string{"limits", "requests"} {
			if r := u.StringMap(c, "resources", kind); len(r) > 0 {
				w.line(base+1, "%s:", strings.ToUpper(kind[:1])+kind[1:])
				for _, k := range sortedStrings(r) {
					w.line(base+2, "%s:\t%s", k, r[k])
				}
			}
		}
		env := u.Maps(c, "env")
		if len(env) == 0 {
			w.line(base+1, "Environment:\t<none>")
		} else {
			w.line(base+1, "Environment:")
			for _, e := range env {
				if vf := u.Map(e, "valueFrom"); vf != nil {
					w.line(base+2, "%s:\t<set from %s>", u.String(e, "name"), strings.Join(sortedKeys(vf), ","))
				} else {
					w.line(base+2, "%s:\t%s", u.String(e, "name"), u.String(e, "value"))
				}
			}
		}
		mounts := u.Maps(c, "volumeMounts")
		if len(mounts) == 0 {
			w.line(base+1, "Mounts:\t<none>")
		} else {
			w.line(base+1, "Mounts:")
			for _, m := range mounts {
				mode := "rw"
				if u.Bool(m, "readOnly") {
					mode = "ro"
				}
				w.line(base+2, "%s from %s (%s)", u.String(m, "mountPath"), u.String(m, "name"), mode)
			}
		}
	}
}

func sortedStrings(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func boolTitle(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func (w writer) state(level int, title string, st map[string]any) {
	switch {
	case u.Map(st, "running") != nil:
		w.line(level, "%s:\tRunning", title)
		w.line(level+1, "Started:\t%s", timestamp(u.Time(st, "running", "startedAt")))
	case u.Map(st, "waiting") != nil:
		w.line(level, "%s:\tWaiting", title)
		if r := u.String(st, "waiting", "reason"); r != "" {
			w.line(level+1, "Reason:\t%s", r)
		}
		if m := u.String(st, "waiting", "message"); m != "" {
			w.line(level+1, "Message:\t%s", m)
		}
	case u.Map(st, "terminated") != nil:
		t := u.Map(st, "terminated")
		w.line(level, "%s:\tTerminated", title)
		if r := u.String(t, "reason"); r != "" {
			w.line(level+1, "Reason:\t%s", r)
		}
		if m := u.String(t, "message"); m != "" {
			w.line(level+1, "Message:\t%s", m)
		}
		w.line(level+1, "Exit Code:\t%d", u.Int(t, "exitCode"))
		if sig := u.Int(t, "signal"); sig != 0 {
			w.line(level+1, "Signal:\t%d", sig)
		}
		w.line(level+1, "Started:\t%s", timestamp(u.Time(t, "startedAt")))
		w.line(level+1, "Finished:\t%s", timestamp(u.Time(t, "finishedAt")))
	default:
		w.line(level, "%s:\tWaiting", title)
	}
}

// podTemplate writes a "Pod Template:" section.
func (w writer) podTemplate(tmpl map[string]any) {
	w.line(0, "Pod Template:")
	w.line(1, "Labels:\t%s", strings.ReplaceAll(selectorOf(u.StringMap(tmpl, "metadata", "labels")), ",", "\n\t"))
	if sa := u.String(tmpl, "spec", "serviceAccountName"); sa != "" {
		w.line(1, "Service Account:\t%s", sa)
	}
	if ic := u.Maps(tmpl, "spec", "initContainers"); len(ic) > 0 {
		w.line(1, "Init Containers:")
		w.containers(2, ic, nil)
	}
	w.line(1, "Containers:")
	w.containers(2, u.Maps(tmpl, "spec", "containers"), nil)
	vols := u.Maps(tmpl, "spec", "volumes")
	if len(vols) == 0 {
		w.line(1, "Volumes:\t<none>")
	} else {
		w.line(1, "Volumes:")
		for _, v := range vols {
			w.line(2, "%s:", u.String(v, "name"))
		}
	}
	w.stringMap(1, "Node-Selectors", u.StringMap(tmpl, "spec", "nodeSelector"))
	w.line(1, "Tolerations:\t%s", orNone(func() string {
		var t []string
		for _, x := range u.Maps(tmpl, "spec", "tolerations") {
			t = append(t, u.String(x, "key"))
		}
		return strings.Join(t, ",")
	}()))
}

func selectorOf(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	var parts []string
	for _, k := range sortedStrings(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// labelSelectorString is upstream's metav1.FormatLabelSelector: the requirements sorted
// by key, "k=v", "k in (a,b)", "k notin (a)", "k" (exists), "!k" (does not exist).
func labelSelectorString(sel map[string]any) string {
	type req struct{ key, text string }
	var reqs []req
	for k, v := range u.StringMap(sel, "matchLabels") {
		reqs = append(reqs, req{k, k + "=" + v})
	}
	for _, e := range u.Maps(sel, "matchExpressions") {
		key := u.String(e, "key")
		var vals []string
		for _, v := range u.Slice(e, "values") {
			vals = append(vals, u.Scalar(v))
		}
		sort.Strings(vals)
		var text string
		switch op := u.String(e, "operator"); op {
		case "Exists":
			text = key
		case "DoesNotExist":
			text = "!" + key
		default:
			text = fmt.Sprintf("%s %s (%s)", key, strings.ToLower(op), strings.Join(vals, ","))
		}
		reqs = append(reqs, req{key, text})
	}
	if len(reqs) == 0 {
		return "<none>"
	}
	sort.SliceStable(reqs, func(i, j int) bool {
		if reqs[i].key != reqs[j].key {
			return reqs[i].key < reqs[j].key
		}
		return reqs[i].text < reqs[j].text
	})
	parts := make([]string, len(reqs))
	for i, r := range reqs {
		parts[i] = r.text
	}
	return strings.Join(parts, ",")
}

func describeNode(ctx context.Context, cs *client.Clientset, w writer, node map[string]any) {
	w.meta(node, false)
	var roles []string
	for k := range u.StringMap(node, "metadata", "labels") {
		if r, ok := strings.CutPrefix(k, "node-role.kubernetes.io/"); ok {
			roles = append(roles, r)
		}
	}
	sort.Strings(roles)
	w.line(0, "Roles:\t%s", orNone(strings.Join(roles, ",")))
	w.labelsAnnotations(node)
	w.line(0, "CreationTimestamp:\t%s", timestamp(u.Time(node, "metadata", "creationTimestamp")))
	var taints []string
	for _, t := range u.Maps(node, "spec", "taints") {
		s := u.String(t, "key")
		if v := u.String(t, "value"); v != "" {
			s += "=" + v
		}
		taints = append(taints, s+":"+u.String(t, "effect"))
	}
	if len(taints) == 0 {
		w.line(0, "Taints:\t<none>")
	}
	for i, t := range taints {
		if i == 0 {
			w.line(0, "Taints:\t%s", t)
		} else {
			w.line(0, "\t%s", t)
		}
	}
	w.line(0, "Unschedulable:\t%t", u.Bool(node, "spec", "unschedulable"))
	if conds := u.Maps(node, "status", "conditions"); len(conds) > 0 {
		w.line(0, "Conditions:")
		w.line(1, "Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage")
		w.line(1, "----\t------\t-----------------\t------------------\t------\t-------")
		for _, c := range conds {
			w.line(1, "%s \t%s \t%s \t%s \t%s \t%s", u.String(c, "type"), u.String(c, "status"),
				timestamp(u.Time(c, "lastHeartbeatTime")), timestamp(u.Time(c, "lastTransitionTime")),
				u.String(c, "reason"), u.String(c, "message"))
		}
	}
	w.line(0, "Addresses:")
	for _, a := range u.Maps(node, "status", "addresses") {
		w.line(1, "%s:\t%s", u.String(a, "type"), u.String(a, "address"))
	}
	for _, sec := range []string{"capacity", "allocatable"} {
		if r := u.StringMap(node, "status", sec); len(r) > 0 {
			w.line(0, "%s:", strings.ToUpper(sec[:1])+sec[1:])
			for _, k := range sortedStrings(r) {
				w.line(1, "%s:\t%s", k, r[k])
			}
		}
	}
	if info := u.Map(node, "status", "nodeInfo"); info != nil {
		w.line(0, "System Info:")
		for _, f := range [][2]string{{"Machine ID", "machineID"}, {"System UUID", "systemUUID"}, {"Boot ID", "bootID"},
			{"Kernel Version", "kernelVersion"}, {"OS Image", "osImage"}, {"Operating System", "operatingSystem"},
			{"Architecture", "architecture"}, {"Container Runtime Version", "containerRuntimeVersion"},
			{"Kubelet Version", "kubeletVersion"}, {"Kube-Proxy Version", "kubeProxyVersion"}} {
			w.line(1, "%s:\t%s", f[0], u.String(info, f[1]))
		}
	}
	if c := u.String(node, "spec", "podCIDR"); c != "" {
		w.line(0, "PodCIDR:\t%s", c)
		var cidrs []string
		for _, x := range u.Slice(node, "spec", "podCIDRs") {
			cidrs = append(cidrs, u.Scalar(x))
		}
		w.line(0, "PodCIDRs:\t%s", strings.Join(cidrs, ","))
	}
	describeNodePods(ctx, cs, w, node)
}

func describeService(ctx context.Context, cs *client.Clientset, w writer, svc map[string]any) {
	w.meta(svc, true)
	w.labelsAnnotations(svc)
	w.line(0, "Selector:\t%s", selectorOf(u.StringMap(svc, "spec", "selector")))
	typ := u.String(svc, "spec", "type")
	if typ == "" {
		typ = "ClusterIP"
	}
	w.line(0, "Type:\t%s", typ)
	if p := u.String(svc, "spec", "ipFamilyPolicy"); p != "" {
		w.line(0, "IP Family Policy:\t%s", p)
	}
	var fams []string
	for _, f := range u.Slice(svc, "spec", "ipFamilies") {
		fams = append(fams, u.Scalar(f))
	}
	if len(fams) > 0 {
		w.line(0, "IP Families:\t%s", strings.Join(fams, ","))
	}
	w.line(0, "IP:\t%s", orNone(u.String(svc, "spec", "clusterIP")))
	var ips []string
	for _, ip := range u.Slice(svc, "spec", "clusterIPs") {
		ips = append(ips, u.Scalar(ip))
	}
	if len(ips) > 0 {
		w.line(0, "IPs:\t%s", strings.Join(ips, ","))
	}
	if typ == "ExternalName" {
		w.line(0, "External Name:\t%s", u.String(svc, "spec", "externalName"))
	}
	var eps map[string]any
	if res, ok := scheme.Lookup("endpoints"); ok {
		eps, _ = resource.Get(ctx, cs, res, u.Namespace(svc), u.Name(svc))
	}
	for _, p := range u.Maps(svc, "spec", "ports") {
		name := u.String(p, "name")
		if name == "" {
			name = "<unset>"
		}
		proto := u.String(p, "protocol")
		if proto == "" {
			proto = "TCP"
		}
		w.line(0, "Port:\t%s\t%d/%s", name, u.Int(p, "port"), proto)
		tp := u.Scalar(p["targetPort"])
		w.line(0, "TargetPort:\t%s/%s", tp, proto)
		if np := u.Int(p, "nodePort"); np != 0 {
			w.line(0, "NodePort:\t%s\t%d/%s", name, np, proto)
		}
		w.line(0, "Endpoints:\t%s", endpointsFor(eps, u.String(p, "name")))
	}
	aff := u.String(svc, "spec", "sessionAffinity")
	if aff == "" {
		aff = "None"
	}
	w.line(0, "Session Affinity:\t%s", aff)
	if p := u.String(svc, "spec", "externalTrafficPolicy"); p != "" {
		w.line(0, "External Traffic Policy:\t%s", p)
	}
	if p := u.String(svc, "spec", "internalTrafficPolicy"); p != "" {
		w.line(0, "Internal Traffic Policy:\t%s", p)
	}
}

// endpointsFor lists ip:port of the endpoints' port named portName.
func endpointsFor(eps map[string]any, portName string) string {
	if eps == nil {
		return "<none>"
	}
	var out []string
	for _, ss := range u.Maps(eps, "subsets") {
		for _, p := range u.Maps(ss, "ports") {
			if u.String(p, "name") != portName {
				continue
			}
			for _, a := range u.Maps(ss, "addresses") {
				out = append(out, fmt.Sprintf("%s:%d", u.String(a, "ip"), u.Int(p, "port")))
			}
		}
	}
	if len(out) == 0 {
		return "<none>"
	}
	return strings.Join(out, ",")
}

func replicasOf(obj map[string]any) int64 {
	if v, ok := u.Nested(obj, "spec", "replicas"); ok {
		return u.ToInt(v)
	}
	return 1
}

func describeDeployment(ctx context.Context, cs *client.Clientset, w writer, d map[string]any) {
	w.meta(d, true)
	w.line(0, "CreationTimestamp:\t%s", timestamp(u.Time(d, "metadata", "creationTimestamp")))
	w.labelsAnnotations(d)
	w.line(0, "Selector:\t%s", labelSelectorString(u.Map(d, "spec", "selector")))
	w.line(0, "Replicas:\t%d desired | %d updated | %d total | %d available | %d unavailable",
		replicasOf(d), u.Int(d, "status", "updatedReplicas"), u.Int(d, "status", "replicas"),
		u.Int(d, "status", "availableReplicas"), u.Int(d, "status", "unavailableReplicas"))
	strategy := u.String(d, "spec", "strategy", "type")
	if strategy == "" {
		strategy = "RollingUpdate"
	}
	w.line(0, "StrategyType:\t%s", strategy)
	w.line(0, "MinReadySeconds:\t%d", u.Int(d, "spec", "minReadySeconds"))
	if strategy == "RollingUpdate" {
		ru := u.Map(d, "spec", "strategy", "rollingUpdate")
		mu, ms := "25%", "25%"
		if v, ok := ru["maxUnavailable"]; ok {
			mu = u.Scalar(v)
		}
		if v, ok := ru["maxSurge"]; ok {
			ms = u.Scalar(v)
		}
		w.line(0, "RollingUpdateStrategy:\t%s max unavailable, %s max surge", mu, ms)
	}
	w.podTemplate(u.Map(d, "spec", "template"))
	if conds := u.Maps(d, "status", "conditions"); len(conds) > 0 {
		w.line(0, "Conditions:")
		w.line(1, "Type\tStatus\tReason")
		w.line(1, "----\t------\t------")
		for _, c := range conds {
			w.line(1, "%s \t%s\t%s", u.String(c, "type"), u.String(c, "status"), u.String(c, "reason"))
		}
	}
	// Old and new replica sets: those the deployment owns, newest revision first.
	rsRes, _ := scheme.Lookup("replicasets")
	items, _, _ := resource.Fetch(ctx, cs, resource.Ref{Res: rsRes}, resource.Selector{Namespace: u.Namespace(d)})
	var owned []map[string]any
	for _, it := range items {
		for _, r := range u.Maps(it.Obj, "metadata", "ownerReferences") {
			if u.String(r, "uid") == u.String(d, "metadata", "uid") {
				owned = append(owned, it.Obj)
			}
		}
	}
	newRS, oldRS := "<none>", []string{}
	hash := ""
	for _, rs := range owned {
		if tmplEqual(u.Map(rs, "spec", "template"), u.Map(d, "spec", "template")) {
			newRS = fmt.Sprintf("%s (%d/%d replicas created)", u.Name(rs), u.Int(rs, "status", "replicas"), replicasOf(rs))
			hash = u.Name(rs)
		}
	}
	for _, rs := range owned {
		if u.Name(rs) != hash && replicasOf(rs) > 0 {
			oldRS = append(oldRS, fmt.Sprintf("%s (%d/%d replicas created)", u.Name(rs), u.Int(rs, "status", "replicas"), replicasOf(rs)))
		}
	}
	old := "<none>"
	if len(oldRS) > 0 {
		old = strings.Join(oldRS, ", ")
	}
	w.line(0, "OldReplicaSets:\t%s", old)
	w.line(0, "NewReplicaSet:\t%s", newRS)
}

// tmplEqual compares pod templates ignoring the pod-template-hash label the controller
// adds to its replica sets' templates.
func tmplEqual(a, b map[string]any) bool {
	ca := u.DeepCopy(a).(map[string]any)
	cb := u.DeepCopy(b).(map[string]any)
	for _, m := range []map[string]any{ca, cb} {
		if l := u.Map(m, "metadata", "labels"); l != nil {
			delete(l, "pod-template-hash")
		}
	}
	return fmt.Sprint(ca) == fmt.Sprint(cb)
}

func describeReplicas(ctx context.Context, cs *client.Clientset, w writer, res *scheme.Resource, obj map[string]any) {
	w.meta(obj, true)
	if res.Kind == "ReplicaSet" {
		w.line(0, "Selector:\t%s", labelSelectorString(u.Map(obj, "spec", "selector")))
	} else {
		w.line(0, "Selector:\t%s", selectorOf(u.StringMap(obj, "spec", "selector")))
	}
	w.labelsAnnotations(obj)
	if c := controlledBy(obj); c != "" {
		w.line(0, "Controlled By:\t%s", c)
	}
	w.line(0, "Replicas:\t%d current / %d desired", u.Int(obj, "status", "replicas"), replicasOf(obj))
	running, waiting, succeeded, failed := podPhases(ctx, cs, obj)
	w.line(0, "Pods Status:\t%d Running / %d Waiting / %d Succeeded / %d Failed", running, waiting, succeeded, failed)
	w.podTemplate(u.Map(obj, "spec", "template"))
}

// podPhases counts the pods the object controls by phase.
func podPhases(ctx context.Context, cs *client.Clientset, obj map[string]any) (running, waiting, succeeded, failed int) {
	pods, err := cs.Pods(u.Namespace(obj)).List(ctx, client.ListOptions{})
	if err != nil {
		return
	}
	uid := u.String(obj, "metadata", "uid")
	for _, p := range pods.Items {
		owned := false
		for _, r := range p.GetMetadata().GetOwnerReferences() {
			if r.GetUid() == uid {
				owned = true
			}
		}
		if !owned {
			continue
		}
		switch p.GetStatus().GetPhase() {
		case "Running":
			running++
		case "Pending":
			waiting++
		case "Succeeded":
			succeeded++
		case "Failed":
			failed++
		}
	}
	return
}

func describeJob(ctx context.Context, cs *client.Clientset, w writer, job map[string]any) {
	w.meta(job, true)
	w.line(0, "Selector:\t%s", labelSelectorString(u.Map(job, "spec", "selector")))
	w.labelsAnnotations(job)
	par := int64(1)
	if v, ok := u.Nested(job, "spec", "parallelism"); ok {
		par = u.ToInt(v)
	}
	w.line(0, "Parallelism:\t%d", par)
	if v, ok := u.Nested(job, "spec", "completions"); ok {
		w.line(0, "Completions:\t%d", u.ToInt(v))
	} else {
		w.line(0, "Completions:\t<unset>")
	}
	if v := u.String(job, "spec", "completionMode"); v != "" {
		w.line(0, "Completion Mode:\t%s", v)
	}
	if v, ok := u.Nested(job, "spec", "suspend"); ok {
		w.line(0, "Suspend:\t%v", v)
	}
	if v, ok := u.Nested(job, "spec", "backoffLimit"); ok {
		w.line(0, "Backoff Limit:\t%d", u.ToInt(v))
	}
	if v, ok := u.Nested(job, "spec", "ttlSecondsAfterFinished"); ok {
		w.line(0, "TTL Seconds After Finished:\t%d", u.ToInt(v))
	}
	if st := u.Time(job, "status", "startTime"); !st.IsZero() {
		w.line(0, "Start Time:\t%s", timestamp(st))
	}
	if ct := u.Time(job, "status", "completionTime"); !ct.IsZero() {
		w.line(0, "Completed At:\t%s", timestamp(ct))
		w.line(0, "Duration:\t%s", printers.HumanDuration(ct.Sub(u.Time(job, "status", "startTime"))))
	}
	if v, ok := u.Nested(job, "spec", "activeDeadlineSeconds"); ok {
		w.line(0, "Active Deadline Seconds:\t%ds", u.ToInt(v))
	}
	w.line(0, "Pods Statuses:\t%d Active (%d Ready) / %d Succeeded / %d Failed",
		u.Int(job, "status", "active"), u.Int(job, "status", "ready"), u.Int(job, "status", "succeeded"), u.Int(job, "status", "failed"))
	if u.String(job, "spec", "completionMode") == "Indexed" {
		w.line(0, "Completed Indexes:\t%s", capIndexesListOrNone(u.String(job, "status", "completedIndexes"), 50))
	}
	w.podTemplate(u.Map(job, "spec", "template"))
}

// capIndexesListOrNone is upstream's: the list cut after the first comma past softLimit
// characters, with "..." to say so; <none> when empty.
func capIndexesListOrNone(indexes string, softLimit int) string {
	if indexes == "" {
		return "<none>"
	}
	ix := softLimit
	for ix < len(indexes) && indexes[ix] != ',' {
		ix++
	}
	if ix >= len(indexes) {
		return indexes
	}
	return indexes[:ix+1] + "..."
}

// describePodDisruptionBudget is upstream's describePodDisruptionBudgetV1.
func describePodDisruptionBudget(w writer, pdb map[string]any) {
	w.meta(pdb, true)
	if v, ok := u.Nested(pdb, "spec", "minAvailable"); ok && v != nil {
		w.line(0, "Min available:\t%s", u.Scalar(v))
	} else if v, ok := u.Nested(pdb, "spec", "maxUnavailable"); ok && v != nil {
		w.line(0, "Max unavailable:\t%s", u.Scalar(v))
	}
	if sel := u.Map(pdb, "spec", "selector"); sel != nil {
		w.line(0, "Selector:\t%s", labelSelectorString(sel))
	} else {
		w.line(0, "Selector:\t<unset>")
	}
	w.line(0, "Status:")
	w.line(2, "Allowed disruptions:\t%d", u.Int(pdb, "status", "disruptionsAllowed"))
	w.line(2, "Current:\t%d", u.Int(pdb, "status", "currentHealthy"))
	w.line(2, "Desired:\t%d", u.Int(pdb, "status", "desiredHealthy"))
	w.line(2, "Total:\t%d", u.Int(pdb, "status", "expectedPods"))
}
