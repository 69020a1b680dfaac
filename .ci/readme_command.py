"""Print the Nth fenced block of the README's Quickstart as one shell command (1-based)."""

import re
import sys
from pathlib import Path

text = Path("README.md").read_text()
found, level, fence, body, blocks = False, 0, False, [], []
for line in text.splitlines():
    s = line.strip()
    if s.startswith("```"):
        if found and fence:
            blocks.append(" && ".join(ln.strip() for ln in body if ln.strip() and not ln.strip().startswith("#")))
        fence, body = not fence, []
        continue
    if fence:
        body.append(re.sub(r"^\$\s+", "", line))
        continue
    m = re.match(r"(#{1,6})\s+(.*)", s)
    if m and found and len(m.group(1)) <= level:
        break
    if m and not found and re.match(r"quick[\s-]?start", m.group(2), re.I):
        found, level = True, len(m.group(1))
print(blocks[int(sys.argv[1]) - 1])
