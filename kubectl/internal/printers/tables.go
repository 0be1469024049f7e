package printers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	u "kube5/kubectl/internal/unstructured"
)

// table describes how one kind prints: upstream's columns (after NAME) and the extra
// columns of -o wide.
type table struct {
	// noName drops the NAME column, as upstream's event table does (the name is the
	// last column of -o wide instead).
	noName  bool
	columns []string
	wide    []string
	row     func(obj map[string]any, wide bool) []string
}

// tables is keyed by kind, with the columns upstream's server-side printers use.
var tables = map[string]table{
	"Pod": {
		columns: []string{"READY", "STATUS", "RESTARTS", "AGE"},
		wide:    []string{"IP", "NODE", "NOMINATED NODE", "READINESS GATES"},
		row:     podRow,
	},
	"Node": {
		columns: []string{"STATUS", "ROLES", "AGE", "VERSION"},
		wide:    []string{"INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"},
		row:     nodeRow,
	},
	"Service": {
		columns: []string{"TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"},
		wide:    []string{"SELECTOR"},
		row:     serviceRow,
	},
	"Deployment": {
		columns: []string{"READY", "UP-TO-DATE", "AVAILABLE", "AGE"},
		wide:    []string{"CONTAINERS", "IMAGES", "SELECTOR"},
		row: func(o map[string]any, wide bool) []string {
			row := []string{
				fmt.Sprintf("%d/%d", u.Int(o, "status", "readyReplicas"), replicas(o)),
				fmt.Sprint(u.Int(o, "status", "updatedReplicas")),
				fmt.Sprint(u.Int(o, "status", "availableReplicas")),
				age(o),
			}
			if wide {
				row = append(row, podTemplateColumns(o, labelSelector(u.Map(o, "spec", "selector")))...)
			}
			return row
		},
	},
	"ReplicaSet": {
		columns: []string{"DESIRED", "CURRENT", "READY", "AGE"},
		wide:    []string{"CONTAINERS", "IMAGES", "SELECTOR"},
		row: func(o map[string]any, wide bool) []string {
			row := []string{fmt.Sprint(replicas(o)), fmt.Sprint(u.Int(o, "status", "replicas")),
				fmt.Sprint(u.Int(o, "status", "readyReplicas")), age(o)}
			if wide {
				row = append(row, podTemplateColumns(o, labelSelector(u.Map(o, "spec", "selector")))...)
			}
			return row
		},
	},
	"ReplicationController": {
		columns: []string{"DESIRED", "CURRENT", "READY", "AGE"},
		wide:    []string{"CONTAINERS", "IMAGES", "SELECTOR"},
		row: func(o map[string]any, wide bool) []string {
			row := []string{fmt.Sprint(replicas(o)), fmt.Sprint(u.Int(o, "status", "replicas")),
				fmt.Sprint(u.Int(o, "status", "readyReplicas")), age(o)}
			if wide {
				row = append(row, podTemplateColumns(o, mapSelector(u.StringMap(o, "spec", "selector")))...)
			}
			return row
		},
	},
	"Namespace": {
		columns: []string{"STATUS", "AGE"},
		row: func(o map[string]any, _ bool) []string {
			return []string{u.String(o, "status", "phase"), age(o)}
		},
	},
	"Endpoints": {
		columns: []string{"ENDPOINTS", "AGE"},
		row: func(o map[string]any, _ bool) []string {
			return []string{FormatEndpoints(o, 3), age(o)}
		},
	},
	"Event": {
		noName:  true,
		columns: []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"},
		wide:    []string{"SUBOBJECT", "SOURCE", "FIRST SEEN", "COUNT", "NAME"},
		row:     eventRow,
	},
	"ConfigMap": {
		columns: []string{"DATA", "AGE"},
		row: func(o map[string]any, _ bool) []string {
			return []string{fmt.Sprint(len(u.Map(o, "data")) + len(u.Map(o, "binaryData"))), age(o)}
		},
	},
	"Secret": {
		columns: []string{"TYPE", "DATA", "AGE"},
		row: func(o map[string]any, _ bool) []string {
			return []string{u.String(o, "type"), fmt.Sprint(len(u.Map(o, "data"))), age(o)}
		},
	},
	"Job": {
		columns: []string{"STATUS", "COMPLETIONS", "DURATION", "AGE"},
		wide:    []string{"CONTAINERS", "IMAGES", "SELECTOR"},
		row:     jobRow,
	},
	"PodDisruptionBudget": {
		columns: []string{"MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"},
		row: func(o map[string]any, _ bool) []string {
			return []string{intOrStringOrNA(o, "spec", "minAvailable"), intOrStringOrNA(o, "spec", "maxUnavailable"),
				fmt.Sprint(u.Int(o, "status", "disruptionsAllowed")), age(o)}
		},
	},
	"Lease": {
		columns: []string{"HOLDER", "AGE"},
		row: func(o map[string]any, _ bool) []string {
			return []string{u.String(o, "spec", "holderIdentity"), age(o)}
		},
	},
	"ServiceAccount": {
		columns: []string{"SECRETS", "AGE"},
		row: func(o map[string]any, _ bool) []string {
			return []string{fmt.Sprint(len(u.Slice(o, "secrets"))), age(o)}
		},
	},
	"ComponentStatus": {
		columns: []string{"STATUS", "MESSAGE", "ERROR"},
		row: func(o map[string]any, _ bool) []string {
			status, msg, errStr := "Unknown", "", ""
			for _, c := range u.Maps(o, "conditions") {
				if u.String(c, "type") != "Healthy" {
					continue
				}
				status = "Unhealthy"
				if u.String(c, "status") == "True" {
					status = "Healthy"
				}
				msg, errStr = u.String(c, "message"), u.String(c, "error")
			}
			return []string{status, msg, errStr}
		},
	},
}

