package wasm

import (
	"encoding/binary"
	"time"
)

// wasiModule is the module name of WASI preview 1.
const wasiModule = "wasi_snapshot_preview1"

// WASI errno values the host returns.
const (
	errnoSuccess = 0
	errnoBadf    = 8
	errnoFault   = 21
	errnoInval   = 28
	errnoNosys   = 52
	errnoNotcap  = 76
)

// fakeEpoch is where a guest's wall clock starts: 2022-01-01 UTC, as in wazero's fake clock. Each read
// of a clock advances it by clockStep; sleeping advances it by the time asked for, at once.
var fakeEpoch = time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

const clockStep = 1000 // ns per clock read

// wasiFuncs is WASI preview 1 with nothing behind it: no arguments, no environment, no files (stdout and
// stderr go to the instance's bounded log; every other descriptor is closed and every path call is
// refused), no sockets, a fake clock and a seeded random source.
func wasiFuncs() []hostFunc {
	return append(wasiWorking(), wasiRefused()...)
}

// wasiRefused are the WASI functions that only ever fail: file descriptors other than stdio (EBADF),
// paths (ENOTCAPABLE: there are no preopened directories), sockets and signals (ENOSYS).
func wasiRefused() []hostFunc {
	I, L := i32, i64
	refuse := func(name string, errno uint32, params ...valType) hostFunc {
		return hostFunc{wasiModule, name, signature{params, []valType{i32}}, func(_ *instance, stack []uint64) {
			stack[0] = uint64(errno)
		}}
	}
	return []hostFunc{
		refuse("fd_advise", errnoBadf, I, L, L, I), refuse("fd_allocate", errnoBadf, I, L, L),
		refuse("fd_datasync", errnoBadf, I), refuse("fd_fdstat_set_rights", errnoBadf, I, L, L),
		refuse("fd_filestat_get", errnoBadf, I, I), refuse("fd_filestat_set_size", errnoBadf, I, L),
		refuse("fd_filestat_set_times", errnoBadf, I, L, L, I), refuse("fd_pread", errnoBadf, I, I, I, L, I),
		refuse("fd_pwrite", errnoBadf, I, I, I, L, I), refuse("fd_read", errnoBadf, I, I, I, I),
		refuse("fd_readdir", errnoBadf, I, I, I, L, I), refuse("fd_renumber", errnoBadf, I, I),
		refuse("fd_seek", errnoBadf, I, L, I, I), refuse("fd_sync", errnoBadf, I), refuse("fd_tell", errnoBadf, I, I),
		refuse("path_create_directory", errnoNotcap, I, I, I), refuse("path_filestat_get", errnoNotcap, I, I, I, I, I),
		refuse("path_filestat_set_times", errnoNotcap, I, I, I, I, L, L, I),
		refuse("path_link", errnoNotcap, I, I, I, I, I, I, I),
		refuse("path_open", errnoNotcap, I, I, I, I, I, L, L, I, I),
		refuse("path_readlink", errnoNotcap, I, I, I, I, I, I), refuse("path_remove_directory", errnoNotcap, I, I, I),
		refuse("path_rename", errnoNotcap, I, I, I, I, I, I), refuse("path_symlink", errnoNotcap, I, I, I, I, I),
		refuse("path_unlink_file", errnoNotcap, I, I, I), refuse("proc_raise", errnoNosys, I),
		refuse("sock_accept", errnoNosys, I, I, I), refuse("sock_recv", errnoNosys, I, I, I, I, I, I),
		refuse("sock_send", errnoNosys, I, I, I, I, I), refuse("sock_shutdown", errnoNosys, I, I),
	}
}

// wasiWorking are the WASI functions that do something: what a Go, Rust or C guest needs to start.
func wasiWorking() []hostFunc {
	fn := func(name string, s signature, f func(inst *instance, mem []byte, stack []uint64) uint32) hostFunc {
		return hostFunc{wasiModule, name, s, func(inst *instance, stack []uint64) {
			stack[0] = uint64(f(inst, inst.mod.memory(), stack))
		}}
	}
	zeroPair := func(inst *instance, mem []byte, stack []uint64) uint32 { // *_sizes_get: 0 items, 0 bytes
		if !putU32(mem, uint32(stack[0]), 0) || !putU32(mem, uint32(stack[1]), 0) {
			return errnoFault
		}
		return errnoSuccess
	}
	none := func(*instance, []byte, []uint64) uint32 { return errnoSuccess }
	badf := func(*instance, []byte, []uint64) uint32 { return errnoBadf }
	stdio := func(inst *instance, mem []byte, stack []uint64) uint32 {
		if uint32(stack[0]) > 2 {
			return errnoBadf
		}
		return errnoSuccess
	}
	return []hostFunc{
		fn("args_sizes_get", sig(2, 1), zeroPair),
		fn("args_get", sig(2, 1), none),
		fn("environ_sizes_get", sig(2, 1), zeroPair),
		fn("environ_get", sig(2, 1), none),
		fn("clock_time_get", signature{[]valType{i32, i64, i32}, []valType{i32}}, clockTimeGet),
		fn("clock_res_get", sig(2, 1), func(inst *instance, mem []byte, stack []uint64) uint32 {
			if !putU64(mem, uint32(stack[1]), clockStep) {
				return errnoFault
			}
			return errnoSuccess
		}),
		fn("fd_write", sig(4, 1), fdWrite),
		fn("fd_close", sig(1, 1), badf),
		fn("fd_fdstat_get", sig(2, 1), fdstatGet),
		fn("fd_fdstat_set_flags", sig(2, 1), stdio),
		fn("fd_prestat_get", sig(2, 1), badf), // no preopened directories
		fn("fd_prestat_dir_name", sig(3, 1), badf),
		fn("random_get", sig(2, 1), randomGet),
		fn("sched_yield", sig(0, 1), none),
		fn("poll_oneoff", sig(4, 1), pollOneoff),
		{wasiModule, "proc_exit", sig(1, 0), func(_ *instance, stack []uint64) {
			trapf("guest exited with code %d", uint32(stack[0]))
		}},
	}
}

