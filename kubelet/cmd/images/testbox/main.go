// Command testbox is the multi-call binary of kube5's test images (there is no shell in a
// FROM-scratch image, so exec probes and exec tests need commands of their own):
//
//	testbox crash [-after 2s] [-code 1]     print a line, exit with code after a while
//	testbox serve [-port 8080] [-delay 0s]  HTTP on :port after delay: /healthz answers 200 while
//	                                        /tmp/unhealthy is absent; every path answers the hostname
//	testbox noterm                          ignore SIGTERM and sleep forever (SIGKILL ends it)
//	testbox sleep SECONDS | forever         sleep (exits 0 on SIGTERM)
//	testbox echo ARGS... | cat FILE... | ls DIR | env | hostname
//	testbox touch FILE | rm FILE | write FILE TEXT | exists FILE | true | false | exit CODE
//	testbox wget URL                        GET URL, print the body
//	testbox log -every 1s TEXT              print TEXT with a counter forever
//	testbox stdin                           copy stdin to stdout (exec tests)
//	testbox hog MIB                         hold MIB MiB of touched memory, then sleep (eviction tests)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testbox APPLET [ARGS]")
		os.Exit(2)
	}
	applet, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(applet, flag.ExitOnError)
	switch applet {
	case "crash":
		after := fs.Duration("after", 2*time.Second, "run this long")
		code := fs.Int("code", 1, "exit code")
		_ = fs.Parse(args)
		fmt.Printf("crasher: running for %s then exiting %d\n", *after, *code)
		time.Sleep(*after)
		fmt.Println("crasher: exiting")
		os.Exit(*code)
	case "serve":
		port := fs.Int("port", 8080, "port")
		delay := fs.Duration("delay", 0, "wait this long before listening")
		_ = fs.Parse(args)
		serve(*port, *delay)
	case "noterm":
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
		fmt.Println("noterm: ignoring SIGTERM")
		for {
			// A bare select{} would be a deadlock to the Go runtime, which exits.
			time.Sleep(time.Hour)
		}
	case "hog":
		if len(args) != 1 {
			fail(fmt.Errorf("usage: testbox hog MIB"))
		}
		mib, err := strconv.Atoi(args[0])
		if err != nil {
			fail(err)
		}
		hog(mib)
	case "sleep":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		d := 365 * 24 * time.Hour
		if len(args) > 0 && args[0] != "forever" {
			s, err := strconv.ParseFloat(args[0], 64)
			if err != nil {
				fail(err)
			}
			d = time.Duration(s * float64(time.Second))
		}
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	case "echo":
		for i, a := range args {
			if i > 0 {
				fmt.Print(" ")
			}
			fmt.Print(a)
		}
		fmt.Println()
	case "cat":
		for _, f := range args {
			b, err := os.ReadFile(f)
			if err != nil {
				fail(err)
			}
			_, _ = os.Stdout.Write(b)
		}
	case "ls":
		ents, err := os.ReadDir(args[0])
		if err != nil {
			fail(err)
		}
		for _, e := range ents {
			fmt.Println(e.Name())
		}
	case "env":
		env := os.Environ()
		sort.Strings(env)
		for _, e := range env {
			fmt.Println(e)
		}
	case "hostname":
		h, _ := os.Hostname()
		fmt.Println(h)
	case "touch":
		// FROM-scratch images have no /tmp: create the parents.
		_ = os.MkdirAll(filepath.Dir(args[0]), 0o1777)
		if err := os.WriteFile(args[0], nil, 0o644); err != nil {
			fail(err)
		}
	case "write":
		_ = os.MkdirAll(filepath.Dir(args[0]), 0o1777)
		if err := os.WriteFile(args[0], []byte(args[1]), 0o644); err != nil {
			fail(err)
		}
	case "rm":
		if err := os.Remove(args[0]); err != nil {
			fail(err)
		}
	case "exists":
		if _, err := os.Stat(args[0]); err != nil {
			os.Exit(1)
		}
	case "true":
	case "false":
		os.Exit(1)
	case "exit":
		c, _ := strconv.Atoi(args[0])
		os.Exit(c)
	case "wget":
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(args[0])
		if err != nil {
			fail(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(os.Stdout, resp.Body)
		if resp.StatusCode >= 400 {
			os.Exit(1)
		}
	case "log":
		every := fs.Duration("every", time.Second, "interval")
		_ = fs.Parse(args)
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		for i := 1; ; i++ {
			fmt.Printf("%s %d\n", fs.Arg(0), i)
			select {
			case <-ctx.Done():
				return
			case <-time.After(*every):
			}
		}
	case "stdin":
		_, _ = io.Copy(os.Stdout, os.Stdin)
	default:
		fmt.Fprintf(os.Stderr, "testbox: unknown applet %q\n", applet)
		os.Exit(2)
	}
}

func serve(port int, delay time.Duration) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	fmt.Printf("serve: starting in %s\n", delay)
	select {
	case <-ctx.Done():
		return
	case <-time.After(delay):
	}
	host, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat("/tmp/unhealthy"); err == nil {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, host) })
	srv := &http.Server{Addr: fmt.Sprintf(":%d", port), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	fmt.Printf("serve: listening on :%d\n", port)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "testbox:", err)
	os.Exit(1)
}

// held keeps hog's memory reachable, so the garbage collector never frees it.
var held [][]byte

// hog allocates mib MiB and writes every page of it (untouched pages would cost no
// memory), then sleeps until SIGTERM.
func hog(mib int) {
	for range mib {
		b := make([]byte, 1<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		held = append(held, b)
	}
	fmt.Printf("hog: holding %d MiB\n", mib)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	<-ctx.Done()
}
