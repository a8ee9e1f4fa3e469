#!/usr/bin/python3
"""ref_text.py — references for core/text.h (test_text.c), from Python itself.

Writes tests/data/text/:
  json.txt     one case per line: the input string's UTF-8 bytes in hex, a tab, and the
               UTF-8 bytes of json.dumps(s, ensure_ascii=False) in hex
  numbers.txt  one case per line: the input list text in hex, a tab, then "error" or the
               numbers (repr of Python floats, space-separated) that the grammar of
               lqf_parse_numbers gives: values separated by commas, spaces after a value,
               a trailing comma ignored, at most 32 values
Run: nice /usr/bin/python3 tools/ref_text.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "text")
MAX = 32


def parse_numbers(txt):
    """The documented grammar, written independently of the C code."""
    if txt == "":
        return []
    parts = txt.split(",")
    if parts[-1] == "" and len(parts) > 1:
        parts = parts[:-1]
    vals = []
    for p in parts:
        q = p.rstrip(" ")  # spaces may follow a value; whitespace may precede it (strtod)
        if q.strip() == "" or q != q.rstrip():
            return None
        try:
            vals.append(float(q))
        except ValueError:
            return None
    return vals if len(vals) <= MAX else None


def main():
    os.makedirs(OUT, exist_ok=True)
    strings = ["", "plain text", 'say "hi"', "back\\slash", "tab\there", "new\nline", "cr\rlf\n",
               "bell\a bs\b ff\f vt\v esc\x1b", "".join(chr(c) for c in range(1, 32)),
               "caf\u00e9 \u6f22\u5b57 \U0001f600", "del\x7f", "/work/shared/models/mobilefacenet_fr512.onnx",
               "28 px FAE 2", '{"json":[1,2]}']
    with open(os.path.join(OUT, "json.txt"), "w") as f:
        for s in strings:
            f.write(s.encode().hex() + "\t" + json.dumps(s, ensure_ascii=False).encode().hex() + "\n")
    lists = ["", "112", "112,28,14", "1, 2 ,3", "1,2,", "-2.5,1e3", " 7", "0x10", "1,,2", "a", "1;2", "1 2",
             ",", "1,2,,", ",".join(str(i) for i in range(32)), ",".join(str(i) for i in range(33)), "nan", "inf,1"]
    with open(os.path.join(OUT, "numbers.txt"), "w") as f:
        for t in lists:
            v = parse_numbers(t) if "0x" not in t else [16.0]  # strtod reads hex; Python float does not
            f.write(t.encode().hex() + "\t" + ("error" if v is None else " ".join(repr(x) for x in v)) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
