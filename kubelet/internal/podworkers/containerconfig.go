package podworkers

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	corev1 "kube5/proto/api/core/v1"

	"kube5/kubelet/internal/runtime"
)

// specHash identifies a container's spec: a running container whose hash differs from the
// pod's current spec is replaced. Only fields that need a new container count.
func specHash(c *corev1.Container) string {
	h := fnv.New64a()
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&corev1.Container{
		Name: c.Name, Image: c.Image, Command: c.Command, Args: c.Args, WorkingDir: c.WorkingDir,
		Env: c.Env, Ports: c.Ports, VolumeMounts: c.VolumeMounts, Resources: c.Resources,
	})
	_, _ = h.Write(b)
	return strconv.FormatUint(h.Sum64(), 16)
}

// gracePeriod is how long the pod's containers get between SIGTERM and SIGKILL: the
// deletion's period when it is being deleted, else its terminationGracePeriodSeconds (30).
func gracePeriod(pod *corev1.Pod) int64 {
	if md := pod.GetMetadata(); md.GetDeletionGracePeriodSeconds() > 0 || (md.GetDeletionTimestamp() != nil && md.DeletionGracePeriodSeconds != nil) {
		return md.GetDeletionGracePeriodSeconds()
	}
	if pod.GetSpec().TerminationGracePeriodSeconds != nil {
		return pod.GetSpec().GetTerminationGracePeriodSeconds()
	}
	return 30
}

// volumeDir is where an emptyDir lives: --root-dir/pods/<uid>/volumes/kubernetes.io~empty-dir/<name>.
func (m *Manager) volumeDir(uid, plugin, name string) string {
	return filepath.Join(m.cfg.RootDir, "pods", uid, "volumes", plugin, name)
}

// mounts resolves a container's volumeMounts to host paths, creating emptyDirs and
// hostPaths of type DirectoryOrCreate as needed.
func (m *Manager) mounts(pod *corev1.Pod, c *corev1.Container) ([]runtime.Mount, error) {
	vols := map[string]*corev1.Volume{}
	for _, v := range pod.GetSpec().GetVolumes() {
		vols[v.GetName()] = v
	}
	var out []runtime.Mount
	for _, vm := range c.GetVolumeMounts() {
		v, ok := vols[vm.GetName()]
		if !ok {
			return nil, fmt.Errorf("volumeMount %q: no volume of that name in the pod", vm.GetName())
		}
		var host string
		switch {
		case v.GetEmptyDir() != nil:
			host = m.volumeDir(pod.GetMetadata().GetUid(), "kubernetes.io~empty-dir", v.GetName())
			if err := os.MkdirAll(host, 0o777); err != nil {
				return nil, fmt.Errorf("emptyDir %q: %w", v.GetName(), err)
			}
			// MkdirAll applies the umask; an emptyDir is world-writable as upstream's.
			_ = os.Chmod(host, 0o777)
		case v.GetHostPath() != nil:
			host = v.GetHostPath().GetPath()
			switch v.GetHostPath().GetType() {
			case "DirectoryOrCreate":
				if err := os.MkdirAll(host, 0o755); err != nil {
					return nil, fmt.Errorf("hostPath %q: %w", host, err)
				}
			case "Directory", "File", "FileOrCreate":
				if _, err := os.Stat(host); err != nil && v.GetHostPath().GetType() != "FileOrCreate" {
					return nil, fmt.Errorf("hostPath %q (type %s): %w", host, v.GetHostPath().GetType(), err)
				} else if err != nil {
					if err := os.WriteFile(host, nil, 0o644); err != nil {
						return nil, fmt.Errorf("hostPath %q: %w", host, err)
					}
				}
			}
		case v.GetConfigMap() != nil || v.GetSecret() != nil:
			dir, err := m.writeObjectVolume(pod, v)
			if err != nil {
				return nil, err
			}
			host = dir
		default:
			return nil, fmt.Errorf("volume %q: unsupported volume type", v.GetName())
		}
		if vm.GetSubPath() != "" {
			host = filepath.Join(host, vm.GetSubPath())
		}
		out = append(out, runtime.Mount{HostPath: host, ContainerPath: vm.GetMountPath(), ReadOnly: vm.GetReadOnly()})
	}
	return out, nil
}

