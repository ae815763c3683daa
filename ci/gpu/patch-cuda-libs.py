#!/usr/bin/env python3
"""Points a CUDA binary built against CUDA 11 at a machine's CUDA 13 cuBLAS and cudart.

    python3 ci/gpu/patch-cuda-libs.py BINARY      # after: patchelf --replace-needed (see build-cuda.sh)

Debian's toolkit here is CUDA 11.8; the lent GPU machines have CUDA 13 libraries and no Rust.
`patchelf --replace-needed` renames the DT_NEEDED entries; this script renames the matching
symbol-version requirements (.gnu.version_r: the file name, and each version's name and ELF hash)
to strings already in .dynstr, so the dynamic loader accepts the newer libraries. The cuBLAS and
cudart entry points candle uses kept their ABI across these versions (sampling and training ran
on an H200). A workaround: build natively where the toolkit matches the driver. Needs pyelftools.
"""
import struct
import sys

from elftools.elf.elffile import ELFFile

RENAME = {"libcublas.so.11": "libcublas.so.13", "libcublasLt.so.11": "libcublasLt.so.13",
          "libcudart.so.11.0": "libcudart.so.13"}


def elf_hash(name):
    h = 0
    for c in name.encode():
        h = (h << 4) + c
        g = h & 0xF0000000
        if g:
            h ^= g >> 24
        h &= ~g
    return h & 0xFFFFFFFF


def main(path):
    data = bytearray(open(path, "rb").read())
    elf = ELFFile(open(path, "rb"))
    dynstr = elf.get_section_by_name(".dynstr")
    base = dynstr["sh_offset"]
    strings = data[base:base + dynstr["sh_size"]]

    def offset_of(s):
        """Offset of `s` as a whole string in .dynstr (patchelf added the new names)."""
        i = strings.find(s.encode() + b"\0")
        while i > 0 and strings[i - 1] != 0:
            i = strings.find(s.encode() + b"\0", i + 1)
        if i <= 0:
            sys.exit(f"{path}: {s} is not in .dynstr (run patchelf --replace-needed first)")
        return i

    def string_at(off):
        return strings[off:strings.index(b"\0", off)].decode()

    verneed = elf.get_section_by_name(".gnu.version_r")
    p = verneed["sh_offset"]
    for _ in range(verneed["sh_info"]):
        _, count, file_off, aux, next_entry = struct.unpack_from("<HHIII", data, p)
        if string_at(file_off) in RENAME:
            struct.pack_into("<I", data, p + 4, offset_of(RENAME[string_at(file_off)]))
        a = p + aux
        for _ in range(count):
            _, flags, other, name_off, next_aux = struct.unpack_from("<IHHII", data, a)
            name = string_at(name_off)
            if name in RENAME:
                new = RENAME[name]
                struct.pack_into("<IHHII", data, a, elf_hash(new), flags, other, offset_of(new), next_aux)
                print(f"patched {name} -> {new}")
            a += next_aux
        if not next_entry:
            break
        p += next_entry
    open(path, "wb").write(data)


if __name__ == "__main__":
    main(sys.argv[1])
