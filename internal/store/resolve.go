package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/golang/snappy"
	bolt "go.etcd.io/bbolt"
)

// ErrUnknownPlugin is the error of a name that is no plugin of the tenant (wrapped with the name); it
// wraps ErrNotFound.
var ErrUnknownPlugin = fmt.Errorf("%w: no such plugin", ErrNotFound)

// Plugins lists the tenant's plugins by name.
func (s *Store) Plugins(tenant string) ([]Plugin, error) {
	var out []Plugin
	err := s.db.View(func(tx *bolt.Tx) error {
		tb, _ := tenantBucket(tx, tenant, false)
		if tb == nil {
			return nil
		}
		return tb.Bucket(bucketPlugins).ForEachBucket(func(k []byte) error {
			p, err := readPlugin(tb.Bucket(bucketPlugins).Bucket(k))
			out = append(out, p)
			return err
		})
	})
	return out, err
}

// Plugin returns the tenant's plugin called name and its versions, newest first.
func (s *Store) Plugin(tenant, name string) (Plugin, []Version, error) {
	var p Plugin
	vs := []Version{}
	err := s.db.View(func(tx *bolt.Tx) error {
		pb, err := findPlugin(tx, tenant, name)
		if err != nil {
			return err
		}
		if p, err = readPlugin(pb); err != nil {
			return err
		}
		c := pb.Bucket(bucketVers).Cursor()
		for k, raw := c.Last(); k != nil; k, raw = c.Prev() {
			var v Version
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("%w: version %x: %v", ErrCorrupt, k, err)
			}
			vs = append(vs, v)
		}
		return nil
	})
	return p, vs, err
}

// findPlugin returns the bucket of the tenant's plugin, or ErrUnknownPlugin.
func findPlugin(tx *bolt.Tx, tenant, name string) (*bolt.Bucket, error) {
	if tb, _ := tenantBucket(tx, tenant, false); tb != nil {
		if pb := tb.Bucket(bucketPlugins).Bucket([]byte(name)); pb != nil {
			return pb, nil
		}
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownPlugin, name)
}

// readVersion reads one version of a plugin.
func readVersion(pb *bolt.Bucket, name string, id uint64) (Version, error) {
	var v Version
	raw := pb.Bucket(bucketVers).Get(idKey(id))
	if raw == nil {
		return v, fmt.Errorf("%w: plugin %q has no version %d", ErrNotFound, name, id)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("%w: version %d: %v", ErrCorrupt, id, err)
	}
	return v, nil
}

// Resolved is what a request's plugin reference names: a module and the limits it runs under.
type Resolved struct {
	Plugin  string // "" for a sha256: reference
	Version uint64 // 0 for a sha256: reference
	Sum     [32]byte
	Limits  PluginLimits
}