// generic is the table of kinds without their own: NAME AGE.
var generic = table{columns: []string{"AGE"}, row: func(o map[string]any, _ bool) []string { return []string{age(o)} }}

func tableFor(kind string) table {
	if t, ok := tables[kind]; ok {
		return t
	}
	return generic
}

func age(o map[string]any) string { return Age(u.Time(o, "metadata", "creationTimestamp")) }

// intOrStringOrNA prints an int-or-string field, or N/A when it is unset (upstream's
// PodDisruptionBudget columns).
func intOrStringOrNA(o map[string]any, path ...string) string {
	if v, ok := u.Nested(o, path...); ok && v != nil {
		return u.Scalar(v)
	}
	return "N/A"
}

func none(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// replicas is spec.replicas, which defaults to 1 when unset.
func replicas(o map[string]any) int64 {
	if v, ok := u.Nested(o, "spec", "replicas"); ok {
		return u.ToInt(v)
	}
	return 1
}

func podTemplateColumns(o map[string]any, selector string) []string {
	var names, images []string
	for _, c := range u.Maps(o, "spec", "template", "spec", "containers") {
		names = append(names, u.String(c, "name"))
		images = append(images, u.String(c, "image"))
	}
	return []string{strings.Join(names, ","), strings.Join(images, ","), none(selector)}
}

// labelSelector renders a metav1.LabelSelector as upstream's FormatLabelSelector.
func labelSelector(sel map[string]any) string {
	if sel == nil {
		return "<none>"
	}
	var parts []string
	ml := u.StringMap(sel, "matchLabels")
	keys := sortedKeys(ml)
	for _, k := range keys {
		parts = append(parts, k+"="+ml[k])
	}
	for _, e := range u.Maps(sel, "matchExpressions") {
		var vals []string
		for _, v := range u.Slice(e, "values") {
			vals = append(vals, u.Scalar(v))
		}
		key, op := u.String(e, "key"), u.String(e, "operator")
		switch op {
		case "In", "NotIn":
			parts = append(parts, fmt.Sprintf("%s %s (%s)", key, strings.ToLower(strings.Replace(op, "NotIn", "notin", 1)), strings.Join(vals, ",")))
		case "Exists":
			parts = append(parts, key)
		case "DoesNotExist":
			parts = append(parts, "!"+key)
		}
	}
	if len(parts) == 0 {
		return "<none>"
	}
	return strings.Join(parts, ",")
}

func mapSelector(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	if len(parts) == 0 {
		return "<none>"
	}
	return strings.Join(parts, ",")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func nodeRow(o map[string]any, wide bool) []string {
	status := "Unknown"
	for _, c := range u.Maps(o, "status", "conditions") {
		if u.String(c, "type") == "Ready" {
			if u.String(c, "status") == "True" {
				status = "Ready"
			} else {
				status = "NotReady"
			}
		}
	}
	if u.Bool(o, "spec", "unschedulable") {
		status += ",SchedulingDisabled"
	}
	var roles []string
	for k := range u.StringMap(o, "metadata", "labels") {
		if r, ok := strings.CutPrefix(k, "node-role.kubernetes.io/"); ok && r != "" {
			roles = append(roles, r)
		}
	}
	sort.Strings(roles)
	rolesStr := "<none>"
	if len(roles) > 0 {
		rolesStr = strings.Join(roles, ",")
	}
	row := []string{status, rolesStr, age(o), u.String(o, "status", "nodeInfo", "kubeletVersion")}
	if wide {
		internal, external := "", ""
		for _, a := range u.Maps(o, "status", "addresses") {
			switch u.String(a, "type") {
			case "InternalIP":
				if internal == "" {
					internal = u.String(a, "address")
				}
			case "ExternalIP":
				if external == "" {
					external = u.String(a, "address")
				}
			}
		}
		info := u.Map(o, "status", "nodeInfo")
		row = append(row, none(internal), none(external), none(u.String(info, "osImage")),
			none(u.String(info, "kernelVersion")), none(u.String(info, "containerRuntimeVersion")))
	}
	return row
}

func serviceRow(o map[string]any, wide bool) []string {
	typ := u.String(o, "spec", "type")
	if typ == "" {
		typ = "ClusterIP"
	}
	external := "<none>"
	var ext []string
	for _, v := range u.Slice(o, "spec", "externalIPs") {
		ext = append(ext, u.Scalar(v))
	}
	switch typ {
	case "ClusterIP", "NodePort":
		if len(ext) > 0 {
			external = strings.Join(ext, ",")
		}
	case "LoadBalancer":
		for _, in := range u.Maps(o, "status", "loadBalancer", "ingress") {
			if ip := u.String(in, "ip"); ip != "" {
				ext = append(ext, ip)
			} else if h := u.String(in, "hostname"); h != "" {
				ext = append(ext, h)
			}
		}
		external = "<pending>"
		if len(ext) > 0 {
			external = strings.Join(ext, ",")
		}
	case "ExternalName":
		external = u.String(o, "spec", "externalName")
	}
	row := []string{typ, none(u.String(o, "spec", "clusterIP")), external, FormatPorts(o), age(o)}
	if wide {
		row = append(row, mapSelector(u.StringMap(o, "spec", "selector")))
	}
	return row
}

// FormatPorts is the PORT(S) column: 80/TCP, 80:30080/TCP, comma separated.
func FormatPorts(svc map[string]any) string {
	var parts []string
	for _, p := range u.Maps(svc, "spec", "ports") {
		proto := u.String(p, "protocol")
		if proto == "" {
			proto = "TCP"
		}
		if np := u.Int(p, "nodePort"); np != 0 {
			parts = append(parts, fmt.Sprintf("%d:%d/%s", u.Int(p, "port"), np, proto))
		} else {
			parts = append(parts, fmt.Sprintf("%d/%s", u.Int(p, "port"), proto))
		}
	}
	if len(parts) == 0 {
		return "<none>"
	}
	return strings.Join(parts, ",")
}

// FormatEndpoints lists ip:port pairs, at most max (then "+ N more..."), as upstream.
func FormatEndpoints(o map[string]any, max int) string {
	var list []string
	count := 0
	more := false
	for _, ss := range u.Maps(o, "subsets") {
		ports := u.Maps(ss, "ports")
		for _, a := range u.Maps(ss, "addresses") {
			if len(ports) == 0 {
				count++
				if max < 0 || len(list) < max {
					list = append(list, u.String(a, "ip"))
				} else {
					more = true
				}
				continue
			}
			for _, p := range ports {
				count++
				if max < 0 || len(list) < max {
					list = append(list, fmt.Sprintf("%s:%d", u.String(a, "ip"), u.Int(p, "port")))
				} else {
					more = true
				}
			}
		}
	}
	s := strings.Join(list, ",")
	if more {
		s += fmt.Sprintf(" + %d more...", count-len(list))
	}
	if s == "" {
		return "<none>"
	}
	return s
}

// EventLastSeen is the event's latest time: lastTimestamp, else eventTime, else
// firstTimestamp, else creation.
func EventLastSeen(o map[string]any) time.Time {
	for _, f := range []string{"lastTimestamp", "eventTime", "firstTimestamp"} {
		if s := u.String(o, f); s != "" {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return t
			}
		}
	}
	return u.Time(o, "metadata", "creationTimestamp")
}

func eventRow(o map[string]any, wide bool) []string {
	obj := strings.ToLower(u.String(o, "involvedObject", "kind")) + "/" + u.String(o, "involvedObject", "name")
	row := []string{Age(EventLastSeen(o)), u.String(o, "type"), u.String(o, "reason"), obj, strings.TrimSpace(u.String(o, "message"))}
	if wide {
		src := u.String(o, "source", "component")
		if h := u.String(o, "source", "host"); h != "" {
			src += ", " + h
		}
		first := u.Time(o, "firstTimestamp")
		count := u.Int(o, "count")
		if count == 0 {
			count = 1
		}
		row = append(row, u.String(o, "involvedObject", "fieldPath"), src, Age(first), fmt.Sprint(count), u.String(o, "metadata", "name"))
	}
	return row
}

func jobRow(o map[string]any, wide bool) []string {
	status := "Running"
	for _, c := range u.Maps(o, "status", "conditions") {
		if u.String(c, "status") != "True" {
			continue
		}
		switch u.String(c, "type") {
		case "Complete":
			status = "Complete"
		case "Failed":
			status = "Failed"
		case "Suspended":
			status = "Suspended"
		case "FailureTarget":
			status = "FailureTarget"
		case "SuccessCriteriaMet":
			status = "SuccessCriteriaMet"
		}
	}
	succeeded := u.Int(o, "status", "succeeded")
	var completions string
	if v, ok := u.Nested(o, "spec", "completions"); ok {
		completions = fmt.Sprintf("%d/%d", succeeded, u.ToInt(v))
	} else {
		par := int64(1)
		if v, ok := u.Nested(o, "spec", "parallelism"); ok {
			par = u.ToInt(v)
		}
		if par > 1 {
			completions = fmt.Sprintf("%d/1 of %d", succeeded, par)
		} else {
			completions = fmt.Sprintf("%d/1", succeeded)
		}
	}
	duration := ""
	start := u.Time(o, "status", "startTime")
	end := u.Time(o, "status", "completionTime")
	switch {
	case start.IsZero():
	case end.IsZero():
		duration = HumanDuration(Now().Sub(start))
	default:
		duration = HumanDuration(end.Sub(start))
	}
	row := []string{status, completions, duration, age(o)}
	if wide {
		row = append(row, podTemplateColumns(o, labelSelector(u.Map(o, "spec", "selector")))...)
	}
	return row
}
