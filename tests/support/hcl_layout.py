"""Checks the layout rules of `terraform fmt` that matter for hand-written HCL, without terraform:
two-space indentation by nesting depth, no tabs or trailing spaces, one final newline, one space
around `=`, and the `=` of consecutive one-line attributes at one nesting level aligned one column
after the longest name (as hclwrite aligns them). Prints one line per problem; exits 1 if any.

Usage: hcl_layout.py <folder>   (every *.tf file in it)
"""
import pathlib
import re
import sys

ATTR = re.compile(r'^( *)([A-Za-z0-9_"\-.]+)( *)=(?!=)( *)(.*)$')


def strip_strings(line):
    """The line with the contents of string literals and comments removed (brackets counted)."""
    out, i, in_str = [], 0, False
    while i < len(line):
        c = line[i]
        if in_str:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_str = False
            i += 1
            continue
        if c == '"':
            in_str = True
        elif c == "#" or line.startswith("//", i):
            break
        else:
            out.append(c)
        i += 1
    return "".join(out)


def check(path):
    problems = []
    text = path.read_text()
    if not text.endswith("\n") or text.endswith("\n\n"):
        problems.append(f"{path.name}: must end with exactly one newline")
    lines = text.split("\n")[:-1]
    levels = []  # open brackets per indentation level (a line opening several adds one level)
    heredoc = None
    chain = []  # (lineno, indent, name_len, eq_col) of consecutive one-line attributes

    def close_chain():
        if chain:
            want = max(n for (_, _, n, _) in chain)
            for lineno, indent, n, col in chain:
                if col != indent + want + 1:
                    problems.append(f"{path.name}:{lineno}: '=' not aligned with its neighbours (column {col + 1}, want {indent + want + 2})")
        chain.clear()

    for lineno, line in enumerate(lines, 1):
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        if "\t" in line:
            problems.append(f"{path.name}:{lineno}: tab")
        if line != line.rstrip():
            problems.append(f"{path.name}:{lineno}: trailing whitespace")
        code = strip_strings(line)
        stripped = line.strip()
        opens = code.count("{") + code.count("[") + code.count("(")
        closes = code.count("}") + code.count("]") + code.count(")")
        leading_closes = len(re.match(r"^[\s}\])]*", code).group(0).replace(" ", ""))
        # The levels this line's leading closing brackets end.
        lv, n = list(levels), leading_closes
        while n > 0 and lv:
            take = min(n, lv[-1])
            lv[-1] -= take
            n -= take
            if lv[-1] == 0:
                lv.pop()
        if stripped:
            want_indent = 2 * len(lv)
            indent = len(line) - len(line.lstrip(" "))
            if indent != want_indent and not stripped.startswith(("/*", "*")):
                problems.append(f"{path.name}:{lineno}: indented {indent}, want {want_indent}")
        m = ATTR.match(line)
        one_line = m is not None and opens == closes and "<<" not in line
        if m and not stripped.startswith("#"):
            if m.group(4) != " " and m.group(5):
                problems.append(f"{path.name}:{lineno}: one space after '='")
            if m.group(3) == "":
                problems.append(f"{path.name}:{lineno}: a space before '='")
        if m and one_line and (not chain or chain[-1][1] == len(m.group(1))) and not stripped.startswith("#"):
            chain.append((lineno, len(m.group(1)), len(m.group(2)), len(m.group(1)) + len(m.group(2)) + len(m.group(3))))
        elif m and one_line and not stripped.startswith("#"):
            # A one-line attribute at another indentation starts a chain of its own.
            close_chain()
            chain.append((lineno, len(m.group(1)), len(m.group(2)), len(m.group(1)) + len(m.group(2)) + len(m.group(3))))
        else:
            # Anything else, a multi-line attribute's first line included, ends the chain; such
            # a first line has one space before its '='.
            close_chain()
            if m and not stripped.startswith("#") and m.group(3) != " ":
                problems.append(f"{path.name}:{lineno}: one space before '='")
        hd = re.search(r"<<-?([A-Z_]+)\s*$", code)
        if hd:
            heredoc = hd.group(1)
        net = opens - closes
        if net > 0:
            levels.append(net)
        else:
            n = -net
            while n > 0 and levels:
                take = min(n, levels[-1])
                levels[-1] -= take
                n -= take
                if levels[-1] == 0:
                    levels.pop()
    close_chain()
    return problems


def main():
    problems = []
    for p in sorted(pathlib.Path(sys.argv[1]).glob("*.tf")) + sorted(pathlib.Path(sys.argv[1]).glob("*.tfvars.example")):
        problems += check(p)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
