package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"kube5/proto/portforward"
)

// fakePortForwardKubelet speaks the kubelet's side of kube5-portforward.v1: the pod's
// port 80 is app (a loopback server of the test), any other port is refused as the real
// kubelet refuses a port nobody listens on.
type fakePortForwardKubelet struct {
	app string

	mu    sync.Mutex
	paths []string
}

func (f *fakePortForwardKubelet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	f.mu.Unlock()
	port, err := portforward.ParsePort(r.URL.Query())
	if err != nil || !portforward.IsUpgrade(r) {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if port != 80 {
		http.Error(w, fmt.Sprintf("error forwarding port %d to pod pfpod, uid u: dial tcp4 127.0.0.1:%d: connect: connection refused", port, port), http.StatusInternalServerError)
		return
	}
	conn, err := net.Dial("tcp", f.app)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	s, err := portforward.Accept(w)
	if err != nil {
		return
	}
	if err := portforward.Splice(conn, s); err != nil {
		s.Fail(err)
		return
	}
	s.Close()
}

// pods/portforward is proxied to the kubelet of the pod's node, one upgraded
// connection per forwarded connection; half-closes cross the apiserver, and refusals
// come back as Status errors with the kubelet's words.
func TestPodPortForwardProxiedToKubelet(t *testing.T) {
	ts := start(t)
	ctx := context.Background()
	// The pod's app: answers "<name>:<what it read>" once its client is done sending.
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
				_, _ = c.Write(append([]byte("app:"), b...))
			}()
		}
	}()
	fk := &fakePortForwardKubelet{app: app.Addr().String()}
	kubeletNode(t, ts, "pf-node", fk)
	pod := newPod("default", "pfpod", nil)
	pod.Spec.NodeName = "pf-node"
	if _, err := ts.Client.Pods("default").Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	base := ts.URL + "/api/v1/namespaces/default/pods/pfpod/portforward"

	// Two connections at once, each its own stream; both get their own answer.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := portforward.Dial(ctx, base+"?ports=80", nil)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			msg := fmt.Sprintf("conn %d", i)
			_, _ = s.Write([]byte(msg))
			_ = s.CloseWrite()
			b, err := io.ReadAll(s)
			if err == nil && string(b) != "app:"+msg {
				err = fmt.Errorf("conn %d read %q", i, b)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	fk.mu.Lock()
	if len(fk.paths) != 2 || fk.paths[0] != "POST /portForward/default/pfpod?ports=80" {
		t.Fatalf("kubelet saw %v", fk.paths)
	}
	fk.mu.Unlock()

	// Refusals before the upgrade are Status errors.
	for _, tc := range []struct {
		url  string
		code int
		want string
	}{
		{base + "?ports=81", 400, "error forwarding port 81 to pod pfpod, uid u: dial tcp4 127.0.0.1:81: connect: connection refused"},
		{base, 400, "a port is required: add ?ports=PORT"},
		{base + "?ports=80&ports=81", 400, "one port per connection"},
		{ts.URL + "/api/v1/namespaces/default/pods/nope/portforward?ports=80", 404, `pods \"nope\" not found`},
	} {
		_, err := portforward.Dial(ctx, tc.url, nil)
		var ue *portforward.UpgradeError
		if !errors.As(err, &ue) || ue.StatusCode != tc.code || !strings.Contains(string(ue.Body), tc.want) || !strings.Contains(string(ue.Body), `"kind":"Status"`) {
			t.Errorf("%s: %v, want %d %q", tc.url, err, tc.code, tc.want)
		}
	}

	// GET is accepted as upstream; without the upgrade headers it is a 400 saying so.
	resp, err := http.Get(base + "?ports=80")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "Upgrade request required") {
		t.Fatalf("GET without upgrade: %d %s", resp.StatusCode, body)
	}
}
