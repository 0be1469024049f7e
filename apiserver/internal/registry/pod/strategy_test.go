package pod

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

func i64(v int64) *int64   { return &v }
func i32(v int32) *int32   { return &v }
func boolp(v bool) *bool   { return &v }
func str(s string) *string { return &s }

func hasError(errs field.ErrorList, typ field.ErrorType, path string) bool {
	for _, e := range errs {
		if e.Type == typ && e.Field == path {
			return true
		}
	}
	return false
}

// newPod is a pod as a user writes it.
func newPod() *corev1.Pod {
	return &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default", Uid: "u1", Labels: map[string]string{"app": "web"}},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{
			Name: "web", Image: "kube5/httpenv:1.0",
			Ports: []*corev1.ContainerPort{{ContainerPort: 8888}},
		}}},
	}
}

// created runs the pod through the create path as the generic store does.
func created(p *corev1.Pod) *corev1.Pod {
	Strategy.PrepareForCreate(p)
	Strategy.Default(p)
	return p
}

func TestDefaults(t *testing.T) {
	p := newPod()
	p.Spec.Containers[0].LivenessProbe = &corev1.Probe{HttpGet: &corev1.HTTPGetAction{Port: metav1.FromInt(8888)}}
	p.Spec.Containers[0].Env = []*corev1.EnvVar{{Name: "NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
	p.Spec.Containers[0].Resources = &corev1.ResourceRequirements{Limits: map[string]*metav1.Quantity{"cpu": {String_: "500m"}, "memory": {String_: "64Mi"}}}
	p.Spec.Volumes = []*corev1.Volume{{Name: "scratch"}, {Name: "host", HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"}},
		{Name: "cfg", ConfigMap: &corev1.ConfigMapVolumeSource{Name: "cfg"}}}
	created(p)

	want := &corev1.Pod{
		Metadata: p.Metadata,
		Spec: &corev1.PodSpec{
			Volumes: []*corev1.Volume{
				{Name: "scratch", EmptyDir: &corev1.EmptyDirVolumeSource{}},
				{Name: "host", HostPath: &corev1.HostPathVolumeSource{Path: "/tmp", Type: str("")}},
				{Name: "cfg", ConfigMap: &corev1.ConfigMapVolumeSource{Name: "cfg", DefaultMode: i32(420)}},
			},
			Containers: []*corev1.Container{{
				Name: "web", Image: "kube5/httpenv:1.0",
				Ports: []*corev1.ContainerPort{{ContainerPort: 8888, Protocol: "TCP"}},
				Env:   []*corev1.EnvVar{{Name: "NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{ApiVersion: "v1", FieldPath: "metadata.name"}}}},
				Resources: &corev1.ResourceRequirements{
					Limits:   map[string]*metav1.Quantity{"cpu": {String_: "500m"}, "memory": {String_: "64Mi"}},
					Requests: map[string]*metav1.Quantity{"cpu": {String_: "500m"}, "memory": {String_: "64Mi"}},
				},
				LivenessProbe: &corev1.Probe{HttpGet: &corev1.HTTPGetAction{Path: "/", Port: metav1.FromInt(8888), Scheme: "HTTP"},
					TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3},
				TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: "File", ImagePullPolicy: "IfNotPresent",
			}},
			RestartPolicy: "Always", TerminationGracePeriodSeconds: i64(30), DnsPolicy: "ClusterFirst",
			ServiceAccountName: "default", ServiceAccount: "default",
			SecurityContext: &corev1.PodSecurityContext{}, SchedulerName: "default-scheduler",
			Tolerations: []*corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: i64(300)},
				{Key: "node.kubernetes.io/unreachable", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: i64(300)},
			},
			EnableServiceLinks: boolp(true),
		},
		Status: &corev1.PodStatus{Phase: "Pending", QosClass: "Guaranteed"},
	}
	if !proto.Equal(p, want) {
		t.Errorf("defaulted pod:\n%v\nwant:\n%v", p, want)
	}
	// Defaulting twice changes nothing.
	again := proto.Clone(p).(*corev1.Pod)
	Strategy.Default(again)
	if !proto.Equal(again, p) {
		t.Errorf("defaulting is not idempotent:\n%v", again)
	}
	if errs := Strategy.Validate(p); len(errs) != 0 {
		t.Errorf("defaulted pod is invalid: %v", errs)
	}
}

func TestImagePullPolicy(t *testing.T) {
	for image, want := range map[string]string{
		"nginx":                 "Always",
		"nginx:latest":          "Always",
		"nginx:1.25":            "IfNotPresent",
		"kube5/pause:3.10":      "IfNotPresent",
		"localhost:5000/app":    "Always",
		"localhost:5000/app:v1": "IfNotPresent",
		"nginx@sha256:" + strings.Repeat("a", 64):        "IfNotPresent",
		"nginx:latest@sha256:" + strings.Repeat("a", 64): "Always",
		"Nginx": "IfNotPresent", // does not parse: upstream falls back
		"":      "IfNotPresent",
	} {
		c := &corev1.Container{Image: image}
		defaultContainer(c)
		if c.ImagePullPolicy != want {
			t.Errorf("%q: got %s, want %s", image, c.ImagePullPolicy, want)
		}
	}
	c := &corev1.Container{Image: "nginx", ImagePullPolicy: "Never"}
	defaultContainer(c)
	if c.ImagePullPolicy != "Never" {
		t.Error("an explicit policy is kept")
	}
}

func TestDefaultTolerations(t *testing.T) {
	tests := []struct {
		name string
		have []*corev1.Toleration
		want int
	}{
		{"none", nil, 2},
		{"tolerates everything", []*corev1.Toleration{{Operator: "Exists"}}, 1},
		{"has not-ready", []*corev1.Toleration{{Key: TaintNodeNotReady, Operator: "Exists", Effect: "NoExecute", TolerationSeconds: i64(5)}}, 2},
		{"not-ready NoSchedule only", []*corev1.Toleration{{Key: TaintNodeNotReady, Operator: "Exists", Effect: "NoSchedule"}}, 3},
		{"both", []*corev1.Toleration{{Key: TaintNodeNotReady, Operator: "Exists"}, {Key: TaintNodeUnreachable, Operator: "Exists"}}, 2},
	}
	for _, tt := range tests {
		spec := &corev1.PodSpec{Tolerations: tt.have}
		addDefaultTolerations(spec, DefaultTolerations)
		if len(spec.Tolerations) != tt.want {
			t.Errorf("%s: got %v", tt.name, spec.Tolerations)
		}
	}
}

func TestServiceAccountDefault(t *testing.T) {
	p := newPod()
	p.Spec.ServiceAccount = "legacy"
	Strategy.Default(p)
	if p.Spec.ServiceAccountName != "legacy" || p.Spec.ServiceAccount != "legacy" {
		t.Errorf("serviceAccount alias: %q %q", p.Spec.ServiceAccountName, p.Spec.ServiceAccount)
	}
}

func TestHostNetworkPorts(t *testing.T) {
	p := newPod()
	p.Spec.HostNetwork = true
	Strategy.Default(p)
	if got := p.Spec.Containers[0].Ports[0].HostPort; got != 8888 {
		t.Errorf("hostPort %d", got)
	}
}

func TestComputeQOS(t *testing.T) {
	res := func(req, lim map[string]string) *corev1.ResourceRequirements {
		r := &corev1.ResourceRequirements{}
		if req != nil {
			r.Requests = map[string]*metav1.Quantity{}
			for k, v := range req {
				r.Requests[k] = &metav1.Quantity{String_: v}
			}
		}
		if lim != nil {
			r.Limits = map[string]*metav1.Quantity{}
			for k, v := range lim {
				r.Limits[k] = &metav1.Quantity{String_: v}
			}
		}
		return r
	}
	tests := []struct {
		name string
		rs   []*corev1.ResourceRequirements
		want string
	}{
		{"nothing", []*corev1.ResourceRequirements{nil}, QOSBestEffort},
		{"zero requests", []*corev1.ResourceRequirements{res(map[string]string{"cpu": "0"}, nil)}, QOSBestEffort},
		{"requests only", []*corev1.ResourceRequirements{res(map[string]string{"cpu": "100m"}, nil)}, QOSBurstable},
		{"equal", []*corev1.ResourceRequirements{res(map[string]string{"cpu": "1", "memory": "1Gi"}, map[string]string{"cpu": "1000m", "memory": "1Gi"})}, QOSGuaranteed},
		{"cpu limit only", []*corev1.ResourceRequirements{res(map[string]string{"cpu": "1"}, map[string]string{"cpu": "1"})}, QOSBurstable},
		{"request below limit", []*corev1.ResourceRequirements{res(map[string]string{"cpu": "500m", "memory": "1Gi"}, map[string]string{"cpu": "1", "memory": "1Gi"})}, QOSBurstable},
		{"one container without", []*corev1.ResourceRequirements{
			res(map[string]string{"cpu": "1", "memory": "1Gi"}, map[string]string{"cpu": "1", "memory": "1Gi"}), nil}, QOSBurstable},
		{"other resources ignored", []*corev1.ResourceRequirements{res(map[string]string{"ephemeral-storage": "1Gi"}, nil)}, QOSBestEffort},
	}
	for _, tt := range tests {
		p := &corev1.Pod{Spec: &corev1.PodSpec{}}
		for i, r := range tt.rs {
			p.Spec.Containers = append(p.Spec.Containers, &corev1.Container{Name: string(rune('a' + i)), Resources: r})
		}
		if got := ComputeQOS(p); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
	// Limits alone make a pod Guaranteed: requests are defaulted from them first.
	p := newPod()
	p.Spec.Containers[0].Resources = res(nil, map[string]string{"cpu": "1", "memory": "1Gi"})
	if created(p).Status.QosClass != QOSGuaranteed {
		t.Errorf("limits only: %s", p.Status.QosClass)
	}
}

func TestPrepareForCreateResetsStatus(t *testing.T) {
	p := newPod()
	p.Status = &corev1.PodStatus{Phase: "Running", PodIp: "10.0.0.1"}
	created(p)
	if p.Status.Phase != "Pending" || p.Status.PodIp != "" {
		t.Errorf("status %v", p.Status)
	}
}

func TestGracePeriod(t *testing.T) {
	bound := func(mut func(*corev1.Pod)) *corev1.Pod {
		p := created(newPod())
		p.Spec.NodeName = "node-1"
		if mut != nil {
			mut(p)
		}
		return p
	}
	tests := []struct {
		name      string
		pod       *corev1.Pod
		requested *int64
		want      int64
	}{
		{"spec default", bound(nil), nil, 30},
		{"spec value", bound(func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = i64(5) }), nil, 5},
		{"spec unset", bound(func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = nil }), nil, 30},
		{"requested", bound(nil), i64(10), 10},
		{"requested 0", bound(nil), i64(0), 0},
		{"negative requested", bound(nil), i64(-5), 1},
		{"negative spec", bound(func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = i64(-1) }), nil, 1},
		{"unbound", created(newPod()), i64(10), 0},
		{"succeeded", bound(func(p *corev1.Pod) { p.Status.Phase = "Succeeded" }), nil, 0},
		{"failed", bound(func(p *corev1.Pod) { p.Status.Phase = "Failed" }), i64(20), 0},
	}
	for _, tt := range tests {
		if got := Strategy.GracePeriod(tt.pod, tt.requested); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Pod)
		typ    field.ErrorType
		path   string
	}{
		{"valid", func(*corev1.Pod) {}, "", ""},
		{"bad name", func(p *corev1.Pod) { p.Metadata.Name = "Web" }, field.ErrorTypeInvalid, "metadata.name"},
		{"no namespace", func(p *corev1.Pod) { p.Metadata.Namespace = "" }, field.ErrorTypeRequired, "metadata.namespace"},
		{"image whitespace", func(p *corev1.Pod) { p.Spec.Containers[0].Image = " x:1" }, field.ErrorTypeInvalid, "spec.containers[0].image"},
		{"mirror without node", func(p *corev1.Pod) {
			p.Metadata.Annotations = map[string]string{MirrorPodAnnotationKey: "x"}
		}, field.ErrorTypeInvalid, "metadata.annotations[kubernetes.io/config.mirror]"},
		{"hostNetwork port", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports[0].HostPort = 1234
		}, field.ErrorTypeInvalid, "spec.containers[0].ports[0].hostPort"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := created(newPod())
			tt.mutate(p)
			errs := Strategy.Validate(p)
			if tt.typ == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected: %v", errs)
				}
				return
			}
			if !hasError(errs, tt.typ, tt.path) {
				t.Fatalf("want %s at %s, got %v", tt.typ, tt.path, errs)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	tests := []struct {
		name   string
		old    func(*corev1.Pod)
		mutate func(*corev1.Pod)
		typ    field.ErrorType
		path   string
	}{
		{"unchanged", nil, func(*corev1.Pod) {}, "", ""},
		{"image", nil, func(p *corev1.Pod) { p.Spec.Containers[0].Image = "kube5/httpenv:2.0" }, "", ""},
		{"labels", nil, func(p *corev1.Pod) { p.Metadata.Labels["v"] = "2" }, "", ""},
		{"add toleration", nil, func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, &corev1.Toleration{Key: "k", Operator: "Exists"})
		}, "", ""},
		{"remove toleration", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, &corev1.Toleration{Key: "k", Operator: "Exists"})
		}, func(p *corev1.Pod) { p.Spec.Tolerations = p.Spec.Tolerations[:2] }, field.ErrorTypeForbidden, "spec.tolerations"},
		{"default tolerations come back", nil, func(p *corev1.Pod) { p.Spec.Tolerations = nil }, "", ""},
		{"set activeDeadlineSeconds", nil, func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = i64(60) }, "", ""},
		{"raise activeDeadlineSeconds", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = i64(60) },
			func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = i64(120) }, field.ErrorTypeInvalid, "spec.activeDeadlineSeconds"},
		{"unset activeDeadlineSeconds", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = i64(60) },
			func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = nil }, field.ErrorTypeInvalid, "spec.activeDeadlineSeconds"},
		{"negative grace to 1", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = i64(-1) },
			func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = i64(1) }, "", ""},
		{"grace period", nil, func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = i64(5) }, field.ErrorTypeForbidden, "spec"},
		{"nodeName", func(p *corev1.Pod) { p.Spec.NodeName = "node-1" },
			func(p *corev1.Pod) { p.Spec.NodeName = "node-2" }, field.ErrorTypeForbidden, "spec"},
		{"nodeName set by update", nil, func(p *corev1.Pod) { p.Spec.NodeName = "node-1" }, field.ErrorTypeForbidden, "spec"},
		{"container port", nil, func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 80 }, field.ErrorTypeForbidden, "spec"},
		{"add container", nil, func(p *corev1.Pod) {
			c := proto.Clone(p.Spec.Containers[0]).(*corev1.Container)
			c.Name = "two"
			c.Ports = nil
			p.Spec.Containers = append(p.Spec.Containers, c)
		}, field.ErrorTypeForbidden, "spec.containers"},
		{"empty image", nil, func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, field.ErrorTypeRequired, "spec.containers[0].image"},
		{"name", nil, func(p *corev1.Pod) { p.Metadata.Name = "other" }, field.ErrorTypeInvalid, "metadata.name"},
		{"add mirror annotation", func(p *corev1.Pod) { p.Spec.NodeName = "n" }, func(p *corev1.Pod) {
			p.Metadata.Annotations = map[string]string{MirrorPodAnnotationKey: "x"}
		}, field.ErrorTypeForbidden, "metadata.annotations[kubernetes.io/config.mirror]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := created(newPod())
			if tt.old != nil {
				tt.old(old)
			}
			cur := proto.Clone(old).(*corev1.Pod)
			tt.mutate(cur)
			Strategy.Default(cur)
			Strategy.PrepareForUpdate(cur, old)
			errs := Strategy.ValidateUpdate(cur, old)
			if tt.typ == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected: %v", errs)
				}
				return
			}
			if !hasError(errs, tt.typ, tt.path) {
				t.Fatalf("want %s at %s, got %v", tt.typ, tt.path, errs)
			}
		})
	}
}

