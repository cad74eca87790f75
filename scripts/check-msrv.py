#!/usr/bin/env python3
"""Checks Cargo.toml's `rust-version` against the locked dependency tree: it must equal the
highest `rust-version` any crate declares among those a user's build compiles (normal and
build dependencies, reached from this crate through `cargo metadata --locked`; dev
dependencies reported, not counted). Higher would refuse toolchains that work; lower would
promise toolchains that fail. Exits 1 with the crates that set the bound otherwise."""
import json
import subprocess
import sys


def version_key(v):
    return tuple(int(x) for x in (v.split(".") + ["0", "0"])[:3])


def main():
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked",
         "--filter-platform", "x86_64-unknown-linux-gnu"],
        check=True, capture_output=True, text=True).stdout)
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = meta["resolve"]["root"]

    def reach(include_dev_from_root):
        seen, todo = set(), [root]
        while todo:
            node = nodes[todo.pop()]
            for dep in node["deps"]:
                kinds = {k["kind"] for k in dep["dep_kinds"]}
                if node["id"] == root and not include_dev_from_root and kinds == {"dev"}:
                    continue
                if dep["pkg"] not in seen:
                    seen.add(dep["pkg"])
                    todo.append(dep["pkg"])
        return seen

    def highest(ids):
        declared = [(packages[i]["rust_version"], packages[i]["name"]) for i in ids if packages[i].get("rust_version")]
        top = max(version_key(v) for v, _ in declared)
        return top, sorted(f"{n} {v}" for v, n in declared if version_key(v) == top)

    ours = packages[root].get("rust_version")
    need, who = highest(reach(False))
    dev_need, dev_who = highest(reach(True))
    fmt = ".".join(map(str, need[:2])) if need[2] == 0 else ".".join(map(str, need))
    print(f"msrv: Cargo.toml rust-version {ours}; dependencies need {fmt} ({', '.join(who)}); "
          f"with dev-dependencies {'.'.join(map(str, dev_need))} ({', '.join(dev_who[:3])})")
    if ours is None or version_key(ours) != need:
        print(f"msrv: FAIL: set rust-version = \"{fmt}\" in Cargo.toml", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
