package main

import (
	"encoding/hex"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wasmoe/wasmoe/internal/edge"
	"github.com/wasmoe/wasmoe/internal/tenant"
)

// serve's store keeps the admin API's tenant changes across restarts while the file's tenants stay the
// same, and takes the file's when they change.
func TestStoreTenancy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wasmoe.db")
	key := func(b byte) []string { return []string{hex.EncodeToString(append(make([]byte, 31), b))} }
	file := tenant.Config{Tenants: []tenant.Tenant{{Name: "a", KeySHA256: key(1)}}}
	start := func(file tenant.Config) (*tenant.Registry, func() error) {
		t.Helper()
		reg, err := tenant.New(file)
		if err != nil {
			t.Fatal(err)
		}
		ecfg := edge.Config{Tenants: reg}
		st, err := openStore(path, &ecfg)
		if err != nil {
			t.Fatal(err)
		}
		if ecfg.Store != st || ecfg.Tenants != reg {
			t.Fatal("openStore did not set the server's store and registry")
		}
		return reg, st.Close
	}
	names := func(reg *tenant.Registry) (out []string) {
		for _, x := range reg.Config().Tenants {
			out = append(out, x.Name)
		}
		return out
	}
	reg, stop := start(file)
	if _, err := reg.Put(tenant.Tenant{Name: "b", KeySHA256: key(2)}); err != nil { // as the admin API does
		t.Fatal(err)
	}
	stop()
	reg, stop = start(file)
	if got := names(reg); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("restart with the same file: %v, want the admin API's b kept", got)
	}
	stop()
	file.Tenants = append(file.Tenants, tenant.Tenant{Name: "c", KeySHA256: key(3)})
	reg, stop = start(file)
	if got := names(reg); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("restart with an edited file: %v, want the file's", got)
	}
	if _, err := reg.Put(tenant.Tenant{Name: "d", KeySHA256: key(4)}); err != nil {
		t.Fatal(err)
	}
	stop()
	// Without a configuration file the store's tenancy stands as the admin API left it: the node neither
	// drops the tenants nor opens.
	ecfg := edge.Config{}
	st, err := openStore(path, &ecfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := names(ecfg.Tenants); !slices.Equal(got, []string{"a", "c", "d"}) || ecfg.Tenants.Open() {
		t.Errorf("restart without a file: %v (open %v), want the store's a, c, d", got, ecfg.Tenants.Open())
	}
}
