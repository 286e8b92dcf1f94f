package sdk

import (
	"errors"
	"testing"
)

// TestKernelSizes checks the size checks of MatMul and MoE against the shapes guest/abi/v1.go gives:
// matmul reads x[n][cols] and writes y[n][rows]; moe reads x[n][dim], ids and weights [n][k] and writes
// y[n][dim].
func TestKernelSizes(t *testing.T) {
	s := TensorShape{Rows: 3, Cols: 4}
	for _, c := range []struct {
		nx, n, ny int
		ok        bool
	}{{8, 2, 6, true}, {9, 2, 7, true}, {7, 2, 6, false}, {8, 2, 5, false}, {0, 0, 0, false}, {8, -1, 6, false}} {
		if err := checkMatMul(s, c.nx, c.n, c.ny); (err == nil) != c.ok || err != nil && !errors.Is(err, ErrBadInput) {
			t.Errorf("matmul x %d, n %d, y %d: %v", c.nx, c.n, c.ny, err)
		}
	}
	for _, c := range []struct {
		nx, n, nids, nw, k, ny int
		ok                     bool
	}{
		{8, 2, 4, 4, 2, 8, true},
		{8, 2, 3, 4, 2, 8, false}, // ids short
		{8, 2, 4, 3, 2, 8, false}, // weights short
		{8, 2, 4, 4, 2, 7, false}, // y short
		{7, 2, 4, 4, 2, 8, false}, // x not n rows
		{8, 2, 4, 4, 0, 8, false},
		{8, 0, 4, 4, 2, 8, false},
	} {
		if err := checkMoE(c.nx, c.n, c.nids, c.nw, c.k, c.ny); (err == nil) != c.ok {
			t.Errorf("moe %+v: %v", c, err)
		}
	}
}
