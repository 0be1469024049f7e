package rest

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"

	corev1 "kube5/proto/api/core/v1"
	"kube5/proto/apierrors"
	"kube5/proto/portforward"
	"kube5/proto/remotecommand"
)

// podLogs serves GET pods/{name}/log by streaming the kubelet's
// /containerLogs/{ns}/{pod}/{container} from the pod's node, as upstream's apiserver does.
// The apiserver holds no log data: it picks the container, finds the node's kubelet and
// copies bytes (flushing as they come, so `kubectl logs -f` follows).
func (h *Handler) podLogs(w http.ResponseWriter, r *http.Request, ri requestInfo) error {
	pod, target, err := h.podKubelet(r, ri)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	container, err := pickContainer(pod, q.Get("container"))
	if err != nil {
		return err
	}
	kq := url.Values{}
	for _, k := range []string{"follow", "previous", "timestamps", "tailLines", "sinceSeconds", "limitBytes"} {
		if v := q.Get(k); v != "" {
			kq.Set(k, v)
		}
	}
	target.Path = fmt.Sprintf("/containerLogs/%s/%s/%s", ri.Namespace, ri.Name, container)
	target.RawQuery = kq.Encode()
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, target.String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return apierrors.NewServiceUnavailable(fmt.Sprintf("the kubelet of node %s does not answer at %s: %v", pod.GetSpec().GetNodeName(), target.Host, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return kubeletRefused(pod, container, resp.StatusCode, string(b), !isTrue(q.Get("previous")))
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil {
			return nil
		}
	}
}

// podExec serves pods/{name}/exec (GET or POST, as upstream) by proxying the upgraded
// connection to the kubelet's /exec/{ns}/{pod}/{container}: after the kubelet's 101 the
// bytes flow unchanged both ways (kube5/proto/remotecommand), so the apiserver never
// parses frames. Refusals before the upgrade become Status errors.
func (h *Handler) podExec(w http.ResponseWriter, r *http.Request, ri requestInfo) error {
	q := r.URL.Query()
	req := remotecommand.ParseRequest(q)
	if len(req.Command) == 0 {
		return apierrors.NewBadRequest("you must specify at least one command for the container")
	}
	if !remotecommand.IsUpgrade(r) {
		return apierrors.NewBadRequest("Upgrade request required: pods/exec streams over 'Connection: Upgrade' with 'Upgrade: " + remotecommand.Protocol + "'")
	}
	return h.proxyContainerStream(w, r, ri, "exec", req, nil)
}

// podAttach serves pods/{name}/attach (GET or POST, as upstream) by proxying the upgraded
// connection to the kubelet's /attach/{ns}/{pod}/{container}: the container's main
// process stdio over the exec protocol, without a command.
func (h *Handler) podAttach(w http.ResponseWriter, r *http.Request, ri requestInfo) error {
	q := r.URL.Query()
	req := remotecommand.ParseRequest(q)
	req.Command = nil
	if !req.Stdin && !req.Stdout && !req.Stderr {
		return apierrors.NewBadRequest("you must specify at least one of stdin, stdout, stderr")
	}
	if !remotecommand.IsUpgrade(r) {
		return apierrors.NewBadRequest("Upgrade request required: pods/attach streams over 'Connection: Upgrade' with 'Upgrade: " + remotecommand.Protocol + "'")
	}
	// The kubelet's refusal of stdin names the container and the fix: pass it on.
	return h.proxyContainerStream(w, r, ri, "attach", req, func(code int, body string) error {
		if code == http.StatusBadRequest && strings.Contains(body, "does not have stdin enabled") {
			return apierrors.NewBadRequest(strings.TrimSpace(body))
		}
		return nil
	})
}

// proxyContainerStream proxies an exec or attach of the request's container (the
// kubelet's /{verb}/{ns}/{pod}/{container}) once the caller checked the request. refused,
// when set, may turn a kubelet refusal into its own error (nil: the usual one).
func (h *Handler) proxyContainerStream(w http.ResponseWriter, r *http.Request, ri requestInfo, verb string, req remotecommand.Request, refused func(code int, body string) error) error {
	pod, target, err := h.podKubelet(r, ri)
	if err != nil {
		return err
	}
	container, err := pickContainer(pod, r.URL.Query().Get("container"))
	if err != nil {
		return err
	}
	target.Path = fmt.Sprintf("/%s/%s/%s/%s", verb, ri.Namespace, ri.Name, container)
	target.RawQuery = req.Query(nil).Encode()
	proxyUpgrade(w, r, pod, target, func(code int, body string) error {
		if refused != nil {
			if err := refused(code, body); err != nil {
				return err
			}
		}
		return kubeletRefused(pod, container, code, body, true)
	})
	return nil
}

// podPortForward serves pods/{name}/portforward?ports=N (GET or POST, as upstream) by
// proxying the upgraded connection to the kubelet's /portForward/{ns}/{pod}: one
// forwarded TCP connection per request (kube5/proto/portforward), bytes unchanged.
func (h *Handler) podPortForward(w http.ResponseWriter, r *http.Request, ri requestInfo) error {
	port, err := portforward.ParsePort(r.URL.Query())
	if err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	if !portforward.IsUpgrade(r) {
		return apierrors.NewBadRequest("Upgrade request required: pods/portforward streams over 'Connection: Upgrade' with 'Upgrade: " + portforward.Protocol + "'")
	}
	pod, target, err := h.podKubelet(r, ri)
	if err != nil {
		return err
	}
	target.Path = fmt.Sprintf("/portForward/%s/%s", ri.Namespace, ri.Name)
	target.RawQuery = url.Values{"ports": {strconv.Itoa(int(port))}}.Encode()
	proxyUpgrade(w, r, pod, target, func(_ int, body string) error {
		// The kubelet's words name the pod, the port and the cause (not running,
		// connection refused): pass them on as they are.
		return apierrors.NewBadRequest(strings.TrimSpace(body))
	})
	return nil
}

// proxyUpgrade proxies an upgrade request to the kubelet at target: after the kubelet's
// 101 the bytes flow unchanged both ways, so the apiserver never parses frames. A
// refusal before the upgrade becomes the Status refused returns.
func proxyUpgrade(w http.ResponseWriter, r *http.Request, pod *corev1.Pod, target *url.URL, refused func(code int, body string) error) {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// The kubelet serves streams on POST only; the Upgrade headers are put back by
			// ReverseProxy after Rewrite.
			pr.Out.Method = http.MethodPost
			pr.Out.URL = target
			pr.Out.Host = target.Host
			pr.Out.Body, pr.Out.ContentLength = nil, 0
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode == http.StatusSwitchingProtocols {
				return nil
			}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			return refused(resp.StatusCode, string(b))
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			var se *apierrors.StatusError
			if !errors.As(err, &se) {
				err = apierrors.NewServiceUnavailable(fmt.Sprintf("the kubelet of node %s does not answer at %s: %v", pod.GetSpec().GetNodeName(), target.Host, err))
			}
			writeError(w, err)
		},
		// Copy errors after the upgrade (a side hanging up) are ordinary ends of a
		// session, not worth a log line each.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	rp.ServeHTTP(w, r)
}

