// Command httpenv is kube5's demo app (images kube5/httpenv:1.0 and :1.1, the same
// program), after jpetazzo/httpenv: it answers {"HOSTNAME": "<hostname>"} on :8888 (the
// pod name, as the kubelet sets the hostname), logs one line per request and, on SIGTERM,
// stops accepting connections but finishes the requests in flight before it exits.
package main

import (
	"context"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	host, _ := os.Hostname()
	body, _ := json.Marshal(map[string]string{"HOSTNAME": host})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s %s", r.RemoteAddr, r.Method, r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: ":8888", Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-ctx.Done()
		log.Printf("shutting down: finishing the requests in flight")
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil {
			log.Printf("shutdown: %v", err)
		}
	}()
	log.Printf("listening on :8888 as %s", host)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
	// ListenAndServe returns as soon as Shutdown closes the listener; the requests in
	// flight end when Shutdown returns.
	<-drained
	log.Printf("stopped")
}
