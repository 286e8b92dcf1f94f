package main

import (
	"fmt"
	"os"

	"github.com/wasmoe/wasmoe/internal/edge"
	"github.com/wasmoe/wasmoe/internal/store"
	"github.com/wasmoe/wasmoe/internal/tenant"
)

// openStore opens the node's store at path for the server: it keeps the deployed plugins, and the
// tenancy from now on. The configuration file's tenancy (ecfg.Tenants) is the base; the store's copy
// replaces it when the file has not changed since the store saved it (it holds the admin API's changes),
// and the file wins, said on stderr, when it has. Without a configuration file (ecfg.Tenants nil) the
// store's tenancy is used as it is: starting without --config never drops it. Every later change is
// saved first.
func openStore(path string, ecfg *edge.Config) (*store.Store, error) {
	st, err := store.Open(path, store.Limits{})
	if err != nil {
		return nil, err
	}
	reg := ecfg.Tenants
	how := store.TenancyFromStore
	var cfg tenant.Config
	if reg == nil { // no configuration file: the store's tenancy, as the admin API left it, or none
		if cfg, _, err = st.Tenancy(); err == nil {
			reg, err = tenant.New(cfg)
		}
	} else {
		cfg, how, err = st.StartTenancy(reg.Config())
		if err == nil && how == store.TenancyFromStore {
			err = reg.Replace(cfg)
		}
	}
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("store %s: tenancy: %w", path, err)
	}
	if how == store.TenancyFileChanged {
		fmt.Fprintf(os.Stderr, "wasmoe: the configuration's tenants changed since the store %s saved them: the file's are used, and changes made through the admin API since are dropped\n", path)
	}
	reg.Persist(st.SaveTenancy)
	ecfg.Tenants, ecfg.Store = reg, st
	return st, nil
}
