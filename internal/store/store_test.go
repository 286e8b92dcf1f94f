package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/wasmoe/wasmoe/internal/tenant"
)

// openTemp opens a store in a temporary directory.
func openTemp(t *testing.T, lim Limits) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "wasmoe.db"), lim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// module is a distinct fake module: a wasm header and n.
func module(n int) []byte {
	return binary.LittleEndian.AppendUint32([]byte("\x00asm\x01\x00\x00\x00"), uint32(n))
}

// sum is a module's SHA-256.
func sum(b []byte) [32]byte { return sha256.Sum256(b) }

// deploy uploads module n as a version of the tenant's plugin and fails the test on an error.
func deploy(t *testing.T, s *Store, tenant, name string, n int, tag string, pct int) Version {
	t.Helper()
	v, _, err := s.Deploy(DeployRequest{Tenant: tenant, Manifest: Manifest{Name: name}, Module: module(n), Tag: tag, Percentage: pct})
	if err != nil {
		t.Fatalf("deploy %s/%s module %d: %v", tenant, name, n, err)
	}
	return v
}

// resolves wants ref to name module n of the tenant.
func resolves(t *testing.T, s *Store, tenant, ref string, draw, n int) {
	t.Helper()
	r, err := s.Resolve(tenant, ref, draw)
	if err != nil || r.Sum != sum(module(n)) {
		t.Errorf("Resolve(%q, %q, %d) = %+v, %v; want module %d", tenant, ref, draw, r, err, n)
	}
}

// Deploy, versions, tags, exact references, rollback there and back, and a version named by number.
func TestDeployRollback(t *testing.T) {
	s := openTemp(t, Limits{})
	v1 := deploy(t, s, "acme", "ban", 1, "stable", 100)
	v2 := deploy(t, s, "acme", "ban", 2, "", 100)
	if v1.ID != 1 || v2.ID != 2 || v1.SHA256 != fmt.Sprintf("%x", sum(module(1))) || v1.Size != 12 {
		t.Fatalf("versions %+v %+v", v1, v2)
	}
	resolves(t, s, "acme", "ban", 0, 2)
	resolves(t, s, "acme", "ban@1", 0, 1)
	resolves(t, s, "acme", "ban@stable", 0, 1)
	resolves(t, s, "acme", "sha256:"+v1.SHA256, 0, 1)
	p, err := s.Rollback("acme", "ban", 0)
	if err != nil || p.Deployment.main() != 1 || p.Previous.main() != 2 {
		t.Fatalf("rollback: %+v %v", p, err)
	}
	resolves(t, s, "acme", "ban", 0, 1)
	if _, err := s.Rollback("acme", "ban", 0); err != nil { // undoes the rollback
		t.Fatal(err)
	}
	resolves(t, s, "acme", "ban", 0, 2)
	if _, err := s.Rollback("acme", "ban", 1); err != nil {
		t.Fatal(err)
	}
	resolves(t, s, "acme", "ban", 0, 1)
	deploy(t, s, "acme", "ban", 3, "stable", 0) // uploaded, not deployed; the tag moves to it
	resolves(t, s, "acme", "ban", 0, 1)
	resolves(t, s, "acme", "ban@stable", 0, 3)
	_, vs, err := s.Plugin("acme", "ban")
	if err != nil || len(vs) != 3 || vs[0].ID != 3 || vs[2].ID != 1 {
		t.Errorf("versions %+v %v", vs, err)
	}
	for ref, want := range map[string]error{
		"ban@9": ErrNotFound, "ban@nope": ErrNotFound, "nope": ErrUnknownPlugin, "sha256:12": ErrInvalid,
		"ban@1x": ErrInvalid, "sha256:" + fmt.Sprintf("%x", sum(module(9))): ErrNotFound,
	} {
		if _, err := s.Resolve("acme", ref, 0); !errors.Is(err, want) {
			t.Errorf("Resolve(%q): %v, want %v", ref, err, want)
		}
	}
	checkStore(t, s)
}