// kubeletRefused turns a kubelet's refusal (plain text) into the Status upstream's
// apiserver returns: a container still waiting is reported with its reason, as the
// upstream kubelet does ("is waiting to start: ContainerCreating").
func kubeletRefused(pod *corev1.Pod, container string, code int, body string, checkWaiting bool) error {
	name := pod.GetMetadata().GetName()
	if checkWaiting {
		statuses := append(pod.GetStatus().GetInitContainerStatuses(), pod.GetStatus().GetContainerStatuses()...)
		for _, cs := range statuses {
			if cs.GetName() == container && cs.GetState().GetWaiting() != nil {
				reason := cs.GetState().GetWaiting().GetReason()
				if reason == "" {
					reason = "ContainerCreating"
				}
				return apierrors.NewBadRequest(fmt.Sprintf("container %q in pod %q is waiting to start: %s", container, name, reason))
			}
		}
	}
	msg := strings.TrimSpace(body)
	if code == http.StatusNotFound {
		return apierrors.NewBadRequest(fmt.Sprintf("container %q in pod %q is not available: %s", container, name, msg))
	}
	return apierrors.NewBadRequest(fmt.Sprintf("the kubelet answered %d: %s", code, msg))
}

// podKubelet reads the pod and the address of its node's kubelet (InternalIP and
// status.daemonEndpoints.kubeletEndpoint.Port, 10250 when unset).
func (h *Handler) podKubelet(r *http.Request, ri requestInfo) (*corev1.Pod, *url.URL, error) {
	obj, err := ri.Entry.Storage.Get(r.Context(), ri.Namespace, ri.Name)
	if err != nil {
		return nil, nil, err
	}
	pod := obj.(*corev1.Pod)
	nodeName := pod.GetSpec().GetNodeName()
	if nodeName == "" {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", ri.Name)) // upstream's words
	}
	nodes, ok := h.table.Lookup("", "nodes")
	if !ok {
		return nil, nil, apierrors.NewInternalError(fmt.Errorf("nodes are not served"))
	}
	nobj, err := nodes.Storage.Get(r.Context(), "", nodeName)
	if err != nil {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s is bound to node %s, which is not registered: %v", ri.Name, nodeName, err))
	}
	node := nobj.(*corev1.Node)
	host := ""
	for _, a := range node.GetStatus().GetAddresses() {
		if a.GetType() == "InternalIP" {
			host = a.GetAddress()
			break
		}
	}
	if host == "" {
		for _, a := range node.GetStatus().GetAddresses() {
			if a.GetType() == "Hostname" {
				host = a.GetAddress()
			}
		}
	}
	if host == "" {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("node %s reports no address for its kubelet", nodeName))
	}
	port := int(node.GetStatus().GetDaemonEndpoints().GetKubeletEndpoint().GetPort())
	if port == 0 {
		port = 10250
	}
	return pod, &url.URL{Scheme: "http", Host: net.JoinHostPort(host, strconv.Itoa(port))}, nil
}

// pickContainer is upstream's rule: the named container, or the only one.
func pickContainer(pod *corev1.Pod, name string) (string, error) {
	var names []string
	for _, c := range pod.GetSpec().GetInitContainers() {
		names = append(names, c.GetName())
	}
	for _, c := range pod.GetSpec().GetContainers() {
		names = append(names, c.GetName())
	}
	if name != "" {
		for _, n := range names {
			if n == name {
				return name, nil
			}
		}
		return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.GetMetadata().GetName()))
	}
	if len(pod.GetSpec().GetContainers()) == 1 {
		return pod.GetSpec().GetContainers()[0].GetName(), nil
	}
	var regular []string
	for _, c := range pod.GetSpec().GetContainers() {
		regular = append(regular, c.GetName())
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", pod.GetMetadata().GetName(), strings.Join(regular, " ")))
}
