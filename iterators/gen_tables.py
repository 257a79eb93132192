#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn iterators' BPF object into the tables the module loads it from.

    gen_tables.py OBJECT.bpf.o > iterators*.tables-*.h

bpf_preload_loader.c issues the bpf() commands that load the object
(a light skeleton would run a BPF "loader" program for that, which calls
bpf_probe_read_kernel(): lockdown=confidentiality refuses it). This
writes what those commands need:

  - the part of the object's BTF the programs need: the types their
    func_info and CO-RE relocations reach, renumbered, and their strings;
  - .rodata and the offset of its btf_names flag;
  - per program: its instructions with .rodata references turned into
    BPF_PSEUDO_MAP_IDX_VALUE (fd_array[0], offset in the second imm) and
    kfunc calls into BPF_PSEUDO_KFUNC_CALL (imm filled in at load time),
    func_info (insn_off in instructions, as the kernel wants), CO-RE
    relocations (insn_off in bytes, as the kernel wants) and the vmlinux
    FUNC its iterator attaches to;
  - a small BPF_PROG_TYPE_SYSCALL program that looks those vmlinux names
    up with bpf_btf_find_by_name_kind() and writes the ids to its context.

Instructions, func_info and relocations are written as C initializers, so
the compiler lays them out in the kernel's byte order; the BTF and .rodata
are bytes in the object's order, which must be the kernel's
(iterators_tables.h picks the header by byte order). Line info is left
out: the kernel does not need it.

Formats (ELF, BTF, BTF.ext, bpf_insn) are read as their specifications
describe them; this is our own code.
"""

import struct
import sys

BTF_KIND_FUNC = 12


# The size of what follows each BTF kind's 12-byte common part.
def btf_extra_size(kind, vlen):
    return {
        1: 4,           # INT
        3: 12,          # ARRAY
        4: 12 * vlen,   # STRUCT
        5: 12 * vlen,   # UNION
        6: 8 * vlen,    # ENUM
        13: 8 * vlen,   # FUNC_PROTO
        14: 4,          # VAR
        15: 12 * vlen,  # DATASEC
        17: 4,          # DECL_TAG
        19: 12 * vlen,  # ENUM64
    }.get(kind, 0)      # PTR, FWD, TYPEDEF, qualifiers, FUNC, FLOAT, TYPE_TAG


# Instruction fields this needs.
BPF_LD_IMM64 = 0x18
BPF_CALL = 0x85
BPF_PSEUDO_KFUNC_CALL = 2
BPF_PSEUDO_MAP_IDX_VALUE = 6
BPF_FUNC_btf_find_by_name_kind = 167

# Iterator section "iter/<target>" attaches to vmlinux's bpf_iter_<target>.
ITER_PREFIX = "iter/"


class Elf:
    def __init__(self, data):
        if data[:4] != b"\x7fELF" or data[4] != 2:
            sys.exit("not a 64-bit ELF object")
        self.data = data
        self.e = "<" if data[5] == 1 else ">"
        (shoff,) = self.unpack("Q", 0x28)
        shentsize, shnum, shstrndx = self.unpack("HHH", 0x3A)
        self.sections = []
        for i in range(shnum):
            f = self.unpack("IIQQQQIIQQ", shoff + i * shentsize)
            self.sections.append({"name_off": f[0], "type": f[1],
                                  "offset": f[4], "size": f[5],
                                  "link": f[6], "info": f[7]})
        names = self.sections[shstrndx]
        for s in self.sections:
            s["name"] = self.cstr(names["offset"] + s["name_off"])
        self.by_name = {s["name"]: i for i, s in enumerate(self.sections)}
        symtab = next(s for s in self.sections if s["type"] == 2)
        strtab = self.sections[symtab["link"]]
        self.symbols = []
        for off in range(0, symtab["size"], 24):
            name, info, _, shndx, value, size = self.unpack(
                "IBBHQQ", symtab["offset"] + off)
            self.symbols.append({"name": self.cstr(strtab["offset"] + name),
                                 "type": info & 0xF, "bind": info >> 4,
                                 "shndx": shndx, "value": value,
                                 "size": size})

    def unpack(self, fmt, off):
        return struct.unpack_from(self.e + fmt, self.data, off)

    def cstr(self, off):
        return self.data[off:self.data.index(b"\0", off)].decode()

    def contents(self, name):
        s = self.sections[self.by_name[name]]
        return self.data[s["offset"]:s["offset"] + s["size"]]

    def relocations(self, index):
        """(offset, symbol) of each REL entry that applies to section index."""
        out = []
        for s in self.sections:
            if s["type"] == 9 and s["info"] == index:  # SHT_REL
                for off in range(0, s["size"], 16):
                    r_off, r_info = self.unpack("QQ", s["offset"] + off)
                    out.append((r_off, self.symbols[r_info >> 32]))
        return out


class Btf:
    """The object's .BTF, with its types split out for rewriting."""

    def __init__(self, elf):
        self.e = elf.e
        raw = elf.contents(".BTF")
        magic, _, _, hdr_len, type_off, type_len, str_off, str_len = \
            struct.unpack_from(self.e + "HBBIIIII", raw, 0)
        if magic != 0xEB9F:
            sys.exit(".BTF: bad magic")
        self.header = raw[:hdr_len]
        self.strings = raw[hdr_len + str_off:hdr_len + str_off + str_len]
        types = raw[hdr_len + type_off:hdr_len + type_off + type_len]
        self.types = [None]  # id 0 is void
        off = 0
        while off < len(types):
            _, info, _ = struct.unpack_from(self.e + "III", types, off)
            end = off + 12 + btf_extra_size((info >> 24) & 0x1F, info & 0xFFFF)
            self.types.append(bytearray(types[off:end]))
            off = end

    def name(self, off):
        return self.strings[off:self.strings.index(b"\0", off)].decode()

    def head(self, tid):
        return struct.unpack_from(self.e + "III", self.types[tid], 0)

    def kind(self, tid):
        return (self.head(tid)[1] >> 24) & 0x1F


