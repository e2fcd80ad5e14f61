#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# mem_scan.py PID FILE...: reads every readable mapping of process PID (/proc/PID/maps, then
# /proc/PID/mem) and prints, for each FILE, "FILE: N copies" of the file's text (trailing newline
# stripped) found anywhere in the process's memory. Needs ptrace rights over PID (root, or the
# same user with kernel.yama.ptrace_scope=0). Exit 0; 2 when the process cannot be read.
# Anonymous mappings over 64 GiB are skipped and listed: only AddressSanitizer's shadow memory
# is that large (terabytes reserved, bytes that say which memory is addressable, never a copy of
# it); its heap, where a copy of a secret would be, is mapped in small readable pieces.
import re
import sys


def main():
    pid = sys.argv[1]
    needles = []
    for path in sys.argv[2:]:
        with open(path, 'rb') as f:
            needles.append((path, f.read().rstrip(b'\r\n')))
    counts = {path: 0 for path, _ in needles}
    scanned = 0
    try:
        maps = open('/proc/%s/maps' % pid).read().splitlines()
        mem = open('/proc/%s/mem' % pid, 'rb', 0)
    except OSError as e:
        print('cannot read process %s: %s' % (pid, e), file=sys.stderr)
        return 2
    overlap = max(len(n) for _, n in needles) if needles else 0
    skipped = 0
    for line in maps:
        m = re.match(r'([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)', line)
        if not m or m.group(3)[0] != 'r' or '[vvar]' in line or '[vsyscall]' in line:
            continue
        start, end = int(m.group(1), 16), int(m.group(2), 16)
        if end - start > (64 << 30) and m.group(4) == '0' and not m.group(5):
            skipped += end - start
            continue
        tail = b''
        at = start
        while at < end:
            size = min(end - at, 1 << 24)
            try:
                mem.seek(at)
                chunk = mem.read(size)
            except OSError:
                break
            data = tail + chunk
            for path, needle in needles:
                # counted where the match ends inside this chunk: none counted twice
                for hit in re.finditer(re.escape(needle), data):
                    if hit.end() > len(tail):
                        counts[path] += 1
            tail = data[-overlap:] if overlap else b''
            scanned += len(chunk)
            at += size
    for path, _ in needles:
        print('%s: %d copies' % (path, counts[path]))
    print('scanned %d bytes' % scanned +
          (' (skipped %d GiB of sanitizer shadow)' % (skipped >> 30) if skipped else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
