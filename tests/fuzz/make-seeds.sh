#!/bin/sh
# Rebuilds the fuzz targets' seed corpora, tests/fuzz/corpus/<target>/,
# from what the project already documents and tests:
#   qmp, qmp-machine  the "->" lines of each example in docs/qmp.md, and
#                     the qmp / qmp-raw steps of each tests/scenarios/*.scn,
#                     one session per example or scenario (plus a few
#                     sessions for the fuzz machine and the probe commands)
#   cli               command lines in docs/, README.md, the scenarios'
#                     start steps and tests/test-cli.c's cases
#   props             -object / -device arguments and sizes from the same
#                     command lines, object-add / device_add arguments from
#                     docs/qmp.md and the scenarios
#   scenario          tests/scenarios/*.scn, tests/linux/*.scn and the
#                     examples in docs/harness.md
#   devices           operation sequences written here (the input format
#                     of fuzz-devices.c): hot-add and remove with an
#                     acknowledging, refusing or hostile guest, and every
#                     device's registers
# Run from anywhere; it replaces the files it writes and nothing else.
# Needs python3 (meson needs it anyway).
set -eu
cd "$(dirname "$0")/../.."
exec python3 - "$@" <<'EOF'
import glob, json, os, re, shlex, struct

OUT = "tests/fuzz/corpus"
CAPS = '{"execute": "qmp_capabilities"}\r\n'

def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def clean(target):
    d = os.path.join(OUT, target)
    for f in glob.glob(os.path.join(d, "*")):
        os.remove(f)

for t in ("qmp", "qmp-machine", "cli", "props", "scenario", "devices"):
    clean(t)

# ---- QMP sessions --------------------------------------------------------

def scn_string(s):
    """A scenario string's bytes (docs/harness.md: \\n \\r \\t \\\\ \\" \\xHH)."""
    out, i = bytearray(), 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            e = s[i + 1]
            if e == "x":
                out.append(int(s[i + 2:i + 4], 16)); i += 4; continue
            out += {"n": b"\n", "r": b"\r", "t": b"\t"}.get(e, e.encode())
            i += 2; continue
        out += c.encode(); i += 1
    return bytes(out)

def scenario_qmp(path):
    """The bytes a scenario's qmp and qmp-raw steps send, in order."""
    out = bytearray(CAPS.encode())
    for line in open(path):
        line = re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", "0", line.strip())
        m = re.match(r"qmp(?:\s+@\w+)?\s+(\{.*?\})\s*(->.*)?$", line)
        if m:
            out += m.group(1).encode() + b"\r\n"
            continue
        m = re.match(r'qmp-raw(?:\s+@\w+)?\s+"((?:[^"\\]|\\.)*)"', line)
        if m:
            out += scn_string(m.group(1))
    return bytes(out)

def doc_sessions(path):
    """One session per code block of path: its '-> ' lines."""
    sessions, cur, inside = [], [], False
    for line in open(path):
        if line.startswith("```"):
            if inside and cur:
                sessions.append(cur)
            cur, inside = [], not inside
            continue
        if inside and line.startswith("-> "):
            cur.append(line[3:].rstrip("\n"))
    return sessions

scenarios = sorted(glob.glob("tests/scenarios/*.scn")) + \
    sorted(glob.glob("tests/linux/*.scn"))
for i, lines in enumerate(doc_sessions("docs/qmp.md")):
    data = "".join(l + "\r\n" for l in lines)
    if "qmp_capabilities" not in data:
        data = CAPS + data
    for t in ("qmp", "qmp-machine"):
        write(t, "docs-qmp-%02d" % i, data)
for path in scenarios:
    name = os.path.basename(path)[:-4]
    data = scenario_qmp(path)
    if data.count(b"\n") > 1:
        for t in ("qmp", "qmp-machine"):
            write(t, "scn-" + name, data)

