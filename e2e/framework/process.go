package framework

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a daemon started by the harness, its output going to a log file. It can be
// stopped and started again (restart.go): the Process stays the same, its pid changes and
// its log goes on in the same file.
type Process struct {
	Name, LogPath string
	// Args are the command-line arguments it was started with.
	Args []string

	bin string
	env []string

	mu  sync.Mutex
	cur *run // the latest start
}

// run is one start of the process.
type run struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // guarded by Process.mu
}

// StartProcess starts bin with args, stdout and stderr appended to logPath; env, when not
// nil, is added to the harness's environment.
func StartProcess(bin, logPath string, env []string, args ...string) (*Process, error) {
	p := &Process{Name: filepath.Base(bin), LogPath: logPath, Args: args, bin: bin, env: env}
	if err := p.start(); err != nil {
		return nil, err
	}
	return p, nil
}

// start runs the process once more with its binary, arguments and environment.
func (p *Process) start() error {
	f, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, p.Args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), p.env...)
	// If the test binary dies without its teardown (a panic, a -timeout), the daemons
	// get SIGTERM rather than living on.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	fmt.Fprintf(f, "+ %s %s\n", p.bin, strings.Join(p.Args, " "))
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	r := &run{cmd: cmd, done: make(chan struct{})}
	p.mu.Lock()
	p.cur = r
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		r.err = err
		p.mu.Unlock()
		close(r.done)
	}()
	return nil
}

func (p *Process) run() *run {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// Pid is the process id (of the latest start).
func (p *Process) Pid() int { return p.run().cmd.Process.Pid }

// Exited reports whether the process ended within timeout.
func (p *Process) Exited(timeout time.Duration) bool {
	done := p.run().done
	select {
	case <-done:
		return true
	default:
	}
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// ExitErr is the result of Wait: nil while running or after a clean exit.
func (p *Process) ExitErr() error {
	r := p.run()
	p.mu.Lock()
	defer p.mu.Unlock()
	return r.err
}

// ExitCode is the exit code, -1 while running or when killed by a signal.
func (p *Process) ExitCode() int {
	r := p.run()
	select {
	case <-r.done:
		return r.cmd.ProcessState.ExitCode()
	default:
		return -1
	}
}

// Stop sends SIGTERM and waits up to grace, then SIGKILLs it.
func (p *Process) Stop(grace time.Duration) {
	r := p.run()
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	if !p.Exited(grace) {
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// Log is what the process printed so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

// Output is the log without the harness's first line (the command line).
func (p *Process) Output() string {
	log := p.Log()
	if strings.HasPrefix(log, "+ ") {
		if i := strings.IndexByte(log, '\n'); i >= 0 {
			return log[i+1:]
		}
		return ""
	}
	return log
}

// Tail is the last n lines of the log.
func (p *Process) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