func TestValidateUpdateMessage(t *testing.T) {
	old := created(newPod())
	old.Spec.NodeName = "node-1"
	cur := proto.Clone(old).(*corev1.Pod)
	cur.Spec.NodeName = "node-2"
	errs := Strategy.ValidateUpdate(cur, old)
	if len(errs) != 1 {
		t.Fatalf("got %v", errs)
	}
	want := "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`," +
		"`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations)," +
		"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n" +
		`  spec.nodeName: "node-1" -> "node-2"`
	if errs[0].Error() != want {
		t.Errorf("got\n%s\nwant\n%s", errs[0].Error(), want)
	}
}

func TestStatusUpdate(t *testing.T) {
	old := created(newPod())
	old.Spec.NodeName = "node-1"
	old.Spec.RestartPolicy = "Never"
	old.Status.ContainerStatuses = []*corev1.ContainerStatus{{Name: "web", State: &corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}}

	cur := proto.Clone(old).(*corev1.Pod)
	cur.Status = &corev1.PodStatus{Phase: "Succeeded", PodIp: "10.244.1.5", HostIp: "192.168.0.2",
		ContainerStatuses: old.Status.ContainerStatuses}
	Strategy.PrepareForStatusUpdate(cur, old)
	if cur.Status.QosClass != old.Status.QosClass {
		t.Errorf("qosClass not kept: %q", cur.Status.QosClass)
	}
	if len(cur.Status.PodIps) != 1 || cur.Status.PodIps[0].Ip != "10.244.1.5" || len(cur.Status.HostIps) != 1 {
		t.Errorf("IPs not paired: %v", cur.Status)
	}
	if errs := Strategy.ValidateStatusUpdate(cur, old); len(errs) != 0 {
		t.Errorf("unexpected: %v", errs)
	}

	tests := []struct {
		name   string
		mutate func(*corev1.PodStatus)
		typ    field.ErrorType
		path   string
	}{
		{"bad pod IP", func(s *corev1.PodStatus) { s.PodIps = []*corev1.PodIP{{Ip: "x"}} }, field.ErrorTypeInvalid, "status.podIPs[0]"},
		{"two v4 pod IPs", func(s *corev1.PodStatus) { s.PodIps = []*corev1.PodIP{{Ip: "10.0.0.1"}, {Ip: "10.0.0.2"}} }, field.ErrorTypeInvalid, "status.podIPs"},
		{"qosClass changed", func(s *corev1.PodStatus) { s.QosClass = "Burstable" }, field.ErrorTypeInvalid, "status.qosClass"},
		{"terminated restarts", func(s *corev1.PodStatus) {
			s.ContainerStatuses = []*corev1.ContainerStatus{{Name: "web", State: &corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		}, field.ErrorTypeForbidden, "status.containerStatuses[0].state"},
		{"nominated node", func(s *corev1.PodStatus) { s.NominatedNodeName = "Node_1" }, field.ErrorTypeInvalid, "status.nominatedNodeName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := proto.Clone(cur).(*corev1.Pod)
			tt.mutate(c.Status)
			errs := Strategy.ValidateStatusUpdate(c, old)
			if !hasError(errs, tt.typ, tt.path) {
				t.Fatalf("want %s at %s, got %v", tt.typ, tt.path, errs)
			}
		})
	}
}

func TestFields(t *testing.T) {
	p := created(newPod())
	p.Spec.NodeName = "node-1"
	p.Status.PodIps = []*corev1.PodIP{{Ip: "10.244.0.3"}}
	f := Strategy.Fields(p)
	want := map[string]string{
		"metadata.name": "web", "metadata.namespace": "default", "spec.nodeName": "node-1",
		"spec.restartPolicy": "Always", "spec.schedulerName": "default-scheduler",
		"spec.serviceAccountName": "default", "spec.hostNetwork": "false", "status.phase": "Pending",
		"status.podIP": "10.244.0.3", "status.nominatedNodeName": "",
	}
	if len(f) != len(want) {
		t.Errorf("fields %v", f)
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %q, want %q", k, f[k], v)
		}
	}
}

func TestQuantitiesCanonical(t *testing.T) {
	p := newPod()
	p.Spec.Containers[0].Resources = &corev1.ResourceRequirements{
		Limits:   map[string]*metav1.Quantity{"cpu": {String_: "1000m"}, "memory": {String_: "1024Mi"}},
		Requests: map[string]*metav1.Quantity{"cpu": {String_: "0.5"}, "memory": {String_: "bogus"}},
	}
	Strategy.Default(p)
	r := p.Spec.Containers[0].Resources
	if r.Limits["cpu"].String_ != "1" || r.Limits["memory"].String_ != "1Gi" || r.Requests["cpu"].String_ != "500m" {
		t.Errorf("not canonical: %v", r)
	}
	if r.Requests["memory"].String_ != "bogus" {
		t.Errorf("an invalid quantity is left for validation: %v", r)
	}
	if errs := Strategy.Validate(p); !hasError(errs, field.ErrorTypeInvalid, "spec.containers[0].resources.requests[memory]") {
		t.Errorf("got %v", errs)
	}
}
