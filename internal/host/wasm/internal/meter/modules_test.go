package meter

// Hand-built test modules. Each comment gives the function index space; the instrumented copy shifts
// every defined function by one.

// arithModule imports env.add (function 0) and defines loops, recursion, call_indirect, br_table,
// multi-value block types, sign extension, saturating truncation, typed select and bulk memory; count
// (10) is a tight loop.
func arithModule() []byte {
	const (
		tUnary  = 0 // (i32) -> i32
		tBinary = 1 // (i32, i32) -> i32
		tConst  = 2 // () -> i32
	)
	sum := fn([][2]byte{{2, tI32}}, // acc = 1, i = 2
		op(block, void, loop, void),
		lget(2), lget(0), op(i32GeU), brIf(1),
		lget(1), lget(2), call(0), lset(1),
		lget(2), i32c(1), op(i32Add), lset(2),
		br(0), op(end, end), lget(1), op(end))
	fib := fn(nil,
		lget(0), i32c(2), op(i32LtU), op(ifOp, tI32), lget(0), op(elseOp),
		lget(0), i32c(1), op(i32Sub), call(2), lget(0), i32c(2), op(i32Sub), call(2), op(i32Add),
		op(end, end))
	callInd := fn(nil, lget(0), op(0x11), uleb(tConst), uleb(0), op(end))
	seven := fn(nil, i32c(7), op(end))
	nine := fn(nil, i32c(9), op(end))
	nested := fn([][2]byte{{3, tI32}}, // i = 1, j = 2, acc = 3
		op(block, void, loop, void),
		lget(1), lget(0), op(i32GeU), brIf(1),
		i32c(0), lset(2),
		op(block, void, loop, void),
		lget(2), lget(1), op(i32GeU), brIf(1),
		op(block, void, block, void, block, void, block, void),
		lget(2), i32c(3), op(i32RemU), op(0x0e), vec(uleb(0), uleb(1)), uleb(2), // br_table
		op(end), lget(3), lget(1), lget(2), op(i32Mul), op(i32Add), lset(3), br(2), // case 0
		op(end), lget(3), i32c(1), op(i32Add), lset(3), br(1), // case 1
		op(end), lget(3), i32c(2), op(i32Sub), lset(3), // default
		op(end),
		lget(2), i32c(1), op(i32Add), lset(2), br(0),
		op(end, end),
		lget(1), i32c(1), op(i32Add), lset(1), br(0),
		op(end, end), lget(3), op(end))
	mv := fn([][2]byte{{1, tI32}},
		lget(0), i32c(3), op(block), sleb(tBinary), op(i32Add, end), // a block of type (i32, i32) -> i32
		op(loop), sleb(tUnary), i32c(1), op(i32Add), ltee(1), lget(1), i32c(100), op(i32LtU), brIf(0), op(end),
		op(end))
	miscFn := fn(nil,
		lget(0), op(0xc0), // i32.extend8_s
		op(0x43), []byte{0xf9, 0x02, 0x15, 0x50}, misc(0), // f32.const 1e10, i32.trunc_sat_f32_s
		op(i32Add), i32c(5), lget(0), op(0x1c), vec1([]byte{tI32}), // select (result i32)
		op(end))
	bulk := fn([][2]byte{{2, tI32}}, // i = 0, acc = 1
		i32c(32), i32c(0), i32c(5), misc(8), uleb(1), uleb(0), // memory.init 1
		i32c(48), i32c(16), i32c(5), misc(10), uleb(0), uleb(0), // memory.copy
		i32c(64), i32c('x'), i32c(3), misc(11), uleb(0), // memory.fill
		misc(9), uleb(1), // data.drop 1
		op(block, void, loop, void),
		lget(0), i32c(80), op(i32GeU), brIf(1),
		lget(1), lget(0), op(i32Load8), memarg(0, 0), op(i32Add), lset(1),
		lget(0), i32c(1), op(i32Add), lset(0), br(0),
		op(end, end), lget(1), op(end))
	count := fn([][2]byte{{1, tI32}}, // i = 1
		op(loop, void), lget(1), i32c(1), op(i32Add), ltee(1), lget(0), op(i32LtU), brIf(0), op(end),
		lget(1), op(end))
	return mod(
		sec(1, vec(functype([]byte{tI32}, []byte{tI32}), functype([]byte{tI32, tI32}, []byte{tI32}),
			functype(nil, []byte{tI32}))),
		sec(2, vec(importFn("env", "add", tBinary))),
		sec(3, vec(uleb(tUnary), uleb(tUnary), uleb(tUnary), uleb(tConst), uleb(tConst), uleb(tUnary),
			uleb(tUnary), uleb(tUnary), uleb(tConst), uleb(tUnary))),
		sec(4, vec(op(tFuncref, 0, 2))),
		sec(5, vec(op(0, 1))),
		sec(7, vec(export("sum", 0, 1), export("fib", 0, 2), export("callind", 0, 3), export("nested", 0, 6),
			export("mv", 0, 7), export("misc", 0, 8), export("bulk", 0, 9), export("count", 0, 10),
			export("table", 1, 0))),
		sec(9, vec(cat(uleb(0), i32c(0), op(end), vec(uleb(4), uleb(5))))),
		sec(12, uleb(2)),
		sec(10, vec(sum, fib, callInd, seven, nine, nested, mv, miscFn, bulk, count)),
		sec(11, vec(cat(uleb(0), i32c(16), op(end), str("hello")), cat(uleb(1), str("WORLD")))),
	)
}

