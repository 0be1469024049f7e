package service

import (
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/apierrors/field"
)

func str(s string) *string { return &s }
func i32(v int32) *int32   { return &v }

func hasError(errs field.ErrorList, typ field.ErrorType, path string) bool {
	for _, e := range errs {
		if e.Type == typ && e.Field == path {
			return true
		}
	}
	return false
}

func newService() *corev1.Service {
	return &corev1.Service{
		Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: &corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []*corev1.ServicePort{{Port: 80, TargetPort: metav1.FromInt(8888)}},
		},
	}
}

func created(s *corev1.Service) *corev1.Service {
	Strategy.PrepareForCreate(s)
	Strategy.Default(s)
	return s
}

// allocated stands in for the resource table's create hook.
func allocated(s *corev1.Service, ip string) *corev1.Service {
	s.Spec.ClusterIp, s.Spec.ClusterIps = ip, []string{ip}
	return s
}

func TestDefaults(t *testing.T) {
	s := newService()
	s.Spec.Ports = append(s.Spec.Ports, &corev1.ServicePort{Name: "b", Port: 81})
	s.Spec.Ports[0].Name = "a"
	created(s)
	want := &corev1.ServiceSpec{
		Selector: map[string]string{"app": "web"},
		Ports: []*corev1.ServicePort{
			{Name: "a", Port: 80, TargetPort: metav1.FromInt(8888), Protocol: "TCP"},
			{Name: "b", Port: 81, TargetPort: metav1.FromInt(81), Protocol: "TCP"},
		},
		Type: "ClusterIP", SessionAffinity: "None", IpFamilies: []string{"IPv4"},
		IpFamilyPolicy: str("SingleStack"), InternalTrafficPolicy: str("Cluster"),
	}
	if !proto.Equal(s.Spec, want) {
		t.Errorf("got %v\nwant %v", s.Spec, want)
	}

	np := newService()
	np.Spec.Type = "NodePort"
	np.Spec.SessionAffinity = "ClientIP"
	created(np)
	if np.Spec.ExternalTrafficPolicy != "Cluster" {
		t.Errorf("externalTrafficPolicy %q", np.Spec.ExternalTrafficPolicy)
	}
	if got := np.Spec.GetSessionAffinityConfig().GetClientIp().GetTimeoutSeconds(); got != 10800 {
		t.Errorf("timeoutSeconds %d", got)
	}

	en := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "ext", Namespace: "default"},
		Spec: &corev1.ServiceSpec{Type: "ExternalName", ExternalName: "example.com"}}
	created(en)
	if len(en.Spec.IpFamilies) != 0 || en.Spec.IpFamilyPolicy != nil || en.Spec.InternalTrafficPolicy != nil {
		t.Errorf("ExternalName got cluster IP fields: %v", en.Spec)
	}
	if errs := Strategy.Validate(en); len(errs) != 0 {
		t.Errorf("ExternalName: %v", errs)
	}

	single := newService()
	single.Spec.ClusterIp = "10.0.0.10"
	created(single)
	if len(single.Spec.ClusterIps) != 1 || single.Spec.ClusterIps[0] != "10.0.0.10" {
		t.Errorf("clusterIPs %v", single.Spec.ClusterIps)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Service)
		typ    field.ErrorType
		path   string
	}{
		{"valid", func(*corev1.Service) {}, "", ""},
		{"name not DNS-1035", func(s *corev1.Service) { s.Metadata.Name = "1web" }, field.ErrorTypeInvalid, "metadata.name"},
		{"no ports", func(s *corev1.Service) { s.Spec.Ports = nil }, field.ErrorTypeRequired, "spec.ports"},
		{"headless without ports", func(s *corev1.Service) { s.Spec.Ports = nil; s.Spec.ClusterIp = "None" }, "", ""},
		{"port 0", func(s *corev1.Service) { s.Spec.Ports[0].Port = 0 }, field.ErrorTypeInvalid, "spec.ports[0].port"},
		{"port 70000", func(s *corev1.Service) { s.Spec.Ports[0].Port = 70000 }, field.ErrorTypeInvalid, "spec.ports[0].port"},
		{"second port unnamed", func(s *corev1.Service) {
			s.Spec.Ports[0].Name = "http"
			s.Spec.Ports = append(s.Spec.Ports, &corev1.ServicePort{Port: 81})
		}, field.ErrorTypeRequired, "spec.ports[1].name"},
		{"duplicate port name", func(s *corev1.Service) {
			s.Spec.Ports[0].Name = "http"
			s.Spec.Ports = append(s.Spec.Ports, &corev1.ServicePort{Name: "http", Port: 81})
		}, field.ErrorTypeDuplicate, "spec.ports[1].name"},
		{"duplicate port", func(s *corev1.Service) {
			s.Spec.Ports[0].Name = "a"
			s.Spec.Ports = append(s.Spec.Ports, &corev1.ServicePort{Name: "b", Port: 80})
		}, field.ErrorTypeDuplicate, "spec.ports[1]"},
		{"protocol", func(s *corev1.Service) { s.Spec.Ports[0].Protocol = "HTTP" }, field.ErrorTypeNotSupported, "spec.ports[0].protocol"},
		{"targetPort name", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = metav1.FromString("Web") }, field.ErrorTypeInvalid, "spec.ports[0].targetPort"},
		{"nodePort on ClusterIP", func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30001 }, field.ErrorTypeForbidden, "spec.ports[0].nodePort"},
		{"nodePort on NodePort", func(s *corev1.Service) { s.Spec.Type = "NodePort"; s.Spec.Ports[0].NodePort = 30001 }, "", ""},
		{"type", func(s *corev1.Service) { s.Spec.Type = "Ingress" }, field.ErrorTypeNotSupported, "spec.type"},
		{"sessionAffinity", func(s *corev1.Service) { s.Spec.SessionAffinity = "Cookie" }, field.ErrorTypeNotSupported, "spec.sessionAffinity"},
		{"clientIP timeout", func(s *corev1.Service) {
			s.Spec.SessionAffinity = "ClientIP"
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIp: &corev1.ClientIPConfig{TimeoutSeconds: i32(100000)}}
		}, field.ErrorTypeInvalid, "spec.sessionAffinityConfig.clientIP.timeoutSeconds"},
		{"clusterIP invalid", func(s *corev1.Service) { s.Spec.ClusterIp = "10.0.0" }, field.ErrorTypeInvalid, "spec.clusterIPs[0]"},
		{"clusterIP valid", func(s *corev1.Service) { s.Spec.ClusterIp = "10.0.0.10" }, "", ""},
		{"headless NodePort", func(s *corev1.Service) { s.Spec.Type = "NodePort"; s.Spec.ClusterIp = "None" }, field.ErrorTypeInvalid, "spec.clusterIPs[0]"},
		{"family mismatch", func(s *corev1.Service) { s.Spec.ClusterIp = "fd00::10"; s.Spec.IpFamilies = []string{"IPv4"} }, field.ErrorTypeInvalid, "spec.clusterIPs[0]"},
		{"externalIP loopback", func(s *corev1.Service) { s.Spec.ExternalIps = []string{"127.0.0.1"} }, field.ErrorTypeInvalid, "spec.externalIPs[0]"},
		{"externalName required", func(s *corev1.Service) { s.Spec.Type = "ExternalName" }, field.ErrorTypeRequired, "spec.externalName"},
		{"externalTrafficPolicy on ClusterIP", func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = "Local" }, field.ErrorTypeInvalid, "spec.externalTrafficPolicy"},
		{"selector", func(s *corev1.Service) { s.Spec.Selector = map[string]string{"a": "b c"} }, field.ErrorTypeInvalid, "spec.selector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newService()
			tt.mutate(s)
			created(s)
			errs := Strategy.Validate(s)
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

func TestValidateMessages(t *testing.T) {
	s := newService()
	s.Spec.Ports = append(s.Spec.Ports, &corev1.ServicePort{Port: 80})
	s.Spec.Ports[0].Name, s.Spec.Ports[1].Name = "a", "b"
	errs := Strategy.Validate(created(s))
	want := `spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("got %v", errs)
	}
}

func TestUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Service)
		typ    field.ErrorType
		path   string
		check  func(*testing.T, *corev1.Service)
	}{
		{"unchanged", func(*corev1.Service) {}, "", "", nil},
		{"clusterIP changed", func(s *corev1.Service) { allocated(s, "10.0.0.99") }, field.ErrorTypeInvalid, "spec.clusterIPs[0]", nil},
		{"clusterIP omitted keeps the allocated one", func(s *corev1.Service) { s.Spec.ClusterIp, s.Spec.ClusterIps = "", nil }, "", "",
			func(t *testing.T, s *corev1.Service) {
				if s.Spec.ClusterIp != "10.0.0.10" || len(s.Spec.ClusterIps) != 1 {
					t.Errorf("not patched: %v", s.Spec)
				}
			}},
		{"singular changed only", func(s *corev1.Service) { s.Spec.ClusterIp = "10.0.0.99" }, field.ErrorTypeInvalid, "spec.clusterIPs[0]", nil},
		{"to ExternalName drops the cluster IP", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName = "ExternalName", "example.com"
		}, "", "", func(t *testing.T, s *corev1.Service) {
			if s.Spec.ClusterIp != "" || len(s.Spec.ClusterIps) != 0 || len(s.Spec.IpFamilies) != 0 || s.Spec.IpFamilyPolicy != nil {
				t.Errorf("not dropped: %v", s.Spec)
			}
		}},
		{"ipFamilies changed", func(s *corev1.Service) { s.Spec.IpFamilies = []string{"IPv6"} }, field.ErrorTypeInvalid, "spec.ipFamilies[0]", nil},
		{"to NodePort", func(s *corev1.Service) { s.Spec.Type = "NodePort" }, "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := allocated(created(newService()), "10.0.0.10")
			cur := proto.Clone(old).(*corev1.Service)
			tt.mutate(cur)
			Strategy.Default(cur)
			Strategy.PrepareForUpdate(cur, old)
			errs := Strategy.ValidateUpdate(cur, old)
			if tt.typ == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected: %v", errs)
				}
			} else if !hasError(errs, tt.typ, tt.path) {
				t.Fatalf("want %s at %s, got %v", tt.typ, tt.path, errs)
			}
			if tt.check != nil {
				tt.check(t, cur)
			}
		})
	}
}

func TestNodePortsKeptAndDropped(t *testing.T) {
	old := created(newService())
	old.Spec.Type = "NodePort"
	Strategy.Default(old)
	allocated(old, "10.0.0.10")
	old.Spec.Ports[0].NodePort = 30080

	cur := proto.Clone(old).(*corev1.Service)
	cur.Spec.Ports[0].NodePort = 0
	Strategy.Default(cur)
	Strategy.PrepareForUpdate(cur, old)
	if cur.Spec.Ports[0].NodePort != 30080 {
		t.Errorf("node port not kept: %d", cur.Spec.Ports[0].NodePort)
	}

	toCluster := proto.Clone(old).(*corev1.Service)
	toCluster.Spec.Type = "ClusterIP"
	Strategy.Default(toCluster)
	Strategy.PrepareForUpdate(toCluster, old)
	if toCluster.Spec.Ports[0].NodePort != 0 || toCluster.Spec.ExternalTrafficPolicy != "" {
		t.Errorf("NodePort fields not dropped: %v", toCluster.Spec)
	}
	if errs := Strategy.ValidateUpdate(toCluster, old); len(errs) != 0 {
		t.Errorf("unexpected: %v", errs)
	}
}

func TestStatusUpdate(t *testing.T) {
	old := allocated(created(newService()), "10.0.0.10")
	cur := proto.Clone(old).(*corev1.Service)
	cur.Status = &corev1.ServiceStatus{LoadBalancer: &corev1.LoadBalancerStatus{Ingress: []*corev1.LoadBalancerIngress{{Ip: "1.2.3.4"}}}}
	if errs := Strategy.ValidateStatusUpdate(cur, old); !hasError(errs, field.ErrorTypeForbidden, "status.loadBalancer.ingress") {
		t.Errorf("ClusterIP with ingress: %v", errs)
	}
	cur.Spec.Type = "LoadBalancer"
	cur.Status.LoadBalancer.Ingress[0].Hostname = "1.2.3.4"
	if errs := Strategy.ValidateStatusUpdate(cur, old); !hasError(errs, field.ErrorTypeInvalid, "status.loadBalancer.ingress[0].hostname") {
		t.Errorf("IP as hostname: %v", errs)
	}
}

func TestFields(t *testing.T) {
	s := allocated(created(newService()), "10.0.0.10")
	f := Strategy.Fields(s)
	if f["metadata.name"] != "web" || f["metadata.namespace"] != "default" || f["spec.clusterIP"] != "10.0.0.10" || f["spec.type"] != "ClusterIP" {
		t.Errorf("fields %v", f)
	}
}