# The probe commands of fuzz-qmp.c, and framing corner cases.
write("qmp", "probe-commands", CAPS +
      '{"execute": "echo", "arguments": {"a": [1, {"b": null}]}, "id": "x"}\r\n'
      '{"execute": "typed", "arguments": {"s": "t", "i": -5, "n": 1.5, '
      '"b": true, "o": {}, "a": [], "any": null}, "id": 1}\r\n'
      '{"execute": "typed", "arguments": {"s": 1}}\r\n'
      '{"execute": "object-add", "arguments": {"qom-type": "x", "id": "y", '
      '"extra": 1}}\r\n'
      '{"execute": "fail"}\r\n'
      '{"execute": "emit", "arguments": {"k": "v"}}\r\n'
      '{"execute": "later", "id": [1]}\r\n{"execute": "query-commands"}\r\n')
write("qmp", "framing", CAPS +
      "{'execute': 'echo'}\r\n{\"execute\": \"echo\"\n  , \"id\": 2}\r\n"
      '{"execute": "echo", "arguments": {"s": "\\u00e9\\ud83d\\ude00"}}\n'
      '[1]\r\n"str"\r\nnull\r\n{"execute": \x01{"execute": "echo"}\r\n'
      '{"execute": "echo"} {"execute": "echo"}\r\n\xff{"id": 3}\r\n')
# What json-c would change silently (issue 15): \u0000, integers beyond
# 64 bits, NaN, 1e400, comments, line breaks in strings, a line left
# unfinished before a new request.
write("qmp", "framing-strict", CAPS +
      '{"execute": "echo\\u0000x", "id": 1}\r\n'
      '{"execute": "echo", "arguments": {"k\\u0000": "a\\\\u0000"}}\r\n'
      '{"execute": "echo", "id": 18446744073709551616}\r\n'
      '{"execute": "echo", "id": -9223372036854775808}\r\n'
      '{"execute": "echo", "id": 1e400}\r\n{"execute": "echo", "id": NaN}\r\n'
      '{"execute": "echo" /* c */}\r\n{"execute": "ec\r\n'
      '{"execute": "echo"\r\n{"execute": "echo", "id": 2}\r\n')
write("qmp", "no-negotiation",
      '{"execute": "echo"}\r\n{"execute": "qmp_capabilities", '
      '"arguments": {"enable": ["oob"]}}\r\n' + CAPS + CAPS)

# Sessions for the fuzz machine: backends m0..m5 exist, 4 slots, 16 MiB.
def session(*cmds):
    return CAPS + "".join(json.dumps(c) + "\r\n" for c in cmds)

def cmd(name, **args):
    c = {"execute": name}
    if args:
        c["arguments"] = {k.replace("_", "-"): v for k, v in args.items()}
    return c

write("qmp-machine", "dimm-lifecycle", session(
    cmd("device_add", driver="pc-dimm", id="d0", memdev="m0"),
    cmd("device_add", driver="pc-dimm", id="d1", memdev="m2", slot=3),
    cmd("query-memory-devices"), cmd("query-acpi-ospm-status"),
    cmd("x-query-memslots"), cmd("query-memory-size-summary"),
    cmd("device_del", id="d0"), cmd("device_del", id="d0"),
    cmd("object-del", id="m0"), cmd("object-del", id="m1"),
    cmd("query-memdev")))
write("qmp-machine", "objects", session(
    cmd("object-add", qom_type="memory-backend-ram", id="r", size="2M",
        prealloc=True, prealloc_threads=2),
    cmd("object-add", qom_type="memory-backend-memfd", id="f", size=2097152,
        seal=False),
    cmd("object-add", qom_type="memory-backend-file", id="g", size="4M",
        mem_path="backing", share=True),
    cmd("device_add", driver="pc-dimm", id="dg", memdev="g", addr=4294967296),
    cmd("object-add", qom_type="memory-backend-file", id="ro", size="2M",
        mem_path="backing", readonly=True),
    cmd("device_add", driver="pc-dimm", memdev="ro"),
    cmd("query-memdev"), cmd("x-query-memslots")))
write("qmp-machine", "queries", session(
    cmd("query-status"), cmd("stop"), cmd("cont"), cmd("query-status"),
    cmd("query-version"), cmd("query-name"), cmd("query-kvm"),
    cmd("query-commands"), cmd("query-stats", target="vm"),
    cmd("query-stats", target="vcpu", vcpus=["/machine/unattached/device[0]"]),
    cmd("query-stats-schemas"), cmd("query-dirty-rate"),
    cmd("calc-dirty-rate", calc_time=1, calc_time_unit="millisecond"),
    cmd("pmemsave", val=0, size=4096, filename="dump"),
    cmd("memsave", val=0, size=4096, filename="dump", cpu_index=0),
    cmd("system_powerdown"), cmd("quit")))