// Resolve finds what ref names among the tenant's plugins: "NAME" (its deployment; of a split, the
// version whose share covers draw, 0 ≤ draw < 100, counting shares in order), "NAME@ID", "NAME@TAG" (the
// newest version with that tag) or "sha256:HEX" (a module of one of the tenant's versions, under that
// version's limits). A NAME that is no plugin of the tenant is ErrUnknownPlugin.
func (s *Store) Resolve(tenant, ref string, draw int) (Resolved, error) {
	var r Resolved
	if hexSum, ok := strings.CutPrefix(ref, "sha256:"); ok {
		sum, err := hex.DecodeString(hexSum)
		if err != nil || len(sum) != sha256.Size {
			return r, fmt.Errorf("%w: %q: want sha256: and 64 hex digits", ErrInvalid, ref)
		}
		copy(r.Sum[:], sum)
		err = s.db.View(func(tx *bolt.Tx) error {
			ref, err := tenantModule(tx, tenant, r.Sum)
			r.Limits = ref.Limits
			return err
		})
		return r, err
	}
	name, sel, pinned := strings.Cut(ref, "@")
	err := s.db.View(func(tx *bolt.Tx) error {
		pb, err := findPlugin(tx, tenant, name)
		if err != nil {
			return err
		}
		var v Version
		switch {
		case !pinned:
			p, err := readPlugin(pb)
			if err != nil {
				return err
			}
			id := pick(p.Deployment, draw)
			if id == 0 {
				return fmt.Errorf("%w: plugin %q has no deployed version", ErrNotFound, name)
			}
			v, err = readVersion(pb, name, id)
			if err != nil {
				return err
			}
		case sel != "" && sel[0] >= '0' && sel[0] <= '9':
			id, perr := strconv.ParseUint(sel, 10, 64)
			if perr != nil {
				return fmt.Errorf("%w: %q: a version is a number", ErrInvalid, ref)
			}
			if v, err = readVersion(pb, name, id); err != nil {
				return err
			}
		default:
			if v, err = taggedVersion(pb, name, sel); err != nil {
				return err
			}
		}
		sum, err := hex.DecodeString(v.SHA256)
		if err != nil || len(sum) != sha256.Size {
			return fmt.Errorf("%w: version %d: bad sha256", ErrCorrupt, v.ID)
		}
		r = Resolved{Plugin: name, Version: v.ID, Limits: v.Manifest.Limits}
		copy(r.Sum[:], sum)
		return nil
	})
	return r, err
}

// pick is the version of d whose share covers draw (0 ≤ draw < 100), 0 when d is empty.
func pick(d Deployment, draw int) uint64 {
	for _, s := range d.Versions {
		if draw < s.Percentage {
			return s.Version
		}
		draw -= s.Percentage
	}
	return 0
}

// taggedVersion is the newest version of the plugin tagged tag.
func taggedVersion(pb *bolt.Bucket, name, tag string) (Version, error) {
	c := pb.Bucket(bucketVers).Cursor()
	for k, raw := c.Last(); k != nil; k, raw = c.Prev() {
		var v Version
		if err := json.Unmarshal(raw, &v); err != nil {
			return v, fmt.Errorf("%w: version %x: %v", ErrCorrupt, k, err)
		}
		if v.Tag == tag {
			return v, nil
		}
	}
	return Version{}, fmt.Errorf("%w: plugin %q has no version tagged %q", ErrNotFound, name, tag)
}

// tenantModule is the tenant's entry for a module, or ErrNotFound: the same answer whether the module
// is another tenant's or nobody's.
func tenantModule(tx *bolt.Tx, tenant string, sum [32]byte) (moduleRef, error) {
	var ref moduleRef
	tb, _ := tenantBucket(tx, tenant, false)
	var raw []byte
	if tb != nil {
		raw = tb.Bucket(bucketModules).Get(sum[:])
	}
	if raw == nil {
		return ref, fmt.Errorf("%w: no module sha256:%x", ErrNotFound, sum)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		return ref, fmt.Errorf("%w: module entry %x: %v", ErrCorrupt, sum[:4], err)
	}
	return ref, nil
}

// Module returns the tenant's module with that SHA-256, decompressed and checked against its hash.
func (s *Store) Module(tenant string, sum [32]byte) ([]byte, error) {
	var mod []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if _, err := tenantModule(tx, tenant, sum); err != nil {
			return err
		}
		z := tx.Bucket(bucketModules).Get(sum[:])
		if z == nil {
			return fmt.Errorf("%w: module sha256:%x is missing", ErrCorrupt, sum)
		}
		n, err := snappy.DecodedLen(z)
		if err != nil || int64(n) > s.lim.MaxModuleBytes {
			return fmt.Errorf("%w: module sha256:%x: bad length", ErrCorrupt, sum)
		}
		if mod, err = snappy.Decode(nil, z); err != nil {
			return fmt.Errorf("%w: module sha256:%x: %v", ErrCorrupt, sum, err)
		}
		if sha256.Sum256(mod) != sum {
			return fmt.Errorf("%w: module sha256:%x does not hash to its key", ErrCorrupt, sum)
		}
		return nil
	})
	return mod, err
}
