// Package connection resolves where kubectl talks to — --server, --kubeconfig,
// $KUBECONFIG, ~/.kube/config, then http://127.0.0.1:8080 as old upstream did — and
// which namespace it works in, and turns errors into upstream's messages and exit codes.
// Every command gets one *Flags, registered on the root command's persistent flags.
package connection

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"kube5/proto/apierrors"
	"kube5/proto/client"
	"kube5/proto/codec"
	"kube5/proto/kubeconfig"
)

// Flags are kubectl's global connection flags.
type Flags struct {
	Server         string
	KubeConfig     string
	Context        string
	Namespace      string
	RequestTimeout string

	once      sync.Once
	cs        *client.Clientset
	server    string
	namespace string
	err       error
}

// AddFlags registers the flags under upstream's names.
func (f *Flags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&f.Server, "server", "s", "", "The address and port of the Kubernetes API server")
	fs.StringVar(&f.KubeConfig, "kubeconfig", "", "Path to the kubeconfig file to use for CLI requests.")
	fs.StringVar(&f.Context, "context", "", "The name of the kubeconfig context to use")
	fs.StringVarP(&f.Namespace, "namespace", "n", "", "If present, the namespace scope for this CLI request")
	fs.StringVar(&f.RequestTimeout, "request-timeout", "0", "The length of time to wait before giving up on a single server request. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout requests.")
}

// LoadConfig reads the kubeconfig kubectl uses (--kubeconfig, else $KUBECONFIG, else
// ~/.kube/config) and the path changes are written to.
func (f *Flags) LoadConfig() (*kubeconfig.Config, string, error) {
	if f.KubeConfig != "" {
		cfg, err := kubeconfig.Load(f.KubeConfig)
		return cfg, f.KubeConfig, err
	}
	return kubeconfig.LoadDefault()
}

func (f *Flags) resolve() {
	f.once.Do(func() {
		cfg, _, err := f.LoadConfig()
		if err != nil {
			f.err = err
			return
		}
		f.server, f.namespace, f.err = cfg.ClientConfig(f.Context, f.Server)
		if f.err != nil {
			return
		}
		if f.Namespace != "" {
			f.namespace = f.Namespace
		}
		timeout := time.Duration(0)
		if f.RequestTimeout != "" && f.RequestTimeout != "0" {
			d, err := time.ParseDuration(f.RequestTimeout)
			if err != nil {
				if n, err2 := time.ParseDuration(f.RequestTimeout + "s"); err2 == nil {
					d = n
				} else {
					f.err = fmt.Errorf("invalid timeout value %q: %v", f.RequestTimeout, err)
					return
				}
			}
			timeout = d
		}
		f.cs, f.err = client.New(client.Config{Server: f.server, UserAgent: "kubectl/kube5", Timeout: timeout})
	})
}

// Client returns the connection to the apiserver (made once).
func (f *Flags) Client() (*client.Clientset, error) {
	f.resolve()
	return f.cs, f.err
}

// ServerURL is the server in URL form, for messages and plain HTTP calls (/version).
func (f *Flags) ServerURL() (string, error) {
	f.resolve()
	if f.err != nil {
		return "", f.err
	}
	hp, err := client.ParseServer(f.server)
	if err != nil {
		return "", err
	}
	return "http://" + hp, nil
}

// DefaultNamespace is -n, else the context's namespace, else "default". explicit says -n was
// given, which makes a manifest naming another namespace an error, as upstream.
func (f *Flags) DefaultNamespace() (ns string, explicit bool, err error) {
	f.resolve()
	if f.err != nil {
		return "", false, f.err
	}
	return f.namespace, f.Namespace != "", nil
}

// ExitError carries a message already printed (or to print) and an exit code.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string { return e.Msg }

// ErrSilent is returned by commands that printed their errors already and only need
// kubectl to exit 1.
var ErrSilent = &ExitError{Code: 1}

var refused = regexp.MustCompile(`dial tcp ([^ ]+): connect: connection refused`)

// Message renders err as upstream kubectl prints it.
func Message(err error) string {
	var se *apierrors.StatusError
	if errors.As(err, &se) {
		st := se.Status()
		reason := st.GetReason()
		msg := st.GetMessage()
		if m := refused.FindStringSubmatch(msg); apierrors.IsServiceUnavailable(err) && m != nil {
			return "The connection to the server " + m[1] + " was refused - did you specify the right host or port?"
		}
		if reason == "" {
			return "error: " + msg
		}
		return fmt.Sprintf("Error from server (%s): %s", reason, msg)
	}
	var fe codec.FieldErrors
	var fe1 *codec.FieldError
	if errors.As(err, &fe) || errors.As(err, &fe1) {
		return "error: " + err.Error()
	}
	s := err.Error()
	if strings.HasPrefix(s, "error: ") || strings.HasPrefix(s, "Error ") {
		return s
	}
	return "error: " + s
}

// Report prints err to w (unless silent) and returns the exit code.
func Report(w io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Msg != "" {
			fmt.Fprintln(w, ee.Msg)
		}
		return ee.Code
	}
	fmt.Fprintln(w, Message(err))
	return 1
}

// Streams are the command's standard input, output and error.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// Locked returns s with Out and ErrOut serialised, for a command whose goroutines print
// lines concurrently (drain's evictions, port-forward's connections): a line is written
// whole, never interleaved with another.
func (s Streams) Locked() Streams {
	return Streams{In: s.In, Out: &lockedWriter{w: s.Out}, ErrOut: &lockedWriter{w: s.ErrOut}}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
