// Package store is a node's embedded database (bbolt: one file, ACID transactions, fsync on commit): the
// tenants' deployed policy plugins and the tenancy the admin API changes.
//
// Layout, bucket by bucket:
//
//	modules/                      SHA-256 → the wasm module, snappy-compressed (shared by every tenant)
//	tenants/TENANT/modules/       SHA-256 → moduleRef: how many of the tenant's versions use it, and its limits
//	tenants/TENANT/plugins/NAME/  "plugin" → Plugin (deployment, previous deployment, next version id)
//	tenants/TENANT/plugins/NAME/versions/  id (8 bytes, big-endian) → Version
//	tenancy/                      "config" → tenant.Config; "file_sha256" → the file tenancy it started from
//
// A deploy is one transaction that writes the module, the version and the deployment: a crash leaves
// either the old state or the new one. A tenant reaches modules only through its own modules bucket, so
// another tenant's module is "not found" even by its hash. The tenant of an open node (no tenants) is
// OpenTenant.
package store

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// OpenTenant is the tenant name an open node's plugins are kept under; tenant names cannot take this form
// (they start with a letter or digit).
const OpenTenant = "_open"

// Limits bound what the store keeps. A zero field takes DefaultLimits' value.
type Limits struct {
	MaxModuleBytes int64 // a module's size, decompressed
	MaxVersions    int   // versions kept per plugin; older ones not in a deployment are pruned
	MaxPlugins     int   // plugins per tenant
	MaxModules     int   // distinct modules per tenant
}

// DefaultLimits: 64 MiB modules (Cloudflare's limit on a Worker before compression), the last 100
// versions of a plugin (what Cloudflare keeps for rollback), 100 plugins and 1000 modules per tenant.
var DefaultLimits = Limits{MaxModuleBytes: 64 << 20, MaxVersions: 100, MaxPlugins: 100, MaxModules: 1000}

// fill gives zero fields their defaults.
func (l *Limits) fill() {
	d := DefaultLimits
	if l.MaxModuleBytes <= 0 {
		l.MaxModuleBytes = d.MaxModuleBytes
	}
	if l.MaxVersions <= 0 {
		l.MaxVersions = d.MaxVersions
	}
	if l.MaxPlugins <= 0 {
		l.MaxPlugins = d.MaxPlugins
	}
	if l.MaxModules <= 0 {
		l.MaxModules = d.MaxModules
	}
}

// Errors the store's operations wrap; the rest of the message says what and is safe to show the tenant.
var (
	ErrNotFound = errors.New("not found")         // no such plugin, version, tag or module for this tenant
	ErrInvalid  = errors.New("invalid")           // a name, tag, manifest or deployment that breaks a rule
	ErrLimit    = errors.New("limit reached")     // the tenant has as many plugins or modules as it may
	ErrConflict = errors.New("conflicts")         // e.g. deleting a version a deployment uses
	ErrTooLarge = errors.New("too large")         // a bundle or module over MaxModuleBytes
	ErrCorrupt  = errors.New("store: corrupt")    // stored bytes that do not decode or hash to their key
	errClosed   = errors.New("store: not opened") // a zero Store
)

// Bucket and key names.
var (
	bucketModules = []byte("modules")
	bucketTenants = []byte("tenants")
	bucketPlugins = []byte("plugins")
	bucketVers    = []byte("versions")
	bucketTenancy = []byte("tenancy")
	keyPlugin     = []byte("plugin")
	keyConfig     = []byte("config")
	keyFileSHA    = []byte("file_sha256")
)

// Store is an open store file. It is safe for concurrent use: reads run in parallel, writes one at a time.
type Store struct {
	db  *bolt.DB
	lim Limits
	now func() time.Time // the clock versions are stamped with
}

// Open opens (or creates) the store file at path. Another process holding it makes Open fail after a
// second instead of waiting.
func Open(path string, lim Limits) (*Store, error) {
	lim.fill()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketModules, bucketTenants, bucketTenancy} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return &Store{db: db, lim: lim, now: time.Now}, nil
}

// Limits returns the store's limits, defaults filled in.
func (s *Store) Limits() Limits { return s.lim }

// Close closes the file.
func (s *Store) Close() error {
	if s == nil || s.db == nil {
		return errClosed
	}
	return s.db.Close()
}

// tenantKey is the bucket name of a tenant: its name, or OpenTenant for "" (an open node).
func tenantKey(t string) []byte {
	if t == "" {
		return []byte(OpenTenant)
	}
	return []byte(t)
}

// tenantBucket returns the tenant's bucket, creating it (and its sub-buckets) when create is set; without
// create, a tenant that never deployed has none (nil).
func tenantBucket(tx *bolt.Tx, t string, create bool) (*bolt.Bucket, error) {
	all := tx.Bucket(bucketTenants)
	if !create {
		return all.Bucket(tenantKey(t)), nil
	}
	b, err := all.CreateBucketIfNotExists(tenantKey(t))
	if err != nil {
		return nil, err
	}
	for _, name := range [][]byte{bucketModules, bucketPlugins} {
		if _, err := b.CreateBucketIfNotExists(name); err != nil {
			return nil, err
		}
	}
	return b, nil
}