// elemModule has element segments of all eight forms, a funcref global initialised with ref.func, a
// start function and a name section. Function 0 is env.add; f0…f7 (1…8) return 100+k; get (9) calls
// table slot i; init (10) fills slots 4…8; nulls (11) counts null slots; start (12) sets global g.
func elemModule() []byte {
	const (
		tVoid   = 0 // () -> ()
		tConst  = 1 // () -> i32
		tUnary  = 2 // (i32) -> i32
		tBinary = 3 // (i32, i32) -> i32
	)
	var code [][]byte
	var funcs [][]byte
	for k := range int32(8) {
		code = append(code, fn(nil, i32c(100+k), op(end)))
		funcs = append(funcs, uleb(tConst))
	}
	expr := func(b ...[]byte) []byte { return cat(cat(b...), op(end)) }
	code = append(code,
		fn(nil, lget(0), op(0x11), uleb(tConst), uleb(0), op(end)), // get
		fn(nil, // init
			i32c(4), i32c(0), i32c(1), misc(12), uleb(1), uleb(0), // table.init 1
			i32c(5), i32c(0), i32c(1), misc(12), uleb(5), uleb(0), // table.init 5
			i32c(6), refFunc(7), op(0x26, 0), // table.set
			i32c(7), refFunc(8), op(0x26, 0),
			i32c(8), gget(0), op(0x26, 0),
			misc(13), uleb(1), // elem.drop 1
			op(end)),
		fn([][2]byte{{2, tI32}}, // nulls: i = 0, n = 1
			op(block, void, loop, void),
			lget(0), misc(16), uleb(0), op(i32GeU), brIf(1), // table.size
			lget(1), lget(0), op(0x25, 0, 0xd1), op(i32Add), lset(1), // table.get, ref.is_null
			lget(0), i32c(1), op(i32Add), lset(0), br(0),
			op(end, end), lget(1), op(end)),
		fn(nil, i32c(1), i32c(2), call(0), call(2), op(i32Add), gset(1), op(end)), // start
	)
	funcs = append(funcs, uleb(tUnary), uleb(tVoid), uleb(tConst), uleb(tVoid))
	var names [][]byte
	names = append(names, cat(uleb(0), str("add")))
	for i, n := range []string{"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "get", "init", "nulls", "start"} {
		names = append(names, cat(uleb(uint64(i+1)), str(n)))
	}
	nameSec := cat(str("name"),
		sec(0, str("elems")),
		sec(1, vec(names...)),
		sec(2, vec(cat(uleb(9), vec(cat(uleb(0), str("slot")))))))
	return mod(
		sec(1, vec(functype(nil, nil), functype(nil, []byte{tI32}), functype([]byte{tI32}, []byte{tI32}),
			functype([]byte{tI32, tI32}, []byte{tI32}))),
		sec(2, vec(importFn("env", "add", tBinary))),
		sec(3, vec(funcs...)),
		sec(4, vec(op(tFuncref, 0, 9))),
		sec(6, vec(cat(op(tFuncref, 0), expr(refFunc(3))), cat(op(tI32, 1), expr(i32c(0))))),
		sec(7, vec(export("get", 0, 9), export("init", 0, 10), export("nulls", 0, 11), export("g", 3, 1))),
		sec(8, uleb(12)),
		sec(9, vec(
			cat(uleb(0), expr(i32c(0)), vec(uleb(1))),
			cat(uleb(1), op(0), vec(uleb(5))),
			cat(uleb(2), uleb(0), expr(i32c(1)), op(0), vec(uleb(2))),
			cat(uleb(3), op(0), vec(uleb(7))),
			cat(uleb(4), expr(i32c(2)), vec(expr(refFunc(3)))),
			cat(uleb(5), op(tFuncref), vec(expr(refFunc(6)))),
			cat(uleb(6), uleb(0), expr(i32c(3)), op(tFuncref), vec(expr(refFunc(4)))),
			cat(uleb(7), op(tFuncref), vec(expr(refFunc(8)))),
		)),
		sec(10, vec(code...)),
		sec(0, nameSec),
		sec(0, str("producers"), []byte("opaque")),
	)
}