def type_refs(kind, t, e):
    """Offsets in type t of the type ids it refers to."""
    vlen = struct.unpack_from(e + "I", t, 4)[0] & 0xFFFF
    if kind in (2, 8, 9, 10, 11, 12, 14, 17, 18):  # the type it wraps
        return [8]
    if kind == 3:                                   # ARRAY: elem, index
        return [12, 16]
    if kind in (4, 5):                              # STRUCT, UNION members
        return [12 + 12 * i + 4 for i in range(vlen)]
    if kind == 13:                                  # FUNC_PROTO: ret, params
        return [8] + [12 + 8 * i + 4 for i in range(vlen)]
    if kind == 15:                                  # DATASEC vars
        return [12 + 12 * i for i in range(vlen)]
    return []


def name_refs(kind, t, e):
    """Offsets in type t of the string offsets it holds."""
    vlen = struct.unpack_from(e + "I", t, 4)[0] & 0xFFFF
    if kind in (4, 5):
        return [0] + [12 + 12 * i for i in range(vlen)]
    if kind == 13:
        return [0] + [12 + 8 * i for i in range(vlen)]
    if kind in (6, 19):                             # ENUM, ENUM64
        step = 8 if kind == 6 else 12
        return [0] + [12 + step * i for i in range(vlen)]
    return [0]


class Pruned:
    """
    The BTF the programs need, and no more: the types their func_info and
    CO-RE relocations reach, renumbered, with their strings. What is left
    out (.rodata's DATASEC and VARs, the kfunc's extern FUNC, .ksyms) is
    what the kernel would refuse as clang writes it or does not use: the
    map is created without BTF, the kfunc is found in vmlinux's.
    """

    def __init__(self, btf, roots, strings):
        self.btf = btf
        self.ids = {0: 0}
        order = []
        todo = sorted(set(roots))
        while todo:
            tid = todo.pop(0)
            if tid in self.ids:
                continue
            self.ids[tid] = len(order) + 1
            order.append(tid)
            t = btf.types[tid]
            todo += [struct.unpack_from(btf.e + "I", t, off)[0]
                     for off in type_refs(btf.kind(tid), t, btf.e)]
        self.strings = bytearray(b"\0")
        self.offsets = {0: 0}
        for off in strings:
            self.string(off)
        self.types = []
        for tid in order:
            t = bytearray(btf.types[tid])
            kind = btf.kind(tid)
            for off in type_refs(kind, t, btf.e):
                (ref,) = struct.unpack_from(btf.e + "I", t, off)
                struct.pack_into(btf.e + "I", t, off, self.ids[ref])
            for off in name_refs(kind, t, btf.e):
                (name,) = struct.unpack_from(btf.e + "I", t, off)
                struct.pack_into(btf.e + "I", t, off, self.string(name))
            self.types.append(bytes(t))

    def string(self, off):
        """The new offset of the object's string at off."""
        if off not in self.offsets:
            self.offsets[off] = len(self.strings)
            self.strings += self.btf.name(off).encode() + b"\0"
        return self.offsets[off]

    def blob(self):
        types = b"".join(self.types)
        hdr = bytearray(self.btf.header)
        struct.pack_into(self.btf.e + "IIII", hdr, 8, 0, len(types),
                         len(types), len(self.strings))
        return bytes(hdr) + types + bytes(self.strings)


