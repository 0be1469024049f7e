package remotecommand

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
)

// IsUpgrade says whether r asks for the exec protocol (Connection: Upgrade is implied by
// the Upgrade header; net/http strips neither).
func IsUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), Protocol)
}

// Session is the server's side of one upgraded exec connection. The fields follow the
// Request: Stdin is nil unless stdin was asked for, Stdout/Stderr nil unless asked for.
type Session struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Resize delivers the client's terminal sizes (tty only; nil otherwise). It is
	// closed when the client's side ends.
	Resize <-chan Resize
	// Done is closed when the client's side ends (connection closed or broken): the
	// command's streams have nobody left to talk to.
	Done <-chan struct{}

	conn   net.Conn
	fw     *FrameWriter
	stdinR *io.PipeReader
	once   sync.Once
}

// Accept hijacks w, answers 101 Switching Protocols and starts reading the client's
// frames (stdin, resizes). Validate the request before: errors after this point can only
// be reported in the status frame (Finish).
func Accept(w http.ResponseWriter, req Request) (*Session, error) {
	conn, br, err := Hijack(w, Protocol)
	if err != nil {
		return nil, err
	}
	s := &Session{conn: conn, fw: NewFrameWriter(conn)}
	if req.Stdout {
		s.Stdout = s.fw.ChannelWriter(ChannelStdout)
	}
	if req.Stderr && !req.TTY {
		s.Stderr = s.fw.ChannelWriter(ChannelStderr)
	}
	var stdinW *io.PipeWriter
	if req.Stdin {
		s.stdinR, stdinW = io.Pipe()
		s.Stdin = s.stdinR
	}
	var resize chan Resize
	if req.TTY {
		resize = make(chan Resize, 4)
		s.Resize = resize
	}
	done := make(chan struct{})
	s.Done = done
	// br may already hold bytes the client sent right after its request.
	go s.readFrames(br, stdinW, resize, done)
	return s, nil
}

func (s *Session) readFrames(r io.Reader, stdinW *io.PipeWriter, resize chan Resize, done chan struct{}) {
	defer close(done)
	if resize != nil {
		defer close(resize)
	}
	// stdin is written by its own goroutine through a bounded queue: a command that has
	// not read its stdin yet must not hold up the resize frames behind it.
	var stdin chan []byte
	if stdinW != nil {
		stdin = make(chan []byte, 32)
		defer close(stdin)
		go func() {
			for p := range stdin {
				if len(p) == 0 {
					_ = stdinW.Close()
					continue
				}
				// Fails at once once stdin is closed or the session finished.
				_, _ = stdinW.Write(p)
			}
			// The client went away: the command sees the end of its stdin.
			_ = stdinW.Close()
		}()
	}
	for {
		ch, p, err := ReadFrame(r)
		if err != nil {
			return
		}
		switch ch {
		case ChannelStdin:
			if stdin != nil {
				stdin <- p
			}
		case ChannelResize:
			var sz Resize
			if resize != nil && json.Unmarshal(p, &sz) == nil {
				select {
				case resize <- sz:
				default: // a slow consumer loses intermediate sizes, not the stream
				}
			}
		}
	}
}

// Finish sends the status frame (exit code, or err's message) and closes the
// connection. Later calls do nothing.
func (s *Session) Finish(code int, err error) {
	s.once.Do(func() {
		st := ExecStatus{ExitCode: code}
		if err != nil {
			st.Error = err.Error()
		}
		b, _ := json.Marshal(st)
		_ = s.fw.Write(ChannelStatus, b)
		s.conn.Close()
		// Unblocks the frame reader should it wait for the command to read stdin.
		if s.stdinR != nil {
			_ = s.stdinR.CloseWithError(io.ErrClosedPipe)
		}
	})
}
