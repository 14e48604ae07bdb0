package domain

import "testing"

// KD-4: a download variant the catalog gave no file name gets one derived from the product and
// the variant, the same every time (a retried issue stores the same name).
func TestVariant_DerivedFileName_KD4(t *testing.T) {
	cases := []struct {
		v       Variant
		product string
		want    string
	}{
		{Variant{ID: "2022-de-de-iso-x64", Version: "2022", Language: "de-DE", FileType: "iso", OperatingSystem: "Windows x64"},
			"Windows Server 2022 Standard", "Windows_Server_2022_Standard_2022_de-DE_Windows_x64.ISO"},
		{Variant{ID: "v1", FileType: "VHDX"}, "SQL Server (2 cores)", "SQL_Server_2_cores.VHDX"},
		{Variant{ID: "only-id"}, "", "only-id"},
	}
	for _, c := range cases {
		if got := c.v.DerivedFileName(c.product); got != c.want {
			t.Errorf("DerivedFileName(%q) = %q, want %q", c.product, got, c.want)
		}
	}
}