# ---- command lines -------------------------------------------------------

def doc_command_lines():
    lines = []
    for path in sorted(glob.glob("docs/*.md")) + ["README.md"]:
        text = open(path).read().replace("\\\n", " ")
        for line in text.splitlines():
            line = line.strip().lstrip("$ ")
            m = re.match(r"(?:\./build/src/)?hotmem\s+(-.*)", line)
            if m:
                lines.append(m.group(1).split(" #")[0].strip())
    return lines

def test_cli_lines():
    src = open("tests/test-cli.c").read()
    out = []
    for m in re.finditer(r'\{\s*"/cli/[^"]*",\s*((?:"(?:[^"\\]|\\.)*"\s*)+),',
                         src):
        out.append("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))))
    return out

starts = []
for path in scenarios:
    for line in open(path):
        m = re.match(r"start\s+(.*)", line.strip())
        if m:
            starts.append(re.sub(r"\$\{\w+\}", "0", m.group(1)))

def argv_bytes(line):
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    return "\0".join(words)

cli_lines = doc_command_lines() + starts + test_cli_lines()[::6]
seen = set()
for line in cli_lines:
    if line in seen:
        continue
    seen.add(line)
    write("cli", "line-%02d" % len(seen), argv_bytes(line))

# ---- property bags -------------------------------------------------------

props = set()
for line in cli_lines:
    words = line.split()
    for opt, arg in zip(words, words[1:]):
        if opt in ("-object", "--object"):
            props.add(b"\x01\x00" + arg.encode())
        elif opt in ("-device", "--device"):
            props.add(b"\x02\x00" + arg.encode())
        elif opt in ("-m", "--m"):
            for part in arg.split(","):
                props.add(b"\x00\x03" + part.split("=")[-1].encode())
qmp_sources = [l for s in doc_sessions("docs/qmp.md") for l in s]
for path in scenarios:
    qmp_sources += scenario_qmp(path).decode("latin-1").split("\r\n")
for line in qmp_sources:
    try:
        c = json.loads(line)
    except ValueError:
        continue
    if isinstance(c, dict) and c.get("execute") in ("object-add",
                                                    "device_add"):
        props.add(b"\x03\x00" + json.dumps(c.get("arguments", {})).encode())
for s in ("1G", "512", "0x10", "1.5G", "16E", "17E", "18446744073709551615",
          "2k", "", "-1"):
    props.add(b"\x00\x01" + s.encode())
props.add(b'\x03\x00{"size": 2097152, "host-nodes": [0, 1], '
          b'"policy": "bind", "prealloc-threads": "0x4"}')
props = sorted(props)
for i, p in enumerate(props[::-(-len(props) // 40)]):
    write("props", "bag-%02d" % i, p)

# ---- scenarios -----------------------------------------------------------

for path in scenarios:
    write("scenario", os.path.basename(path), open(path, "rb").read())
text = open("docs/harness.md").read()
for i, block in enumerate(re.findall(r"```\n(.*?)```", text, re.S)):
    if re.search(r"^(start|qmp|client|set) ", block, re.M):
        write("scenario", "docs-harness-%d.scn" % i, block)

# ---- device operation sequences (fuzz-devices.c's input format) -----------

MEMHP, GED, PM, POWER, COM1, ANYPORT = range(6)

def pio(dev, off, size, write=False, value=0, port=None):
    code = {1: 0, 2: 1, 4: 2, 8: 3}[size]
    b = bytes([0, dev, off, code | (4 if write else 0)])
    b += value.to_bytes(size, "little")
    if dev == ANYPORT:
        b += struct.pack("<H", port)
    return b

def mmio(addr, size, write=False, value=0, window=False):
    code = {1: 0, 2: 1, 4: 2, 8: 3}[size]
    return bytes([5, code | (4 if write else 0) | (8 if window else 0)]) + \
        struct.pack("<Q", addr) + value.to_bytes(size, "little")

def add(backend, dimm, slot=0, addr=None):
    return bytes([10, backend, dimm, slot, 0 if addr is None else 0x80 | addr])

def dele(dimm): return bytes([12, dimm])
def scan(refuse=0): return bytes([8, refuse])
def eject(slot, ack=True): return bytes([6, slot | (0x80 if ack else 0)])
def ost(slot, e, s): return bytes([7, slot, e, s])
def objdel(i): return bytes([13, i])
def rx(data): return bytes([14, len(data)]) + data
def powerdown(): return bytes([15])

write("devices", "add-ack-remove-eject",
      add(0, 0) + scan() + dele(0) + scan() + pio(GED, 0, 4))
write("devices", "remove-refused-then-accepted",
      add(2, 1) + scan() + dele(1) + scan(refuse=1) + dele(1) + scan())
write("devices", "add-then-del-at-once",
      add(0, 0) + dele(0) + scan() + scan())
write("devices", "guest-ejects-unrequested",
      add(0, 0, slot=1) + add(1, 1, slot=2) + add(3, 2) + scan() +
      b"".join(eject(s) for s in range(6)) +
      b"".join(eject(s, ack=False) for s in range(6)))
write("devices", "ost-flood",
      b"".join(ost(s, e, st) for s in range(6) for e in (0, 1, 2)
               for st in (0, 4)) + add(0, 0) + ost(0, 1, 0))
write("devices", "registers-every-offset",
      add(4, 3, addr=3) +
      b"".join(pio(MEMHP, 0, 4, True, 0) + pio(MEMHP, off, size)
               for off in range(0, 0x1c) for size in (1, 4)) +
      pio(MEMHP, 0, 4, True, 0xffffffff) + pio(MEMHP, 0x14, 1) +
      pio(MEMHP, 0, 8, True, 0x100000000) + pio(MEMHP, 0, 8))
write("devices", "ged-and-power-button",
      pio(GED, 0, 4) + powerdown() + add(0, 0) + pio(GED, 1, 1) +
      pio(GED, 0, 1) + pio(GED, 0, 4) + pio(GED, 0, 4, True, 0xff))
write("devices", "serial",
      pio(COM1, 3, 1, True, 0x80) + pio(COM1, 0, 1, True, 1) +
      pio(COM1, 3, 1, True, 0x03) + pio(COM1, 2, 1, True, 0x07) +
      pio(COM1, 1, 1, True, 0x0f) + rx(b"hello\r\n" * 3) +
      pio(COM1, 2, 1) + pio(COM1, 5, 1) + pio(COM1, 0, 1) +
      pio(COM1, 0, 1, True, 0x41) + pio(COM1, 4, 1, True, 0x10) +
      pio(COM1, 0, 1, True, 0x42) + pio(COM1, 0, 1) + pio(COM1, 6, 1) +
      pio(COM1, 7, 1, True, 0x5a) + pio(COM1, 7, 1))
write("devices", "sleep-reset-power",
      add(0, 0) + pio(PM, 1, 1) + pio(PM, 0, 1, True, 0x20 | (5 << 2)) +
      pio(PM, 2, 1, True, 0x0f) + pio(POWER, 0, 1, True, 1) +
      pio(POWER, 0, 1, True, 0) + pio(POWER, 0, 1) + add(1, 1) + scan())
write("devices", "mmio-and-stray-ports",
      add(0, 0) + mmio(0, 8, window=True) + mmio(0xfec00000, 4) +
      mmio(0x1000, 4, True, 0xdeadbeef, window=True) +
      pio(ANYPORT, 0, 1, port=0x80) + pio(ANYPORT, 0, 4, True, 1, 0xcf8) +
      pio(ANYPORT, 0, 2, port=0xffff))
write("devices", "fill-slots-objects",
      b"".join(add(i, i) for i in range(6)) + objdel(0) + objdel(5) +
      scan() + b"".join(dele(i) for i in range(6)) + scan() +
      b"".join(objdel(i) for i in range(6)) + add(0, 0) + add(5, 5))
EOF
