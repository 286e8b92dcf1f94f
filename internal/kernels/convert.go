package kernels

import "math"

// F16ToF32 widens an IEEE binary16 value to float32. The conversion is exact; NaNs keep their payload and
// come out quiet, as the x86 F16C instruction VCVTPH2PS (ggml's GGML_CPU_FP16_TO_FP32 on x86) produces them.
func F16ToF32(h uint16) float32 {
	// Move exponent and mantissa into place and rebias; fix up Inf/NaN and subnormals (F. Giesen's method).
	o := uint32(h&0x7fff) << 13
	switch o & 0x0f800000 {
	case 0x0f800000: // Inf or NaN
		o += (255 - 31) << 23
		if o&0x7fffff != 0 {
			o |= 0x400000 // quiet
		}
	case 0: // zero or subnormal: 2^-14·(1 + m/1024) − 2^-14 = m·2^-24, exactly
		o = math.Float32bits(math.Float32frombits(o+113<<23) - 0x1p-14)
	default:
		o += (127 - 15) << 23
	}
	return math.Float32frombits(o | uint32(h&0x8000)<<16)
}

// F32ToF16 narrows a float32 to IEEE binary16 with round-to-nearest-even, bit for bit what the x86 F16C
// instruction VCVTPS2PH with rounding mode 0 (ggml's GGML_CPU_FP32_TO_FP16 on x86) gives: overflow to ±Inf,
// gradual underflow to subnormals, NaNs quieted with the top 9 payload bits kept.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // biased half exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Result is subnormal or zero: shift the full significand (implicit bit included) into place.
		if exp == 0 || e < -10 {
			return sign // |f| < 2^-25: rounds to zero (2^-25 itself is a tie to even zero)
		}
		m := mant | 0x800000
		return sign | uint16(roundShiftEven(m, uint(14-e)))
	}
	// Normal: keep 10 mantissa bits, round the 13 dropped ones; a carry into the exponent is correct,
	// including the step to Inf.
	return sign | uint16(roundShiftEven(uint32(e)<<23|mant, 13))
}

// roundShiftEven returns v >> s rounded to nearest, ties to even (1 <= s <= 31).
func roundShiftEven(v uint32, s uint) uint32 {
	q := v >> s
	rem := v & (1<<s - 1)
	half := uint32(1) << (s - 1)
	if rem > half || rem == half && q&1 == 1 {
		q++
	}
	return q
}

// BF16ToF32 widens a bfloat16 value to float32 (exact: the bits move to the top half).
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToBF16 narrows a float32 to bfloat16 exactly as ggml's ggml_compute_fp32_to_bf16: NaNs keep their top bits
// and are forced quiet, everything else rounds to nearest even (subnormals are not flushed).
func F32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}
