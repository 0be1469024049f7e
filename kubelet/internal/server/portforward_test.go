package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kube5/proto/daemon"
	"kube5/proto/portforward"

	"kube5/kubelet/internal/runtime"
)

func TestPortForward(t *testing.T) {
	ts, rt := setup(t)
	// The pod's port 80 is a loopback echo server standing in for the pod's app.
	app, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	go func() {
		for {
			c, err := app.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c)
				_, _ = c.Write(append([]byte("echo:"), b...))
			}()
		}
	}()
	rt.SetPortForward(func(sb *runtime.Container, port int32) (net.Conn, error) {
		if sb.PodName != "p" || !sb.IsSandbox() {
			return nil, errors.New("asked for the wrong container")
		}
		if port != 80 {
			return nil, errors.New("dial tcp4 127.0.0.1:81: connect: connection refused")
		}
		return net.Dial("tcp", app.Addr().String())
	})
	ctx := context.Background()

	s, err := portforward.Dial(ctx, ts.URL+"/portForward/ns/p?ports=80", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = s.Write([]byte("hello"))
	_ = s.CloseWrite()
	b, err := io.ReadAll(s)
	s.Close()
	if err != nil || string(b) != "echo:hello" {
		t.Fatalf("forwarded: %q %v", b, err)
	}

	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/portForward/ns/p?ports=81", 500, "error forwarding port 81 to pod p, uid u1: dial tcp4 127.0.0.1:81: connect: connection refused"},
		{"/portForward/ns/other?ports=80", 404, "pod ns/other not found on node n"},
		{"/portForward/ns/p", 400, "a port is required"},
		{"/portForward/ns/p?ports=99999", 400, `invalid port "99999"`},
		{"/portForward/ns?ports=80", 400, "path must be /portForward/{namespace}/{pod}"},
	} {
		_, err := portforward.Dial(ctx, ts.URL+tc.path, nil)
		var ue *portforward.UpgradeError
		if !errors.As(err, &ue) || ue.StatusCode != tc.code || !strings.Contains(string(ue.Body), tc.want) {
			t.Errorf("%s: %v, want %d %q", tc.path, err, tc.code, tc.want)
		}
	}

	// A pod whose sandbox stopped is not running.
	list, _ := rt.ListContainers(ctx, "u1")
	for _, c := range list {
		if c.IsSandbox() {
			rt.Exit(c.ID, 0)
		}
	}
	_, err = portforward.Dial(ctx, ts.URL+"/portForward/ns/p?ports=80", nil)
	if err == nil || !strings.Contains(err.Error(), "pod ns/p is not running") {
		t.Errorf("stopped sandbox: %v", err)
	}
}

// The read-only port never forwards: it would hand anyone a way into every pod.
func TestReadOnlyPortDoesNotForward(t *testing.T) {
	_, rt := setup(t)
	d := daemon.NewServer("kubelet", nil)
	(&Server{NodeName: "n", RT: rt, Pods: podList{}}).RegisterReadOnly(d)
	ro := httptest.NewServer(d.Handler())
	defer ro.Close()
	_, err := portforward.Dial(context.Background(), ro.URL+"/portForward/ns/p?ports=80", nil)
	var ue *portforward.UpgradeError
	if !errors.As(err, &ue) || ue.StatusCode != http.StatusNotFound {
		t.Fatalf("read-only port: %v", err)
	}
}
