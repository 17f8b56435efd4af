# Reads a libFuzzer log; exits 0 when its report is a fault of libhdf5 itself, else 1:
#  - an AddressSanitizer report (SEGV, overflow, overlapping copy, ...) whose first frame, past
#    the sanitizer's own interceptors (memcpy, malloc, ...), is in libhdf5, and none of whose
#    allocation stacks (the memory next to the bad address) starts in dptrain's code (a frame
#    with a .c source line: only dptrain and the harnesses are built with them): HDF5's memory
#    or a wild address, not a buffer dptrain handed HDF5. A READ past a buffer by libhdf5 counts
#    whatever lies next to it: the readers only hand HDF5 buffers to write into, so what HDF5
#    reads from is its own (the memory ASan names is then merely a neighbour);
#  - an out-of-memory on one malloc (libFuzzer's -malloc_limit_mb) made by libhdf5 (a size read
#    from a corrupt header);
#  - a timeout caught while in libhdf5 (a loop in a corrupt file's structures).
# A leak, an out-of-memory of the process as a whole or anything else is not.
#   awk -f in_hdf5.awk LOG
# A frame of the machinery rather than of the code at fault: glibc's own code (the signal
# handler's return, memcpy and memset under the interceptors, a thread lookup by ASan's
# allocator), or code in the harness's executable without a source line: the sanitizers' and
# libFuzzer's (dptrain's and the harnesses' frames always carry a .c line; libhdf5's are in
# its .so).
function runtime(line) {
    return line ~ /\/libc\.so|(sysdeps|nptl)\// || line !~ /\.so[.0-9]*\+0x|\.c:[0-9]+/
}
/^==[0-9]+==ERROR: AddressSanitizer: / ||
/^==[0-9]+== ERROR: libFuzzer: (out-of-memory \(malloc\(|timeout)/ {
    report = 1
    stack = "first"
    next
}
!report { next }
/^READ of size / { reading = 1 }
/^SUMMARY: / { exit(verdict()) }
/(allocated|freed) by thread/ { stack = "alloc"; next }
/^ *#[0-9]+ / {
    if (stack == "" || runtime($0)) next
    if (stack == "first") {
        found = 1
        first_in_hdf5 = $0 ~ /libhdf5/
    } else if ($0 ~ /\.c:[0-9]+/) {
        allocated_by_dptrain = 1
    }
    stack = ""
}
function verdict() {
    return (found && first_in_hdf5 && (reading || !allocated_by_dptrain)) ? 0 : 1
}
END { exit(verdict()) }
