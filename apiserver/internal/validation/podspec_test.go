package validation

import (
	"testing"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

func i64(v int64) *int64   { return &v }
func str(s string) *string { return &s }

// validSpec is a pod spec as defaulting leaves it.
func validSpec() *corev1.PodSpec {
	return &corev1.PodSpec{
		Volumes: []*corev1.Volume{{Name: "data", EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		Containers: []*corev1.Container{{
			Name: "web", Image: "kube5/httpenv:1.0", ImagePullPolicy: "IfNotPresent",
			TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: "File",
			Ports:        []*corev1.ContainerPort{{Name: "http", ContainerPort: 8888, Protocol: "TCP"}},
			VolumeMounts: []*corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
		}},
		RestartPolicy: "Always", DnsPolicy: "ClusterFirst", SchedulerName: "default-scheduler",
		TerminationGracePeriodSeconds: i64(30), SecurityContext: &corev1.PodSecurityContext{},
	}
}

func probe() *corev1.Probe {
	return &corev1.Probe{TcpSocket: &corev1.TCPSocketAction{Port: metav1.FromString("http")},
		TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3}
}

func TestValidatePodSpec(t *testing.T) {
	c0 := func(s *corev1.PodSpec) *corev1.Container { return s.Containers[0] }
	tests := []struct {
		name   string
		mutate func(*corev1.PodSpec)
		typ    field.ErrorType
		path   string
	}{
		{"valid", func(*corev1.PodSpec) {}, "", ""},
		{"no containers", func(s *corev1.PodSpec) { s.Containers = nil }, field.ErrorTypeRequired, "spec.containers"},
		{"no container name", func(s *corev1.PodSpec) { c0(s).Name = "" }, field.ErrorTypeRequired, "spec.containers[0].name"},
		{"container name not a label", func(s *corev1.PodSpec) { c0(s).Name = "Web" }, field.ErrorTypeInvalid, "spec.containers[0].name"},
		{"duplicate container", func(s *corev1.PodSpec) {
			s.Containers = append(s.Containers, &corev1.Container{Name: "web", Image: "x:1", ImagePullPolicy: "IfNotPresent", TerminationMessagePolicy: "File"})
		}, field.ErrorTypeDuplicate, "spec.containers[1].name"},
		{"init name clashes", func(s *corev1.PodSpec) {
			s.InitContainers = []*corev1.Container{{Name: "web", Image: "x:1", ImagePullPolicy: "IfNotPresent", TerminationMessagePolicy: "File"}}
		}, field.ErrorTypeDuplicate, "spec.initContainers[0].name"},
		{"init probe", func(s *corev1.PodSpec) {
			s.InitContainers = []*corev1.Container{{Name: "init", Image: "x:1", ImagePullPolicy: "IfNotPresent", TerminationMessagePolicy: "File", ReadinessProbe: probe()}}
		}, field.ErrorTypeForbidden, "spec.initContainers[0].readinessProbe"},
		{"no image", func(s *corev1.PodSpec) { c0(s).Image = "" }, field.ErrorTypeRequired, "spec.containers[0].image"},
		{"containerPort 0", func(s *corev1.PodSpec) { c0(s).Ports[0].ContainerPort = 0 }, field.ErrorTypeRequired, "spec.containers[0].ports[0].containerPort"},
		{"containerPort 70000", func(s *corev1.PodSpec) { c0(s).Ports[0].ContainerPort = 70000 }, field.ErrorTypeInvalid, "spec.containers[0].ports[0].containerPort"},
		{"hostPort 70000", func(s *corev1.PodSpec) { c0(s).Ports[0].HostPort = 70000 }, field.ErrorTypeInvalid, "spec.containers[0].ports[0].hostPort"},
		{"protocol", func(s *corev1.PodSpec) { c0(s).Ports[0].Protocol = "ICMP" }, field.ErrorTypeNotSupported, "spec.containers[0].ports[0].protocol"},
		{"port name", func(s *corev1.PodSpec) { c0(s).Ports[0].Name = "HTTP" }, field.ErrorTypeInvalid, "spec.containers[0].ports[0].name"},
		{"duplicate port name", func(s *corev1.PodSpec) {
			c0(s).Ports = append(c0(s).Ports, &corev1.ContainerPort{Name: "http", ContainerPort: 9999, Protocol: "TCP"})
		}, field.ErrorTypeDuplicate, "spec.containers[0].ports[1].name"},
		{"host port conflict", func(s *corev1.PodSpec) {
			c0(s).Ports = []*corev1.ContainerPort{{ContainerPort: 80, HostPort: 80, Protocol: "TCP"}, {ContainerPort: 81, HostPort: 80, Protocol: "TCP"}}
		}, field.ErrorTypeDuplicate, "spec.containers[0].ports[1].hostPort"},
		{"hostNetwork port mismatch", func(s *corev1.PodSpec) {
			s.HostNetwork = true
			c0(s).Ports[0].HostPort = 9000
		}, field.ErrorTypeInvalid, "spec.containers[0].ports[0].hostPort"},
		{"env name", func(s *corev1.PodSpec) { c0(s).Env = []*corev1.EnvVar{{Name: "1X", Value: "y"}} }, field.ErrorTypeInvalid, "spec.containers[0].env[0].name"},
		{"env without name", func(s *corev1.PodSpec) { c0(s).Env = []*corev1.EnvVar{{Value: "y"}} }, field.ErrorTypeRequired, "spec.containers[0].env[0].name"},
		{"env value and valueFrom", func(s *corev1.PodSpec) {
			c0(s).Env = []*corev1.EnvVar{{Name: "X", Value: "y", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{ApiVersion: "v1", FieldPath: "metadata.name"}}}}
		}, field.ErrorTypeInvalid, "spec.containers[0].env[0].valueFrom"},
		{"env two sources", func(s *corev1.PodSpec) {
			c0(s).Env = []*corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
				FieldRef:     &corev1.ObjectFieldSelector{ApiVersion: "v1", FieldPath: "metadata.name"},
				SecretKeyRef: &corev1.SecretKeySelector{Name: "s", Key: "k"}}}}
		}, field.ErrorTypeInvalid, "spec.containers[0].env[0].valueFrom"},
		{"env no source", func(s *corev1.PodSpec) {
			c0(s).Env = []*corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{}}}
		}, field.ErrorTypeInvalid, "spec.containers[0].env[0].valueFrom"},
		{"fieldRef unsupported", func(s *corev1.PodSpec) {
			c0(s).Env = []*corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{ApiVersion: "v1", FieldPath: "spec.hostname"}}}}
		}, field.ErrorTypeNotSupported, "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath"},
		{"fieldRef labels subscript", func(s *corev1.PodSpec) {
			c0(s).Env = []*corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{ApiVersion: "v1", FieldPath: "metadata.labels['app']"}}}}
		}, "", ""},
		{"fieldRef podIPs", func(s *corev1.PodSpec) {
			c0(s).Env = []*corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{ApiVersion: "v1", FieldPath: "status.podIPs"}}}}
		}, "", ""},
		{"secret key", func(s *corev1.PodSpec) {
			c0(s).Env = []*corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Name: "s"}}}}
		}, field.ErrorTypeRequired, "spec.containers[0].env[0].valueFrom.secretKeyRef.key"},
		{"mount of unknown volume", func(s *corev1.PodSpec) { c0(s).VolumeMounts[0].Name = "nope" }, field.ErrorTypeNotFound, "spec.containers[0].volumeMounts[0].name"},
		{"relative mount path", func(s *corev1.PodSpec) { c0(s).VolumeMounts[0].MountPath = "data" }, field.ErrorTypeInvalid, "spec.containers[0].volumeMounts[0].mountPath"},
		{"duplicate mount path", func(s *corev1.PodSpec) {
			c0(s).VolumeMounts = append(c0(s).VolumeMounts, &corev1.VolumeMount{Name: "data", MountPath: "/data"})
		}, field.ErrorTypeInvalid, "spec.containers[0].volumeMounts[1].mountPath"},
		{"duplicate volume", func(s *corev1.PodSpec) {
			s.Volumes = append(s.Volumes, &corev1.Volume{Name: "data", EmptyDir: &corev1.EmptyDirVolumeSource{}})
		}, field.ErrorTypeDuplicate, "spec.volumes[1].name"},
		{"two volume sources", func(s *corev1.PodSpec) { s.Volumes[0].HostPath = &corev1.HostPathVolumeSource{Path: "/x"} }, field.ErrorTypeForbidden, "spec.volumes[0].hostPath"},
		{"no volume source", func(s *corev1.PodSpec) { s.Volumes[0].EmptyDir = nil }, field.ErrorTypeRequired, "spec.volumes[0]"},
		{"hostPath without path", func(s *corev1.PodSpec) {
			s.Volumes[0] = &corev1.Volume{Name: "data", HostPath: &corev1.HostPathVolumeSource{}}
		}, field.ErrorTypeRequired, "spec.volumes[0].hostPath.path"},
		{"hostPath type", func(s *corev1.PodSpec) {
			s.Volumes[0] = &corev1.Volume{Name: "data", HostPath: &corev1.HostPathVolumeSource{Path: "/x", Type: str("Dir")}}
		}, field.ErrorTypeNotSupported, "spec.volumes[0].hostPath.type"},
		{"secret volume without name", func(s *corev1.PodSpec) {
			s.Volumes[0] = &corev1.Volume{Name: "data", Secret: &corev1.SecretVolumeSource{}}
		}, field.ErrorTypeRequired, "spec.volumes[0].secret.secretName"},
		{"bad resource quantity", func(s *corev1.PodSpec) {
			c0(s).Resources = &corev1.ResourceRequirements{Limits: map[string]*metav1.Quantity{"cpu": {String_: "1x"}}}
		}, field.ErrorTypeInvalid, "spec.containers[0].resources.limits[cpu]"},
		{"negative resource", func(s *corev1.PodSpec) {
			c0(s).Resources = &corev1.ResourceRequirements{Requests: map[string]*metav1.Quantity{"memory": {String_: "-1Mi"}}}
		}, field.ErrorTypeInvalid, "spec.containers[0].resources.requests[memory]"},
		{"request above limit", func(s *corev1.PodSpec) {
			c0(s).Resources = &corev1.ResourceRequirements{
				Limits:   map[string]*metav1.Quantity{"cpu": {String_: "500m"}},
				Requests: map[string]*metav1.Quantity{"cpu": {String_: "1"}}}
		}, field.ErrorTypeInvalid, "spec.containers[0].resources.requests"},
		{"unknown resource", func(s *corev1.PodSpec) {
			c0(s).Resources = &corev1.ResourceRequirements{Limits: map[string]*metav1.Quantity{"gpu": {String_: "1"}}}
		}, field.ErrorTypeInvalid, "spec.containers[0].resources.limits[gpu]"},
		{"pull policy", func(s *corev1.PodSpec) { c0(s).ImagePullPolicy = "Sometimes" }, field.ErrorTypeNotSupported, "spec.containers[0].imagePullPolicy"},
		{"probe without handler", func(s *corev1.PodSpec) {
			p := probe()
			p.TcpSocket = nil
			c0(s).LivenessProbe = p
		}, field.ErrorTypeRequired, "spec.containers[0].livenessProbe"},
		{"probe two handlers", func(s *corev1.PodSpec) {
			p := probe()
			p.Exec = &corev1.ExecAction{Command: []string{"true"}}
			c0(s).ReadinessProbe = p
		}, field.ErrorTypeForbidden, "spec.containers[0].readinessProbe.tcpSocket"},
		{"probe bad port name", func(s *corev1.PodSpec) {
			p := probe()
			p.TcpSocket.Port = metav1.FromString("HTTP")
			c0(s).ReadinessProbe = p
		}, field.ErrorTypeInvalid, "spec.containers[0].readinessProbe.tcpSocket.port"},
		{"preStop sleep", func(s *corev1.PodSpec) {
			c0(s).Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}}}
		}, "", ""},
		{"preStop negative sleep", func(s *corev1.PodSpec) {
			c0(s).Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: -1}}}
		}, field.ErrorTypeInvalid, "spec.containers[0].lifecycle.preStop.sleep"},
		{"preStop sleep of the whole grace period", func(s *corev1.PodSpec) {
			c0(s).Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 30}}}
		}, "", ""},
		{"preStop sleep of 0", func(s *corev1.PodSpec) {
			c0(s).Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 0}}}
		}, "", ""},
		{"preStop sleep past the grace period", func(s *corev1.PodSpec) {
			c0(s).Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 31}}}
		}, field.ErrorTypeInvalid, "spec.containers[0].lifecycle.preStop.sleep"},
		{"preStop sleep past a short grace period", func(s *corev1.PodSpec) {
			s.TerminationGracePeriodSeconds = i64(2)
			c0(s).Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}}}
		}, field.ErrorTypeInvalid, "spec.containers[0].lifecycle.preStop.sleep"},
		{"postStart sleep past the grace period", func(s *corev1.PodSpec) {
			c0(s).Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 40}}}
		}, field.ErrorTypeInvalid, "spec.containers[0].lifecycle.postStart.sleep"},
		{"postStart sleep and exec", func(s *corev1.PodSpec) {
			c0(s).Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{
				Sleep: &corev1.SleepAction{Seconds: 1}, Exec: &corev1.ExecAction{Command: []string{"true"}}}}
		}, field.ErrorTypeForbidden, "spec.containers[0].lifecycle.postStart.sleep"},
		{"preStop without handler", func(s *corev1.PodSpec) {
			c0(s).Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{}}
		}, field.ErrorTypeRequired, "spec.containers[0].lifecycle.preStop"},
		{"liveness success threshold", func(s *corev1.PodSpec) {
			p := probe()
			p.SuccessThreshold = 2
			c0(s).LivenessProbe = p
		}, field.ErrorTypeInvalid, "spec.containers[0].livenessProbe.successThreshold"},
		{"startup success threshold", func(s *corev1.PodSpec) {
			p := probe()
			p.SuccessThreshold = 2
			c0(s).StartupProbe = p
		}, field.ErrorTypeInvalid, "spec.containers[0].startupProbe.successThreshold"},
		{"readiness success threshold", func(s *corev1.PodSpec) {
			p := probe()
			p.SuccessThreshold = 2
			c0(s).ReadinessProbe = p
		}, "", ""},
		{"httpGet scheme", func(s *corev1.PodSpec) {
			c0(s).ReadinessProbe = &corev1.Probe{HttpGet: &corev1.HTTPGetAction{Path: "/", Port: metav1.FromInt(80), Scheme: "FTP"},
				TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3}
		}, field.ErrorTypeNotSupported, "spec.containers[0].readinessProbe.httpGet.scheme"},
		{"restartPolicy", func(s *corev1.PodSpec) { s.RestartPolicy = "Sometimes" }, field.ErrorTypeNotSupported, "spec.restartPolicy"},
		{"restartPolicy empty", func(s *corev1.PodSpec) { s.RestartPolicy = "" }, field.ErrorTypeRequired, "spec.restartPolicy"},
		{"dnsPolicy", func(s *corev1.PodSpec) { s.DnsPolicy = "Google" }, field.ErrorTypeNotSupported, "spec.dnsPolicy"},
		{"dnsPolicy None without config", func(s *corev1.PodSpec) { s.DnsPolicy = "None" }, field.ErrorTypeRequired, "spec.dnsConfig"},
		{"grace period unset", func(s *corev1.PodSpec) { s.TerminationGracePeriodSeconds = nil }, field.ErrorTypeRequired, "spec.terminationGracePeriodSeconds"},
		{"grace period negative", func(s *corev1.PodSpec) { s.TerminationGracePeriodSeconds = i64(-1) }, field.ErrorTypeInvalid, "spec.terminationGracePeriodSeconds"},
		{"activeDeadlineSeconds 0", func(s *corev1.PodSpec) { s.ActiveDeadlineSeconds = i64(0) }, field.ErrorTypeInvalid, "spec.activeDeadlineSeconds"},
		{"nodeSelector", func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"a b": "c"} }, field.ErrorTypeInvalid, "spec.nodeSelector"},
		{"nodeName", func(s *corev1.PodSpec) { s.NodeName = "Node_1" }, field.ErrorTypeInvalid, "spec.nodeName"},
		{"serviceAccountName", func(s *corev1.PodSpec) { s.ServiceAccountName = "A" }, field.ErrorTypeInvalid, "spec.serviceAccountName"},
		{"hostname", func(s *corev1.PodSpec) { s.Hostname = "a.b" }, field.ErrorTypeInvalid, "spec.hostname"},
		{"toleration operator", func(s *corev1.PodSpec) {
			s.Tolerations = []*corev1.Toleration{{Key: "k", Operator: "Maybe"}}
		}, field.ErrorTypeNotSupported, "spec.tolerations[0].operator"},
		{"toleration exists with value", func(s *corev1.PodSpec) {
			s.Tolerations = []*corev1.Toleration{{Key: "k", Operator: "Exists", Value: "v"}}
		}, field.ErrorTypeInvalid, "spec.tolerations[0].operator"},
		{"toleration empty key with Equal", func(s *corev1.PodSpec) {
			s.Tolerations = []*corev1.Toleration{{Operator: "Equal"}}
		}, field.ErrorTypeInvalid, "spec.tolerations[0].operator"},
		{"toleration effect", func(s *corev1.PodSpec) {
			s.Tolerations = []*corev1.Toleration{{Key: "k", Operator: "Exists", Effect: "NoRun"}}
		}, field.ErrorTypeNotSupported, "spec.tolerations[0].effect"},
		{"tolerationSeconds without NoExecute", func(s *corev1.PodSpec) {
			s.Tolerations = []*corev1.Toleration{{Key: "k", Operator: "Exists", Effect: "NoSchedule", TolerationSeconds: i64(10)}}
		}, field.ErrorTypeInvalid, "spec.tolerations[0].effect"},
		{"node affinity Gt two values", func(s *corev1.PodSpec) {
			s.Affinity = nodeAffinity(&corev1.NodeSelectorRequirement{Key: "cores", Operator: "Gt", Values: []string{"1", "2"}})
		}, field.ErrorTypeRequired, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values"},
		{"node affinity Lt not integer", func(s *corev1.PodSpec) {
			s.Affinity = nodeAffinity(&corev1.NodeSelectorRequirement{Key: "cores", Operator: "Lt", Values: []string{"x"}})
		}, field.ErrorTypeInvalid, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0]"},
		{"node affinity Gt ok", func(s *corev1.PodSpec) {
			s.Affinity = nodeAffinity(&corev1.NodeSelectorRequirement{Key: "cores", Operator: "Gt", Values: []string{"4"}})
		}, "", ""},
		{"node affinity operator", func(s *corev1.PodSpec) {
			s.Affinity = nodeAffinity(&corev1.NodeSelectorRequirement{Key: "a", Operator: "Near"})
		}, field.ErrorTypeInvalid, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator"},
		{"no node selector terms", func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}}
		}, field.ErrorTypeRequired, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"},
		{"pod anti-affinity without topologyKey", func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []*corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}}}
		}, field.ErrorTypeRequired, "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey"},
		{"preferred weight", func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []*corev1.WeightedPodAffinityTerm{{
				Weight: 0, PodAffinityTerm: &corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname"}}}}}
		}, field.ErrorTypeInvalid, "spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight"},
		{"runAsUser", func(s *corev1.PodSpec) { s.SecurityContext.RunAsUser = i64(-1) }, field.ErrorTypeInvalid, "spec.securityContext.runAsUser"},
		{"host alias ip", func(s *corev1.PodSpec) {
			s.HostAliases = []*corev1.HostAlias{{Ip: "x", Hostnames: []string{"a"}}}
		}, field.ErrorTypeInvalid, "spec.hostAliases[0].ip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.mutate(s)
			errs := ValidatePodSpecWithOptions(s, field.NewPath("spec"), PodValidationOptions{ResourceIsPod: true})
			if tt.typ == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			if !hasError(errs, tt.typ, tt.path) {
				t.Fatalf("want %s at %s, got %v", tt.typ, tt.path, errs)
			}
		})
	}
}

