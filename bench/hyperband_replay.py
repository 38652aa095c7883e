#!/usr/bin/python3
"""Replays Forge's Hyperband pruner on the learning curves of studies run without pruning.

With the random sampler a study's configurations do not depend on pruning, and `forge tune mnist` trains each
configuration deterministically, so the curves a no-pruning study recorded (`forge tune ... --pruner none --json`,
field `intermediateValues`) are exactly what a Hyperband study of the same seed would see, one trial after another.
Replaying Forge's rules on them (asynchronous successive halving per bracket, no decision after the last epoch) tells
what each bracket assignment would have saved and lost, without training anything. Each replay must agree with a real
Hyperband run of the same seed; docs/tuning.md lists both.

usage: /usr/bin/python3 bench/hyperband_replay.py [--assignment interleaved|hash] [--max-epochs 9] [--eta 3]
           [--min-resource 1] [--hash-study-prefix mlp-random-hyperband-] none-0.json none-1.json ...
The hash assignment needs the Hyperband study's name: the prefix plus the seed taken from the file's study name.
"""
import argparse, json, math, os, zlib


def budgets_of(eta, rmin, rmax):
    n = int(math.floor(math.log(rmax / rmin, eta))) + 1
    return [math.ceil(n * eta ** (n - 1 - b) / (n - b)) for b in range(n)]


def interleave(budgets):
    """Slot j goes to the bracket furthest below its share of the first j + 1 trials (ties: the lower bracket)."""
    total, counts, slots = sum(budgets), [0] * len(budgets), []
    for j in range(total):
        pick = max(range(len(budgets)), key=lambda b: (budgets[b] * (j + 1) - counts[b] * total, -b))
        counts[pick] += 1
        slots.append(pick)
    return slots


def replay(curves, rmax, eta, rmin, assignment, hash_name):
    budgets = budgets_of(eta, rmin, rmax)
    slots = interleave(budgets)

    def bracket(k):
        if assignment == 'interleaved':
            return slots[k % len(slots)]
        x = zlib.crc32(f'{hash_name}_{k}'.encode()) % sum(budgets)
        for b, w in enumerate(budgets):
            x -= w
            if x < 0:
                return b
        return len(budgets) - 1

    finished, epochs, pruned, best = [], 0, 0, None
    for k, curve in enumerate(curves):
        b, seen, stopped = bracket(k), {}, False
        for step in range(1, rmax + 1):
            seen[step] = curve[step]
            epochs += 1
            if step == rmax:
                break  # no decision after the last epoch: the trial has trained in full
            rung = 0
            while rmin * eta ** (b + rung) <= step:
                at = rmin * eta ** (b + rung)
                if step == at:  # reports come every step, so a rung is judged at its own step
                    rivals = [c[min(s for s in c if s >= at)] for (cb, c) in finished if cb == b and max(c) >= at]
                    values = sorted([curve[step]] + rivals)
                    keep = max(len(values) // eta - 1, 0)
                    if curve[step] < values[-(keep + 1)]:
                        stopped = True
                rung += 1
            if stopped:
                break
        finished.append((b, seen))
        if stopped:
            pruned += 1
        else:
            best = curve[rmax] if best is None else max(best, curve[rmax])
    return best, epochs, pruned


def main():
    p = argparse.ArgumentParser()
    p.add_argument('files', nargs='+')
    p.add_argument('--assignment', choices=['interleaved', 'hash'], default='interleaved')
    p.add_argument('--max-epochs', type=int, default=9)
    p.add_argument('--eta', type=int, default=3)
    p.add_argument('--min-resource', type=int, default=1)
    p.add_argument('--hash-study-prefix', default='mlp-random-hyperband-')
    a = p.parse_args()
    print('| no-pruning study (file) | best, no pruning | best, Hyperband (replayed) | points | epochs saved | pruned |')
    print('|---|---:|---:|---:|---:|---:|')
    rows = []
    for f in a.files:
        d = json.load(open(f))
        curves = [{int(k): v for k, v in t['intermediateValues'].items()} for t in d['trials']]
        seed = d['study'].rsplit('-', 1)[-1]
        best, epochs, pruned = replay(curves, a.max_epochs, a.eta, a.min_resource, a.assignment, a.hash_study_prefix + seed)
        none = max(c[a.max_epochs] for c in curves)
        full = a.max_epochs * len(curves)
        print(f"| {os.path.basename(f)} | {100 * none:.2f} % | {100 * best:.2f} % | {100 * (best - none):+.2f} | {100 * (1 - epochs / full):.0f} % "
              f"({epochs} of {full}) | {pruned} of {len(curves)} |")
        rows.append((100 * (none - best), 100 * (1 - epochs / full)))
    # The targets of the pruning acceptance: at most 0.2 points lost (a small tolerance for float sums), at least 40 % saved.
    met = sum(1 for lost, saved in rows if lost <= 0.2 + 1e-9 and saved >= 40)
    print(f"\nOver {len(rows)} studies: {min(r[1] for r in rows):.0f}-{max(r[1] for r in rows):.0f} % of the epochs saved, "
          f"{min(r[0] for r in rows):.2f}-{max(r[0] for r in rows):.2f} points lost; both targets (>= 40 % saved, <= 0.2 points lost) "
          f"met on {met} of {len(rows)}.")


if __name__ == '__main__':
    main()