def btf_ext(elf, btf):
    """func_info and CO-RE records of .BTF.ext, by section name."""
    raw = elf.contents(".BTF.ext")
    e = elf.e
    _, _, _, hdr_len = struct.unpack_from(e + "HBBI", raw, 0)
    fields = struct.unpack_from(e + "IIIIII", raw, 8)
    if hdr_len < 32:
        fields = fields[:4] + (0, 0)
    out = {}
    for kind, (off, length) in (("func", fields[0:2]), ("core", fields[4:6])):
        data = raw[hdr_len + off:hdr_len + off + length]
        if not data:
            continue
        (rec_size,) = struct.unpack_from(e + "I", data, 0)
        pos = 4
        while pos < len(data):
            sec_off, n = struct.unpack_from(e + "II", data, pos)
            pos += 8
            recs = out.setdefault(btf.name(sec_off), {}).setdefault(kind, [])
            for _ in range(n):
                words = 2 if kind == "func" else 4
                recs.append(struct.unpack_from(e + "I" * words, data, pos))
                pos += rec_size
    return out


def decode_insns(elf, data):
    insns = []
    for off in range(0, len(data), 8):
        code, regs, o, imm = struct.unpack_from(elf.e + "BBhi", data, off)
        # The register nibbles follow the byte order: dst is the low one
        # in little-endian objects, the high one in big-endian ones.
        if elf.e == "<":
            dst, src = regs & 0xF, regs >> 4
        else:
            dst, src = regs >> 4, regs & 0xF
        insns.append([code, dst, src, o, imm])
    return insns


