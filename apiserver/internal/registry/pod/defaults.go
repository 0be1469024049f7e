package pod

import (
	"strings"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
)

// Upstream's default values (k8s.io/api/core/v1 constants).
const (
	DefaultTerminationGracePeriodSeconds = 30
	DefaultSchedulerName                 = "default-scheduler"
	DefaultServiceAccountName            = "default"
	TerminationMessagePathDefault        = "/dev/termination-log"
	// DefaultTolerationSeconds is the DefaultTolerationSeconds admission plugin's
	// --default-not-ready-toleration-seconds and --default-unreachable-toleration-seconds.
	DefaultTolerationSeconds = 300
	// volumeSourceDefaultMode is 0644, the mode of secret and configMap volume files.
	volumeSourceDefaultMode = 0644
)

// The taints the node lifecycle controller puts on unhealthy nodes.
const (
	TaintNodeNotReady    = "node.kubernetes.io/not-ready"
	TaintNodeUnreachable = "node.kubernetes.io/unreachable"
)

// DefaultPodTemplateSpec fills a controller's template as upstream's defaulting does:
// the pod spec only (SetDefaults_PodSpec and what it contains), not what is specific to
// pods (DefaultPod adds those when the controller's pods are created).
func DefaultPodTemplateSpec(t *corev1.PodTemplateSpec) {
	if t == nil {
		return
	}
	if t.Spec == nil {
		t.Spec = &corev1.PodSpec{}
	}
	DefaultPodSpec(t.Spec)
}

// DefaultPodSpec applies SetDefaults_PodSpec and the defaults of everything inside a
// pod spec: containers, ports, probes, env, volumes.
func DefaultPodSpec(spec *corev1.PodSpec) {
	if spec.DnsPolicy == "" {
		spec.DnsPolicy = "ClusterFirst"
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = "Always"
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		v := int64(DefaultTerminationGracePeriodSeconds)
		spec.TerminationGracePeriodSeconds = &v
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = DefaultSchedulerName
	}
	for _, v := range spec.Volumes {
		defaultVolume(v)
	}
	for _, c := range spec.InitContainers {
		defaultContainer(c)
	}
	for _, c := range spec.Containers {
		defaultContainer(c)
	}
}

func defaultVolume(v *corev1.Volume) {
	if v.EmptyDir == nil && v.HostPath == nil && v.ConfigMap == nil && v.Secret == nil {
		v.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	if v.HostPath != nil && v.HostPath.Type == nil {
		t := ""
		v.HostPath.Type = &t
	}
	if v.ConfigMap != nil && v.ConfigMap.DefaultMode == nil {
		m := int32(volumeSourceDefaultMode)
		v.ConfigMap.DefaultMode = &m
	}
	if v.Secret != nil && v.Secret.DefaultMode == nil {
		m := int32(volumeSourceDefaultMode)
		v.Secret.DefaultMode = &m
	}
}

func defaultContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		if imageTag(c.Image) == "latest" {
			c.ImagePullPolicy = "Always"
		} else {
			c.ImagePullPolicy = "IfNotPresent"
		}
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = "File"
	}
	if r := c.Resources; r != nil {
		canonicalQuantities(r.Limits)
		canonicalQuantities(r.Requests)
	}
	for _, p := range c.Ports {
		if p.Protocol == "" {
			p.Protocol = "TCP"
		}
	}
	for _, e := range c.Env {
		if fr := e.GetValueFrom().GetFieldRef(); fr != nil && fr.ApiVersion == "" {
			fr.ApiVersion = "v1"
		}
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		defaultProbe(p)
	}
	if l := c.Lifecycle; l != nil {
		defaultHTTPGet(l.GetPostStart().GetHttpGet())
		defaultHTTPGet(l.GetPreStop().GetHttpGet())
	}
}

// canonicalQuantities rewrites each valid quantity in upstream's canonical form ("1000m"
// -> "1"), as upstream stores them. The JSON codec already does this; objects that arrive
// over gRPC carry the client's string. Invalid ones are left for validation to report.
func canonicalQuantities(list map[string]*metav1.Quantity) {
	for name, q := range list {
		if q == nil {
			list[name] = &metav1.Quantity{String_: "0"}
			continue
		}
		if c, err := metav1.ParseQuantity(q.AsString()); err == nil {
			q.String_ = c.String_
		}
	}
}

func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	defaultHTTPGet(p.HttpGet)
}

func defaultHTTPGet(h *corev1.HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = "HTTP"
	}
}

// imageTag returns the tag of an image reference as upstream's parsers.ParseImageName
// sees it: "latest" when there is neither tag nor digest, "" when there is only a digest
// or the reference does not parse (both of which mean IfNotPresent).
func imageTag(image string) string {
	name, digest, hasDigest := strings.Cut(image, "@")
	if hasDigest && digest == "" {
		return ""
	}
	tag := ""
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name, tag = name[:i], name[i+1:]
		if tag == "" {
			return ""
		}
	}
	if !validRepository(name) {
		return ""
	}
	if tag == "" && !hasDigest {
		return "latest"
	}
	return tag
}