func nodeAffinity(rq *corev1.NodeSelectorRequirement) *corev1.Affinity {
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []*corev1.NodeSelectorTerm{{MatchExpressions: []*corev1.NodeSelectorRequirement{rq}}}}}}
}

func TestPodSpecMessages(t *testing.T) {
	s := validSpec()
	s.Containers[0].Resources = &corev1.ResourceRequirements{
		Limits:   map[string]*metav1.Quantity{"cpu": {String_: "500m"}},
		Requests: map[string]*metav1.Quantity{"cpu": {String_: "1"}}}
	s.Containers[0].Ports[0].Protocol = "ICMP"
	errs := ValidatePodSpec(s, field.NewPath("spec"))
	want := map[string]bool{
		`spec.containers[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"`:    true,
		`spec.containers[0].resources.requests: Invalid value: "1": must be less than or equal to cpu limit of 500m`: true,
	}
	for _, e := range errs {
		delete(want, e.Error())
	}
	if len(want) != 0 {
		t.Errorf("missing %v in %v", want, errs)
	}
}

// TestSleepHookMessages: a sleep hook that does not fit the grace period is refused with
// upstream's words, naming the grace period to raise (or the sleep to shorten).
func TestSleepHookMessages(t *testing.T) {
	for _, tc := range []struct {
		grace     *int64
		lifecycle *corev1.Lifecycle
		want      string
	}{
		{i64(30), &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 40}}},
			"spec.containers[0].lifecycle.preStop.sleep: Invalid value: 40: must be non-negative and less than terminationGracePeriodSeconds (30)"},
		{i64(30), &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: -1}}},
			"spec.containers[0].lifecycle.postStart.sleep: Invalid value: -1: must be non-negative and less than terminationGracePeriodSeconds (30)"},
		{i64(2), &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}}},
			"spec.containers[0].lifecycle.preStop.sleep: Invalid value: 5: must be non-negative and less than terminationGracePeriodSeconds (2)"},
		// No grace period is an error of its own; the sleep is not measured against it.
		{nil, &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: -1}}},
			"spec.containers[0].lifecycle.preStop.sleep: Invalid value: -1: must be non-negative"},
	} {
		s := validSpec()
		s.TerminationGracePeriodSeconds = tc.grace
		s.Containers[0].Lifecycle = tc.lifecycle
		errs := ValidatePodSpec(s, field.NewPath("spec"))
		found := false
		for _, e := range errs {
			found = found || e.Error() == tc.want
		}
		if !found {
			t.Errorf("want %q, got %v", tc.want, errs)
		}
	}
}

