package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"kube5/kubelet/internal/runtime"
)

func decodeJSON(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// Exec runs a command in a running container (exec probes, kubectl exec) and returns its
// exit code once it ends and its output is copied.
func (r *Runtime) Exec(ctx context.Context, id string, opts runtime.ExecOptions) (int, error) {
	created, err := r.c.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd: opts.Cmd, Tty: opts.TTY, AttachStdin: opts.Stdin != nil,
		AttachStdout: opts.Stdout != nil, AttachStderr: opts.Stderr != nil && !opts.TTY,
	})
	if err != nil {
		return -1, err
	}
	att, err := r.c.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{Tty: opts.TTY})
	if err != nil {
		return -1, err
	}
	err = pump(ctx, att, opts.TTY, opts.Stdin, opts.Stdout, opts.Stderr, opts.Resize, func(sz runtime.TermSize) {
		_ = r.c.ContainerExecResize(ctx, created.ID, container.ResizeOptions{Height: uint(sz.Height), Width: uint(sz.Width)})
	})
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	if err != nil {
		return -1, err
	}
	insp, err := r.c.ContainerExecInspect(ctx, created.ID)
	if err != nil {
		return -1, err
	}
	if insp.Running {
		return -1, fmt.Errorf("exec %v: output ended while the command still runs", opts.Cmd)
	}
	return insp.ExitCode, nil
}

// Logs copies a container's log (Docker's json-file) to stdout and stderr.
func (r *Runtime) Logs(ctx context.Context, id string, opts runtime.LogOptions, stdout, stderr io.Writer) error {
	tail := "all"
	if opts.TailLines >= 0 {
		tail = strconv.FormatInt(opts.TailLines, 10)
	}
	lo := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Tail: tail, Timestamps: opts.Timestamps}
	if !opts.Since.IsZero() {
		lo.Since = strconv.FormatInt(opts.Since.Unix(), 10)
	}
	j, err := r.c.ContainerInspect(ctx, id)
	if err != nil {
		return err
	}
	rc, err := r.c.ContainerLogs(ctx, id, lo)
	if err != nil {
		return err
	}
	defer rc.Close()
	if j.Config != nil && j.Config.Tty {
		_, err = io.Copy(stdout, rc)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, rc)
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Attach connects to the main process's stdio (kubectl attach, kubectl run -i) through
// Docker's attach API until the output ends, which is when the container exits. Closing
// the given stdin half-closes the attach: Docker then closes the process's stdin when
// the container was created with StdinOnce.
func (r *Runtime) Attach(ctx context.Context, id string, opts runtime.AttachOptions) error {
	att, err := r.c.ContainerAttach(ctx, id, container.AttachOptions{
		Stream: true, Stdin: opts.Stdin != nil,
		Stdout: opts.Stdout != nil, Stderr: opts.Stderr != nil && !opts.TTY,
	})
	if err != nil {
		return err
	}
	err = pump(ctx, att, opts.TTY, opts.Stdin, opts.Stdout, opts.Stderr, opts.Resize, func(sz runtime.TermSize) {
		_ = r.c.ContainerResize(ctx, id, container.ResizeOptions{Height: uint(sz.Height), Width: uint(sz.Width)})
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// pump carries a hijacked exec or attach connection until its output ends: stdin in
// (half-closed when it ends), terminal sizes through resize, and the output out (one
// stream with a TTY, Docker's multiplexed stdout/stderr without). A cancelled context
// (probe timeout, client gone) closes the connection, which unblocks the copy.
func pump(ctx context.Context, att types.HijackedResponse, tty bool, stdin io.Reader, stdout, stderr io.Writer,
	sizes <-chan runtime.TermSize, resize func(runtime.TermSize)) error {
	defer att.Close()
	stop := context.AfterFunc(ctx, func() { att.Close() })
	defer stop()
	if stdin != nil {
		go func() {
			_, _ = io.Copy(att.Conn, stdin)
			_ = att.CloseWrite()
		}()
	}
	if tty && sizes != nil {
		go func() {
			for sz := range sizes {
				resize(sz)
			}
		}()
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	var err error
	if tty {
		_, err = io.Copy(stdout, att.Reader)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, att.Reader)
	}
	return err
}