// A split gives each version exactly its percentage of the 100 draws; deployments are checked.
func TestSplit(t *testing.T) {
	s := openTemp(t, Limits{})
	if _, _, err := s.Deploy(DeployRequest{Manifest: Manifest{Name: "p"}, Module: module(1), Percentage: 10}); !errors.Is(err, ErrConflict) {
		t.Errorf("a split with nothing deployed: %v", err)
	}
	deploy(t, s, "", "p", 1, "", 100)
	deploy(t, s, "", "p", 2, "", 10)
	count := map[[32]byte]int{}
	for draw := range 100 {
		r, err := s.Resolve("", "p", draw)
		if err != nil {
			t.Fatal(err)
		}
		count[r.Sum]++
	}
	if count[sum(module(1))] != 90 || count[sum(module(2))] != 10 {
		t.Errorf("split counts %v", count)
	}
	for _, d := range []Deployment{
		{}, {Versions: []Share{{1, 50}}}, {Versions: []Share{{1, 50}, {1, 50}}}, {Versions: []Share{{1, 0}, {2, 100}}},
		{Versions: []Share{{1, 40}, {2, 40}, {1, 20}}}, {Versions: []Share{{0, 100}}},
	} {
		if _, err := s.SetDeployment("", "p", d); !errors.Is(err, ErrInvalid) {
			t.Errorf("deployment %+v: %v, want ErrInvalid", d, err)
		}
	}
	if _, err := s.SetDeployment("", "p", Deployment{Versions: []Share{{7, 100}}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing version: %v", err)
	}
	if _, err := s.SetDeployment("", "p", Deployment{Versions: []Share{{2, 75}, {1, 25}}}); err != nil {
		t.Fatal(err)
	}
	resolves(t, s, "", "p", 74, 2)
	resolves(t, s, "", "p", 75, 1)
	checkStore(t, s)
}

// A tenant reaches none of another's plugins or modules, even by hash; an open node's tenant is its own.
func TestIsolation(t *testing.T) {
	s := openTemp(t, Limits{})
	a := deploy(t, s, "a", "secret", 1, "t", 100)
	deploy(t, s, "b", "mine", 2, "", 100)
	for _, ref := range []string{"secret", "secret@1", "secret@t", "sha256:" + a.SHA256} {
		if _, err := s.Resolve("b", ref, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("b resolves %q: %v", ref, err)
		}
		if _, err := s.Resolve("", ref, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("the open tenant resolves %q: %v", ref, err)
		}
	}
	if _, err := s.Module("b", sum(module(1))); !errors.Is(err, ErrNotFound) {
		t.Errorf("b reads a's module: %v", err)
	}
	if ps, _ := s.Plugins("b"); len(ps) != 1 || ps[0].Name != "mine" {
		t.Errorf("b lists %+v", ps)
	}
	if _, err := s.Rollback("b", "secret", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("b rolls back a's plugin: %v", err)
	}
	if err := s.DeletePlugin("b", "secret"); !errors.Is(err, ErrNotFound) {
		t.Errorf("b deletes a's plugin: %v", err)
	}
	if m, err := s.Module("a", sum(module(1))); err != nil || string(m) != string(module(1)) {
		t.Errorf("a's module: %v", err)
	}
}

// Past MaxVersions the oldest versions no deployment uses go, with the modules nothing else uses; a
// module two tenants share stays until both are done with it.
func TestPrune(t *testing.T) {
	s := openTemp(t, Limits{MaxVersions: 3})
	deploy(t, s, "a", "p", 1, "", 100)
	deploy(t, s, "a", "p", 2, "", 100)
	deploy(t, s, "b", "q", 3, "", 100) // b shares module 3 with a's version 3
	deploy(t, s, "a", "p", 3, "", 100)
	if _, err := s.Rollback("a", "p", 1); err != nil { // version 1 is deployed, 3 is the previous
		t.Fatal(err)
	}
	deploy(t, s, "a", "p", 4, "", 0) // 4 versions: 2 goes
	deploy(t, s, "a", "p", 5, "", 0) // 4 versions again: 4 goes (1 and 3 are in use)
	_, vs, _ := s.Plugin("a", "p")
	var ids []uint64
	for _, v := range vs {
		ids = append(ids, v.ID)
	}
	if !slices.Equal(ids, []uint64{5, 3, 1}) {
		t.Errorf("kept versions %v, want 5 3 1", ids)
	}
	if stored(t, s, module(2)) || stored(t, s, module(4)) || !stored(t, s, module(3)) {
		t.Error("pruned modules are still stored, or a used one is gone")
	}
	if err := s.DeletePlugin("a", "p"); err != nil {
		t.Fatal(err)
	}
	if stored(t, s, module(1)) || !stored(t, s, module(3)) {
		t.Error("after a deletes its plugin: its own modules stay, or b's shared one went")
	}
	if err := s.DeletePlugin("b", "q"); err != nil || stored(t, s, module(3)) {
		t.Errorf("after b deletes its plugin the shared module stays: %v", err)
	}
	checkStore(t, s)
}

// stored reports whether the store holds the module at all, for any tenant.
func stored(t *testing.T, s *Store, mod []byte) bool {
	t.Helper()
	h := sum(mod)
	var ok bool
	s.db.View(func(tx *bolt.Tx) error { ok = tx.Bucket(bucketModules).Get(h[:]) != nil; return nil })
	return ok
}

// The limits on plugins, modules and module size, and the rules of names, tags and messages.
func TestLimits(t *testing.T) {
	s := openTemp(t, Limits{MaxPlugins: 2, MaxModules: 3, MaxModuleBytes: 100})
	deploy(t, s, "a", "p1", 1, "", 100)
	deploy(t, s, "a", "p2", 2, "", 100)
	if _, _, err := s.Deploy(DeployRequest{Tenant: "a", Manifest: Manifest{Name: "p3"}, Module: module(3), Percentage: 100}); !errors.Is(err, ErrLimit) {
		t.Errorf("a third plugin: %v", err)
	}
	deploy(t, s, "a", "p1", 3, "", 100)
	deploy(t, s, "a", "p1", 1, "", 100) // a module the tenant has already: no new module
	if _, _, err := s.Deploy(DeployRequest{Tenant: "a", Manifest: Manifest{Name: "p1"}, Module: module(4), Percentage: 100}); !errors.Is(err, ErrLimit) {
		t.Errorf("a fourth module: %v", err)
	}
	deploy(t, s, "b", "p1", 4, "", 100) // limits are per tenant
	for _, c := range []struct {
		d    DeployRequest
		want error
	}{
		{DeployRequest{Manifest: Manifest{Name: "x"}, Module: make([]byte, 101)}, ErrTooLarge},
		{DeployRequest{Manifest: Manifest{Name: "../x"}, Module: module(1)}, ErrInvalid},
		{DeployRequest{Manifest: Manifest{Name: ReservedName}, Module: module(1)}, ErrInvalid},
		{DeployRequest{Manifest: Manifest{Name: "x"}, Module: module(1), Tag: "1.0"}, ErrInvalid},
		{DeployRequest{Manifest: Manifest{Name: "x"}, Module: module(1), Message: "\xff"}, ErrInvalid},
		{DeployRequest{Manifest: Manifest{Name: "x"}, Module: module(1), Percentage: 101}, ErrInvalid},
		{DeployRequest{Manifest: Manifest{Name: "x", CompatibilityDate: "2026-13-01"}, Module: module(1)}, ErrInvalid},
		{DeployRequest{Manifest: Manifest{Name: "x", Limits: PluginLimits{MemoryMB: 5000}}, Module: module(1)}, ErrInvalid},
	} {
		if _, _, err := s.Deploy(c.d); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.d.Manifest, err, c.want)
		}
	}
	if err := s.DeleteVersion("a", "p1", 3); !errors.Is(err, ErrConflict) { // version 3 of p1 is module 1 again, deployed
		t.Errorf("deleting the deployed version: %v", err)
	}
	if err := s.DeleteVersion("a", "p1", 1); err != nil { // the first is neither current nor previous
		t.Errorf("deleting an old version: %v", err)
	}
	checkStore(t, s)
}