func clockTimeGet(inst *instance, mem []byte, stack []uint64) uint32 {
	inst.clock += clockStep
	t := uint64(inst.clock)
	if uint32(stack[0]) == 0 { // realtime
		t += uint64(fakeEpoch)
	}
	if !putU64(mem, uint32(stack[2]), t) {
		return errnoFault
	}
	return errnoSuccess
}

// fdWrite sends stdout and stderr (fds 1 and 2) to the instance's bounded log.
func fdWrite(inst *instance, mem []byte, stack []uint64) uint32 {
	fd, iovs, n, out := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	if fd != 1 && fd != 2 {
		return errnoBadf
	}
	var total uint32
	for i := range n {
		p := uint64(iovs) + 8*uint64(i)
		if p+8 > uint64(len(mem)) {
			return errnoFault
		}
		ptr, l := binary.LittleEndian.Uint32(mem[p:]), binary.LittleEndian.Uint32(mem[p+4:])
		if uint64(ptr)+uint64(l) > uint64(len(mem)) {
			return errnoFault
		}
		inst.log.Write(mem[ptr : ptr+l])
		total += l
	}
	if !putU32(mem, out, total) {
		return errnoFault
	}
	return errnoSuccess
}

// fdstatGet describes stdin, stdout and stderr as character devices; every other fd is closed.
func fdstatGet(_ *instance, mem []byte, stack []uint64) uint32 {
	fd, p := uint32(stack[0]), uint32(stack[1])
	if fd > 2 {
		return errnoBadf
	}
	if uint64(p)+24 > uint64(len(mem)) {
		return errnoFault
	}
	clear(mem[p : p+24])
	mem[p] = 2 // character device
	return errnoSuccess
}

func randomGet(inst *instance, mem []byte, stack []uint64) uint32 {
	p, n := uint32(stack[0]), uint32(stack[1])
	if uint64(p)+uint64(n) > uint64(len(mem)) {
		return errnoFault
	}
	inst.rand.Read(mem[p : p+n])
	return errnoSuccess
}

// pollOneoff answers every subscription at once: clock subscriptions advance the fake clock by their
// timeout (a sleep returns immediately), fd subscriptions report EBADF.
func pollOneoff(inst *instance, mem []byte, stack []uint64) uint32 {
	in, out, n, nout := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	if n == 0 {
		return errnoInval
	}
	if uint64(in)+48*uint64(n) > uint64(len(mem)) || uint64(out)+32*uint64(n) > uint64(len(mem)) {
		return errnoFault
	}
	for i := range n {
		s, e := mem[in+48*i:in+48*i+48], mem[out+32*i:out+32*i+32]
		tag := s[8]
		clear(e)
		copy(e[:8], s[:8]) // userdata
		e[10] = tag
		if tag == 0 { // clock
			timeout := binary.LittleEndian.Uint64(s[24:])
			if binary.LittleEndian.Uint16(s[40:])&1 == 0 { // relative
				inst.clock += int64(min(timeout, 1<<62))
			}
		} else {
			binary.LittleEndian.PutUint16(e[8:], errnoBadf)
		}
	}
	if !putU32(mem, nout, n) {
		return errnoFault
	}
	return errnoSuccess
}

func putU32(mem []byte, p, v uint32) bool {
	if uint64(p)+4 > uint64(len(mem)) {
		return false
	}
	binary.LittleEndian.PutUint32(mem[p:], v)
	return true
}

func putU64(mem []byte, p uint32, v uint64) bool {
	if uint64(p)+8 > uint64(len(mem)) {
		return false
	}
	binary.LittleEndian.PutUint64(mem[p:], v)
	return true
}
