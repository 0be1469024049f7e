package testserver

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	rpcv1 "kube5/proto/api/rpc/v1"
	"kube5/proto/client"
)

// Direct returns a client that calls the server in-process, bypassing the listener, so a
// test can change the state while the server is "down" (as another apiserver writing to
// the same etcd would). Watch is not available through it.
func (s *Server) Direct() *client.Clientset {
	return client.NewForRPC(direct{s}, 0)
}

type direct struct{ s *Server }

func (d direct) Create(ctx context.Context, in *rpcv1.CreateRequest, _ ...grpc.CallOption) (*rpcv1.ObjectResponse, error) {
	return d.s.Create(ctx, in)
}

func (d direct) Get(ctx context.Context, in *rpcv1.GetRequest, _ ...grpc.CallOption) (*rpcv1.ObjectResponse, error) {
	return d.s.Get(ctx, in)
}

func (d direct) List(ctx context.Context, in *rpcv1.ListRequest, _ ...grpc.CallOption) (*rpcv1.ListResponse, error) {
	return d.s.List(ctx, in)
}

func (d direct) Update(ctx context.Context, in *rpcv1.UpdateRequest, _ ...grpc.CallOption) (*rpcv1.ObjectResponse, error) {
	return d.s.Update(ctx, in)
}

func (d direct) Delete(ctx context.Context, in *rpcv1.DeleteRequest, _ ...grpc.CallOption) (*rpcv1.ObjectResponse, error) {
	return d.s.Delete(ctx, in)
}

func (d direct) Watch(context.Context, *rpcv1.WatchRequest, ...grpc.CallOption) (grpc.ServerStreamingClient[rpcv1.WatchEvent], error) {
	return nil, status.Error(codes.Unimplemented, "testserver: Direct() does not watch")
}
