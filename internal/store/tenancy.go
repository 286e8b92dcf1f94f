package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/wasmoe/wasmoe/internal/tenant"
)

// TenancyStart is where StartTenancy's tenancy came from.
type TenancyStart int

// The sources of StartTenancy's tenancy.
const (
	TenancyFromFile    TenancyStart = iota // the store had none: the file's, now saved
	TenancyFromStore                       // the file has not changed since: the store's, with the admin API's changes
	TenancyFileChanged                     // the file changed since the store saved: the file's, replacing the store's
)

// StartTenancy chooses the tenancy a node starts with, given its configuration file's, and saves the
// choice. The file's tenancy is the base; changes made through the admin API live in the store and
// survive restarts; but when the file's tenancy differs from the one the store last started from (the
// store keeps its SHA-256), the operator edited the file, and the file wins: the store's copy, with the
// admin API's changes, is replaced (the caller logs it).
func (s *Store) StartTenancy(file tenant.Config) (tenant.Config, TenancyStart, error) {
	fileSum, err := tenancySum(file)
	if err != nil {
		return file, 0, err
	}
	var out tenant.Config
	var how TenancyStart
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTenancy)
		saved, savedSum := b.Get(keyConfig), b.Get(keyFileSHA)
		switch {
		case saved == nil:
			out, how = file, TenancyFromFile
		case bytes.Equal(savedSum, fileSum):
			how = TenancyFromStore
			if err := json.Unmarshal(saved, &out); err != nil {
				return fmt.Errorf("%w: tenancy: %v", ErrCorrupt, err)
			}
			return nil
		default:
			out, how = file, TenancyFileChanged
		}
		if err := putJSON(b, keyConfig, file); err != nil {
			return err
		}
		return b.Put(keyFileSHA, fileSum)
	})
	if err != nil {
		return file, 0, err
	}
	return out, how, nil
}

// Tenancy returns the tenancy the store saved last, and whether it has one.
func (s *Store) Tenancy() (tenant.Config, bool, error) {
	var out tenant.Config
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		saved := tx.Bucket(bucketTenancy).Get(keyConfig)
		if saved == nil {
			return nil
		}
		found = true
		if err := json.Unmarshal(saved, &out); err != nil {
			return fmt.Errorf("%w: tenancy: %v", ErrCorrupt, err)
		}
		return nil
	})
	return out, found, err
}

// SaveTenancy saves a changed tenancy (the admin API's); tenant.Registry.Persist takes it. The file hash
// stays the one the node started from.
func (s *Store) SaveTenancy(cfg tenant.Config) error {
	return s.db.Update(func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bucketTenancy), keyConfig, cfg) })
}

// tenancySum is the hex SHA-256 of a tenancy's JSON form (Go's encoding: fields in declaration order).
func tenancySum(cfg tenant.Config) ([]byte, error) {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(raw)
	return []byte(hex.EncodeToString(h[:])), nil
}
