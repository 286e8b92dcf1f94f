package store

import (
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// SetDeployment routes the plugin's traffic as d says (one version at 100%, or two whose percentages add
// up to 100), keeping the deployment it replaces as the previous one.
func (s *Store) SetDeployment(tenant, name string, d Deployment) (Plugin, error) {
	if err := checkDeployment(d); err != nil {
		return Plugin{}, err
	}
	return s.changePlugin(tenant, name, func(pb *bolt.Bucket, p *Plugin) error {
		for _, sh := range d.Versions {
			if _, err := readVersion(pb, name, sh.Version); err != nil {
				return err
			}
		}
		p.deploy(Deployment{Versions: slices.Clone(d.Versions)})
		return nil
	})
}

// checkDeployment checks a deployment's shape: one or two distinct versions, whole percentages from 1
// that add up to 100.
func checkDeployment(d Deployment) error {
	n := len(d.Versions)
	if n < 1 || n > 2 {
		return fmt.Errorf("%w: a deployment has 1 or 2 versions, not %d", ErrInvalid, n)
	}
	total := 0
	for _, sh := range d.Versions {
		if sh.Version == 0 || sh.Percentage < 1 || sh.Percentage > 100 {
			return fmt.Errorf("%w: each version needs a version_id and a percentage from 1 to 100", ErrInvalid)
		}
		total += sh.Percentage
	}
	if total != 100 {
		return fmt.Errorf("%w: the percentages add up to %d, not 100", ErrInvalid, total)
	}
	if n == 2 && d.Versions[0].Version == d.Versions[1].Version {
		return fmt.Errorf("%w: version %d is named twice", ErrInvalid, d.Versions[0].Version)
	}
	return nil
}

// Rollback deploys version id alone or, with id 0, the previous deployment again (the one it replaces
// becomes the previous, so a second rollback undoes the first).
func (s *Store) Rollback(tenant, name string, id uint64) (Plugin, error) {
	return s.changePlugin(tenant, name, func(pb *bolt.Bucket, p *Plugin) error {
		if id != 0 {
			if _, err := readVersion(pb, name, id); err != nil {
				return err
			}
			p.deploy(Deployment{Versions: []Share{{id, 100}}})
			return nil
		}
		if p.Previous == nil {
			return fmt.Errorf("%w: plugin %q has no previous deployment to roll back to", ErrConflict, name)
		}
		p.deploy(*p.Previous)
		return nil
	})
}

// changePlugin runs edit on the plugin's record in a transaction and saves it.
func (s *Store) changePlugin(tenant, name string, edit func(*bolt.Bucket, *Plugin) error) (Plugin, error) {
	var p Plugin
	err := s.db.Update(func(tx *bolt.Tx) error {
		pb, err := findPlugin(tx, tenant, name)
		if err != nil {
			return err
		}
		if p, err = readPlugin(pb); err != nil {
			return err
		}
		if err := edit(pb, &p); err != nil {
			return err
		}
		p.Updated = s.now().UTC()
		return putJSON(pb, keyPlugin, p)
	})
	return p, err
}

// DeleteVersion deletes a version that no deployment (current or previous) uses.
func (s *Store) DeleteVersion(tenant, name string, id uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		pb, err := findPlugin(tx, tenant, name)
		if err != nil {
			return err
		}
		p, err := readPlugin(pb)
		if err != nil {
			return err
		}
		if _, err := readVersion(pb, name, id); err != nil {
			return err
		}
		if p.uses(id) {
			return fmt.Errorf("%w: version %d of %q is deployed (or is the rollback target): deploy another first", ErrConflict, id, name)
		}
		tb, _ := tenantBucket(tx, tenant, false)
		return deleteVersion(tx, tb, pb.Bucket(bucketVers), idKey(id))
	})
}

// DeletePlugin deletes the plugin with every version, and the modules no other version uses.
func (s *Store) DeletePlugin(tenant, name string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		pb, err := findPlugin(tx, tenant, name)
		if err != nil {
			return err
		}
		tb, _ := tenantBucket(tx, tenant, false)
		vers := pb.Bucket(bucketVers)
		var keys [][]byte
		vers.ForEach(func(k, _ []byte) error { keys = append(keys, slices.Clone(k)); return nil })
		for _, k := range keys {
			if err := deleteVersion(tx, tb, vers, k); err != nil {
				return err
			}
		}
		return tb.Bucket(bucketPlugins).DeleteBucket([]byte(name))
	})
}
