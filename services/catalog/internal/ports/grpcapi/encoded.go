package grpcapi

import (
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
	"github.com/partnerhub/partnerhub/services/catalog/internal/pbconv"
)

// skuResponses memoises the GetSku answer of each SKU version, already in wire form.
//
// GetSku is the catalog's hottest read (issue 4: a warm GetSku should cost about as much as an
// empty RPC). The use case still runs on every call — the cache-aside read decides which version
// of the SKU is current, so freshness stays the cache's business — but turning that version into
// a message and encoding it (a SKU carries terms, variants and up to ~100 country codes) is done
// once per version: the memoised response holds the encoded SKU as its raw field bytes, which
// the gRPC codec copies out as they are, and which decode on the client exactly as the SKU
// message itself (the wire form of field 1 is the same either way).
//
// A version is identified by the SKU ID, its content etag and its output-only fields (product
// kind, create and update time), so a changed SKU never meets an old response. Memoised
// messages are shared by concurrent calls and never mutated after they are stored.
type skuResponses struct {
	max int

	mu sync.RWMutex
	m  map[skuVersion]*catalogv1.GetSkuResponse
}

// skuVersion identifies one version of a SKU as GetSku shows it. A struct, not a joined string:
// the lookup allocates nothing.
type skuVersion struct {
	id, etag, kind   string
	created, updated int64
}

func newSkuResponses(max int) *skuResponses {
	return &skuResponses{max: max, m: map[skuVersion]*catalogv1.GetSkuResponse{}}
}

// response returns the GetSku answer for sku.
func (r *skuResponses) response(sku domain.Sku) (*catalogv1.GetSkuResponse, error) {
	key := skuVersion{id: sku.ID, etag: sku.Etag, kind: string(sku.ProductKind),
		created: sku.CreateTime.UnixNano(), updated: sku.UpdateTime.UnixNano()}
	r.mu.RLock()
	resp, ok := r.m[key]
	r.mu.RUnlock()
	if ok {
		return resp, nil
	}
	encoded, err := proto.Marshal(pbconv.SkuPB(sku))
	if err != nil {
		return nil, err
	}
	raw := protowire.AppendTag(nil, 1, protowire.BytesType) // GetSkuResponse.sku = 1
	raw = protowire.AppendBytes(raw, encoded)
	resp = &catalogv1.GetSkuResponse{}
	resp.ProtoReflect().SetUnknown(raw)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.m) >= r.max { // old versions are never asked for again: start over rather than track use
		clear(r.m)
	}
	r.m[key] = resp
	return resp, nil
}
