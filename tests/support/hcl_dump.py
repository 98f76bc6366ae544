"""Parses every .tf file in a folder with python-hcl2 and prints one JSON object: file → content."""
import json
import pathlib
import sys

import hcl2

out = {}
for p in sorted(pathlib.Path(sys.argv[1]).glob("*.tf")):
    with p.open() as f:
        out[p.name] = hcl2.load(f)
print(json.dumps(out))
