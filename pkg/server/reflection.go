package server

import (
	"fmt"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/partnerhub/partnerhub/gen/apidocs"
)

// registerReflection serves server reflection (v1 and v1alpha) from the contracts with their doc
// comments, so `grpcurl describe` shows every service's, RPC's and field's documentation. Files
// outside the contracts (health, reflection itself) come from the global registry.
func registerReflection(gs *grpc.Server) {
	opts := reflection.ServerOptions{Services: gs, DescriptorResolver: documented{}}
	reflectionv1.RegisterServerReflectionServer(gs, reflection.NewServerV1(opts))
	reflectionv1alpha.RegisterServerReflectionServer(gs, reflection.NewServer(opts))
}

// documentedFiles parses the embedded contracts once per process, on the first reflection
// request: a process-wide cache of immutable embedded data (the devstack runs six servers, and
// most processes never serve reflection at all, so none of them pays for it at start).
var documentedFiles = sync.OnceValues(func() (*protoregistry.Files, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(apidocs.FileDescriptorSet, &set); err != nil {
		return nil, fmt.Errorf("api docs: %w", err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("api docs: %w", err)
	}
	return files, nil
})

// documented resolves from the documented contracts first, then from the global registry (health,
// reflection, and everything should the embedded set ever fail to load).
type documented struct{}

func (documented) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	if files, err := documentedFiles(); err == nil {
		if f, err := files.FindFileByPath(path); err == nil {
			return f, nil
		}
	}
	return protoregistry.GlobalFiles.FindFileByPath(path)
}

func (documented) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if files, err := documentedFiles(); err == nil {
		if desc, err := files.FindDescriptorByName(name); err == nil {
			return desc, nil
		}
	}
	return protoregistry.GlobalFiles.FindDescriptorByName(name)
}