def programs(elf, btf, ext, lookups):
    rodata = elf.by_name.get(".rodata")
    progs = []
    for idx, sec in enumerate(elf.sections):
        if not sec["name"].startswith(ITER_PREFIX):
            continue
        funcs = [s for s in elf.symbols
                 if s["shndx"] == idx and s["type"] == 2]  # STT_FUNC
        if len(funcs) != 1 or funcs[0]["value"] != 0:
            sys.exit(f"{sec['name']}: want one program at its start")
        insns = decode_insns(elf, elf.contents(sec["name"]))
        kfunc_sites = []
        for r_off, sym in elf.relocations(idx):
            i = r_off // 8
            insn = insns[i]
            if insn[0] == BPF_LD_IMM64 and sym["shndx"] == rodata:
                insns[i + 1][4] = insn[4] + sym["value"]
                insn[2], insn[4] = BPF_PSEUDO_MAP_IDX_VALUE, 0
            elif insn[0] == BPF_CALL and sym["shndx"] == 0:
                insn[2], insn[4] = BPF_PSEUDO_KFUNC_CALL, 0
                kfunc_sites.append((i, lookup(lookups, sym["name"])))
            else:
                sys.exit(f"{sec['name']}+{r_off}: unexpected relocation"
                         f" against {sym['name']}")
        recs = ext.get(sec["name"], {})
        progs.append({
            "name": funcs[0]["name"],
            "insns": insns,
            "func_info": [(off // 8, tid) for off, tid in recs.get("func", [])],
            "core": recs.get("core", []),
            "kfunc_sites": kfunc_sites,
            "attach": lookup(lookups,
                             "bpf_iter_" + sec["name"][len(ITER_PREFIX):]),
        })
    return progs


def lookup(lookups, name):
    """Index of the vmlinux FUNC name in the lookup program's results."""
    if name not in lookups:
        lookups.append(name)
    return lookups.index(name)


def lookup_program(e, names):
    """
    A syscall program that stores bpf_btf_find_by_name_kind(name, FUNC) of
    each name into u64 slot i of its context. The name is built on the
    stack with immediate 32-bit stores, so the program needs no map.
    """
    insns = [(0xBF, 6, 1, 0, 0)]  # r6 = r1 (ctx)
    for i, name in enumerate(names):
        raw = name.encode() + b"\0"
        raw += b"\0" * (-len(raw) % 4)
        base = -len(raw)
        for w in range(0, len(raw), 4):
            (word,) = struct.unpack(e + "i", raw[w:w + 4])
            insns.append((0x62, 10, 0, base + w, word))   # *(u32 *)(r10+off) = imm
        insns += [
            (0xBF, 1, 10, 0, 0),                          # r1 = r10
            (0x07, 1, 0, 0, base),                        # r1 += base
            (0xB7, 2, 0, 0, len(name) + 1),               # r2 = size with NUL
            (0xB7, 3, 0, 0, BTF_KIND_FUNC),               # r3 = kind
            (0xB7, 4, 0, 0, 0),                           # r4 = flags
            (0x85, 0, 0, 0, BPF_FUNC_btf_find_by_name_kind),
            (0x7B, 6, 0, 8 * i, 0),                       # *(u64 *)(r6+8i) = r0
        ]
    insns += [(0xB7, 0, 0, 0, 0), (0x95, 0, 0, 0, 0)]  # return 0
    return insns


def c_bytes(data):
    lines = []
    for i in range(0, len(data), 12):
        lines.append("\t" + " ".join(f"0x{b:02x}," for b in data[i:i + 12]))
    return "\n".join(lines)


def c_insns(insns):
    return "\n".join(f"\t{{ 0x{c:02x}, {d}, {s}, {o}, {imm} }},"
                     for c, d, s, o, imm in insns)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    elf = Elf(open(sys.argv[1], "rb").read())
    btf = Btf(elf)
    ext = btf_ext(elf, btf)
    rodata = elf.by_name[".rodata"]
    flag = next((s for s in elf.symbols
                 if s["name"] == "btf_names" and s["shndx"] == rodata), None)
    if flag is None or flag["size"] != 1:
        sys.exit(".rodata: no one-byte btf_names")
    lookups = []
    progs = programs(elf, btf, ext, lookups)
    pruned = Pruned(btf,
                    [t for p in progs for _, t in p["func_info"]] +
                    [r[1] for p in progs for r in p["core"]],
                    [r[2] for p in progs for r in p["core"]])
    for p in progs:
        p["func_info"] = [(o, pruned.ids[t]) for o, t in p["func_info"]]
        p["core"] = [(o, pruned.ids[t], pruned.string(a), k)
                     for o, t, a, k in p["core"]]
    order = "little" if elf.e == "<" else "big"
    out = [
        "/* SPDX-License-Identifier: GPL-2.0 */",
        f"/* Generated by iterators/gen_tables.py from a {order}-endian"
        " object; do not edit. */",
        f"#define ITERATORS_BIG_ENDIAN {int(order == 'big')}",
        f"#define ITERATORS_LOOKUPS {len(lookups)}",
        f"#define ITERATORS_RODATA_BTF_NAMES {flag['value']}",
        "",
        "static const unsigned char iterators_btf[] __initconst = {",
        c_bytes(pruned.blob()),
        "};",
        "",
        "static const unsigned char iterators_rodata[] __initconst = {",
        c_bytes(elf.contents(".rodata")),
        "};",
        "",
        "/* Looks up, in order: " + ", ".join(lookups) + ". */",
        "static const struct bpf_insn iterators_lookup[] __initconst = {",
        c_insns(lookup_program(elf.e, lookups)),
        "};",
    ]
    for p in progs:
        n = p["name"]
        out += ["",
                f"static const struct bpf_insn {n}_insns[] __initconst = {{",
                c_insns(p["insns"]), "};",
                f"static const struct bpf_func_info {n}_func_info[] __initconst = {{"]
        out += [f"\t{{ {o}, {t} }}," for o, t in p["func_info"]] + ["};"]
        out += [f"static const struct bpf_core_relo {n}_core_relos[] __initconst = {{"]
        out += [f"\t{{ {a}, {b}, {c}, {d} }}," for a, b, c, d in p["core"]] + ["};"]
        out += [f"static const struct iterators_site {n}_kfuncs[] __initconst = {{"]
        out += [f"\t{{ {i}, {k} }}," for i, k in p["kfunc_sites"]] + ["};"]
    out += ["",
            "static const struct iterators_prog"
            " iterators_progs[] __initconst = {"]
    for p in progs:
        n = p["name"]
        out += [f"\t{{ .name = \"{n}\", .attach = {p['attach']},",
                f"\t  .insns = {n}_insns, .insn_cnt = ARRAY_SIZE({n}_insns),",
                f"\t  .func_info = {n}_func_info,"
                f" .func_info_cnt = ARRAY_SIZE({n}_func_info),",
                f"\t  .core_relos = {n}_core_relos,"
                f" .core_relo_cnt = ARRAY_SIZE({n}_core_relos),",
                f"\t  .kfuncs = {n}_kfuncs,"
                f" .kfunc_cnt = ARRAY_SIZE({n}_kfuncs) }},"]
    out += ["};", ""]
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
