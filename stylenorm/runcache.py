"""Share computed stages through a DVC remote: ``python -m stylenorm.runcache push [-r REMOTE]``.

Every stage of dvc.yaml is run-cacheable, so a cell computed in one clone can be restored in another
instead of trained again. ``dvc push --run-cache`` uploads the run cache's entries but not the objects
of the outputs declared ``cache: false`` (here plots: class frequencies, DVCLive's curves): DVC collects what it pushes
from the stage definitions, which skip uncached outputs, while restoring an entry needs the object of
every output it lists (DVC 3.67). This command pushes the entries, then every object they name. In the
other clone, ``dvc repro --pull`` fetches the run cache and restores each stage whose entry matches.
With a cache folder both clones share (``dvc cache dir``), nothing needs pushing.
"""
from __future__ import annotations

import argparse
import sys


def push(root: str = ".", remote: str | None = None) -> tuple[int, int]:
    """Push the run cache of the repository at ``root`` and the objects its entries name, to ``remote``
    (the default remote when None); return (entries, objects transferred)."""
    from dvc.repo import Repo
    with Repo(root) as repo, repo.lock:
        entries = repo.stage_cache.push(remote)
        used = repo.stage_cache.get_used_objs(entries, remote=remote, force=True)
        objs = set().union(*used.values()) if used else set()
        result = repo.cloud.push(objs, remote=remote)
        if result.failed:
            raise RuntimeError(f"{len(result.failed)} objects of the run cache failed to push to "
                               f"{remote or 'the default remote'}: {sorted(h.value for h in result.failed)[:5]} ...")
    return len(entries), len(result.transferred)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("action", choices=["push"])
    parser.add_argument("-r", "--remote", help="DVC remote name (default: the default remote)")
    args = parser.parse_args()
    from dvc.exceptions import DvcException
    try:
        entries, objects = push(remote=args.remote)
    except (DvcException, RuntimeError) as err:  # DVC's errors name the remote or the path
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    print(f"pushed {entries} run-cache entries and {objects} objects")


if __name__ == "__main__":
    main()
