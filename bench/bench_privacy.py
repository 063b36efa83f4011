"""Precision and recall of the privacy maskers on labelled captions (names and contacts).

    python -m bench.bench_privacy --names tests/data/labelled/names_holdout.tsv \
        --contacts tests/data/labelled/contacts.tsv [--errors] [--append]

Each FILE is UTF-8 TSV, `caption<TAB>expected caption` with `#` comments, the expected caption
holding `<人名>` (names) or `<电话>`, `<邮箱>`, `<身份证号>` (contacts) where the masker should
have replaced something. Both columns are normalised as the filter stage normalises captions. A found
span is right only when it is exactly a labelled span with the same token (filters.mask_eval).
Prints one line per file (and per token for contacts); `--errors` lists every caption the masker
got wrong, `--append` adds the figures to BENCHMARKS.md. Exit status 2 when a file is missing or a
row does not line up.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from filters.mask_eval import read_pairs, score_contacts, score_names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_privacy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", action="append", default=[], metavar="FILE", help="labelled names (repeatable)")
    parser.add_argument("--contacts", action="append", default=[], metavar="FILE",
                        help="labelled contacts (repeatable)")
    parser.add_argument("--errors", action="store_true", help="list the captions the masker got wrong")
    parser.add_argument("--append", action="store_true", help="append the figures to BENCHMARKS.md")
    args = parser.parse_args(argv)
    if not args.names and not args.contacts:
        parser.error("give --names FILE and/or --contacts FILE")
    lines: list[str] = []
    try:
        if args.names:
            from filters.privacy import NameMasker

            names = NameMasker()
            for path in args.names:
                result = score_names(names, read_pairs(path))
                lines.append(result.line(f"names {Path(path).name} ({len(read_pairs(path))} captions)"))
                lines += [f"  {e}" for e in result.errors] if args.errors else []
        if args.contacts:
            from filters.contacts import ContactMasker

            contacts = ContactMasker()
            for path in args.contacts:
                result = score_contacts(contacts, read_pairs(path))
                lines.append(result.line(f"contacts {Path(path).name} ({len(read_pairs(path))} captions)"))
                for token, (tp, fp, fn) in sorted(result.by_token.items()):
                    lines.append(f"  {token}: tp {tp} fp {fp} fn {fn}")
                lines += [f"  {e}" for e in result.errors] if args.errors else []
    except (OSError, ValueError) as exc:
        print(f"bench_privacy: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    if args.append:
        from bench.common import append_benchmarks

        command = "python -m bench.bench_privacy " + " ".join(
            [f"--names {p}" for p in args.names] + [f"--contacts {p}" for p in args.contacts])
        append_benchmarks("Privacy maskers: precision and recall",
                          f"`{command}`\n\n```\n" + "\n".join(x for x in lines if not x.startswith("  ") or "tp" in x)
                          + "\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
