package daemon

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"k8s.io/klog/v2"
)

// HealthCheck is one named check of /healthz, /livez or /readyz. Check returns nil when
// healthy; it runs on every request, so it must be cheap.
type HealthCheck struct {
	Name  string
	Check func(r *http.Request) error
}

// PingCheck always passes; every endpoint has it, as upstream, so an endpoint with no
// other checks still says the process answers HTTP.
var PingCheck = HealthCheck{Name: "ping", Check: func(*http.Request) error { return nil }}

// AddHealthCheck adds checks to /healthz, /livez and /readyz.
func (s *Server) AddHealthCheck(checks ...HealthCheck) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.healthz = append(s.healthz, checks...)
	s.livez = append(s.livez, checks...)
	s.readyz = append(s.readyz, checks...)
}

// AddLivezCheck adds checks to /livez only: failing, the process should be restarted.
func (s *Server) AddLivezCheck(checks ...HealthCheck) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.livez = append(s.livez, checks...)
}

// AddReadyzCheck adds checks to /readyz only: failing, the process should get no traffic
// yet (not synced, not leader, ...) but needs no restart.
func (s *Server) AddReadyzCheck(checks ...HealthCheck) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readyz = append(s.readyz, checks...)
}

// checks returns a snapshot of one endpoint's checks.
func (s *Server) checks(endpoint string) []HealthCheck {
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch endpoint {
	case "healthz":
		return slices.Clone(s.healthz)
	case "livez":
		return slices.Clone(s.livez)
	default:
		return slices.Clone(s.readyz)
	}
}

// installHealth registers /<endpoint> and /<endpoint>/<check>.
func (s *Server) installHealth(endpoint string) {
	s.mux.HandleFunc("/"+endpoint, func(w http.ResponseWriter, r *http.Request) {
		s.serveHealth(w, r, endpoint)
	})
	s.mux.HandleFunc("/"+endpoint+"/{check}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("check")
		for _, c := range s.checks(endpoint) {
			if c.Name != name {
				continue
			}
			if err := c.Check(r); err != nil {
				http.Error(w, fmt.Sprintf("internal server error: %v", err), http.StatusInternalServerError)
				return
			}
			writeText(w, "ok")
			return
		}
		http.NotFound(w, r)
	})
}

// serveHealth answers as upstream's healthz handler: "ok" when every check passes (the
// list of checks with ?verbose), 500 with the list when one fails. The list withholds
// failure reasons because the endpoint needs no authorization; they are logged, and
// /<endpoint>/<check> shows them.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request, endpoint string) {
	excluded := map[string]bool{}
	for _, list := range r.URL.Query()["exclude"] {
		for _, name := range strings.Split(list, ",") {
			if name = strings.TrimSpace(name); name != "" {
				excluded[name] = true
			}
		}
	}
	var out, detail bytes.Buffer
	var failed []string
	for _, c := range s.checks(endpoint) {
		if excluded[c.Name] {
			delete(excluded, c.Name)
			fmt.Fprintf(&out, "[+]%s excluded: ok\n", c.Name)
			continue
		}
		if err := c.Check(r); err != nil {
			fmt.Fprintf(&out, "[-]%s failed: reason withheld\n", c.Name)
			fmt.Fprintf(&detail, "[-]%s failed: %v\n", c.Name, err)
			failed = append(failed, c.Name)
			continue
		}
		fmt.Fprintf(&out, "[+]%s ok\n", c.Name)
	}
	if len(excluded) > 0 {
		var names []string
		for n := range excluded {
			names = append(names, fmt.Sprintf("%q", n))
		}
		slices.Sort(names)
		fmt.Fprintf(&out, "warn: some health checks cannot be excluded: no matches for %s\n", strings.Join(names, ","))
	}
	if len(failed) > 0 {
		klog.V(2).InfoS("Health check failed", "endpoint", endpoint, "checks", failed, "detail", detail.String())
		http.Error(w, fmt.Sprintf("%s%s check failed", out.String(), endpoint), http.StatusInternalServerError)
		return
	}
	if _, verbose := r.URL.Query()["verbose"]; !verbose {
		writeText(w, "ok")
		return
	}
	writeText(w, fmt.Sprintf("%s%s check passed\n", out.String(), endpoint))
}

func writeText(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	fmt.Fprint(w, body)
}
