package pbconv

import (
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/pkg/pbtime"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// EntitlementPB maps an entitlement with its keys masked (KD-8): never a sealed value, never a
// whole key.
func EntitlementPB(e domain.Entitlement) *keysv1.Entitlement {
	return &keysv1.Entitlement{
		EntitlementId:            e.ID,
		CustomerId:               e.CustomerID,
		PartnerId:                e.PartnerID,
		OrderId:                  e.OrderID,
		OrderLineId:              e.OrderLineID,
		SubscriptionId:           e.SubscriptionID,
		SkuId:                    e.SkuID,
		ProductId:                e.ProductID,
		ProductName:              e.ProductName,
		FulfilmentKind:           FulfilmentKindPB(e.Kind),
		Quantity:                 e.Quantity,
		State:                    EntitlementStatePB(e.State),
		Keys:                     MaskedKeysPB(e.ListedKeys()),
		DownloadVariants:         VariantsPB(e.Variants),
		InstallationInstructions: e.Instructions,
		RevokeTime:               pbtime.From(e.RevokeTime),
		RevocationReason:         RevocationReasonPB(e.Revocation),
		Etag:                     Etag(e),
		CreateTime:               pbtime.From(e.CreateTime),
		UpdateTime:               pbtime.From(e.UpdateTime),
	}
}

// EntitlementsPB maps a list of entitlements.
func EntitlementsPB(es []domain.Entitlement) []*keysv1.Entitlement { return mapPB(es, EntitlementPB) }

// MaskedKeyPB maps an issued key to its masked form: ID, type, masked key and activation limit.
// The sealed value stays behind.
func MaskedKeyPB(k domain.IssuedKey) *keysv1.MaskedKey {
	return &keysv1.MaskedKey{KeyId: k.ID, KeyType: KeyTypePB(k.Type), MaskedKey: k.Masked, ActivationLimit: k.ActivationLimit}
}

// MaskedKeysPB maps issued keys to their masked forms.
func MaskedKeysPB(ks []domain.IssuedKey) []*keysv1.MaskedKey { return mapPB(ks, MaskedKeyPB) }

// Variant maps a download variant of a request.
func Variant(v *keysv1.DownloadVariant) domain.Variant {
	return domain.Variant{ID: v.GetVariantId(), Version: v.GetVersion(), Language: v.GetLanguage(),
		FileType: v.GetFileType(), OperatingSystem: v.GetOperatingSystem(), FileName: v.GetFileName(),
		SizeBytes: v.GetSizeBytes(), SHA256: v.GetSha256()}
}

// Variants maps the download variants of a request.
func Variants(vs []*keysv1.DownloadVariant) []domain.Variant {
	var out []domain.Variant
	for _, v := range vs {
		out = append(out, Variant(v))
	}
	return out
}

// VariantPB maps a download variant.
func VariantPB(v domain.Variant) *keysv1.DownloadVariant {
	return &keysv1.DownloadVariant{VariantId: v.ID, Version: v.Version, Language: v.Language, FileType: v.FileType,
		OperatingSystem: v.OperatingSystem, FileName: v.FileName, SizeBytes: v.SizeBytes, Sha256: v.SHA256}
}

// VariantsPB maps download variants.
func VariantsPB(vs []domain.Variant) []*keysv1.DownloadVariant { return mapPB(vs, VariantPB) }

// IssueInput maps an IssueEntitlements request.
func IssueInput(req *keysv1.IssueEntitlementsRequest) app.IssueInput {
	return app.IssueInput{
		RequestID:      req.GetRequestId(),
		OrderID:        req.GetOrderId(),
		OrderLineID:    req.GetOrderLineId(),
		CustomerID:     req.GetCustomerId(),
		PartnerID:      req.GetPartnerId(),
		SubscriptionID: req.GetSubscriptionId(),
		SkuID:          req.GetSkuId(),
		ProductID:      req.GetProductId(),
		ProductName:    req.GetProductName(),
		Quantity:       req.GetQuantity(),
		KeyType:        KeyType(req.GetKeyType()),
		KeyCount:       req.GetKeyCount(),
		Variants:       Variants(req.GetDownloadVariants()),
		Instructions:   req.GetInstallationInstructions(),
	}
}

// DownloadOptionsPB maps the download choices of an entitlement (KD-4): the facets, the matching
// variants, the instructions and the masked keys.
func DownloadOptionsPB(o app.DownloadOptions) *keysv1.GetDownloadOptionsResponse {
	return &keysv1.GetDownloadOptionsResponse{
		Options: &keysv1.DownloadOptionFacets{Versions: o.Versions, Languages: o.Languages, FileTypes: o.FileTypes,
			OperatingSystems: o.OperatingSystems},
		Variants:                 VariantsPB(o.Variants),
		InstallationInstructions: o.Entitlement.Instructions,
		Keys:                     MaskedKeysPB(o.Entitlement.Keys),
	}
}

// LinkPB maps a download link with its copyable URL.
func LinkPB(l app.IssuedLink) *keysv1.DownloadLink {
	return &keysv1.DownloadLink{
		LinkId:          l.Link.ID,
		Url:             l.URL,
		EntitlementId:   l.Link.EntitlementID,
		VariantId:       l.Link.VariantID,
		ExpireTime:      pbtime.From(l.Link.ExpireTime),
		CreatedByUserId: l.Link.CreatedBy,
		CreateTime:      pbtime.From(l.Link.CreateTime),
	}
}

// DownloadPB maps a resolved download link: where to fetch the file, until when, which variant,
// and the activity record written for it.
func DownloadPB(d app.Download) *keysv1.ResolveDownloadLinkResponse {
	return &keysv1.ResolveDownloadLinkResponse{
		FetchUrl:        d.FetchURL,
		FetchExpireTime: pbtime.From(d.FetchExpire),
		Variant:         VariantPB(d.Variant),
		EntitlementId:   d.Entitlement.ID,
		ActivityId:      d.ActivityID,
	}
}
