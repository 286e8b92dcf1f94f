//go:build wasip1

package main

import (
	"github.com/wasmoe/wasmoe/guest/internal/policies"
	"github.com/wasmoe/wasmoe/guest/sdk"
	"github.com/wasmoe/wasmoe/guest/sdk/policy"
)

// guest builds the policy in ctl_init, once model_info and the vocabulary can be read.
type guest struct{ *policies.Policy }

// Init reads the vocabulary and builds the policy.
func (g *guest) Init(info sdk.ModelInfo) error {
	v, err := sdk.Vocab()
	if err != nil {
		return err
	}
	g.Policy, err = policies.New(info, v, sdk.Config)
	return err
}

func init() { policy.Register(&guest{}) }