// validRepository approximates the docker reference grammar: path components are lower
// case alphanumerics with separators; only a leading domain may hold upper case, dots or
// a port.
func validRepository(name string) bool {
	if name == "" {
		return false
	}
	parts := strings.Split(name, "/")
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost") {
		parts = parts[1:]
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
		for i, r := range p {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			case (r == '.' || r == '_' || r == '-') && i > 0 && i < len(p)-1:
			default:
				return false
			}
		}
	}
	return true
}

// TolerationSeconds are the tolerationSeconds of the not-ready and unreachable NoExecute
// tolerations every pod gets (upstream's DefaultTolerationSeconds admission plugin): how
// long its pods stay on a node whose kubelet is not ready or silent.
type TolerationSeconds struct{ NotReady, Unreachable int64 }

// DefaultTolerations are upstream's: five minutes each.
var DefaultTolerations = TolerationSeconds{NotReady: DefaultTolerationSeconds, Unreachable: DefaultTolerationSeconds}

// DefaultPod is DefaultPodWith upstream's default tolerations.
func DefaultPod(p *corev1.Pod) { DefaultPodWith(p, DefaultTolerations) }

// DefaultPodWith applies everything upstream does to a pod on its way in: the spec
// defaults, SetDefaults_Pod (requests from limits, enableServiceLinks, host-network
// ports), and the defaults of the ServiceAccount and DefaultTolerationSeconds admission
// plugins, the latter with these tolerationSeconds.
func DefaultPodWith(p *corev1.Pod, tolerations TolerationSeconds) {
	if p.Spec == nil {
		p.Spec = &corev1.PodSpec{}
	}
	spec := p.Spec
	DefaultPodSpec(spec)
	for _, cs := range [][]*corev1.Container{spec.Containers, spec.InitContainers} {
		for _, c := range cs {
			defaultRequestsFromLimits(c)
		}
	}
	if spec.EnableServiceLinks == nil {
		t := true
		spec.EnableServiceLinks = &t
	}
	if spec.HostNetwork {
		for _, cs := range [][]*corev1.Container{spec.Containers, spec.InitContainers} {
			for _, c := range cs {
				for _, port := range c.Ports {
					if port.HostPort == 0 {
						port.HostPort = port.ContainerPort
					}
				}
			}
		}
	}
	// serviceAccount is the deprecated alias: v1 conversion reads it when
	// serviceAccountName is empty and always writes it back equal.
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = spec.ServiceAccount
	}
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = DefaultServiceAccountName
	}
	spec.ServiceAccount = spec.ServiceAccountName
	addDefaultTolerations(spec, tolerations)
}

// defaultRequestsFromLimits copies a limit into the request of the same resource when
// the request is missing: a container that only says "at most" gets exactly that.
func defaultRequestsFromLimits(c *corev1.Container) {
	if c.Resources == nil || len(c.Resources.Limits) == 0 {
		return
	}
	if c.Resources.Requests == nil {
		c.Resources.Requests = map[string]*metav1.Quantity{}
	}
	for name, q := range c.Resources.Limits {
		if _, ok := c.Resources.Requests[name]; !ok {
			c.Resources.Requests[name] = &metav1.Quantity{String_: q.GetString_()}
		}
	}
}

// addDefaultTolerations adds the not-ready and unreachable NoExecute tolerations (300s
// by default) unless the pod already tolerates those taints, so pods move off a dead node
// after five minutes (upstream's DefaultTolerationSeconds admission plugin).
func addDefaultTolerations(spec *corev1.PodSpec, seconds TolerationSeconds) {
	notReady, unreachable := false, false
	for _, t := range spec.Tolerations {
		noExecute := t.Effect == "NoExecute" || t.Effect == ""
		if (t.Key == TaintNodeNotReady || t.Key == "") && noExecute {
			notReady = true
		}
		if (t.Key == TaintNodeUnreachable || t.Key == "") && noExecute {
			unreachable = true
		}
	}
	if !notReady {
		v := seconds.NotReady
		spec.Tolerations = append(spec.Tolerations, &corev1.Toleration{
			Key: TaintNodeNotReady, Operator: "Exists", Effect: "NoExecute", TolerationSeconds: &v,
		})
	}
	if !unreachable {
		v := seconds.Unreachable
		spec.Tolerations = append(spec.Tolerations, &corev1.Toleration{
			Key: TaintNodeUnreachable, Operator: "Exists", Effect: "NoExecute", TolerationSeconds: &v,
		})
	}
}
