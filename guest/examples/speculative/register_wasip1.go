//go:build wasip1

package main

import (
	"github.com/wasmoe/wasmoe/guest/sdk"
	"github.com/wasmoe/wasmoe/guest/sdk/policy"
)

func init() { policy.Register(New(sdk.HostSequences{}, sdk.Config, sdk.Vocab)) }