func TestHostNetworkTemplateAllowsZeroHostPort(t *testing.T) {
	s := validSpec()
	s.HostNetwork = true
	if errs := ValidatePodSpec(s, field.NewPath("spec")); len(errs) != 0 {
		t.Errorf("a template may leave hostPort 0: %v", errs)
	}
	if errs := ValidatePodSpecWithOptions(s, field.NewPath("spec"), PodValidationOptions{ResourceIsPod: true}); !hasError(errs, field.ErrorTypeInvalid, "spec.containers[0].ports[0].hostPort") {
		t.Errorf("a pod may not: %v", errs)
	}
}

func TestValidatePodTemplateSpec(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"a b": "x"}}, Spec: validSpec()}
	errs := ValidatePodTemplateSpec(tmpl, field.NewPath("spec", "template"))
	// Upstream reports template labels at template.labels, not template.metadata.labels.
	if !hasError(errs, field.ErrorTypeInvalid, "spec.template.labels") {
		t.Errorf("got %v", errs)
	}
	if errs := ValidatePodTemplateSpec(nil, field.NewPath("spec", "template")); !hasError(errs, field.ErrorTypeRequired, "spec.template") {
		t.Errorf("got %v", errs)
	}
}

func TestTaints(t *testing.T) {
	p := field.NewPath("spec", "taints")
	errs := ValidateTaints([]*corev1.Taint{{Key: "k", Effect: "NoSchedule"}, {Key: "k", Effect: "NoSchedule"}, {Key: "k2"}}, p)
	if !hasError(errs, field.ErrorTypeDuplicate, "spec.taints[1]") || !hasError(errs, field.ErrorTypeRequired, "spec.taints[2].effect") {
		t.Errorf("got %v", errs)
	}
	for _, e := range errs {
		if e.Type == field.ErrorTypeDuplicate && e.Detail != "taints must be unique by key and effect pair" {
			t.Errorf("detail %q", e.Detail)
		}
	}
}

func TestOnlyAddedTolerations(t *testing.T) {
	old := []*corev1.Toleration{{Key: "k", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: i64(300)}}
	p := field.NewPath("spec", "tolerations")
	added := []*corev1.Toleration{{Key: "k", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: i64(10)}, {Key: "x", Operator: "Exists"}}
	if errs := ValidateOnlyAddedTolerations(added, old, p); len(errs) != 0 {
		t.Errorf("adding and changing tolerationSeconds is allowed: %v", errs)
	}
	if errs := ValidateOnlyAddedTolerations(nil, old, p); !hasError(errs, field.ErrorTypeForbidden, "spec.tolerations") {
		t.Errorf("removing is not: %v", errs)
	}
}
