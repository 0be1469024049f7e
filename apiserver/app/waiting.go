package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"k8s.io/klog/v2"

	"kube5/apiserver/internal/connmux"
	"kube5/proto/apierrors"
	"kube5/proto/codec"
	"kube5/proto/version"
)

// waitingServer answers on the API port while the apiserver waits for etcd, so that
// nobody meets a bare "connection refused" and wonders whether the apiserver runs at
// all (upstream's apiserver does not listen until etcd answers):
//   - /healthz, /livez and /readyz fail with the reason (etcd's address and the cause);
//   - /version answers, so scripts can tell the binary is up;
//   - every API call, REST or gRPC, gets 503 ServiceUnavailable naming etcd, so kubectl
//     and the daemons print the cause and retry.
//
// It serves on the listener the API will use (bound before the wait, which also makes a
// port conflict an error at once) and hands it over untouched when stopped.
type waitingServer struct {
	reason atomic.Pointer[string]
	lis    *handover
	mux    *connmux.Mux
	grpc   *grpc.Server
	http   *http.Server
	wg     sync.WaitGroup
}

// startWaiting serves reason() on l until stop.
func startWaiting(l net.Listener, first string) *waitingServer {
	w := &waitingServer{lis: &handover{Listener: l, stopped: make(chan struct{})}}
	w.reason.Store(&first)
	w.mux = connmux.New(w.lis)
	w.grpc = grpc.NewServer(grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error {
		return apierrors.ToGRPC(apierrors.NewServiceUnavailable(w.message()))
	}))
	w.http = &http.Server{Handler: http.HandlerFunc(w.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
	w.wg.Add(3)
	go func() { defer w.wg.Done(); _ = w.grpc.Serve(w.mux.GRPC()) }()
	go func() { defer w.wg.Done(); _ = w.http.Serve(w.mux.HTTP()) }()
	go func() { defer w.wg.Done(); _ = w.mux.Serve() }()
	return w
}

// setReason records what the apiserver waits for (a whole sentence).
func (w *waitingServer) setReason(msg string) { w.reason.Store(&msg) }

func (w *waitingServer) message() string { return *w.reason.Load() }

func (w *waitingServer) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz", "/livez", "/readyz":
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.Header().Set("X-Content-Type-Options", "nosniff")
		rw.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(rw, "[-]etcd failed: %s\n%s check failed\n", w.message(), r.URL.Path[1:])
	case "/version":
		rw.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(rw)
		enc.SetIndent("", "  ")
		_ = enc.Encode(version.Get())
	default:
		st := apierrors.NewServiceUnavailable(w.message()).Status()
		b, err := codec.MarshalJSON(st)
		if err != nil {
			http.Error(rw, w.message(), http.StatusServiceUnavailable)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.Header().Set("Retry-After", "1")
		rw.WriteHeader(http.StatusServiceUnavailable)
		_, _ = rw.Write(append(b, '\n'))
	}
}

// stop ends the waiting servers and their connections (clients reconnect to the real
// API) and leaves the listener open for it.
func (w *waitingServer) stop() {
	w.lis.stop()
	w.mux.Close()
	w.grpc.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := w.http.Shutdown(ctx); err != nil {
		_ = w.http.Close()
	}
	w.wg.Wait()
	w.lis.resume()
	klog.V(2).InfoS("etcd answers: the waiting responder hands the port to the API")
}

// handover is a listener whose Close only interrupts Accept (through a deadline): the
// socket stays bound, and connections waiting in its backlog go to the real API.
type handover struct {
	net.Listener
	once    sync.Once
	stopped chan struct{}
}

func (h *handover) Accept() (net.Conn, error) {
	for {
		c, err := h.Listener.Accept()
		select {
		case <-h.stopped:
			if c != nil {
				// Accepted as the handover began: serve it with the real API instead.
				// Closing it is simpler and safe: the client reconnects.
				c.Close()
			}
			return nil, net.ErrClosed
		default:
		}
		var ne net.Error
		if err != nil && errors.As(err, &ne) && ne.Timeout() {
			continue
		}
		return c, err
	}
}

func (h *handover) Close() error {
	h.stop()
	return nil
}

func (h *handover) stop() {
	h.once.Do(func() {
		close(h.stopped)
		if d, ok := h.Listener.(interface{ SetDeadline(time.Time) error }); ok {
			_ = d.SetDeadline(time.Now())
		}
	})
}

// resume clears the deadline for the real API's Accept.
func (h *handover) resume() {
	if d, ok := h.Listener.(interface{ SetDeadline(time.Time) error }); ok {
		_ = d.SetDeadline(time.Time{})
	}
}
