package auth

import (
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
)

// PolicyFromContracts reads the access rule every partnerhub RPC declares in its contract (the
// method option partnerhub.common.v1.access) for each registered service. The contract is thus
// both the documentation (grpcurl describe shows the rule) and what the server enforces. A method
// without the option is an error: nothing is exposed by accident. Infrastructure services (health,
// reflection) are public and skipped.
func PolicyFromContracts(services map[string]grpc.ServiceInfo) (Policy, error) {
	p := Policy{}
	var missing []string
	for name := range services {
		if isPublicInfra("/" + name + "/") {
			continue
		}
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			return nil, fmt.Errorf("service %s: no descriptor: %w", name, err)
		}
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			return nil, fmt.Errorf("%s is not a service", name)
		}
		methods := sd.Methods()
		for i := range methods.Len() {
			m := methods.Get(i)
			full := "/" + name + "/" + string(m.Name())
			rule, ok := ruleOf(m)
			if !ok {
				missing = append(missing, full)
				continue
			}
			p[full] = rule
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no access rule (option partnerhub.common.v1.access) for %s", strings.Join(missing, ", "))
	}
	return p, nil
}

func ruleOf(m protoreflect.MethodDescriptor) (Rule, bool) {
	opts := m.Options()
	if opts == nil || !proto.HasExtension(opts, commonv1.E_Access) {
		return Rule{}, false
	}
	ar, _ := proto.GetExtension(opts, commonv1.E_Access).(*commonv1.AccessRule)
	r := Rule{Public: ar.GetPublic(), ServiceOnly: ar.GetServiceOnly()}
	for _, role := range ar.GetRoles() {
		r.Roles = append(r.Roles, RoleOf(role))
	}
	return r, true
}

// RoleOf converts a contract role to its token name ("ROLE_ADMIN_AGENT" → "ADMIN_AGENT").
func RoleOf(r commonv1.Role) Role { return Role(strings.TrimPrefix(r.String(), "ROLE_")) }

// ProtoRole converts a token role name back to the contract enum (ROLE_UNSPECIFIED if unknown).
func ProtoRole(r Role) commonv1.Role { return commonv1.Role(commonv1.Role_value["ROLE_"+string(r)]) }

// ProtoPrincipal converts a principal (without its on-behalf-of) to the contract message that
// tokens and IssueServiceToken describe it with.
func ProtoPrincipal(p Principal) *identityv1.Principal {
	out := &identityv1.Principal{Subject: p.Subject, OrgId: p.OrgID, OrgKind: ProtoOrgKind(p.OrgKind)}
	for _, r := range p.Roles {
		out.Roles = append(out.Roles, ProtoRole(r))
	}
	return out
}

// ProtoOrgKind converts an org kind to the contract enum.
func ProtoOrgKind(k OrgKind) commonv1.OrgKind {
	return commonv1.OrgKind(commonv1.OrgKind_value["ORG_KIND_"+string(k)])
}
