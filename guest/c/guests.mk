# guest/c/guests.mk — targets for the C guests (included from the Makefile).
.PHONY: guests-c guests-c-check

# Rebuild the C SDK's example guests (guest/c/*.wasm) and the hostile test guests
# (internal/host/wasm/testdata/hostile/*.wasm) with clang-14, installing clang and lld when missing.
guests-c:
	./guest/c/build.sh .

# The committed C guests must be exactly what their source builds.
guests-c-check:
	./guest/c/build.sh --check .
