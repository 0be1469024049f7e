package framework

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"
)

// Kill SIGKILLs the process, as a crash or the OOM killer would (no clean shutdown), and
// waits until it is gone.
func (p *Process) Kill() {
	r := p.run()
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
}

// Restart starts the process again, once it has ended: the same binary, arguments and
// environment, its output appended to the same log (after a new "+ command" line).
func (p *Process) Restart() error {
	if !p.Exited(0) {
		return fmt.Errorf("%s (pid %d) still runs: stop or kill it before starting it again", p.Name, p.Pid())
	}
	return p.start()
}

// Kill SIGKILLs the cluster's daemon name and waits until it is gone.
func (c *Cluster) Kill(name string) *Process {
	c.t.Helper()
	p := c.mustProcess(name)
	p.Kill()
	c.t.Logf("killed %s (SIGKILL)", name)
	return p
}

// StartAgain starts the daemon name again after Kill (or Stop) with the flags it had (the
// apiserver on the port it first got: Start pins it) and its log, and waits until it
// answers its health endpoint (the apiserver: /readyz), failing the test otherwise.
func (c *Cluster) StartAgain(name string) *Process {
	c.t.Helper()
	p := c.mustProcess(name)
	if err := p.Restart(); err != nil {
		c.t.Fatalf("starting %s again: %v", name, err)
	}
	c.t.Logf("started %s again (pid %d)", name, p.Pid())
	url := c.healthURL(p)
	Eventually(c.t, 90*time.Second, name+" to serve again at "+url, func() error {
		if p.Exited(0) {
			return fmt.Errorf("it exited (%v); its log ends with:\n%s", p.ExitErr(), p.Tail(20))
		}
		return httpOK(url)
	})
	return p
}

// Restart kills the daemon name (SIGKILL) and starts it again (StartAgain).
func (c *Cluster) Restart(name string) *Process {
	c.t.Helper()
	c.Kill(name)
	return c.StartAgain(name)
}

func (c *Cluster) mustProcess(name string) *Process {
	c.t.Helper()
	p := c.Process(name)
	if p == nil {
		c.t.Fatalf("the cluster runs no %s", name)
	}
	return p
}

// healthURL is where the daemon p says it is healthy, from the flags the harness gave it.
func (c *Cluster) healthURL(p *Process) string {
	switch p.Name {
	case "kube-apiserver":
		return c.URL + "/readyz"
	case "etcd":
		return c.EtcdURL + "/health"
	case "kube-controller-manager", "kube-scheduler":
		return "http://127.0.0.1:" + flagValue(p.Args, "port") + "/healthz"
	case "kubelet":
		return "http://127.0.0.1:" + flagValue(p.Args, "healthz-port") + "/healthz"
	case "kube-proxy":
		return "http://" + flagValue(p.Args, "healthz-bind-address") + "/healthz"
	}
	return ""
}

// flagValue is the value of the last --name=value in args, "" without one.
func flagValue(args []string, name string) string {
	v := ""
	for _, a := range args {
		if s, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			v = s
		}
	}
	return v
}

// pinFlag replaces every --name=... of p's arguments by --name=value, so that a restart
// reuses what the first start chose (a port picked with 0).
func pinFlag(p *Process, name, value string) {
	for i, a := range p.Args {
		if strings.HasPrefix(a, "--"+name+"=") {
			p.Args[i] = "--" + name + "=" + value
		}
	}
}

// portOf is the port of a host:port URL like http://127.0.0.1:8080.
func portOf(url string) (string, error) {
	_, port, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://"))
	if err != nil || port == "" {
		return "", errors.New("no port in " + url)
	}
	return port, nil
}
