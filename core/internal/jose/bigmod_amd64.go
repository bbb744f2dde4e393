// Copyright 2021 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file, reproduced here:
//
// Copyright (c) 2009 The Go Authors. All rights reserved.
//
// Redistribution and use in source and binary forms, with or without
// modification, are permitted provided that the following conditions are
// met:
//
//    * Redistributions of source code must retain the above copyright
// notice, this list of conditions and the following disclaimer.
//    * Redistributions in binary form must reproduce the above
// copyright notice, this list of conditions and the following disclaimer
// in the documentation and/or other materials provided with the
// distribution.
//    * Neither the name of Google Inc. nor the names of its
// contributors may be used to endorse or promote products derived from
// this software without specific prior written permission.
//
// THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS
// "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT
// LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR
// A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT
// OWNER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL,
// SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT
// LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
// DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY
// THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT
// (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
// OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.

// This file is copied, with the changes noted, from filippo.io/bigmod
// v0.1.0, nat.go: the 2048-bit case of montgomeryMul (case 2048 / _W),
// maybeSubtractModulus with the sub and assign it uses, and
// minusInverseModW. They work here on [32]uint arrays instead of *Nat and
// *Modulus; the arithmetic is unchanged. addMulVVW2048 is in
// bigmod_amd64.s.

//go:build amd64 && !purego

package jose

import "math/bits"

// montLimbs is the number of 64-bit limbs of a 2048-bit modulus.
const montLimbs = 2048 / 64

// addMulVVW2048 multiplies the 32-word value x by the single-word value y,
// adding the result to the 32-word value z and returning the final carry.
// It can be thought of as one row of a pen-and-paper column multiplication.
//
//go:noescape
func addMulVVW2048(z, x *uint, y uint) (c uint)

// montMul2048 sets x = a * b / R mod m, with R = 2^2048, also known as a
// Montgomery multiplication. a and b must be reduced modulo m (x may be
// a or b); m0inv is minusInverseModW(m[0]).
//
// This loop implements Word-by-Word Montgomery Multiplication, as
// described in Algorithm 4 (Fig. 3) of "Efficient Software
// Implementations of Modular Exponentiation" by Shay Gueron
// [https://eprint.iacr.org/2011/239.pdf]; see bigmod's montgomeryMul for
// the commentary on each step.
func montMul2048(x, a, b, m *[montLimbs]uint, m0inv uint) {
	const n = montLimbs
	var T [n * 2]uint
	var c uint
	for i := 0; i < n; i++ {
		d := b[i]
		c1 := addMulVVW2048(&T[i], &a[0], d)
		Y := T[i] * m0inv
		c2 := addMulVVW2048(&T[i], &m[0], Y)
		T[n+i], c = bits.Add(c1, c2, c)
	}
	// Step 7: copy the final T window into x, and subtract m if necessary
	// (both if x >= m, or if x overflowed).
	copy(x[:], T[n:])
	maybeSubtractModulus2048(x, c, m)
}

// maybeSubtractModulus2048 computes x -= m, but only if x >= m or if
// always is 1.
//
// always is usually a carry that indicates that the operation that
// produced x overflowed its size, meaning abstractly x > 2^_W*n > m even
// if x < m.
func maybeSubtractModulus2048(x *[montLimbs]uint, always uint, m *[montLimbs]uint) {
	t := *x
	// sub: t -= m, returning the borrow.
	var underflow uint
	for i := 0; i < montLimbs; i++ {
		t[i], underflow = bits.Sub(t[i], m[i], underflow)
	}
	// We keep the result if x - m didn't underflow (meaning x >= m)
	// or if always was set.
	keep := (1 ^ underflow) | always
	// assign: x <- t if keep == 1.
	mask := -keep
	for i := 0; i < montLimbs; i++ {
		x[i] ^= mask & (x[i] ^ t[i])
	}
}

// minusInverseModW computes -x⁻¹ mod 2^64 with x odd.
//
// This operation is used to precompute a constant involved in Montgomery
// multiplication.
func minusInverseModW(x uint) uint {
	// Every iteration of this loop doubles the least-significant bits of
	// correct inverse in y. The first three bits are already correct (1⁻¹ = 1,
	// 3⁻¹ = 3, 5⁻¹ = 5, and 7⁻¹ = 7 mod 8), so doubling five times is enough
	// for 64 bits (and wastes only one iteration for 32 bits).
	//
	// See https://crypto.stackexchange.com/a/47496.
	y := x
	for i := 0; i < 5; i++ {
		y = y * (2 - x*y)
	}
	return -y
}
