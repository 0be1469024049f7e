package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"kube5/apiserver/app/options"
	"kube5/apiserver/internal/etcdserver"
	"kube5/proto/apierrors"
	"kube5/proto/apiservertest"
	"kube5/proto/client"
)

func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestWaitingForEtcd: while its etcd is down, kube-apiserver already answers on its
// port: the health endpoints fail naming etcd's address, the cause and the flag; REST
// and gRPC calls get 503 ServiceUnavailable saying the same; /version works. Once etcd is
// up the same port serves the API, and the same client works without being remade.
func TestWaitingForEtcd(t *testing.T) {
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", apiservertest.FreePort(t))
	o := options.New()
	o.EtcdServers = []string{etcdURL}
	o.Port = apiservertest.FreePort(t)
	o.EtcdCompactionInterval = 0
	o.EndpointReconcilerType = "none"
	base := fmt.Sprintf("http://127.0.0.1:%d", o.Port)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		s   *Server
		err error
	}
	setup := make(chan result, 1)
	go func() {
		s, err := Setup(ctx, o)
		setup <- result{s, err}
	}()

	want := "Cannot reach etcd at " + etcdURL + " (connection refused)"
	var body string
	waitFor(t, 15*time.Second, "/readyz naming etcd", func() bool {
		code, b, err := get(base + "/readyz")
		body = b
		return err == nil && code == http.StatusInternalServerError && strings.Contains(b, want) && strings.Contains(b, "--etcd-servers")
	})
	t.Logf("/readyz while etcd is down:\n%s", body)
	if code, b, err := get(base + "/healthz"); err != nil || code != http.StatusInternalServerError || !strings.Contains(b, want) {
		t.Errorf("/healthz: %d %q %v", code, b, err)
	}
	if code, b, err := get(base + "/version"); err != nil || code != http.StatusOK || !strings.Contains(b, "gitVersion") {
		t.Errorf("/version: %d %q %v", code, b, err)
	}
	code, b, err := get(base + "/api/v1/namespaces/default/pods")
	var st struct{ Kind, Reason, Message string }
	if err != nil || code != http.StatusServiceUnavailable || json.Unmarshal([]byte(b), &st) != nil ||
		st.Kind != "Status" || st.Reason != "ServiceUnavailable" || !strings.Contains(st.Message, want) {
		t.Errorf("REST list while etcd is down: %d %q %v; want 503, a Status with reason ServiceUnavailable naming etcd", code, b, err)
	}

	cs, err := client.New(client.Config{Server: base})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	lctx, lcancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = cs.Pods("default").List(lctx, client.ListOptions{})
	lcancel()
	if !apierrors.IsServiceUnavailable(err) || !strings.Contains(err.Error(), want) {
		t.Errorf("gRPC list while etcd is down: %v; want ServiceUnavailable naming etcd", err)
	}

	srv, err := etcdserver.Start(ctx, etcdserver.Config{DataDir: t.TempDir(), ListenClientURL: etcdURL,
		ListenPeerURL: "http://127.0.0.1:0", UnsafeNoFsync: true,
		HeartbeatInterval: 10 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("starting etcd on %s: %v", etcdURL, err)
	}
	defer srv.Close()
	var r result
	select {
	case r = <-setup:
	case <-time.After(30 * time.Second):
		t.Fatal("etcd up for 30s, Setup still waiting")
	}
	if r.err != nil {
		t.Fatalf("Setup: %v", r.err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- r.s.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitFor(t, 15*time.Second, "/readyz ok once etcd answers", func() bool {
		code, _, err := get(base + "/readyz")
		return err == nil && code == http.StatusOK
	})
	waitFor(t, 15*time.Second, "the same gRPC client to list pods", func() bool {
		lctx, lcancel := context.WithTimeout(ctx, 2*time.Second)
		defer lcancel()
		_, err := cs.Pods("default").List(lctx, client.ListOptions{})
		return err == nil
	})
}

// TestPortTakenFailsAtOnce: a port in use is an error before etcd is even asked for.
func TestPortTakenFailsAtOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	o := options.New()
	o.EtcdServers = []string{fmt.Sprintf("http://127.0.0.1:%d", apiservertest.FreePort(t))} // nothing there
	o.Port = l.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = Setup(ctx, o)
	if err == nil || !strings.Contains(err.Error(), "--insecure-port") || ctx.Err() != nil {
		t.Fatalf("Setup on a taken port: %v (ctx %v); want an error at once naming --insecure-port", err, ctx.Err())
	}
}
