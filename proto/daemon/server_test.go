package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kube5/proto/daemon"
)

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func ok(*http.Request) error { return nil }

func TestHealthEndpoints(t *testing.T) {
	s := daemon.NewServer("kube-test", nil)
	s.AddHealthCheck(daemon.HealthCheck{Name: "informer-sync", Check: ok})
	var etcdErr error
	s.AddReadyzCheck(daemon.HealthCheck{Name: "etcd", Check: func(*http.Request) error { return etcdErr }})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	cases := []struct {
		path, body string
		code       int
	}{
		{"/healthz", "ok", 200},
		{"/livez", "ok", 200},
		{"/readyz", "ok", 200},
		{"/healthz?verbose", "[+]ping ok\n[+]informer-sync ok\nhealthz check passed\n", 200},
		{"/readyz?verbose", "[+]ping ok\n[+]informer-sync ok\n[+]etcd ok\nreadyz check passed\n", 200},
		{"/healthz/informer-sync", "ok", 200},
	}
	for _, c := range cases {
		if code, body := fetch(t, ts.URL+c.path); code != c.code || body != c.body {
			t.Errorf("GET %s = %d %q, want %d %q", c.path, code, body, c.code, c.body)
		}
	}

	etcdErr = errors.New("etcd is down")
	cases = []struct {
		path, body string
		code       int
	}{
		// A failing check lists every check even without ?verbose, withholding the reason.
		{"/readyz", "[+]ping ok\n[+]informer-sync ok\n[-]etcd failed: reason withheld\nreadyz check failed\n", 500},
		{"/readyz/etcd", "internal server error: etcd is down\n", 500},
		// The readyz-only check does not affect /healthz or /livez.
		{"/healthz", "ok", 200},
		{"/livez", "ok", 200},
		{"/readyz?exclude=etcd&verbose", "[+]ping ok\n[+]informer-sync ok\n[+]etcd excluded: ok\nreadyz check passed\n", 200},
		{"/readyz?exclude=nope&exclude=etcd", "ok", 200},
		{"/readyz?exclude=nope&verbose", "[+]ping ok\n[+]informer-sync ok\n[-]etcd failed: reason withheld\nwarn: some health checks cannot be excluded: no matches for \"nope\"\nreadyz check failed\n", 500},
		{"/healthz/unknown", "404 page not found\n", 404},
	}
	for _, c := range cases {
		if code, body := fetch(t, ts.URL+c.path); code != c.code || body != c.body {
			t.Errorf("GET %s = %d %q, want %d %q", c.path, code, body, c.code, c.body)
		}
	}
}

func TestMetricsAndExtraHandlers(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "kube5_test_things_total", Help: "Things."})
	reg.MustRegister(c)
	c.Add(3)
	s := daemon.NewServer("kube-test", reg)
	s.HandleFunc("/configz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "{}") })
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	code, body := fetch(t, ts.URL+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{"kube5_test_things_total 3", "go_goroutines ", "process_start_time_seconds "} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if code, body := fetch(t, ts.URL+"/configz"); code != 200 || body != "{}" {
		t.Errorf("/configz = %d %q", code, body)
	}
	// A registry that already has the standard collectors is accepted.
	daemon.NewServer("kube-test", daemon.NewRegistry())
}

func TestListenPortInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	s := daemon.NewServer("kube-scheduler", nil)

	err = s.ListenAndServe(context.Background(), addr, "--port")
	want := fmt.Sprintf("listen tcp %s: bind: address already in use (is another kube-scheduler running? change --port)", addr)
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	// The flag may be given without dashes.
	if _, err := s.Listen(addr, "healthz-bind-address"); err == nil || !strings.HasSuffix(err.Error(), "change --healthz-bind-address)") {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.Listen("127.0.0.1:99999", "--port"); err == nil || !strings.HasSuffix(err.Error(), "(check --port)") {
		t.Fatalf("bad address err = %v", err)
	}
}

func TestServeStopsWhenContextEnds(t *testing.T) {
	s := daemon.NewServer("kube-test", nil)
	ln, err := s.Listen("127.0.0.1:0", "--port")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()

	if code, body := fetch(t, "http://"+ln.Addr().String()+"/healthz"); code != 200 || body != "ok" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v, want nil after ctx ended", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after ctx ended")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Fatal("server still answering after shutdown")
	}
}
