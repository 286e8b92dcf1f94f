package sdk

import (
	"errors"
	"fmt"

	"github.com/wasmoe/wasmoe/guest/abi"
)

// Status is a negative ABI status code as a Go error: host imports return one for a negative result, and
// a guest returns one (wrapped or not) to make an export fail with that code.
type Status int32

// The ABI's error statuses (guest/abi).
const (
	ErrBadInput Status = abi.ErrBadInput // a blob or argument that cannot be decoded
	ErrNotReady Status = abi.ErrNotReady // called before the state it needs exists
	ErrInternal Status = abi.ErrInternal // failed in some other way
	ErrNoMemory Status = abi.ErrNoMemory // could not allocate
	ErrNoToken  Status = abi.ErrNoToken  // no token can be picked
	ErrNotFound Status = abi.ErrNotFound // no tensor, model or layer by that name or number
	ErrLimit    Status = abi.ErrLimit    // a per-request limit would be exceeded
	ErrHandle   Status = abi.ErrHandle   // a handle that is not open in this request
)

var statusNames = map[Status]string{
	ErrBadInput: "bad input", ErrNotReady: "not ready", ErrInternal: "internal error",
	ErrNoMemory: "out of memory", ErrNoToken: "no token", ErrNotFound: "not found",
	ErrLimit: "limit exceeded", ErrHandle: "bad handle",
}

// Error names the status.
func (s Status) Error() string {
	if name, ok := statusNames[s]; ok {
		return fmt.Sprintf("%s (%d)", name, int32(s))
	}
	return fmt.Sprintf("status %d", int32(s))
}

// StatusOf is the status an export returns for err: OK for nil, the Status err wraps if it is negative,
// else ErrInternal.
func StatusOf(err error) int32 {
	if err == nil {
		return abi.OK
	}
	var s Status
	if errors.As(err, &s) && s < 0 {
		return int32(s)
	}
	return abi.ErrInternal
}

// callErr turns an import's negative result into an error naming the import; nil for r >= 0.
func callErr(name string, r int32) error {
	if r >= 0 {
		return nil
	}
	return fmt.Errorf("sdk: %s: %w", name, Status(r))
}
