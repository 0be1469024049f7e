package proxy

import (
	"testing"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
)

func TestTracker(t *testing.T) {
	tr := NewTracker()
	timeout := int32(30)
	svc := &corev1.Service{Metadata: &metav1.ObjectMeta{Namespace: "ns", Name: "s"}, Spec: &corev1.ServiceSpec{
		ClusterIp: "10.0.0.5", Type: "NodePort", SessionAffinity: "ClientIP",
		SessionAffinityConfig: &corev1.SessionAffinityConfig{ClientIp: &corev1.ClientIPConfig{TimeoutSeconds: &timeout}},
		Ports:                 []*corev1.ServicePort{{Name: "http", Port: 80, NodePort: 30080}, {Name: "dns", Port: 53, Protocol: "UDP"}},
	}}
	tr.ServiceChanged("ns", "s", svc)
	tr.ServiceChanged("ns", "headless", &corev1.Service{Metadata: &metav1.ObjectMeta{Namespace: "ns", Name: "headless"}, Spec: &corev1.ServiceSpec{ClusterIp: "None"}})
	tr.EndpointsChanged("ns", "s", &corev1.Endpoints{Metadata: &metav1.ObjectMeta{Namespace: "ns", Name: "s"}, Subsets: []*corev1.EndpointSubset{
		{Addresses: []*corev1.EndpointAddress{{Ip: "10.244.1.3"}, {Ip: "10.244.1.2"}}, NotReadyAddresses: []*corev1.EndpointAddress{{Ip: "10.244.1.9"}},
			Ports: []*corev1.EndpointPort{{Name: "http", Port: 8080}}},
		{Addresses: []*corev1.EndpointAddress{{Ip: "10.244.1.2"}}, Ports: []*corev1.EndpointPort{{Name: "http", Port: 8080}}},
	}})
	changed := tr.Apply()
	if len(changed) != 2 {
		t.Fatalf("changed %v", changed)
	}
	http := ServicePortName{NamespacedName{"ns", "s"}, "http", "TCP"}
	dns := ServicePortName{NamespacedName{"ns", "s"}, "dns", "UDP"}
	if len(tr.Services) != 2 || tr.Services[http].NodePort != 30080 || tr.Services[http].StickySeconds != 30 || tr.Services[dns] == nil {
		t.Fatalf("services %v", tr.Services)
	}
	if got := tr.Endpoints[http]; len(got) != 2 || got[0].IP != "10.244.1.2" || got[1].IP != "10.244.1.3" {
		t.Fatalf("endpoints %v: want the two ready ones, sorted, once each", got)
	}
	tr.ServiceChanged("ns", "s", nil)
	tr.EndpointsChanged("ns", "s", nil)
	tr.Apply()
	if len(tr.Services) != 0 || len(tr.Endpoints) != 0 {
		t.Fatalf("after delete: %v %v", tr.Services, tr.Endpoints)
	}
	if len(tr.Apply()) != 0 {
		t.Fatal("Apply without changes reported changes")
	}
}
