// Package cache is the scheduler's view of the cluster: every node with the pods bound
// to it, plus the pods the scheduler has assumed (placed, binding in flight, not yet
// confirmed by the watch), so it can schedule the next pod without waiting for each
// binding to round-trip. NodeInfos are copy-on-write: a change replaces a node's
// NodeInfo with a modified copy, so Snapshot is a cheap slice copy that a scheduling
// cycle reads without locks while informer handlers keep changing the cache.
package cache

import (
	"fmt"
	"sync"

	corev1 "kube5/proto/api/core/v1"
	"kube5/scheduler/internal/framework"
)

type podState struct {
	pod     *framework.PodInfo
	assumed bool
}

// Cache holds nodes and pods. It is safe for concurrent use.
type Cache struct {
	mu sync.Mutex
	// infos has every NodeInfo, including ones for nodes not seen yet that pods name.
	infos map[string]*framework.NodeInfo
	// list holds the NodeInfos of known nodes, in a stable order (index by name in
	// listIndex), so Snapshot copies a slice rather than walking a map.
	list      []*framework.NodeInfo
	listIndex map[string]int
	pods      map[string]*podState // by namespace/name
}

// New returns an empty cache.
func New() *Cache {
	return &Cache{infos: map[string]*framework.NodeInfo{}, listIndex: map[string]int{}, pods: map[string]*podState{}}
}

// Snapshot returns the known nodes as of now, reusing buf's storage (the scheduling
// loop passes the previous cycle's snapshot, saving an allocation per pod). The
// NodeInfos are immutable.
func (c *Cache) Snapshot(buf []*framework.NodeInfo) []*framework.NodeInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(buf[:0], c.list...)
}

// NodeCount is the number of known nodes.
func (c *Cache) NodeCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.list)
}

// publish stores ni as the node's current NodeInfo. Caller holds mu.
func (c *Cache) publish(ni *framework.NodeInfo) {
	c.infos[ni.Name] = ni
	if i, ok := c.listIndex[ni.Name]; ok {
		if ni.Node == nil {
			c.unlist(ni.Name, i)
		} else {
			c.list[i] = ni
		}
	} else if ni.Node != nil {
		c.listIndex[ni.Name] = len(c.list)
		c.list = append(c.list, ni)
	}
	if ni.Node == nil && len(ni.Pods) == 0 {
		delete(c.infos, ni.Name)
	}
}

func (c *Cache) unlist(name string, i int) {
	last := len(c.list) - 1
	c.list[i] = c.list[last]
	c.listIndex[c.list[i].Name] = i
	c.list = c.list[:last]
	delete(c.listIndex, name)
}

// mutable returns a copy of the node's NodeInfo to modify and publish. Caller holds mu.
func (c *Cache) mutable(name string) *framework.NodeInfo {
	if ni, ok := c.infos[name]; ok {
		return ni.Clone()
	}
	return framework.NewNodeInfo(name, nil)
}

// AddNode adds or updates a node.
func (c *Cache) AddNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ni := c.mutable(node.GetMetadata().GetName())
	ni.SetNode(node)
	c.publish(ni)
}

// UpdateNode is AddNode.
func (c *Cache) UpdateNode(node *corev1.Node) { c.AddNode(node) }

// RemoveNode forgets a node; pods still bound to it stay accounted for until deleted.
func (c *Cache) RemoveNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := node.GetMetadata().GetName()
	ni, ok := c.infos[name]
	if !ok {
		return
	}
	ni = ni.Clone()
	ni.SetNode(nil)
	c.publish(ni)
}

// place adds pi to its node. Caller holds mu.
func (c *Cache) place(pi *framework.PodInfo) {
	ni := c.mutable(pi.NodeName)
	ni.AddPod(pi)
	c.publish(ni)
}

// unplace removes the pod with key from node. Caller holds mu.
func (c *Cache) unplace(key, node string) {
	ni, ok := c.infos[node]
	if !ok {
		return
	}
	ni = ni.Clone()
	if ni.RemovePod(key) {
		c.publish(ni)
	}
}

// AssumePod records that pi (its NodeName set) is being bound, so the next cycles count
// it on its node.
func (c *Cache) AssumePod(pi *framework.PodInfo) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pi.Key]; ok {
		return fmt.Errorf("pod %s is already in the cache", pi.Key)
	}
	c.pods[pi.Key] = &podState{pod: pi, assumed: true}
	c.place(pi)
	return nil
}

// ForgetPod undoes AssumePod after a failed binding.
func (c *Cache) ForgetPod(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[key]
	if !ok || !ps.assumed {
		return
	}
	delete(c.pods, key)
	c.unplace(key, ps.pod.NodeName)
}

// IsAssumed reports whether the pod is assumed and not yet confirmed.
func (c *Cache) IsAssumed(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[key]
	return ok && ps.assumed
}

// Has reports whether the pod is in the cache, assumed or bound.
func (c *Cache) Has(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pods[key]
	return ok
}

// AddPod records a bound pod seen by the watch; it confirms an assumed pod (moving it if
// it was bound elsewhere).
func (c *Cache) AddPod(pod *corev1.Pod) {
	pi := framework.NewPodInfo(pod)
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pi.Key]; ok {
		c.unplace(pi.Key, ps.pod.NodeName)
	}
	c.pods[pi.Key] = &podState{pod: pi}
	c.place(pi)
}

// UpdatePod is AddPod with the new state.
func (c *Cache) UpdatePod(pod *corev1.Pod) { c.AddPod(pod) }

// RemovePod forgets a pod.
func (c *Cache) RemovePod(pod *corev1.Pod) {
	key := pod.GetMetadata().GetNamespace() + "/" + pod.GetMetadata().GetName()
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[key]
	if !ok {
		return
	}
	delete(c.pods, key)
	c.unplace(key, ps.pod.NodeName)
}

// Counts returns the number of known nodes, of pods, and of assumed pods (metrics, tests).
func (c *Cache) Counts() (nodes, pods, assumed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ps := range c.pods {
		if ps.assumed {
			assumed++
		}
	}
	return len(c.list), len(c.pods), assumed
}