// The tenancy: the file's at first; the admin API's changes survive a restart while the file stays the
// same; an edited file wins over them.
func TestTenancy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wasmoe.db")
	file := tenant.Config{Tenants: []tenant.Tenant{{Name: "a", KeySHA256: []string{hex.EncodeToString(make([]byte, 32))}}}}
	start := func(file tenant.Config) (tenant.Config, TenancyStart) {
		t.Helper()
		s, err := Open(path, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		cfg, how, err := s.StartTenancy(file)
		if err != nil {
			t.Fatal(err)
		}
		if how != TenancyFromStore { // an admin change, as tenant.Registry.Persist would save it
			changed := cfg
			changed.Tenants = append(slices.Clone(cfg.Tenants), tenant.Tenant{Name: "added", KeySHA256: []string{hex.EncodeToString(make([]byte, 32))}})
			if err := s.SaveTenancy(changed); err != nil {
				t.Fatal(err)
			}
		}
		return cfg, how
	}
	names := func(c tenant.Config) (out []string) {
		for _, x := range c.Tenants {
			out = append(out, x.Name)
		}
		return out
	}
	if cfg, how := start(file); how != TenancyFromFile || !slices.Equal(names(cfg), []string{"a"}) {
		t.Errorf("first start: %v %v", how, names(cfg))
	}
	if cfg, how := start(file); how != TenancyFromStore || !slices.Equal(names(cfg), []string{"a", "added"}) {
		t.Errorf("second start, same file: %v %v", how, names(cfg))
	}
	file.Tenants[0].MaxConcurrent = 3
	if cfg, how := start(file); how != TenancyFileChanged || !slices.Equal(names(cfg), []string{"a"}) || cfg.Tenants[0].MaxConcurrent != 3 {
		t.Errorf("edited file: %v %+v", how, cfg)
	}
}

