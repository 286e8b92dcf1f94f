package sdk

import "fmt"

// fetch answers a (ptr, cap) -> len | error import: it calls with a buffer of guess bytes and, while the
// answer is longer than the buffer, again with one of the answer's length. call gets the buffer to pass
// (possibly empty) and returns the import's result.
func fetch(name string, guess int, call func(buf []byte) int32) ([]byte, error) {
	buf := make([]byte, guess)
	for range 4 { // the answer changes between calls only if the host misbehaves: give up then
		n := call(buf)
		if err := callErr(name, n); err != nil {
			return nil, err
		}
		if int(n) <= len(buf) {
			return buf[:n:n], nil
		}
		buf = make([]byte, n)
	}
	return nil, fmt.Errorf("sdk: %s: the answer keeps growing: %w", name, ErrInternal)
}
