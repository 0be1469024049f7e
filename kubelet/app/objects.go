package app

import (
	"context"
	"time"

	"kube5/proto/client"
)

// apiObjects reads configMaps and secrets for volumes and env straight from the apiserver
// (a pod start is rare enough not to need a cache).
type apiObjects struct{ c *client.Clientset }

func (a apiObjects) ConfigMapData(namespace, name string) (map[string][]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cm, err := a.c.ConfigMaps(namespace).Get(ctx, name)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for k, v := range cm.GetData() {
		out[k] = []byte(v)
	}
	for k, v := range cm.GetBinaryData() {
		out[k] = v
	}
	return out, nil
}

func (a apiObjects) SecretData(namespace, name string) (map[string][]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := a.c.Secrets(namespace).Get(ctx, name)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for k, v := range s.GetData() {
		out[k] = v
	}
	for k, v := range s.GetStringData() {
		out[k] = []byte(v)
	}
	return out, nil
}