// checkStore verifies the store's invariants: every version's module is stored, decodes and hashes to its
// sha256; every deployment names stored versions with shares adding up to 100; each tenant's module
// counts are the number of its versions using them; every stored module is some tenant's.
func checkStore(t *testing.T, s *Store) {
	t.Helper()
	if err := verify(s); err != nil {
		t.Error(err)
	}
}

// verify is checkStore's check, as an error.
func verify(s *Store) error {
	return s.db.View(func(tx *bolt.Tx) error {
		used := map[string]bool{}
		err := tx.Bucket(bucketTenants).ForEachBucket(func(tk []byte) error {
			tb := tx.Bucket(bucketTenants).Bucket(tk)
			counts := map[string]int{}
			err := tb.Bucket(bucketPlugins).ForEachBucket(func(name []byte) error {
				pb := tb.Bucket(bucketPlugins).Bucket(name)
				p, err := readPlugin(pb)
				if err != nil {
					return err
				}
				for _, d := range []*Deployment{&p.Deployment, p.Previous} {
					if d == nil || len(d.Versions) == 0 {
						continue
					}
					total := 0
					for _, sh := range d.Versions {
						if pb.Bucket(bucketVers).Get(idKey(sh.Version)) == nil {
							return fmt.Errorf("%s/%s: deployment names missing version %d", tk, name, sh.Version)
						}
						total += sh.Percentage
					}
					if total != 100 {
						return fmt.Errorf("%s/%s: deployment adds up to %d", tk, name, total)
					}
				}
				return pb.Bucket(bucketVers).ForEach(func(k, raw []byte) error {
					var v Version
					if err := json.Unmarshal(raw, &v); err != nil {
						return err
					}
					h, _ := hex.DecodeString(v.SHA256)
					var key [32]byte
					copy(key[:], h)
					mod, err := s.Module(string(tk), key)
					if err != nil {
						return fmt.Errorf("%s/%s@%d: %w", tk, name, v.ID, err)
					}
					if len(mod) != v.Size {
						return fmt.Errorf("%s/%s@%d: size %d, recorded %d", tk, name, v.ID, len(mod), v.Size)
					}
					counts[string(h)]++
					return nil
				})
			})
			if err != nil {
				return err
			}
			return tb.Bucket(bucketModules).ForEach(func(k, raw []byte) error {
				var ref moduleRef
				json.Unmarshal(raw, &ref)
				if ref.Versions != counts[string(k)] {
					return fmt.Errorf("%s: module %x counted %d, used by %d versions", tk, k[:4], ref.Versions, counts[string(k)])
				}
				delete(counts, string(k))
				used[string(k)] = true
				return nil
			})
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketModules).ForEach(func(k, _ []byte) error {
			if !used[string(k)] {
				return fmt.Errorf("module %x is stored but no tenant's", k[:4])
			}
			return nil
		})
	})
}
