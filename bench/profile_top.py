"""The top entries of a py-spy profile (collapsed stacks, `--format raw`), as text.

    python -m bench.profile_top bench-profiles/sqlite-10000-push-server.txt
    python -m bench.profile_top FILE --within "push (client/sync_engine.py" --top 25

Prints, per function (file, without line numbers), the share of samples where it is on
the stack (inclusive) and where it is the innermost frame (self). `--within` keeps only
the stacks that pass through a frame containing that text (e.g. the timed part of a
client phase, leaving out its setup).
"""

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r":\d+\)$")


def frame_name(frame: str) -> str:
    """`func (path/file.py:123)` → `func (path/file.py)`."""
    return _LINE.sub(")", frame.strip())


def load(path: Path, within: str | None = None) -> list[tuple[list[str], int]]:
    stacks: list[tuple[list[str], int]] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [frame_name(f) for f in stack.split(";") if f]
        if within is not None and not any(within in f for f in frames):
            continue
        # py-spy puts the thread ("process 12:"/"thread (0x..)") first when asked: drop it.
        frames = [f for f in frames if " (" in f]
        stacks.append((frames, int(count)))
    return stacks


def top(
    stacks: list[tuple[list[str], int]], limit: int
) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    total = sum(count for _, count in stacks)
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, count in stacks:
        for name in set(frames):
            inclusive[name] += count
        if frames:
            own[frames[-1]] += count
    return total, inclusive.most_common(limit), own.most_common(limit)


def callers(stacks: list[tuple[list[str], int]], name: str, limit: int) -> list[tuple[str, int]]:
    """Who calls functions whose name contains `name` (the frame just above it)."""
    found: Counter[str] = Counter()
    for frames, count in stacks:
        for index in range(len(frames) - 1, 0, -1):
            if name in frames[index]:
                found[frames[index - 1]] += count
                break
    return found.most_common(limit)


def children(stacks: list[tuple[list[str], int]], name: str, limit: int) -> list[tuple[str, int]]:
    """What functions whose name contains `name` spend their time in (the frame below)."""
    found: Counter[str] = Counter()
    for frames, count in stacks:
        for index in range(len(frames) - 1, -1, -1):
            if name in frames[index]:
                below = frames[index + 1] if index + 1 < len(frames) else "(self)"
                found[below] += count
                break
    return found.most_common(limit)


def report(path: Path, within: str | None = None, limit: int = 20) -> str:
    total, inclusive, own = top(load(path, within), limit)
    lines = [f"{path.name}: {total} samples" + (f" within {within!r}" if within else "")]
    if total == 0:
        return lines[0]
    lines.append("  self   function")
    lines += [f"  {100 * c / total:4.1f}%  {name}" for name, c in own]
    lines.append("  total  function")
    lines += [f"  {100 * c / total:4.1f}%  {name}" for name, c in inclusive]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--within", help="keep only stacks through a frame containing this")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--callers", help="also list the callers of this function")
    parser.add_argument("--children", help="also list what this function spends its time in")
    args = parser.parse_args(argv)
    for path in args.files:
        print(report(path, args.within, args.top))
        if args.callers:
            stacks = load(path, args.within)
            total = sum(count for _, count in stacks) or 1
            print(f"  callers of {args.callers!r}")
            for name, count in callers(stacks, args.callers, args.top):
                print(f"  {100 * count / total:4.1f}%  {name}")
        if args.children:
            stacks = load(path, args.within)
            total = sum(count for _, count in stacks) or 1
            print(f"  inside {args.children!r}")
            for name, count in children(stacks, args.children, args.top):
                print(f"  {100 * count / total:4.1f}%  {name}")
        print()


if __name__ == "__main__":
    main()