// simdModule computes 6+2x+(x != -3) through SIMD loads, stores, shuffles and lanes. It has no () -> ()
// type, no imports and no globals.
func simdModule() []byte {
	lanes := op(1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0) // i32x4(1, 2, 3, 4)
	zero := make([]byte, 16)
	reverse := op(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3)
	code := fn(nil,
		i32c(0), simd(12), lanes, lget(0), simd(0x11), simd(0xae), // + i32x4.splat(x)
		simd(0x0b), memarg(4, 0), // v128.store
		i32c(0), simd(0x00), memarg(4, 0), simd(12), zero, simd(13), reverse, // v128.load, i8x16.shuffle
		simd(0x1b), op(0), // i32x4.extract_lane 0
		i32c(0), simd(12), zero, simd(0x56), memarg(2, 4), op(2), // v128.load32_lane offset 4, lane 2
		simd(0x1b), op(2), op(i32Add),
		i32c(8), simd(0x5c), memarg(2, 0), simd(0x53), op(i32Add), // v128.load32_zero, v128.any_true
		op(end))
	return mod(
		sec(1, vec(functype([]byte{tI32}, []byte{tI32}))),
		sec(3, vec(uleb(0))),
		sec(5, vec(op(0, 1))),
		sec(7, vec(export("simd", 0, 0))),
		sec(10, vec(code)),
	)
}

// runawayModule never returns from its exports: spin (0) loops, rec (1) recurses, ping (2) and pong (3)
// recurse mutually, and tree (4, 5) is an exponential mutually recursive call tree: tree(n) calls the
// other twice with n-1. It has no loops except spin's.
func runawayModule() []byte {
	const (
		tVoid  = 0
		tUnary = 1
	)
	tree := func(other uint32) []byte {
		return fn(nil, lget(0), op(i32Eqz, ifOp, tI32), i32c(1), op(elseOp),
			lget(0), i32c(1), op(i32Sub), call(other), lget(0), i32c(1), op(i32Sub), call(other), op(i32Add),
			op(end, end))
	}
	return mod(
		sec(1, vec(functype(nil, nil), functype([]byte{tI32}, []byte{tI32}))),
		sec(3, vec(uleb(tVoid), uleb(tVoid), uleb(tVoid), uleb(tVoid), uleb(tUnary), uleb(tUnary))),
		sec(7, vec(export("spin", 0, 0), export("rec", 0, 1), export("ping", 0, 2), export("tree", 0, 4))),
		sec(10, vec(
			fn(nil, op(loop, void), br(0), op(end, end)),
			fn(nil, call(1), op(end)),
			fn(nil, call(3), op(end)),
			fn(nil, call(2), op(end)),
			tree(5), tree(4))),
	)
}