// writeObjectVolume projects a configMap's or secret's keys as files.
func (m *Manager) writeObjectVolume(pod *corev1.Pod, v *corev1.Volume) (string, error) {
	if m.cfg.Objects == nil {
		return "", fmt.Errorf("volume %q: configMap and secret volumes need an apiserver", v.GetName())
	}
	ns := pod.GetMetadata().GetNamespace()
	var data map[string][]byte
	var items []*corev1.KeyToPath
	var optional bool
	var plugin string
	if cm := v.GetConfigMap(); cm != nil {
		plugin, items, optional = "kubernetes.io~configmap", cm.GetItems(), cm.GetOptional()
		d, err := m.cfg.Objects.ConfigMapData(ns, cm.GetName())
		if err != nil && !optional {
			return "", fmt.Errorf("configMap %q: %w", cm.GetName(), err)
		}
		data = d
	} else {
		s := v.GetSecret()
		plugin, items, optional = "kubernetes.io~secret", s.GetItems(), s.GetOptional()
		d, err := m.cfg.Objects.SecretData(ns, s.GetSecretName())
		if err != nil && !optional {
			return "", fmt.Errorf("secret %q: %w", s.GetSecretName(), err)
		}
		data = d
	}
	dir := m.volumeDir(pod.GetMetadata().GetUid(), plugin, v.GetName())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	files := map[string][]byte{}
	if len(items) > 0 {
		for _, it := range items {
			files[it.GetPath()] = data[it.GetKey()]
		}
	} else {
		for k, val := range data {
			files[k] = val
		}
	}
	for p, b := range files {
		f := filepath.Join(dir, filepath.Clean("/"+p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(f, b, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// env builds a container's environment: the service variables first (so the pod's own
// variables override them, as upstream), then env in order with $(VAR) expansion.
func (m *Manager) env(pod *corev1.Pod, c *corev1.Container, podIP string) ([]string, error) {
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	if pod.GetSpec().EnableServiceLinks == nil || pod.GetSpec().GetEnableServiceLinks() {
		for _, kv := range m.serviceEnv(pod.GetMetadata().GetNamespace()) {
			set(kv[0], kv[1])
		}
	}
	for _, from := range c.GetEnvFrom() {
		if m.cfg.Objects == nil {
			return nil, fmt.Errorf("envFrom needs an apiserver")
		}
		var data map[string][]byte
		var err error
		var optional bool
		if r := from.GetConfigMapRef(); r != nil {
			data, err = m.cfg.Objects.ConfigMapData(pod.GetMetadata().GetNamespace(), r.GetName())
			optional = r.GetOptional()
		} else if r := from.GetSecretRef(); r != nil {
			data, err = m.cfg.Objects.SecretData(pod.GetMetadata().GetNamespace(), r.GetName())
			optional = r.GetOptional()
		}
		if err != nil && !optional {
			return nil, err
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			set(from.GetPrefix()+k, string(data[k]))
		}
	}
	for _, e := range c.GetEnv() {
		val := expand(e.GetValue(), vars)
		if src := e.GetValueFrom(); src != nil {
			v, err := m.envSource(pod, src, podIP)
			if err != nil {
				return nil, fmt.Errorf("env %s: %w", e.GetName(), err)
			}
			val = v
		}
		set(e.GetName(), val)
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vars[k])
	}
	return out, nil
}

func (m *Manager) envSource(pod *corev1.Pod, src *corev1.EnvVarSource, podIP string) (string, error) {
	md := pod.GetMetadata()
	if f := src.GetFieldRef(); f != nil {
		p := f.GetFieldPath()
		switch {
		case p == "metadata.name":
			return md.GetName(), nil
		case p == "metadata.namespace":
			return md.GetNamespace(), nil
		case p == "metadata.uid":
			return md.GetUid(), nil
		case p == "spec.nodeName":
			return pod.GetSpec().GetNodeName(), nil
		case p == "spec.serviceAccountName":
			return pod.GetSpec().GetServiceAccountName(), nil
		case p == "status.podIP":
			return podIP, nil
		case p == "status.hostIP":
			return m.cfg.NodeIP, nil
		case strings.HasPrefix(p, "metadata.labels['") && strings.HasSuffix(p, "']"):
			return md.GetLabels()[p[len("metadata.labels['"):len(p)-2]], nil
		case strings.HasPrefix(p, "metadata.annotations['") && strings.HasSuffix(p, "']"):
			return md.GetAnnotations()[p[len("metadata.annotations['"):len(p)-2]], nil
		}
		return "", fmt.Errorf("fieldRef %q is not supported", p)
	}
	if r := src.GetConfigMapKeyRef(); r != nil && m.cfg.Objects != nil {
		d, err := m.cfg.Objects.ConfigMapData(md.GetNamespace(), r.GetName())
		if err != nil {
			if r.GetOptional() {
				return "", nil
			}
			return "", err
		}
		return string(d[r.GetKey()]), nil
	}
	if r := src.GetSecretKeyRef(); r != nil && m.cfg.Objects != nil {
		d, err := m.cfg.Objects.SecretData(md.GetNamespace(), r.GetName())
		if err != nil {
			if r.GetOptional() {
				return "", nil
			}
			return "", err
		}
		return string(d[r.GetKey()]), nil
	}
	return "", fmt.Errorf("unsupported valueFrom")
}

// expand replaces $(VAR) with earlier variables, as upstream; $$ escapes a $.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+end+1])
			}
			i += end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// serviceEnv returns the Docker-links-style variables of the services in namespace (and
// the master service "kubernetes" of default), as upstream's kubelet sets them.
func (m *Manager) serviceEnv(namespace string) [][2]string {
	if m.cfg.Services == nil {
		return nil
	}
	var out [][2]string
	for _, svc := range m.cfg.Services(namespace) {
		ip := svc.GetSpec().GetClusterIp()
		if ip == "" || ip == "None" || len(svc.GetSpec().GetPorts()) == 0 {
			continue
		}
		name := strings.ToUpper(strings.ReplaceAll(svc.GetMetadata().GetName(), "-", "_"))
		ports := svc.GetSpec().GetPorts()
		first := ports[0]
		out = append(out, [2]string{name + "_SERVICE_HOST", ip}, [2]string{name + "_SERVICE_PORT", strconv.Itoa(int(first.GetPort()))})
		for _, p := range ports {
			if p.GetName() != "" {
				out = append(out, [2]string{name + "_SERVICE_PORT_" + strings.ToUpper(strings.ReplaceAll(p.GetName(), "-", "_")), strconv.Itoa(int(p.GetPort()))})
			}
		}
		proto := strings.ToLower(first.GetProtocol())
		if proto == "" {
			proto = "tcp"
		}
		out = append(out, [2]string{name + "_PORT", fmt.Sprintf("%s://%s:%d", proto, ip, first.GetPort())})
		for _, p := range ports {
			pr := strings.ToLower(p.GetProtocol())
			if pr == "" {
				pr = "tcp"
			}
			prefix := fmt.Sprintf("%s_PORT_%d_%s", name, p.GetPort(), strings.ToUpper(pr))
			out = append(out, [2]string{prefix, fmt.Sprintf("%s://%s:%d", pr, ip, p.GetPort())},
				[2]string{prefix + "_PROTO", pr}, [2]string{prefix + "_PORT", strconv.Itoa(int(p.GetPort()))}, [2]string{prefix + "_ADDR", ip})
		}
	}
	return out
}

// containerConfig turns a spec container into the runtime's config.
func (m *Manager) containerConfig(pod *corev1.Pod, c *corev1.Container, attempt int, podIP string) (runtime.ContainerConfig, error) {
	md := pod.GetMetadata()
	cfg := runtime.ContainerConfig{
		Pod:  runtime.PodRef{Name: md.GetName(), Namespace: md.GetNamespace(), UID: md.GetUid()},
		Name: c.GetName(), Attempt: attempt, Hash: specHash(c), Image: c.GetImage(),
		WorkingDir: c.GetWorkingDir(), Stdin: c.GetStdin(), StdinOnce: c.GetStdinOnce(), TTY: c.GetTty(), GracePeriod: gracePeriod(pod),
	}
	// Upstream's semantics: command replaces the image's ENTRYPOINT (and drops its CMD),
	// args replace CMD.
	if len(c.GetCommand()) > 0 {
		cfg.Entrypoint = c.GetCommand()
		cfg.Cmd = []string{}
	}
	if len(c.GetArgs()) > 0 {
		cfg.Cmd = c.GetArgs()
	}
	var err error
	if cfg.Env, err = m.env(pod, c, podIP); err != nil {
		return cfg, err
	}
	if cfg.Mounts, err = m.mounts(pod, c); err != nil {
		return cfg, err
	}
	res := c.GetResources()
	// Upstream's conversions: shares = milliCPU*1024/1000 (min 2), quota over a 100ms period.
	if q, ok := res.GetRequests()["cpu"]; ok {
		cfg.CPUShares = max(q.MilliValue()*1024/1000, 2)
	} else if q, ok := res.GetLimits()["cpu"]; ok {
		cfg.CPUShares = max(q.MilliValue()*1024/1000, 2)
	}
	if q, ok := res.GetLimits()["cpu"]; ok {
		cfg.CPUPeriod = 100000
		cfg.CPUQuota = max(q.MilliValue()*100000/1000, 1000)
	}
	if q, ok := res.GetLimits()["memory"]; ok {
		cfg.MemoryLimit = q.Value()
	}
	if sc := c.GetSecurityContext(); sc != nil {
		cfg.Privileged = sc.GetPrivileged()
		if sc.RunAsUser != nil {
			cfg.User = strconv.FormatInt(sc.GetRunAsUser(), 10)
			if sc.RunAsGroup != nil {
				cfg.User += ":" + strconv.FormatInt(sc.GetRunAsGroup(), 10)
			}
		}
	}
	return cfg, nil
}
