package config

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"
	metav1 "kube5/proto/api/meta/v1"
	"kube5/proto/codec"
)

// FileSource reads static pod manifests (YAML or JSON, one pod per file) from a directory
// (or one file), and re-reads them every period: a changed file is a new pod (its UID is
// a hash of the content), a removed file kills its pod.
type FileSource struct {
	path   string
	node   string
	period time.Duration
	h      PodHandler
	// OnChange receives the current static pods after every change (the mirror manager).
	OnChange func(pods []*corev1.Pod)
	current  map[string]*corev1.Pod // UID -> pod
}

// NewFileSource returns a source of static pods under path.
func NewFileSource(path, node string, period time.Duration, h PodHandler) *FileSource {
	if period == 0 {
		period = 2 * time.Second
	}
	return &FileSource{path: path, node: node, period: period, h: h, current: map[string]*corev1.Pod{}}
}

// Run reads the manifests now and then every period until ctx ends.
func (s *FileSource) Run(ctx context.Context) {
	t := time.NewTicker(s.period)
	defer t.Stop()
	for {
		s.Sync()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sync reads the manifests once and hands the differences to the handler.
func (s *FileSource) Sync() {
	pods := s.read()
	changed := false
	for uid, p := range s.current {
		if _, ok := pods[uid]; !ok {
			klog.InfoS("Static pod removed", "pod", klog.KObj(p.GetMetadata()))
			s.h.RemovePod(uid)
			changed = true
		}
	}
	for uid, p := range pods {
		if _, ok := s.current[uid]; !ok {
			klog.InfoS("Static pod added", "pod", klog.KObj(p.GetMetadata()), "uid", uid)
			s.h.UpdatePod(p)
			changed = true
		}
	}
	s.current = pods
	if (changed || s.OnChange != nil) && s.OnChange != nil {
		list := make([]*corev1.Pod, 0, len(pods))
		for _, p := range pods {
			list = append(list, p)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].GetMetadata().GetName() < list[j].GetMetadata().GetName() })
		s.OnChange(list)
	}
}

func (s *FileSource) read() map[string]*corev1.Pod {
	out := map[string]*corev1.Pod{}
	st, err := os.Stat(s.path)
	if err != nil {
		if !os.IsNotExist(err) {
			klog.ErrorS(err, "Reading --pod-manifest-path failed", "path", s.path)
		}
		return out
	}
	files := []string{s.path}
	if st.IsDir() {
		ents, err := os.ReadDir(s.path)
		if err != nil {
			klog.ErrorS(err, "Reading --pod-manifest-path failed", "path", s.path)
			return out
		}
		files = files[:0]
		for _, e := range ents {
			n := e.Name()
			if e.IsDir() || strings.HasPrefix(n, ".") {
				continue
			}
			files = append(files, filepath.Join(s.path, n))
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		p, err := StaticPod(b, s.node, f)
		if err != nil {
			klog.ErrorS(err, "Skipping invalid static pod manifest", "file", f)
			continue
		}
		out[p.GetMetadata().GetUid()] = p
	}
	return out
}

// StaticPod decodes a manifest into the pod the kubelet runs: named <name>-<node>, in
// namespace default unless set, with a UID hashing the content, node and file (as
// upstream), defaults applied and the config annotations set.
func StaticPod(data []byte, node, file string) (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	if _, _, err := codec.DecodeObject(data, pod); err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write(data)
	h.Write([]byte(node))
	h.Write([]byte(file))
	hash := hex.EncodeToString(h.Sum(nil))[:32]
	if pod.Metadata == nil {
		pod.Metadata = &metav1.ObjectMeta{}
	}
	md := pod.Metadata
	md.Uid = hash
	md.Name = md.GetName() + "-" + node
	if md.Namespace == "" {
		md.Namespace = "default"
	}
	if md.Annotations == nil {
		md.Annotations = map[string]string{}
	}
	md.Annotations[AnnotationSource] = "file"
	md.Annotations[AnnotationHash] = hash
	if pod.Spec == nil {
		pod.Spec = &corev1.PodSpec{}
	}
	pod.Spec.NodeName = node
	if pod.Spec.RestartPolicy == "" {
		pod.Spec.RestartPolicy = "Always"
	}
	if pod.Spec.DnsPolicy == "" {
		pod.Spec.DnsPolicy = "ClusterFirst"
	}
	if pod.Spec.TerminationGracePeriodSeconds == nil {
		g := int64(30)
		pod.Spec.TerminationGracePeriodSeconds = &g
	}
	if pod.Spec.SchedulerName == "" {
		pod.Spec.SchedulerName = "default-scheduler"
	}
	for _, c := range pod.Spec.Containers {
		if c.TerminationMessagePath == "" {
			c.TerminationMessagePath = "/dev/termination-log"
		}
		if c.TerminationMessagePolicy == "" {
			c.TerminationMessagePolicy = "File"
		}
	}
	pod.Status = &corev1.PodStatus{Phase: "Pending"}
	md.CreationTimestamp = metav1.Now()
	return pod, nil
}
