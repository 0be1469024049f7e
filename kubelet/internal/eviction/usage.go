package eviction

import (
	"context"
	"io/fs"
	"path/filepath"
	"sync"

	"k8s.io/klog/v2"

	corev1 "kube5/proto/api/core/v1"

	"kube5/kubelet/internal/runtime"
)

// RuntimeUsage measures pods as the ranking needs them: each running container's memory
// working set and processes from the runtime's stats, and the bytes of the pod's
// directory under rootDir (its emptyDir volumes; a container's writable layer is not
// counted, as the runtime does not report it cheaply).
func RuntimeUsage(rt runtime.Runtime, rootDir string) func(ctx context.Context, pods []*corev1.Pod) map[string]PodUsage {
	return func(ctx context.Context, pods []*corev1.Pod) map[string]PodUsage {
		out := map[string]PodUsage{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, p := range pods {
			uid := p.GetMetadata().GetUid()
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := PodUsage{Memory: map[string]int64{}, Disk: dirBytes(filepath.Join(rootDir, "pods", uid))}
				list, err := rt.ListContainers(ctx, uid)
				if err != nil {
					klog.V(2).InfoS("Eviction manager: listing a pod's containers failed", "pod", klog.KObj(p.GetMetadata()), "err", err)
				}
				for _, c := range list {
					if c.State != runtime.StateRunning {
						continue
					}
					st, err := rt.Stats(ctx, c.ID)
					if err != nil {
						continue
					}
					if !c.IsSandbox() {
						u.Memory[c.ContainerName] += int64(st.MemoryWorkingSet)
					}
					u.PIDs += int64(st.PIDs)
				}
				mu.Lock()
				out[uid] = u
				mu.Unlock()
			}()
		}
		wg.Wait()
		return out
	}
}

func dirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
