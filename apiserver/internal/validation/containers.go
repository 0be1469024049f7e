package validation

import (
	"fmt"
	"path"
	"strings"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

// Sorted as upstream's sets.List prints them in "supported values".
var (
	supportedPortProtocols = []string{"SCTP", "TCP", "UDP"}
	supportedPullPolicies  = []string{"Always", "IfNotPresent", "Never"}
	supportedHTTPSchemes   = []string{"HTTP", "HTTPS"}
	// validEnvFieldPaths are the fieldRef paths an env var may read (metadata.labels and
	// metadata.annotations only with a subscript: metadata.labels['app']).
	validEnvFieldPaths = []string{
		"metadata.name", "metadata.namespace", "metadata.uid",
		"spec.nodeName", "spec.serviceAccountName",
		"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
	}
	validResourceFieldPaths = []string{
		"limits.cpu", "limits.ephemeral-storage", "limits.memory",
		"requests.cpu", "requests.ephemeral-storage", "requests.memory",
	}
)

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// validateContainers checks the regular containers: at least one, each valid, names
// unique, probes and lifecycle hooks (sleep hooks within the pod's grace period, nil when
// unset), host ports without conflicts.
func validateContainers(containers []*corev1.Container, volumes map[string]*corev1.Volume, gracePeriod *int64, path *field.Path) field.ErrorList {
	if len(containers) == 0 {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	names := map[string]bool{}
	for i, c := range containers {
		p := path.Index(i)
		errs = append(errs, validateContainerCommon(c, volumes, p)...)
		if names[c.GetName()] {
			errs = append(errs, field.Duplicate(p.Child("name"), c.GetName()))
		} else {
			names[c.GetName()] = true
		}
		if c.GetLifecycle() != nil {
			errs = append(errs, validateLifecycle(c.GetLifecycle(), gracePeriod, p.Child("lifecycle"))...)
		}
		errs = append(errs, validateLivenessProbe(c.GetLivenessProbe(), p.Child("livenessProbe"))...)
		errs = append(errs, validateReadinessProbe(c.GetReadinessProbe(), p.Child("readinessProbe"))...)
		errs = append(errs, validateStartupProbe(c.GetStartupProbe(), p.Child("startupProbe"))...)
	}
	errs = append(errs, checkHostPortConflicts(containers, path)...)
	return errs
}

// validateInitContainers checks init containers. They run to completion one by one, so
// they take no probes or lifecycle hooks (kube5 has no sidecar restartPolicy), and host
// ports only conflict within one container.
func validateInitContainers(containers, regular []*corev1.Container, volumes map[string]*corev1.Volume, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for _, c := range regular {
		names[c.GetName()] = true
	}
	for i, c := range containers {
		p := path.Index(i)
		errs = append(errs, validateContainerCommon(c, volumes, p)...)
		if names[c.GetName()] {
			errs = append(errs, field.Duplicate(p.Child("name"), c.GetName()))
		} else if c.GetName() != "" {
			names[c.GetName()] = true
		}
		errs = append(errs, checkHostPortConflicts([]*corev1.Container{c}, path)...)
		const msg = "may not be set for init containers without restartPolicy=Always"
		if c.GetLifecycle() != nil {
			errs = append(errs, field.Forbidden(p.Child("lifecycle"), msg))
		}
		if c.GetLivenessProbe() != nil {
			errs = append(errs, field.Forbidden(p.Child("livenessProbe"), msg))
		}
		if c.GetReadinessProbe() != nil {
			errs = append(errs, field.Forbidden(p.Child("readinessProbe"), msg))
		}
		if c.GetStartupProbe() != nil {
			errs = append(errs, field.Forbidden(p.Child("startupProbe"), msg))
		}
	}
	return errs
}

// validateContainerCommon is what every container kind shares.
func validateContainerCommon(c *corev1.Container, volumes map[string]*corev1.Volume, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.GetName() == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		errs = append(errs, ValidateDNS1123Label(c.GetName(), p.Child("name"))...)
	}
	// Leading and trailing whitespace is only rejected for pods (validateContainersOnlyForPod):
	// templates have historically used " " as a placeholder.
	if c.GetImage() == "" {
		errs = append(errs, field.Required(p.Child("image"), ""))
	}
	switch c.GetTerminationMessagePolicy() {
	case "File", "FallbackToLogsOnError":
	case "":
		errs = append(errs, field.Required(p.Child("terminationMessagePolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(p.Child("terminationMessagePolicy"), c.GetTerminationMessagePolicy(), []string{"File", "FallbackToLogsOnError"}))
	}
	errs = append(errs, validateContainerPorts(c.GetPorts(), p.Child("ports"))...)
	errs = append(errs, ValidateEnv(c.GetEnv(), p.Child("env"))...)
	errs = append(errs, validateEnvFrom(c.GetEnvFrom(), p.Child("envFrom"))...)
	errs = append(errs, validateVolumeMounts(c.GetVolumeMounts(), volumes, p.Child("volumeMounts"))...)
	errs = append(errs, validatePullPolicy(c.GetImagePullPolicy(), p.Child("imagePullPolicy"))...)
	errs = append(errs, ValidateResourceRequirements(c.GetResources(), p.Child("resources"))...)
	errs = append(errs, validateSecurityContext(c.GetSecurityContext(), p.Child("securityContext"))...)
	return errs
}

func validateContainerPorts(ports []*corev1.ContainerPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	for i, port := range ports {
		p := path.Index(i)
		if port.GetName() != "" {
			if msgs := IsValidPortName(port.GetName()); len(msgs) != 0 {
				for _, msg := range msgs {
					errs = append(errs, field.Invalid(p.Child("name"), port.GetName(), msg))
				}
			} else if names[port.GetName()] {
				errs = append(errs, field.Duplicate(p.Child("name"), port.GetName()))
			} else {
				names[port.GetName()] = true
			}
		}
		if port.GetContainerPort() == 0 {
			errs = append(errs, field.Required(p.Child("containerPort"), ""))
		} else {
			for _, msg := range IsValidPortNum(int(port.GetContainerPort())) {
				errs = append(errs, field.Invalid(p.Child("containerPort"), port.GetContainerPort(), msg))
			}
		}
		if port.GetHostPort() != 0 {
			for _, msg := range IsValidPortNum(int(port.GetHostPort())) {
				errs = append(errs, field.Invalid(p.Child("hostPort"), port.GetHostPort(), msg))
			}
		}
		switch {
		case port.GetProtocol() == "":
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		case !contains(supportedPortProtocols, port.GetProtocol()):
			errs = append(errs, field.NotSupported(p.Child("protocol"), port.GetProtocol(), supportedPortProtocols))
		}
	}
	return errs
}

// checkHostPortConflicts rejects two ports of the containers claiming the same
// protocol/hostIP/hostPort.
func checkHostPortConflicts(containers []*corev1.Container, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for ci, c := range containers {
		for pi, port := range c.GetPorts() {
			if port.GetHostPort() == 0 {
				continue
			}
			key := fmt.Sprintf("%s/%s/%d", port.GetProtocol(), port.GetHostIp(), port.GetHostPort())
			if seen[key] {
				errs = append(errs, field.Duplicate(path.Index(ci).Child("ports").Index(pi).Child("hostPort"), key))
			} else {
				seen[key] = true
			}
		}
	}
	return errs
}

// ValidateEnv checks env vars: names, and at most one value source.
func ValidateEnv(vars []*corev1.EnvVar, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range vars {
		p := path.Index(i)
		if ev.GetName() == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			for _, msg := range IsEnvVarName(ev.GetName()) {
				errs = append(errs, field.Invalid(p.Child("name"), ev.GetName(), msg))
			}
		}
		errs = append(errs, validateEnvVarValueFrom(ev, p.Child("valueFrom"))...)
	}
	return errs
}

func validateEnvVarValueFrom(ev *corev1.EnvVar, path *field.Path) field.ErrorList {
	from := ev.GetValueFrom()
	if from == nil {
		return nil
	}
	var errs field.ErrorList
	n := 0
	if from.GetFieldRef() != nil {
		n++
		errs = append(errs, validateObjectFieldSelector(from.GetFieldRef(), path.Child("fieldRef"))...)
	}
	if from.GetResourceFieldRef() != nil {
		n++
		errs = append(errs, validateResourceFieldSelector(from.GetResourceFieldRef(), path.Child("resourceFieldRef"))...)
	}
	if from.GetConfigMapKeyRef() != nil {
		n++
		errs = append(errs, validateKeySelector(from.GetConfigMapKeyRef().GetName(), from.GetConfigMapKeyRef().GetKey(), path.Child("configMapKeyRef"))...)
	}
	if from.GetSecretKeyRef() != nil {
		n++
		errs = append(errs, validateKeySelector(from.GetSecretKeyRef().GetName(), from.GetSecretKeyRef().GetKey(), path.Child("secretKeyRef"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Invalid(path, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
	case ev.GetValue() != "":
		errs = append(errs, field.Invalid(path, "", "may not be specified when `value` is not empty"))
	case n > 1:
		errs = append(errs, field.Invalid(path, "", "may not have more than one field specified at a time"))
	}
	return errs
}

// validateObjectFieldSelector checks a downward-API fieldRef of an env var.
func validateObjectFieldSelector(fs *corev1.ObjectFieldSelector, path *field.Path) field.ErrorList {
	if fs.GetApiVersion() == "" {
		return field.ErrorList{field.Required(path.Child("apiVersion"), "")}
	}
	if fs.GetFieldPath() == "" {
		return field.ErrorList{field.Required(path.Child("fieldPath"), "")}
	}
	if fs.GetApiVersion() != "v1" {
		return field.ErrorList{field.Invalid(path.Child("fieldPath"), fs.GetFieldPath(),
			fmt.Sprintf("error converting fieldPath: unsupported pod version: %s", fs.GetApiVersion()))}
	}
	fp := fs.GetFieldPath()
	if p, subscript, ok := splitSubscriptedPath(fp); ok {
		switch p {
		case "metadata.annotations":
			return ValidateQualifiedName(strings.ToLower(subscript), path)
		case "metadata.labels":
			return ValidateQualifiedName(subscript, path)
		default:
			return field.ErrorList{field.Invalid(path, p, "does not support subscript")}
		}
	}
	if !contains(validEnvFieldPaths, fp) {
		return field.ErrorList{field.NotSupported(path.Child("fieldPath"), fp, validEnvFieldPaths)}
	}
	return nil
}

// splitSubscriptedPath splits "metadata.labels['key']" into path and key.
func splitSubscriptedPath(fp string) (string, string, bool) {
	if !strings.HasSuffix(fp, "']") {
		return "", "", false
	}
	s := strings.TrimSuffix(fp, "']")
	parts := strings.SplitN(s, "['", 2)
	if len(parts) < 2 || len(parts[0]) == 0 {
		return "", "", false
	}
	return parts[0], parts[1], true
}

func validateResourceFieldSelector(fs *corev1.ResourceFieldSelector, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case fs.GetResource() == "":
		errs = append(errs, field.Required(path.Child("resource"), ""))
	case !contains(validResourceFieldPaths, fs.GetResource()) &&
		!strings.HasPrefix(fs.GetResource(), "requests.hugepages-") && !strings.HasPrefix(fs.GetResource(), "limits.hugepages-"):
		errs = append(errs, field.NotSupported(path.Child("resource"), fs.GetResource(), validResourceFieldPaths))
	}
	if d := fs.GetDivisor(); d != nil && d.GetString_() != "" {
		q, qerrs := ParseQuantityField(d, path.Child("divisor"))
		if len(qerrs) > 0 {
			return append(errs, qerrs...)
		}
		if !q.IsZero() {
			errs = append(errs, validateDivisor(fs.GetResource(), q, path)...)
		}
	}
	return errs
}

func validateDivisor(resource string, q *metav1.Quantity, path *field.Path) field.ErrorList {
	memory := []string{"1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"}
	switch {
	case resource == "limits.cpu" || resource == "requests.cpu":
		if !contains([]string{"1m", "1"}, q.AsString()) {
			return field.ErrorList{field.Invalid(path.Child("divisor"), resource, "only divisor's values 1m and 1 are supported with the cpu resource")}
		}
	case resource == "limits.memory" || resource == "requests.memory":
		if !contains(memory, q.AsString()) {
			return field.ErrorList{field.Invalid(path.Child("divisor"), resource, "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource")}
		}
	case resource == "limits.ephemeral-storage" || resource == "requests.ephemeral-storage":
		if !contains(memory, q.AsString()) {
			return field.ErrorList{field.Invalid(path.Child("divisor"), resource, "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the local ephemeral storage resource")}
		}
	}
	return nil
}

// validateKeySelector checks a configMapKeyRef or secretKeyRef.
func validateKeySelector(name, key string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range NameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(path.Child("name"), name, msg))
	}
	if key == "" {
		errs = append(errs, field.Required(path.Child("key"), ""))
	} else {
		for _, msg := range IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(path.Child("key"), key, msg))
		}
	}
	return errs
}

func validateEnvFrom(sources []*corev1.EnvFromSource, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range sources {
		p := path.Index(i)
		if ev.GetPrefix() != "" {
			for _, msg := range IsEnvVarName(ev.GetPrefix()) {
				errs = append(errs, field.Invalid(p.Child("prefix"), ev.GetPrefix(), msg))
			}
		}
		n := 0
		if ev.GetConfigMapRef() != nil {
			n++
			errs = append(errs, validateRefName(ev.GetConfigMapRef().GetName(), p.Child("configMapRef"))...)
		}
		if ev.GetSecretRef() != nil {
			n++
			errs = append(errs, validateRefName(ev.GetSecretRef().GetName(), p.Child("secretRef"))...)
		}
		switch {
		case n == 0:
			errs = append(errs, field.Invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"))
		case n > 1:
			errs = append(errs, field.Invalid(path, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

func validateRefName(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path.Child("name"), "")}
	}
	var errs field.ErrorList
	for _, msg := range NameIsDNSSubdomain(name, true) {
		errs = append(errs, field.Invalid(path.Child("name"), name, msg))
	}
	return errs
}

// validateVolumeMounts checks each mount names a volume of the pod and has an absolute
// mount path no other mount of the container uses.
func validateVolumeMounts(mounts []*corev1.VolumeMount, volumes map[string]*corev1.Volume, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths := map[string]bool{}
	for i, m := range mounts {
		ip := p.Index(i)
		if m.GetName() == "" {
			errs = append(errs, field.Required(ip.Child("name"), ""))
		}
		if _, ok := volumes[m.GetName()]; !ok {
			errs = append(errs, field.NotFound(ip.Child("name"), m.GetName()))
		}
		switch {
		case m.GetMountPath() == "":
			errs = append(errs, field.Required(ip.Child("mountPath"), ""))
		case !path.IsAbs(m.GetMountPath()):
			// Upstream leaves this to the kubelet (Windows paths); kube5 only runs Linux
			// containers, so a relative path is rejected while the user is still here.
			errs = append(errs, field.Invalid(ip.Child("mountPath"), m.GetMountPath(), "must be an absolute path"))
		}
		if paths[m.GetMountPath()] {
			errs = append(errs, field.Invalid(ip.Child("mountPath"), m.GetMountPath(), "must be unique"))
		}
		paths[m.GetMountPath()] = true
		if m.GetSubPath() != "" {
			// Upstream reports this at volumeMounts.subPath, without the index.
			errs = append(errs, validateLocalDescendingPath(m.GetSubPath(), p.Child("subPath"))...)
		}
	}
	return errs
}

// validateLocalDescendingPath requires a relative path without "..".
func validateLocalDescendingPath(target string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if path.IsAbs(target) {
		errs = append(errs, field.Invalid(p, target, "must be a relative path"))
	}
	return append(errs, validatePathNoBacksteps(target, p)...)
}

// validatePathNoBacksteps rejects any ".." element.
func validatePathNoBacksteps(target string, p *field.Path) field.ErrorList {
	for _, item := range strings.Split(target, "/") {
		if item == ".." {
			return field.ErrorList{field.Invalid(p, target, "must not contain '..'")}
		}
	}
	return nil
}

func validatePullPolicy(policy string, path *field.Path) field.ErrorList {
	switch policy {
	case "Always", "IfNotPresent", "Never":
		return nil
	case "":
		return field.ErrorList{field.Required(path, "")}
	}
	return field.ErrorList{field.NotSupported(path, policy, supportedPullPolicies)}
}

func validateLivenessProbe(probe *corev1.Probe, path *field.Path) field.ErrorList {
	if probe == nil {
		return nil
	}
	errs := validateProbe(probe, path)
	if probe.GetSuccessThreshold() != 1 {
		errs = append(errs, field.Invalid(path.Child("successThreshold"), probe.GetSuccessThreshold(), "must be 1"))
	}
	return errs
}

func validateReadinessProbe(probe *corev1.Probe, path *field.Path) field.ErrorList {
	if probe == nil {
		return nil
	}
	errs := validateProbe(probe, path)
	if probe.TerminationGracePeriodSeconds != nil {
		errs = append(errs, field.Invalid(path.Child("terminationGracePeriodSeconds"), probe.TerminationGracePeriodSeconds, "must not be set for readinessProbes"))
	}
	return errs
}

func validateStartupProbe(probe *corev1.Probe, path *field.Path) field.ErrorList {
	if probe == nil {
		return nil
	}
	errs := validateProbe(probe, path)
	if probe.GetSuccessThreshold() != 1 {
		errs = append(errs, field.Invalid(path.Child("successThreshold"), probe.GetSuccessThreshold(), "must be 1"))
	}
	return errs
}

// validateProbe checks the handler and the timings. Zero thresholds never get here from
// a client: defaulting sets them (timeout 1, period 10, success 1, failure 3).
func validateProbe(probe *corev1.Probe, path *field.Path) field.ErrorList {
	errs := validateHandler(probe.GetExec(), probe.GetHttpGet(), probe.GetTcpSocket(), path)
	errs = append(errs, ValidateNonnegativeField(int64(probe.GetInitialDelaySeconds()), path.Child("initialDelaySeconds"))...)
	errs = append(errs, ValidateNonnegativeField(int64(probe.GetTimeoutSeconds()), path.Child("timeoutSeconds"))...)
	errs = append(errs, ValidateNonnegativeField(int64(probe.GetPeriodSeconds()), path.Child("periodSeconds"))...)
	errs = append(errs, ValidateNonnegativeField(int64(probe.GetSuccessThreshold()), path.Child("successThreshold"))...)
	errs = append(errs, ValidateNonnegativeField(int64(probe.GetFailureThreshold()), path.Child("failureThreshold"))...)
	if probe.TerminationGracePeriodSeconds != nil && *probe.TerminationGracePeriodSeconds <= 0 {
		errs = append(errs, field.Invalid(path.Child("terminationGracePeriodSeconds"), *probe.TerminationGracePeriodSeconds, "must be greater than 0"))
	}
	return errs
}

func validateLifecycle(l *corev1.Lifecycle, gracePeriod *int64, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h := l.GetPostStart(); h != nil {
		errs = append(errs, validateLifecycleHandler(h, gracePeriod, path.Child("postStart"))...)
	}
	if h := l.GetPreStop(); h != nil {
		errs = append(errs, validateLifecycleHandler(h, gracePeriod, path.Child("preStop"))...)
	}
	return errs
}

// validateLifecycleHandler is validateHandler plus the sleep action, which only hooks
// have: exactly one of exec, httpGet, tcpSocket and sleep.
func validateLifecycleHandler(h *corev1.LifecycleHandler, gracePeriod *int64, path *field.Path) field.ErrorList {
	if h.GetSleep() == nil {
		return validateHandler(h.GetExec(), h.GetHttpGet(), h.GetTcpSocket(), path)
	}
	var errs field.ErrorList
	if h.GetExec() != nil || h.GetHttpGet() != nil || h.GetTcpSocket() != nil {
		errs = append(errs, field.Forbidden(path.Child("sleep"), "may not specify more than 1 handler type"))
	}
	return append(errs, validateSleepAction(h.GetSleep(), gracePeriod, path.Child("sleep"))...)
}

// validateSleepAction checks a sleep hook as upstream does, with its path (.sleep) and
// message: a sleep longer than the grace period could never finish (the kubelet cuts a
// preStop hook at the grace period), so the pod is refused rather than run with a hook
// that does not do what it says. A nil grace period is already an error of its own: only
// the sign is checked then.
func validateSleepAction(s *corev1.SleepAction, gracePeriod *int64, path *field.Path) field.ErrorList {
	secs := s.GetSeconds()
	if gracePeriod == nil {
		if secs < 0 {
			return field.ErrorList{field.Invalid(path, secs, "must be non-negative")}
		}
		return nil
	}
	if secs < 0 || secs > *gracePeriod {
		return field.ErrorList{field.Invalid(path, secs, fmt.Sprintf("must be non-negative and less than terminationGracePeriodSeconds (%d)", *gracePeriod))}
	}
	return nil
}

// validateHandler requires exactly one of exec, httpGet and tcpSocket.
func validateHandler(exec *corev1.ExecAction, httpGet *corev1.HTTPGetAction, tcp *corev1.TCPSocketAction, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	const more = "may not specify more than 1 handler type"
	if exec != nil {
		n++
		if len(exec.GetCommand()) == 0 {
			errs = append(errs, field.Required(path.Child("exec").Child("command"), ""))
		}
	}
	if httpGet != nil {
		if n > 0 {
			errs = append(errs, field.Forbidden(path.Child("httpGet"), more))
		} else {
			n++
			errs = append(errs, validateHTTPGetAction(httpGet, path.Child("httpGet"))...)
		}
	}
	if tcp != nil {
		if n > 0 {
			errs = append(errs, field.Forbidden(path.Child("tcpSocket"), more))
		} else {
			n++
			errs = append(errs, ValidatePortNumOrName(tcp.GetPort(), path.Child("tcpSocket").Child("port"))...)
		}
	}
	if n == 0 {
		errs = append(errs, field.Required(path, "must specify a handler type"))
	}
	return errs
}

func validateHTTPGetAction(h *corev1.HTTPGetAction, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h.GetPath() == "" {
		errs = append(errs, field.Required(path.Child("path"), ""))
	}
	errs = append(errs, ValidatePortNumOrName(h.GetPort(), path.Child("port"))...)
	if !contains(supportedHTTPSchemes, h.GetScheme()) {
		errs = append(errs, field.NotSupported(path.Child("scheme"), h.GetScheme(), supportedHTTPSchemes))
	}
	for _, header := range h.GetHttpHeaders() {
		for _, msg := range IsHTTPHeaderName(header.GetName()) {
			errs = append(errs, field.Invalid(path.Child("httpHeaders"), header.GetName(), msg))
		}
	}
	return errs
}

// ValidatePortNumOrName checks an int-or-string port: a port number or an IANA name.
func ValidatePortNumOrName(port *metav1.IntOrString, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch port.GetType() {
	case metav1.IntOrStringInt:
		for _, msg := range IsValidPortNum(int(port.GetIntVal())) {
			errs = append(errs, field.Invalid(path, int(port.GetIntVal()), msg))
		}
	case metav1.IntOrStringString:
		for _, msg := range IsValidPortName(port.GetStrVal()) {
			errs = append(errs, field.Invalid(path, port.GetStrVal(), msg))
		}
	default:
		errs = append(errs, field.InternalError(path, fmt.Errorf("unknown type: %v", port.GetType())))
	}
	return errs
}

// validateSecurityContext checks a container's security context. Privileged containers
// are allowed: kube5 has no --allow-privileged=false policy.
func validateSecurityContext(sc *corev1.SecurityContext, path *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	if sc.RunAsUser != nil {
		for _, msg := range IsValidUserID(*sc.RunAsUser) {
			errs = append(errs, field.Invalid(path.Child("runAsUser"), *sc.RunAsUser, msg))
		}
	}
	if sc.RunAsGroup != nil {
		for _, msg := range IsValidGroupID(*sc.RunAsGroup) {
			errs = append(errs, field.Invalid(path.Child("runAsGroup"), *sc.RunAsGroup, msg))
		}
	}
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		if sc.GetPrivileged() {
			errs = append(errs, field.Invalid(path, BadValue(sc), "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
		}
		for _, c := range sc.GetCapabilities().GetAdd() {
			if c == "CAP_SYS_ADMIN" {
				errs = append(errs, field.Invalid(path, BadValue(sc), "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
			}
		}
	}
	return errs
}
